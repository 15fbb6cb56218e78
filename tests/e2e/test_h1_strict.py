"""Hostile and ambiguous HTTP/1.1 requests (RFC 9112).

For each: the status, that the connection is closed afterwards, and that
the backend received NOTHING. Cases nginx accepts are rampart_only:
rampart rejects every ambiguity (request smuggling defence) with 400 and
closes, where nginx picks an interpretation."""

import pytest

from helpers import Client, raw_exchange

CONF = """
server {
    listen @LISTEN@;
    large_client_header_buffers 4 1k;
    client_max_body_size 1k;
    location / { proxy_pass http://@b@; }
}
"""

H = b"Host: localhost\r\n"

# (id, raw request, expected status)
BOTH = [
    ("two-differing-cl", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("bad-cl", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3x\r\n\r\nabc", 400),
    ("negative-cl", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", 400),
    ("huge-cl-overflow", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\n", 400),
    ("te-gzip", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\nxxxx", 501),
    ("bad-chunk-size", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk-size-overflow", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff1\r\nabc\r\n0\r\n\r\n", 400),
    ("space-in-request-line", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("nul-in-target", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("ctl-in-field-name", b"GET / HTTP/1.1\r\n" + H + b"X-B\x01ad: v\r\n\r\n", 400),
    ("space-in-field-name", b"GET / HTTP/1.1\r\n" + H + b"X Bad: v\r\n\r\n", 400),
    ("bad-method-token", b"G(T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("http-2.0", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("http-3.0", b"GET / HTTP/3.0\r\n" + H + b"\r\n", 505),
    ("no-host-1.1", b"GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n", 400),
    ("two-hosts-1.1", b"GET / HTTP/1.1\r\n" + H + b"Host: other\r\n\r\n", 400),
    ("bad-host", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    ("uri-too-long", b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    ("body-too-large", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 2000\r\n\r\n" + b"x" * 2000, 413),
    ("not-http", b"HELLO\r\n\r\n", 400),
    # nginx: 400 "Request Header Or Cookie Too Large"; rampart: 431
    ("headers-too-big-any", b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 3000 + b"\r\n\r\n", (400, 431)),
    ("cl-and-te", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te-twice", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("same-cl-twice", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
    ("chunk-missing-crlf", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X-Folded: a\r\n b\r\n\r\n", 400),
    ("space-before-colon", b"GET / HTTP/1.1\r\n" + H + b"X-Space : v\r\n\r\n", 400),
    ("bare-cr-in-field", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", 400),
    ("nul-in-field-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    ("ctl-in-target", b"GET /a\x7fb HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("leading-space-header", b"GET / HTTP/1.1\r\n Host: localhost\r\n\r\n", 400),
    ("lowercase-version", b"GET / http/1.1\r\n" + H + b"\r\n", 400),
    ("te-in-http10", b"POST / HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
]

RAMPART_ONLY = [
    ("te-chunked-not-last", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("bad-chunk-ext", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3;\x01x\r\nabc\r\n0\r\n\r\n", 400),
    ("http-1.2", b"GET / HTTP/1.2\r\n" + H + b"\r\n", 505),
    ("headers-too-big", b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 3000 + b"\r\n\r\n", 431),
]


@pytest.fixture
def proxy(rampart, backend):
    b = backend("b1")
    r = rampart(CONF, backends={"b": b})
    return r, b


def _check(proxy, raw, status):
    r, b = proxy
    responses, closed = raw_exchange(r.port, raw, timeout=2.0)
    assert responses, "no response at all"
    want = status if isinstance(status, tuple) else (status,)
    assert responses[0].status in want, responses[0]
    assert len(responses) == 1
    assert closed, "connection left open"
    assert b.requests == [], "backend received %r" % b.requests
    assert b.connections == 0


@pytest.mark.parametrize("raw,status", [c[1:] for c in BOTH], ids=[c[0] for c in BOTH])
def test_rejected(proxy, raw, status):
    _check(proxy, raw, status)


@pytest.mark.rampart_only
@pytest.mark.parametrize("raw,status", [c[1:] for c in RAMPART_ONLY], ids=[c[0] for c in RAMPART_ONLY])
def test_rejected_strict(proxy, raw, status):
    """Where nginx 1.22 differs: a Transfer-Encoding list not ending in
    chunked gets 501 from nginx (rampart: 400, RFC 9112 6.3 says the length
    cannot be determined); a control character in a chunk extension is
    ignored by nginx; HTTP/1.2 is served by nginx as 1.x (rampart: 505, only
    1.0 and 1.1 exist); an oversized header block gets nginx's 400
    "Request Header Or Cookie Too Large" (rampart: 431, RFC 6585 5)."""
    _check(proxy, raw, status)


def test_bare_lf_accepted(proxy):
    """RFC 9112 2.2: a recipient MAY accept a bare LF as line terminator;
    the request is forwarded with CRLF."""
    r, b = proxy
    raw = b"GET /lf HTTP/1.1\nHost: localhost\nX-Test: one\n\n"
    responses, _ = raw_exchange(r.port, raw, timeout=1.0)
    assert responses and responses[0].status == 200
    assert len(b.requests) == 1
    req = b.last
    assert req.target == "/lf"
    assert req.header("X-Test") == "one"
    head = req.raw_head
    assert head.endswith(b"\r\n\r\n")
    assert b"\n" not in head.replace(b"\r\n", b"")


def test_valid_request_still_works_after_rejections(proxy):
    r, b = proxy
    with Client(r.port) as c:
        resp = c.request("POST", "/ok", body=b"small")
    assert resp.status == 200
    assert b.last.body == b"small"
