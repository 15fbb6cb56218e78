"""Basic proxying: requests and bodies forwarded, headers set and removed."""

import email.utils

import pytest

from helpers import Client, get, reply, echo_handler

SIMPLE = """
server {
    listen @LISTEN@;
    location / { proxy_pass http://@b@; }
}
"""

UPSTREAM = """
upstream app { server @b@; }
server {
    listen @LISTEN@;
    location / { proxy_pass http://app; }
}
"""

# the header set of tests/fixtures/configs/tls-termination.conf, over plain HTTP
TLS_TERM_HEADERS = """
server {
    listen @LISTEN@;
    location / {
        proxy_pass http://@b@;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
}
"""


def test_get_via_host_port(rampart, backend):
    b = backend("b1")
    r = rampart(SIMPLE, backends={"b": b})
    resp = get(r.port, "/hello?x=1")
    assert resp.status == 200
    assert resp.body == b"ok from b1"
    assert resp.header("Content-Type") == "text/plain"
    assert len(b.requests) == 1
    req = b.last
    assert req.method == "GET"
    assert req.target == "/hello?x=1"
    # default Host is $proxy_host: host:port of proxy_pass
    assert req.header("Host") == b.addr


def test_get_via_upstream(rampart, backend):
    b = backend("b1")
    r = rampart(UPSTREAM, backends={"b": b})
    resp = get(r.port, "/a")
    assert resp.status == 200 and resp.body == b"ok from b1"
    # $proxy_host of an upstream is the upstream's name
    assert b.last.header("Host") == "app"
    assert b.last.target == "/a"


def test_post_body_forwarded(rampart, backend):
    b = backend("b1", echo_handler())
    r = rampart(SIMPLE, backends={"b": b})
    body = b"field=value&" + b"x" * 5000
    resp = get(r.port, "/submit", method="POST", body=body,
               headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert resp.status == 200
    assert resp.body == body
    req = b.last
    assert req.method == "POST"
    assert req.body == body
    assert req.header("Content-Type") == "application/x-www-form-urlencoded"
    assert req.header("Content-Length") == str(len(body))


def test_response_headers_and_status_back(rampart, backend):
    b = backend("b1", reply(404, [("X-Custom", "v1"), ("Set-Cookie", "a=1"),
                                  ("Set-Cookie", "b=2")], b"not here"))
    r = rampart(SIMPLE, backends={"b": b})
    resp = get(r.port, "/missing")
    assert resp.status == 404
    assert resp.body == b"not here"
    assert resp.header("X-Custom") == "v1"
    assert resp.header_all("Set-Cookie") == ["a=1", "b=2"]


def test_tls_termination_header_set(rampart, backend):
    b = backend("b1")
    r = rampart(TLS_TERM_HEADERS, backends={"b": b})
    resp = get(r.port, "/", host="example.test")
    assert resp.status == 200
    req = b.last
    assert req.header("Host") == "example.test"
    assert req.header("X-Real-IP") == "127.0.0.1"
    assert req.header("X-Forwarded-For") == "127.0.0.1"
    assert req.header("X-Forwarded-Proto") == "http"


def test_xff_appends_to_incoming(rampart, backend):
    b = backend("b1")
    r = rampart(TLS_TERM_HEADERS, backends={"b": b})
    resp = get(r.port, "/", headers=[("X-Forwarded-For", "203.0.113.7")])
    assert resp.status == 200
    assert b.last.header("X-Forwarded-For") == "203.0.113.7, 127.0.0.1"


def test_host_with_port_kept_in_host_var(rampart, backend):
    b = backend("b1")
    r = rampart(TLS_TERM_HEADERS, backends={"b": b})
    get(r.port, "/", host="Example.TEST:8080")
    # $host: lower-cased, without the port
    assert b.last.header("Host") == "example.test"


def test_request_hop_by_hop_removed(rampart, backend):
    b = backend("b1")
    r = rampart(SIMPLE, backends={"b": b})
    resp = get(r.port, "/", headers=[("Keep-Alive", "timeout=5"), ("TE", "trailers"),
                                     ("Upgrade", "foo/1"), ("X-Keep", "yes")])
    assert resp.status == 200
    req = b.last
    for name in ("Keep-Alive", "TE", "Upgrade", "Proxy-Connection"):
        assert not req.has(name), name
    assert req.header("X-Keep") == "yes"


@pytest.mark.rampart_only
def test_request_fields_named_in_connection_removed(rampart, backend):
    """RFC 9110 7.6.1: a proxy removes the fields named in Connection.
    nginx forwards them (it only replaces Connection itself)."""
    b = backend("b1")
    r = rampart(SIMPLE, backends={"b": b})
    resp = get(r.port, "/", headers=[("Connection", "X-Secret, keep-alive"),
                                     ("X-Secret", "s"), ("X-Keep", "yes")])
    assert resp.status == 200
    assert not b.last.has("X-Secret")
    assert b.last.header("X-Keep") == "yes"


def test_response_hop_by_hop_removed(rampart, backend):
    b = backend("b1", reply(200, [("Keep-Alive", "timeout=99"), ("X-Keep", "yes")], b"body",
                            keepalive=False))
    r = rampart(SIMPLE, backends={"b": b})
    with Client(r.port) as c:
        resp = c.request("GET", "/")
        assert resp.status == 200 and resp.body == b"body"
        assert "99" not in (resp.header("Keep-Alive") or "")
        assert resp.header("X-Keep") == "yes"
        # the backend's "Connection: close" is not the client's
        resp2 = c.request("GET", "/again")
        assert resp2.status == 200


@pytest.mark.rampart_only
def test_response_fields_named_in_connection_removed(rampart, backend):
    """RFC 9110 7.6.1 for responses; nginx passes such fields through."""
    b = backend("b1", reply(200, [("Connection", "X-Internal"), ("X-Internal", "secret")], b"x"))
    r = rampart(SIMPLE, backends={"b": b})
    resp = get(r.port, "/")
    assert resp.status == 200
    assert not resp.has("X-Internal")


def test_proxy_hide_and_pass_header(rampart, backend):
    b = backend("b1", reply(200, [("X-Powered-By", "php"), ("X-Accel-Something", "a"),
                                  ("X-Other", "o")], b"x"))
    r = rampart("""
    server {
        listen @LISTEN@;
        location / {
            proxy_pass http://@b@;
            proxy_hide_header X-Powered-By;
            proxy_pass_header X-Accel-Something;
        }
    }
    """, backends={"b": b})
    resp = get(r.port, "/")
    assert resp.status == 200
    assert not resp.has("X-Powered-By")
    assert resp.header("X-Accel-Something") == "a"
    assert resp.header("X-Other") == "o"


def test_date_and_server_from_proxy(rampart, backend):
    b = backend("b1", reply(200, [("Server", "BackendServer/9.9"),
                                  ("Date", "Mon, 01 Jan 2001 00:00:00 GMT")], b"x"))
    r = rampart(SIMPLE, backends={"b": b})
    resp = get(r.port, "/")
    assert resp.status == 200
    assert "BackendServer" not in (resp.header("Server") or "")
    date = resp.header("Date")
    assert date and "2001" not in date
    assert email.utils.parsedate_to_datetime(date).year >= 2024


def test_proxy_pass_header_server(rampart, backend):
    b = backend("b1", reply(200, [("Server", "BackendServer/9.9")], b"x"))
    r = rampart("""
    server {
        listen @LISTEN@;
        location / { proxy_pass http://@b@; proxy_pass_header Server; }
    }
    """, backends={"b": b})
    resp = get(r.port, "/")
    assert resp.header_all("Server") == ["BackendServer/9.9"]


@pytest.mark.rampart_only
def test_server_header_without_version(rampart, backend):
    """server_tokens defaults off in rampart: `Server: rampart`, no version.
    nginx defaults to on and sends nginx/<version>."""
    b = backend("b1")
    r = rampart(SIMPLE, backends={"b": b})
    resp = get(r.port, "/")
    assert resp.header("Server") == "rampart"


def test_proxy_set_header_empty_removes(rampart, backend):
    b = backend("b1")
    r = rampart("""
    server {
        listen @LISTEN@;
        location / {
            proxy_pass http://@b@;
            proxy_set_header User-Agent "";
            proxy_set_header X-Added "v-$request_method";
        }
    }
    """, backends={"b": b})
    get(r.port, "/", headers=[("User-Agent", "tester")])
    assert not b.last.has("User-Agent")
    assert b.last.header("X-Added") == "v-GET"


def test_proxy_redirect_default_and_off(rampart, backend):
    """proxy_redirect default: a Location naming the proxy_pass URL is
    rewritten to the client-facing location; `off` passes it untouched."""
    b = backend("b1")
    r = rampart("""
    server {
        listen @LISTEN@;
        location /app/ { proxy_pass http://@b@/v2/; }
        location /raw/ { proxy_pass http://@b@/v2/; proxy_redirect off; }
        location /own/ { proxy_pass http://@b@/v2/; proxy_redirect http://@b@/v2/ /mine/; }
    }
    """, backends={"b": b})
    addr = b.addr
    b.handler = reply(302, [("Location", "http://%s/v2/next?x=1" % addr),
                            ("Refresh", "5; url=http://%s/v2/r" % addr)], b"")
    resp = get(r.port, "/app/a", host="front.test")
    assert resp.status == 302
    assert resp.header("Location") == "http://front.test:%d/app/next?x=1" % r.port
    assert resp.header("Refresh") == "5; url=/app/r"
    assert b.last.target == "/v2/a"
    resp = get(r.port, "/raw/a", host="front.test")
    assert resp.header("Location") == "http://%s/v2/next?x=1" % addr
    resp = get(r.port, "/own/a", host="front.test")
    assert resp.header("Location") == "http://front.test:%d/mine/next?x=1" % r.port


def test_underscore_fields_dropped_by_default(rampart, backend):
    """underscores_in_headers off (nginx's default): a field whose name has
    '_' is not forwarded (it could alias X-Forwarded-For for CGI-style
    backends); `on` forwards it."""
    b = backend("b1")
    r = rampart("""
    server { listen @LISTEN@; location / { proxy_pass http://@b@; } }
    server { listen @LISTEN2@; underscores_in_headers on; location / { proxy_pass http://@b@; } }
    """, backends={"b": b})
    assert get(r.port, "/", headers=[("X_Forwarded_For", "6.6.6.6"), ("X-Ok", "1")]).status == 200
    assert b.last.header("X_Forwarded_For") is None and b.last.header("X-Ok") == "1"
    assert get(r.ports[1], "/", headers=[("X_Custom", "yes")]).status == 200
    assert b.last.header("X_Custom") == "yes"
