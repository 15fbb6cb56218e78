"""Routing: server selection, location matching, return, error_page,
add_header, map, static files."""

import os

import pytest

from helpers import Client, get

SERVER_NAMES = """
server {
    listen @LISTEN@;
    server_name fallback.test;
    return 200 "first";
}
server {
    listen @LISTEN@ default_server;
    server_name default.test;
    return 200 "default";
}
server {
    listen @LISTEN@;
    server_name exact.example.com;
    return 200 "exact";
}
server {
    listen @LISTEN@;
    server_name *.example.com;
    return 200 "leading-wildcard";
}
server {
    listen @LISTEN@;
    server_name *.deep.example.com;
    return 200 "longer-wildcard";
}
server {
    listen @LISTEN@;
    server_name www.example.*;
    return 200 "trailing-wildcard";
}
server {
    listen @LISTEN@;
    server_name ~^(?<sub>[a-z]+)\\.regex\\.test$;
    return 200 "regex-$sub";
}
server {
    listen @LISTEN@;
    server_name .dot.test;
    return 200 "dot";
}
"""


@pytest.mark.parametrize("host,want", [
    ("exact.example.com", "exact"),
    ("EXACT.Example.COM", "exact"),
    ("exact.example.com:1234", "exact"),
    ("a.example.com", "leading-wildcard"),
    ("a.b.example.com", "leading-wildcard"),
    ("x.deep.example.com", "longer-wildcard"),
    ("www.example.org", "trailing-wildcard"),
    ("www.example.com", "leading-wildcard"),  # leading wildcard wins over trailing
    ("foo.regex.test", "regex-foo"),
    ("dot.test", "dot"),
    ("a.dot.test", "dot"),
    ("fallback.test", "first"),
    ("unknown.test", "default"),
])
def test_server_name(rampart, host, want):
    r = rampart(SERVER_NAMES)
    resp = get(r.port, "/", host=host)
    assert resp.status == 200
    assert resp.text == want


def test_no_host_http10_goes_to_default(rampart):
    r = rampart(SERVER_NAMES)
    with Client(r.port) as c:
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        resp = c.response()
    assert resp.status == 200 and resp.text == "default"


LOCATIONS = """
server {
    listen @LISTEN@;
    location = / { return 200 "A"; }
    location / { return 200 "B"; }
    location /documents/ { return 200 "C"; }
    location ^~ /images/ { return 200 "D"; }
    location ~* \\.(gif|jpg|jpeg)$ { return 200 "E"; }

    location /outer/ {
        location /outer/inner/ { return 200 "inner"; }
        location ~ \\.php$ { return 200 "outer-php"; }
        return 200 "outer";
    }
    location ~ ^/first-regex { return 200 "regex1"; }
    location ~ ^/first { return 200 "regex2"; }
    location /first-regex-prefix-longer { return 200 "prefix"; }
    location = /exact { return 200 "exact"; }
    location /exact { return 200 "exact-prefix"; }
    location @named { return 200 "named"; }
}
"""


@pytest.mark.parametrize("target,want", [
    # nginx documentation's example for "location"
    ("/", "A"),
    ("/index.html", "B"),
    ("/documents/document.html", "C"),
    ("/images/1.gif", "D"),
    ("/documents/1.jpg", "E"),
    ("/documents/1.JPG", "E"),
    # nested
    ("/outer/x", "outer"),
    ("/outer/inner/y", "inner"),
    ("/outer/z.php", "outer-php"),
    # regexes in order of appearance beat prefixes
    ("/first-regex-prefix-longer", "regex1"),
    ("/first", "regex2"),
    ("/exact", "exact"),
    ("/exact/", "exact-prefix"),
    ("/exactly", "exact-prefix"),
    # query string is not part of matching
    ("/?x=1", "A"),
    # normalized URI is what is matched
    ("/documents/../images/2.gif", "D"),
    ("/%64ocuments/x", "C"),
])
def test_location_rules(rampart, target, want):
    r = rampart(LOCATIONS)
    resp = get(r.port, target)
    assert resp.status == 200
    assert resp.text == want


def test_location_rules_one_connection(rampart):
    r = rampart(LOCATIONS)
    with Client(r.port) as c:
        for target, want in [("/", "A"), ("/index.html", "B"), ("/images/x.jpg", "D"),
                             ("/x.jpeg", "E")]:
            assert c.request("GET", target).text == want


RETURNS = """
server {
    listen @LISTEN@;
    location /text { return 200 "hello $request_method $uri"; }
    location /teapot { return 418 "short and stout"; }
    location /perm { return 301 /new-place; }
    location /abs { return 302 http://elsewhere.test/x?y=1; }
    location /bare { return https://other.test/; }
    location /gone { return 410; }
    location /nobody { return 204; }
}
"""


def test_return_text(rampart):
    r = rampart(RETURNS)
    resp = get(r.port, "/text")
    assert resp.status == 200
    assert resp.text == "hello GET /text"
    assert resp.header("Content-Length") == str(len(resp.body))
    resp = get(r.port, "/teapot")
    assert resp.status == 418 and resp.text == "short and stout"


def test_return_redirects(rampart):
    r = rampart(RETURNS)
    resp = get(r.port, "/perm", host="localhost")
    assert resp.status == 301
    loc = resp.header("Location")
    assert loc in ("/new-place", "http://localhost:%d/new-place" % r.port)
    resp = get(r.port, "/abs")
    assert resp.status == 302
    assert resp.header("Location") == "http://elsewhere.test/x?y=1"
    resp = get(r.port, "/bare")
    assert resp.status == 302
    assert resp.header("Location") == "https://other.test/"


def test_return_code_only(rampart):
    r = rampart(RETURNS)
    resp = get(r.port, "/gone")
    assert resp.status == 410
    resp = get(r.port, "/nobody")
    assert resp.status == 204 and resp.body == b""


def test_error_page(rampart, backend):
    from helpers import reply
    b = backend("b1", reply(404, None, b"backend 404"))
    r = rampart("""
    server {
        listen @LISTEN@;
        root @TMP@/html;
        error_page 404 /custom404.html;
        error_page 502 =200 @fallback;
        location /proxied/ {
            proxy_pass http://@b@;
            proxy_intercept_errors on;
        }
        location /passthrough/ { proxy_pass http://@b@; }
        location /dead/ { proxy_pass http://@dead@; }
        location @fallback { return 200 "fallback page"; }
    }
    """, backends={"b": b, "dead": "127.0.0.1:%d" % _dead_port()})
    with open(os.path.join(r.tmp, "html", "custom404.html"), "w") as f:
        f.write("custom not found\n")
    resp = get(r.port, "/nothing-here")
    assert resp.status == 404 and resp.text == "custom not found\n"
    resp = get(r.port, "/proxied/x")
    assert resp.status == 404 and resp.text == "custom not found\n"
    resp = get(r.port, "/passthrough/x")
    assert resp.status == 404 and resp.text == "backend 404"
    resp = get(r.port, "/dead/x")
    assert resp.status == 200 and resp.text == "fallback page"


def _dead_port():
    from helpers import free_port
    return free_port()


def test_add_header(rampart, backend):
    from helpers import reply
    ok = backend("ok")
    missing = backend("missing", reply(404, None, b"nope"))
    r = rampart("""
    server {
        listen @LISTEN@;
        add_header X-Server-Level s;
        location /ok/ {
            proxy_pass http://@ok@;
            add_header X-Frame-Options DENY;
            add_header X-Always yes always;
        }
        location /missing/ {
            proxy_pass http://@missing@;
            add_header X-Frame-Options DENY;
            add_header X-Always yes always;
        }
        location /inherit/ { return 200 "i"; }
        location /var/ { add_header X-Uri $uri; return 200 "v"; }
    }
    """, backends={"ok": ok, "missing": missing})
    resp = get(r.port, "/ok/")
    assert resp.status == 200
    assert resp.header("X-Frame-Options") == "DENY"
    assert resp.header("X-Always") == "yes"
    # add_header in a location replaces, not extends, the server's list
    assert not resp.has("X-Server-Level")
    resp = get(r.port, "/missing/")
    assert resp.status == 404
    assert not resp.has("X-Frame-Options")  # only 2xx/3xx without "always"
    assert resp.header("X-Always") == "yes"
    resp = get(r.port, "/inherit/")
    assert resp.header("X-Server-Level") == "s"
    resp = get(r.port, "/var/abc")
    assert resp.header("X-Uri") == "/var/abc"


def test_map_connection_upgrade(rampart):
    r = rampart("""
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    map $uri $mapped {
        default      "none";
        /exact       "exact";
        ~^/re/(\\d+)$ "num-$1";
    }
    server {
        listen @LISTEN@;
        location /cu { return 200 "$connection_upgrade"; }
        location / { return 200 "$mapped"; }
    }
    """)
    assert get(r.port, "/cu").text == "close"
    assert get(r.port, "/cu", headers=[("Upgrade", "websocket")]).text == "upgrade"
    assert get(r.port, "/exact").text == "exact"
    assert get(r.port, "/re/42").text == "num-42"
    assert get(r.port, "/other").text == "none"


def test_static_root_index(rampart):
    r = rampart("""
    server {
        listen @LISTEN@;
        root @TMP@/html;
        index index.html;
        default_type application/octet-stream;
        types { text/html html; text/plain txt; }
        location /alias/ { alias @TMP@/html/sub/; }
    }
    """)
    html = os.path.join(r.tmp, "html")
    os.makedirs(os.path.join(html, "sub"), exist_ok=True)
    with open(os.path.join(html, "index.html"), "w") as f:
        f.write("<h1>index</h1>\n")
    with open(os.path.join(html, "a.txt"), "w") as f:
        f.write("plain a\n")
    with open(os.path.join(html, "sub", "index.html"), "w") as f:
        f.write("sub index\n")
    with open(os.path.join(html, "sub", "b.bin"), "wb") as f:
        f.write(bytes(range(256)))
    resp = get(r.port, "/")
    assert resp.status == 200 and resp.text == "<h1>index</h1>\n"
    assert resp.header("Content-Type").startswith("text/html")
    resp = get(r.port, "/a.txt")
    assert resp.status == 200 and resp.text == "plain a\n"
    assert resp.header("Content-Type").startswith("text/plain")
    assert resp.header("Content-Length") == "8"
    assert resp.has("Last-Modified")
    resp = get(r.port, "/sub/")
    assert resp.status == 200 and resp.text == "sub index\n"
    resp = get(r.port, "/sub")
    assert resp.status == 301
    assert resp.header("Location").endswith("/sub/")
    resp = get(r.port, "/alias/b.bin")
    assert resp.status == 200 and resp.body == bytes(range(256))
    assert resp.header("Content-Type") == "application/octet-stream"
    resp = get(r.port, "/nope.txt")
    assert resp.status == 404
    resp = get(r.port, "/a.txt", method="HEAD")
    assert resp.status == 200 and resp.body == b""
    assert resp.header("Content-Length") == "8"
    resp = get(r.port, "/../../etc/passwd")
    assert resp.status in (400, 404)


def test_server_level_return_wins_over_locations(rampart):
    """A `return` at server level runs before any location is chosen, so it
    answers every request, whatever the locations say."""
    r = rampart("""
    server {
        listen @LISTEN@;
        return 301 https://example.com$request_uri;
        location / { return 200 "location"; }
        location /api/ { return 404; }
    }
    """)
    for target in ("/", "/api/x?y=1"):
        resp = get(r.port, target)
        assert resp.status == 301
        assert resp.header("Location") == "https://example.com" + target


def test_ipv6_listen_and_default_server(rampart):
    """listen [::1]:port and 127.0.0.1:port side by side; each address has
    its own default server; $server_addr is the connection's address."""
    import socket as _s
    r = rampart("""
    server {
        listen @LISTEN@;
        listen [::1]:@PORT@ default_server;
        server_name both;
        location / { return 200 "both $server_addr"; }
    }
    server {
        listen [::1]:@PORT@;
        server_name v6only;
        location / { return 200 "v6 $server_addr"; }
    }
    """)
    assert get(r.port, "/", host="anything").text == "both 127.0.0.1"
    assert _get6(r.port, "v6only").endswith(b"v6 ::1")
    assert _get6(r.port, "other").endswith(b"both ::1")


def _get6(port, host):
    import socket as _s
    s = _s.create_connection(("::1", port), timeout=5)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
    finally:
        s.close()


def test_location_regex_named_and_numbered_captures(rampart, backend):
    """Captures of a location regex are variables: $1 and (?<name>...)."""
    b = backend("b1")
    r = rampart("""
    server {
        listen @LISTEN@;
        location ~ ^/user/(?<uid>[0-9]+)/(\\w+)$ {
            proxy_pass http://@b@;
            proxy_set_header X-Uid $uid;
            proxy_set_header X-Second $2;
        }
    }
    """, backends={"b": b})
    assert get(r.port, "/user/42/profile").status == 200
    assert b.last.header("X-Uid") == "42" and b.last.header("X-Second") == "profile"
