"""`-t`: configuration test output and errors with file:line.

nginx prints "nginx: ..." where rampart prints "rampart: ..."; the
assertions accept either program name, nothing else."""

import os
import re

import pytest

PROG = r"(?:nginx|rampart)"

GOOD = """
upstream app { server 127.0.0.1:9; }
server {
    listen @LISTEN@;
    location / { proxy_pass http://app; }
}
"""


def _line_of(path, needle):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if needle in line:
                return i
    raise AssertionError("%r not in %s" % (needle, path))


def _assert_emerg(out, path, line, *words):
    # rampart: "rampart: [emerg] <sentence> in <file>:<line>"; nginx prints
    # that too, or its log format once error_log is parsed
    m = re.search(r"^(?:%s: |\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )\[emerg\] (?:\d+#\d+: )?"
                  r"(.*) in (\S+):(\d+)\s*$" % PROG, out, re.M)
    assert m, out
    assert m.group(2) == path, out
    assert int(m.group(3)) == line, out
    for w in words:
        assert w.lower() in m.group(1).lower(), out
    assert re.search(r"^%s: configuration file \S+ test failed" % PROG, out, re.M), out


def test_t_success(conf_test):
    rc, out, path = conf_test(GOOD)
    assert rc == 0, out
    assert re.search(r"^%s: the configuration file %s syntax is ok$" % (PROG, re.escape(path)),
                     out, re.M), out
    assert re.search(r"^%s: configuration file %s test is successful$" % (PROG, re.escape(path)),
                     out, re.M), out


# "#HERE" marks the line the error must name
@pytest.mark.parametrize("name,snippet,words", [
    ("unknown-directive",
     "server {\n listen @LISTEN@;\n frobnicate on; #HERE\n}\n",
     ["unknown directive", "frobnicate"]),
    ("wrong-context",
     "proxy_pass http://127.0.0.1:9; #HERE\nserver { listen @LISTEN@; }\n",
     ["proxy_pass", "not allowed here"]),
    ("wrong-arg-count",
     "server {\n listen @LISTEN@;\n location / {\n  proxy_pass http://127.0.0.1:9 extra; #HERE\n }\n}\n",
     ["invalid number of arguments", "proxy_pass"]),
    ("wrong-arg-count-none",
     "server {\n listen @LISTEN@;\n server_name; #HERE\n}\n",
     ["invalid number of arguments", "server_name"]),
    ("bad-size",
     "server {\n listen @LISTEN@;\n client_max_body_size 10q; #HERE\n}\n",
     ["client_max_body_size", "invalid value"]),
    ("bad-time",
     "server {\n listen @LISTEN@;\n keepalive_timeout 5x; #HERE\n}\n",
     ["keepalive_timeout", "invalid value"]),
    ("duplicate-default-server",
     "server { listen @LISTEN@ default_server; }\nserver {\n listen @LISTEN@ default_server; #HERE\n}\n",
     ["duplicate default server"]),
    ("missing-semicolon",
     "server {\n listen @LISTEN@\n} #HERE\n",
     ["unexpected \"}\""]),
])
def test_t_errors(conf_test, name, snippet, words):
    rc, out, path = conf_test(snippet)
    assert rc != 0, out
    _assert_emerg(out, path, _line_of(path, "#HERE"), *words)


def test_t_unknown_upstream(conf_test):
    rc, out, path = conf_test("server {\n listen @LISTEN@;\n location / {\n"
                              "  proxy_pass http://nosuchupstream; #HERE\n }\n}\n")
    assert rc != 0, out
    _assert_emerg(out, path, _line_of(path, "#HERE"), "nosuchupstream")


def test_t_unreadable_include(conf_test, tmp_path):
    missing = str(tmp_path / "missing" / "file.conf")
    rc, out, path = conf_test("include %s; #HERE\nserver { listen @LISTEN@; }\n" % missing)
    assert rc != 0, out
    _assert_emerg(out, path, _line_of(path, "#HERE"), missing)


def test_t_error_in_included_file(conf_test, tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "bad.conf").write_text("# comment\n\nserver {\n    bogus_directive 1;\n}\n")
    rc, out, path = conf_test("include %s/*.conf;\n" % inc)
    assert rc != 0, out
    _assert_emerg(out, str(inc / "bad.conf"), 4, "bogus_directive")


def test_include_glob_works(rampart, tmp_path):
    from helpers import get
    inc = tmp_path / "sites"
    inc.mkdir()
    (inc / "a.conf").write_text("map $uri $from_a { default a; }\n")
    (inc / "b.conf").write_text("map $uri $from_b { default b; }\n")
    (inc / "ignored.txt").write_text("this is not a config;\n")
    r = rampart("""
    include %s/*.conf;
    include %s/nothing-*.conf;
    server {
        listen @LISTEN@;
        location / { return 200 "$from_a$from_b"; }
    }
    """ % (inc, inc))
    assert get(r.port, "/").text == "ab"


def test_t_quoted_and_comments(conf_test):
    rc, out, path = conf_test("""
    # a comment; with { braces }
    server {
        listen @LISTEN@;   # trailing comment
        server_name "quoted.example"  'single.example';
        location / { return 200 "semi;colon {brace} \\"quote\\""; }
    }
    """)
    assert rc == 0, out


@pytest.mark.rampart_only
def test_t_standalone_http_body_file(conf_test):
    """A file whose top level holds server/upstream directives is read as
    the body of http{} (shared/configs/README.md); nginx rejects it
    ("server" directive is not allowed here)."""
    rc, out, path = conf_test(
        "upstream app { server 127.0.0.1:9; }\n"
        "server {\n listen 127.0.0.1:%d;\n location / { proxy_pass http://app; }\n}\n"
        % __import__("helpers").free_port(), full=True)
    assert rc == 0, out
    assert "test is successful" in out


SHARED = os.path.join(os.path.dirname(__file__), "..", "fixtures", "configs")


def _adapt(text, port, backend_port):
    text = re.sub(r"listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % port, text)
    text = re.sub(r"listen 80;", "listen 127.0.0.1:%d;" % port, text)
    text = re.sub(r"server\d\.example\.com", "127.0.0.1:%d" % backend_port, text)
    text = text.replace("/var/cache/nginx", "@TMP@/cache")
    return text


def _shared_conf(name):
    with open(os.path.join(SHARED, name)) as f:
        return f.read()


@pytest.mark.rampart_only
@pytest.mark.parametrize("name,directive", [
    ("caching.conf", "proxy_cache"),
])
def test_not_supported_yet(conf_test, tmp_path, name, directive):
    """Capabilities not landed yet are configuration errors that say so
    (with file:line), never silently ignored. nginx supports these (bar
    health_check, an NGINX Plus directive)."""
    from helpers import free_port
    frag = _adapt(_shared_conf(name), free_port(), free_port())
    (tmp_path / "frag.conf").write_text(frag.replace("@TMP@", str(tmp_path)))
    extra = ""
    if "your_backend_servers" in frag:
        extra += "upstream your_backend_servers { server 127.0.0.1:9; }\n"
    if "http://backend_servers" in frag and "upstream backend_servers" not in frag:
        extra += "upstream backend_servers { server 127.0.0.1:9; }\n"
    rc, out, path = conf_test(extra + "include %s/frag.conf;\n" % tmp_path)
    assert rc != 0, out
    assert "is not supported yet" in out, out
    assert re.search(r"in %s:\d+" % re.escape(str(tmp_path / "frag.conf")), out), out


def test_compression_conf_as_it_stands(rampart, backend, tmp_path):
    """../shared/configs/compression.conf with only its listen port made
    local (and an upstream backend_servers for it): JSON and CSS answers are
    gzip'd for a client that accepts gzip, decode to the backend's bytes,
    and the backend got the client's Host and Accept-Encoding."""
    import gzip
    from helpers import get, reply
    body = b'{"items": [' + b", ".join(b'{"id": %d, "name": "item"}' % i for i in range(200)) + b"]}"
    b = backend("cmp", reply(200, [("Content-Type", "application/json")], body))
    frag = _shared_conf("compression.conf")
    frag = re.sub(r"listen 80;", "listen @LISTEN@;", frag)
    r = rampart("upstream backend_servers { server %s; }\n" % b.addr + frag)
    resp = get(r.port, "/api", headers=[("Accept-Encoding", "gzip")], host="shop.example")
    assert resp.status == 200
    assert resp.header("content-encoding") == "gzip"
    assert resp.header("content-length") is None
    assert gzip.decompress(resp.body) == body
    assert b.requests[-1].header("host") == "shop.example"
    assert b.requests[-1].header("accept-encoding") == "gzip"
    plain = get(r.port, "/api", host="shop.example")
    assert plain.header("content-encoding") is None and plain.body == body


@pytest.mark.rampart_only
def test_health_checks_conf_as_it_stands(rampart, backend, tmp_path):
    """../shared/configs/health-checks.conf with only its host names and
    listen port made local: three servers, `zone`, and `health_check
    interval=5 fails=2 passes=2 uri=/health`. It loads, the checker probes
    /health on every server, and requests are spread over the three."""
    from helpers import get, wait_for
    bs = [backend("hc%d" % i) for i in range(3)]
    frag = _shared_conf("health-checks.conf")
    frag = re.sub(r"listen 80;", "listen @LISTEN@;", frag)
    for i, b in enumerate(bs):
        frag = frag.replace("server%d.example.com" % (i + 1), b.addr)
    r = rampart(frag)
    port = r.port
    assert wait_for(lambda: all(any(q.target == "/health" for q in b.requests) for b in bs), 5.0)
    names = [get(port, "/x%d" % i).text for i in range(30)]
    for i in range(3):
        assert names.count("ok from hc%d" % i) == 10, names
    for b in bs:
        got = [q for q in b.requests if q.target != "/health"]
        assert len(got) == 10
        hc = [q for q in b.requests if q.target == "/health"]
        assert hc and hc[0].method == "GET"
