"""HTTP/1.1 features between client and proxy (RFC 9112)."""

import pytest

from helpers import Client, read_response, reply, echo_handler, raw_exchange

SIMPLE = """
server {
    listen @LISTEN@;
    keepalive_requests 5;
    location / { proxy_pass http://@b@; }
    location /local { return 200 "local"; }
}
"""


@pytest.fixture
def proxy(rampart, backend):
    b = backend("b1", echo_handler())
    r = rampart(SIMPLE, backends={"b": b})
    return r, b


def test_keepalive_and_keepalive_requests(proxy):
    r, b = proxy
    with Client(r.port) as c:
        for i in range(5):
            resp = c.request("GET", "/k%d" % i)
            assert resp.status == 200
            if i < 4:
                assert (resp.header("Connection") or "").lower() != "close"
        # the 5th response announced the close; the server closes
        assert (resp.header("Connection") or "").lower() == "close"
        assert c.closed(2.0)
    assert [q.target for q in b.requests] == ["/k%d" % i for i in range(5)]


def test_pipelining_in_order(proxy):
    r, b = proxy
    reqs = b"".join(
        b"POST /p%d HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n%s" % (
            i, len(b"body-%d" % i), b"body-%d" % i) for i in range(3))
    reqs += b"GET /local HTTP/1.1\r\nHost: localhost\r\n\r\n"
    with Client(r.port) as c:
        c.send(reqs)
        got = [c.response() for _ in range(4)]
    assert [g.status for g in got] == [200] * 4
    assert [g.body for g in got] == [b"body-0", b"body-1", b"body-2", b"local"]
    assert [g.header("X-Target") for g in got[:3]] == ["/p0", "/p1", "/p2"]
    assert [q.body for q in b.requests] == [b"body-0", b"body-1", b"body-2"]


def test_chunked_request_body_reframed(proxy):
    r, b = proxy
    raw = (b"POST /up HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n")
    with Client(r.port) as c:
        c.send(raw)
        resp = c.response()
    assert resp.status == 200
    assert resp.body == b"hello world!"
    req = b.last
    assert req.body == b"hello world!"
    # the backend gets either a Content-Length or chunked framing, never both
    cl, te = req.header("Content-Length"), req.header("Transfer-Encoding")
    assert (cl is None) != (te is None)
    if cl is not None:
        assert cl == "12"
    else:
        assert te.lower() == "chunked"


def test_expect_100_continue(proxy):
    r, b = proxy
    with Client(r.port) as c:
        c.send(b"POST /e HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
               b"Expect: 100-continue\r\n\r\n")
        c.sock.settimeout(3)
        interim = read_response(c.reader, skip_interim=False)
        assert interim.status == 100
        c.send(b"abcde")
        resp = c.response()
    assert resp.status == 200 and resp.body == b"abcde"
    assert b.last.body == b"abcde"
    assert not b.last.has("Expect")


def test_expect_100_with_too_large_body(rampart, backend):
    b = backend("b1")
    r = rampart("""
    server {
        listen @LISTEN@;
        client_max_body_size 10;
        location / { proxy_pass http://@b@; }
    }""", backends={"b": b})
    with Client(r.port) as c:
        c.send(b"POST /e HTTP/1.1\r\nHost: localhost\r\nContent-Length: 500\r\n"
               b"Expect: 100-continue\r\n\r\n")
        resp = read_response(c.reader, skip_interim=False)
    assert resp.status == 413
    assert b.requests == []


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(rampart, backend, status):
    b = backend("b1", reply(status, [("ETag", '"x"')], b"", mode="none"))
    r = rampart(SIMPLE, backends={"b": b})
    with Client(r.port) as c:
        resp = c.request("GET", "/nb")
        assert resp.status == status
        assert resp.body == b""
        assert not resp.has("Transfer-Encoding")
        # the connection is still in sync: a second request works
        resp = c.request("GET", "/local")
        assert resp.status == 200 and resp.body == b"local"


def test_head_has_no_body(rampart, backend):
    b = backend("b1", reply(200, [("Content-Type", "text/plain")], b"", mode="none",
                            ))
    r = rampart(SIMPLE, backends={"b": b})
    with Client(r.port) as c:
        resp = c.request("HEAD", "/h")
        assert resp.status == 200 and resp.body == b""
        resp = c.request("GET", "/local")
        assert resp.body == b"local"
    assert b.last.method == "HEAD"


def test_head_with_length_from_backend(rampart, backend):
    def h(bk, req, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
        return True
    b = backend("b1", h)
    r = rampart(SIMPLE, backends={"b": b})
    with Client(r.port) as c:
        resp = c.request("HEAD", "/h")
        assert resp.status == 200 and resp.body == b""
        assert resp.header("Content-Length") == "1234"
        resp = c.request("GET", "/local")
        assert resp.body == b"local"


def test_http10_client(proxy):
    r, b = proxy
    responses, closed = raw_exchange(r.port, b"GET /old HTTP/1.0\r\n\r\n", timeout=2)
    assert len(responses) == 1
    resp = responses[0]
    assert resp.status == 200
    assert resp.version in ("HTTP/1.1", "HTTP/1.0")
    assert not resp.has("Transfer-Encoding")
    assert closed
    assert b.last.target == "/old"


def test_http10_keepalive(proxy):
    r, b = proxy
    with Client(r.port) as c:
        c.send(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        resp = c.response()
        assert resp.status == 200
        assert (resp.header("Connection") or "").lower() == "keep-alive"
        c.send(b"GET /b HTTP/1.0\r\n\r\n")
        resp = c.response()
        assert resp.status == 200
        assert c.closed(2.0)


def test_http10_client_chunked_backend(rampart, backend):
    b = backend("b1", reply(200, None, b"chunked body here", mode="chunked"))
    r = rampart(SIMPLE, backends={"b": b})
    responses, closed = raw_exchange(r.port, b"GET / HTTP/1.0\r\n\r\n", timeout=2)
    assert responses[0].body == b"chunked body here"
    assert not responses[0].has("Transfer-Encoding")
    assert closed


def test_absolute_form_target(proxy):
    r, b = proxy
    with Client(r.port) as c:
        resp = c.request("GET", "http://example.test/abs?q=1", host="ignored.test")
    assert resp.status == 200
    assert b.last.target == "/abs?q=1"


def test_chunked_backend_response(rampart, backend):
    body = b"0123456789" * 1000
    b = backend("b1", reply(200, None, body, mode="chunked"))
    r = rampart(SIMPLE, backends={"b": b})
    with Client(r.port) as c:
        resp = c.request("GET", "/c")
        assert resp.status == 200 and resp.body == body
        resp = c.request("GET", "/local")
        assert resp.body == b"local"


def test_close_delimited_backend_response(rampart, backend):
    body = b"close-delimited " * 500
    b = backend("b1", reply(200, None, body, mode="close"))
    r = rampart(SIMPLE, backends={"b": b})
    with Client(r.port) as c:
        resp = c.request("GET", "/cd")
        assert resp.status == 200
        assert resp.body == body
        # framed for the client (chunked or length) so keep-alive survives
        resp = c.request("GET", "/local")
        assert resp.body == b"local"


def test_large_post_body_streamed(proxy):
    r, b = proxy
    body = bytes(range(256)) * 4096  # 1 MiB
    with Client(r.port, timeout=10) as c:
        resp = c.request("POST", "/big", body=body)
    assert resp.status == 200
    assert b.last.body == body
    assert resp.body == body


def test_connection_close_from_client(proxy):
    r, b = proxy
    with Client(r.port) as c:
        resp = c.request("GET", "/x", headers=[("Connection", "close")])
        assert resp.status == 200
        assert (resp.header("Connection") or "").lower() == "close"
        assert c.closed(2.0)


def test_keepalive_timeout_header_argument(rampart, backend):
    """keepalive_timeout 30s 25s: the second value is announced as
    "Keep-Alive: timeout=25" on keep-alive responses, local and proxied."""
    b = backend("b1")
    r = rampart("""
    server {
        listen @LISTEN@;
        keepalive_timeout 30s 25s;
        location /local { return 200 "x"; }
        location / { proxy_pass http://@b@; }
    }
    """, backends={"b": b})
    with Client(r.port) as c:
        for target in ("/local", "/p"):
            resp = c.request("GET", target)
            assert resp.status == 200
            assert resp.header("Keep-Alive") == "timeout=25"
