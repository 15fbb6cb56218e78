"""Robustness against hostile clients and hostile backends.

Every test is bounded (well under 10 s) and checks three things:
(1) the proxy answers correctly or closes the connection,
(2) it stays alive and serves a normal request afterwards on a fresh
    connection (assert_serving),
(3) the backend received nothing it should not have: no request for bytes
    the client never completed, no smuggled second request, and every head
    it got is a well-formed re-serialised HTTP/1.x head.

The test backends are deliberately lenient parsers (Transfer-Encoding
"contains chunked" wins over Content-Length, int() on Content-Length), so
a proxy that forwarded an ambiguous framing header would make them see a
smuggled request.
"""

import random
import re
import select
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import (Client, Closed, HOST, build_request, huge_handler, is_nginx,
                     send_response, upgrade_echo_handler, wait_for,
                     wants_keepalive)

H = b"Host: localhost\r\n"

CONF = """
server {
    listen @LISTEN@;
    client_header_timeout 1s;
    client_body_timeout 1s;
    large_client_header_buffers 4 8k;
    client_max_body_size 1m;
    location / {
        proxy_pass http://@b@;
        proxy_read_timeout 1s;
    }
    location /hdr {
        add_header X-U $arg_u;
        add_header X-Uri $uri;
        proxy_set_header X-P $arg_u;
        proxy_set_header X-Puri $uri;
        proxy_pass http://@b@;
    }
    location /tun {
        proxy_pass http://@b@;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_read_timeout 5s;
    }
}
"""

TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
REQ_LINE = re.compile(TOKEN + rb" [\x21-\x7e\x80-\xff]+ HTTP/1\.[01]\r\n")
FIELD = re.compile(TOKEN + rb":[ \t]?[^\x00-\x08\x0a-\x1f\x7f]*\r\n")


def valid_forwarded_head(raw):
    """True if raw is a clean HTTP/1.x request head: token method, no
    whitespace or controls in the target, token field names, no CR/LF/NUL
    in values, CRLF line ends, one Host, never both Content-Length and
    Transfer-Encoding."""
    m = REQ_LINE.match(raw)
    if not m:
        return False
    pos = m.end()
    names = []
    while raw[pos:pos + 2] != b"\r\n":
        f = FIELD.match(raw, pos)
        if not f:
            return False
        names.append(raw[pos:f.end()].split(b":", 1)[0].lower())
        pos = f.end()
    if raw[pos:] != b"\r\n":
        return False
    if names.count(b"host") != 1:
        return False
    if b"content-length" in names and b"transfer-encoding" in names:
        return False
    if names.count(b"content-length") > 1 or names.count(b"transfer-encoding") > 1:
        return False
    return True


def assert_serving(r, b, target="/alive-check"):
    """The proxy is alive and a normal request on a fresh connection
    reaches the backend and comes back."""
    assert r.alive(), "proxy died:\n" + r.stderr()[-3000:] + r.error_log()[-3000:]
    n = len(b.requests)
    with Client(r.port, timeout=5) as c:
        resp = c.request("GET", target)
    assert resp.status == 200, resp
    assert b.requests[n:] and b.requests[-1].target == target
    assert r.alive()


def rst_close(sock):
    """Close with a TCP RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


@pytest.fixture
def proxy(rampart, backend):
    b = backend("b1")
    r = rampart(CONF, backends={"b": b})
    return r, b


# ---------------------------------------------------------------- slowloris

def test_slowloris_closed_on_time(proxy):
    """40 connections each send one more header byte every 200 ms. With
    client_header_timeout 1s they are all closed (maybe with a 408) after
    about a second, not kept alive by the dribble, and a normal request is
    served meanwhile."""
    r, b = proxy
    n = 40
    socks = []
    for _ in range(n):
        s = socket.create_connection((HOST, r.port), timeout=2)
        s.setblocking(False)
        s.send(b"GET /loris HTTP/1.1\r\nHost: localhost\r\nX-Loris: ")
        socks.append(s)
    t0 = time.monotonic()
    open_ = {s: b"" for s in socks}
    closed_at = {}
    served_meanwhile = False
    while open_ and time.monotonic() - t0 < 4.0:
        for s in list(open_):
            try:
                s.send(b"a")
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                closed_at[s] = time.monotonic() - t0
                del open_[s]
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline and open_:
            rl, _, _ = select.select(list(open_), [], [], max(0, deadline - time.monotonic()))
            for s in rl:
                try:
                    d = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    d = b""
                if d:
                    open_[s] += d
                    continue
                closed_at[s] = time.monotonic() - t0
                del open_[s]
        if not served_meanwhile and time.monotonic() - t0 > 0.4:
            with Client(r.port, timeout=2) as c:
                resp = c.request("GET", "/meanwhile")
            assert resp.status == 200
            served_meanwhile = True
    for s in socks:
        s.close()
    assert not open_, "%d slowloris connections still open after 4 s" % len(open_)
    assert served_meanwhile
    latest = max(closed_at.values())
    assert 0.8 <= min(closed_at.values()) and latest < 2.5, sorted(closed_at.values())
    assert [q.target for q in b.requests] == ["/meanwhile"]
    assert_serving(r, b)


# ---------------------------------------------------------------- client disconnects

STAGES = [
    ("mid-request-line", b"GET /never-fin"),
    ("mid-headers", b"GET /never HTTP/1.1\r\nHost: localhost\r\nX-Half: abc"),
    ("mid-headers-after-crlf", b"GET /never HTTP/1.1\r\nHost: localhost\r\n"),
    ("mid-body-cl", b"POST /never HTTP/1.1\r\n" + H + b"Content-Length: 1000\r\n\r\n" + b"x" * 100),
    ("mid-body-chunked", b"POST /never HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                         b"5\r\nhello\r\n10\r\nabc"),
    ("mid-chunk-size", b"POST /never HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                       b"5\r\nhello\r\n1"),
    ("before-last-chunk", b"POST /never HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                          b"5\r\nhello\r\n0\r\n"),
]


@pytest.mark.parametrize("how", ["fin", "rst"])
@pytest.mark.parametrize("data", [s[1] for s in STAGES], ids=[s[0] for s in STAGES])
def test_client_disconnects_mid_request(proxy, data, how):
    """An unfinished request never reaches the backend, whatever the stage
    the client leaves at and however it leaves."""
    r, b = proxy
    s = socket.create_connection((HOST, r.port), timeout=2)
    s.sendall(data)
    time.sleep(0.1)
    if how == "rst":
        rst_close(s)
    else:
        s.shutdown(socket.SHUT_WR)
        try:
            got = s.recv(65536)
        except OSError:
            got = b""
        # either a plain close or an error answer, never a 2xx
        assert not re.match(rb"HTTP/1\.[01] 2", got), got
        s.close()
    time.sleep(0.2)
    assert b.requests == [], b.requests
    assert_serving(r, b)
    assert [q.target for q in b.requests] == ["/alive-check"]


def test_client_disconnects_while_backend_works(rampart, backend):
    """The client sends a whole request and leaves while the backend is
    thinking: the backend got exactly that one request, its connection is
    closed by the proxy (the work is abandoned), and 499 is logged."""
    seen_eof = []

    def slow(b, req, sock):
        if req.target != "/slow":
            return send_response(sock, 200, None, b"ok", keepalive=wants_keepalive(req))
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            rl, _, _ = select.select([sock], [], [], 0.05)
            if rl:
                try:
                    d = sock.recv(1, socket.MSG_PEEK)
                except OSError:
                    d = b""
                if not d:
                    seen_eof.append(time.monotonic())
                    return False
        return send_response(sock, 200, None, b"late", keepalive=False)

    b = backend("slow", slow)
    r = rampart(CONF, backends={"b": b})
    s = socket.create_connection((HOST, r.port), timeout=2)
    s.sendall(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert b.wait_requests(1, 2.0)
    t0 = time.monotonic()
    s.close()
    assert wait_for(lambda: seen_eof, 2.5), "backend connection not closed after client left"
    assert seen_eof[0] - t0 < 2.0
    assert wait_for(lambda: " 499 " in r.access_log(), 2.0), r.access_log()
    assert [q.target for q in b.requests] == ["/slow"]
    assert_serving(r, b)


@pytest.mark.parametrize("mode", ["length", "close"])
def test_client_disconnects_mid_response(rampart, backend, mode):
    """A client that resets the connection while a large response streams:
    the proxy stops reading from the backend (it sees a broken pipe soon)
    instead of draining gigabytes."""
    result = {}
    inner = huge_handler(2 << 30, chunk=1 << 16, mode=mode)

    def h(b, req, sock):
        if req.target != "/huge":
            return send_response(sock, 200, None, b"ok", keepalive=wants_keepalive(req))
        t0 = time.monotonic()
        try:
            inner(b, req, sock)
        finally:
            result["elapsed"] = time.monotonic() - t0
        return False

    b = backend("huge", h)
    r = rampart(CONF, backends={"b": b})
    s = socket.create_connection((HOST, r.port), timeout=3)
    s.sendall(b"GET /huge HTTP/1.1\r\nHost: localhost\r\n\r\n")
    got = 0
    while got < 256 * 1024:
        d = s.recv(65536)
        assert d
        got += len(d)
    rst_close(s)
    assert wait_for(lambda: "elapsed" in result, 4.0), "backend still streaming 4 s after the client left"
    assert [q.target for q in b.requests] == ["/huge"]
    assert_serving(r, b)


# ---------------------------------------------------------------- fuzz burst

BASES = [
    build_request("GET", "/fz/a?x=1", {"User-Agent": "fuzz", "Accept": "*/*"}),
    build_request("POST", "/fz/post", {"Content-Type": "text/plain"}, body=b"hello=world&a=b"),
    b"POST /fz/chunk HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    b"GET /fz/two HTTP/1.1\r\nHost: localhost\r\n\r\nGET /fz/three HTTP/1.1\r\nHost: localhost\r\n"
    b"Connection: close\r\n\r\n",
    build_request("PUT", "/fz/put", {"Content-Length": "4", "Expect": "100-continue"}) + b"abcd",
    b"GET http://localhost/fz/abs HTTP/1.1\r\nHost: localhost\r\nCookie: a=b; c=d\r\n\r\n",
]
SPECIAL = [b"\r", b"\n", b"\r\n", b"\x00", b" ", b"\t", b":", b"%", b"\x7f", b"\xff", b"\r\n\r\n",
           b"Transfer-Encoding: chunked\r\n", b"Content-Length: 5\r\n", b"0\r\n\r\n", b"/../",
           b"%00", b"\x0b", b",", b"-", b"HTTP/1.1"]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        if not data:
            break
        i = rng.randrange(len(data))
        if op == 0:
            data[i] = rng.randrange(256)
        elif op == 1:
            data[i:i] = rng.choice(SPECIAL)
        elif op == 2:
            del data[i:i + rng.randint(1, 8)]
        elif op == 3:
            j = rng.randrange(len(data))
            data[i:i] = data[min(i, j):max(i, j)][:64]
        else:
            data = data[:i]
    return bytes(data)


def fuzz_inputs(seed=0x5eed, n=300):
    rng = random.Random(seed)
    out = []
    for k in range(n):
        if k % 3 == 0:
            out.append(("garbage", bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))))
        elif k % 3 == 1:
            # printable garbage with line ends: looks more like a head
            alphabet = b"GETPOSHT/1. :\r\nabcxyz-0123456789%?=&"
            out.append(("garbage", bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 200)))))
        else:
            out.append(("mutated", mutate(rng, rng.choice(BASES))))
    return out


def _fuzz_one(port, data):
    # No half-close after sending: a FIN from the client while a request is
    # in flight means "client gone" (499) to nginx and rampart alike. Read
    # until the server closes or stays quiet for 0.5 s.
    s = socket.create_connection((HOST, port), timeout=2)
    s.settimeout(0.5)
    got = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            pass
        while len(got) < 1 << 20:
            try:
                d = s.recv(65536)
            except socket.timeout:
                return got, "open"
            except OSError:
                return got, "reset"
            if not d:
                return got, "closed"
            got += d
        return got, "flood"
    finally:
        s.close()


def test_fuzz_burst(rampart, backend):
    """300 connections of random bytes and mutated valid requests (fixed
    seed). Garbage never gets a 2xx; every 2xx came from the backend; every
    request the backend got is a clean head, and the backend got exactly as
    many requests as the clients got backend answers."""
    def h(b, req, sock):
        return send_response(sock, 200, [("X-From", "backend")], b"BACKEND-OK",
                             keepalive=wants_keepalive(req))

    b = backend("fz", h, timeout=3.0)
    r = rampart(CONF, backends={"b": b})
    inputs = fuzz_inputs()
    with ThreadPoolExecutor(max_workers=24) as ex:
        results = list(ex.map(lambda kd: _fuzz_one(r.port, kd[1]), inputs))
    assert r.alive()
    backend_answers = 0
    statuses = []
    for (kind, data), (got, end) in zip(inputs, results):
        st = [int(x) for x in re.findall(rb"HTTP/1\.[01] (\d{3}) ", got)]
        statuses += st
        backend_answers += got.count(b"BACKEND-OK")
        assert end != "flood", (data, got[:300])
        if kind == "garbage":
            assert not any(200 <= x < 300 for x in st), (data, got[:500])
            assert b"BACKEND-OK" not in got, (data, got[:500])
        n2xx = sum(1 for x in st if 200 <= x < 300)
        assert n2xx <= got.count(b"BACKEND-OK"), (data, got[:500])
        if not is_nginx():
            # nginx answers HTTP/0.9 requests without a status line
            assert got == b"" or got.startswith(b"HTTP/1.1 "), (data, got[:300])
    assert wait_for(lambda: len(b.requests) >= backend_answers, 2.0)
    time.sleep(0.2)
    assert len(b.requests) == backend_answers, [q.raw_head for q in b.requests]
    bad = [q.raw_head for q in b.requests if not valid_forwarded_head(q.raw_head)]
    assert not bad, bad
    assert any(400 <= x < 500 for x in statuses)
    assert_serving(r, b)


# ---------------------------------------------------------------- smuggling

SMUG = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
SMUG_POST = b"POST /smuggled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 15\r\n\r\nx="


def _cl_te(te_line):
    """Content-Length covers everything; chunked ends after the 0 chunk."""
    body = b"0\r\n\r\n" + SMUG
    return (b"POST /front HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n" % len(body)
            + te_line + b"\r\n" + body)


def _te_cl(te_line):
    """Chunked covers everything; Content-Length stops after the size line."""
    chunk = b"G" + SMUG_POST
    body = b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n"
    return (b"POST /front HTTP/1.1\r\n" + H + te_line + b"Content-Length: 4\r\n\r\n" + body)


def _te_only(te_line):
    """Only the obfuscated TE: a proxy that ignores it sees no body and
    parses the chunk data as the next request."""
    chunk = SMUG
    body = b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n"
    return b"POST /front HTTP/1.1\r\n" + H + te_line + b"\r\n" + body


TE_VARIANTS = [
    ("plain", b"Transfer-Encoding: chunked\r\n"),
    ("trailing-space", b"Transfer-Encoding: chunked \r\n"),
    ("tab-before", b"Transfer-Encoding:\tchunked\r\n"),
    ("no-space", b"Transfer-Encoding:chunked\r\n"),
    ("xchunked", b"Transfer-Encoding: xchunked\r\n"),
    ("chunked-identity", b"Transfer-Encoding: chunked, identity\r\n"),
    ("identity-chunked", b"Transfer-Encoding: identity, chunked\r\n"),
    ("dup-lines", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"),
    ("dup-lines-same", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
    ("uppercase", b"TRANSFER-ENCODING: CHUNKED\r\n"),
    ("space-before-colon", b"Transfer-Encoding : chunked\r\n"),
    ("vtab", b"Transfer-Encoding: \x0bchunked\r\n"),
    ("quoted", b"Transfer-Encoding: \"chunked\"\r\n"),
    ("obs-fold", b"Transfer-Encoding:\r\n chunked\r\n"),
    ("underscore", b"Transfer_Encoding: chunked\r\n"),
    ("leading-comma", b"Transfer-Encoding: ,chunked\r\n"),
    ("nul", b"Transfer-Encoding: chunked\x00\r\n"),
    ("cr-inside", b"Transfer-Encoding: chun\rked\r\n"),
    ("x-prefix-line", b"X: y\r\nTransfer-Encoding: chunked\r\n"),
]


def exchange(port, raw, quiet=0.3, timeout=2.0):
    """Send raw bytes on a fresh connection; read answers until the server
    closes or stays quiet for `quiet` seconds. Returns (responses, closed)."""
    responses = []
    with Client(port, timeout=timeout) as c:
        try:
            c.send(raw)
        except OSError:
            pass
        while True:
            try:
                responses.append(c.response())
            except Closed:
                return responses, True
            except (socket.timeout, ConnectionResetError):
                return responses, True
            if c.closed(timeout=quiet):
                return responses, True
            if not c.reader.buf:
                return responses, False


def _smuggle_check(proxy, raw):
    """One client request: the backend gets at most one request, never the
    smuggled one, and only a clean head. Returns (responses, forwarded)."""
    r, b = proxy
    n = len(b.requests)
    responses, closed = exchange(r.port, raw)
    time.sleep(0.15)
    forwarded = b.requests[n:]
    targets = [q.target for q in forwarded]
    assert "/smuggled" not in targets, (targets, [q.raw_head for q in forwarded])
    assert len(forwarded) <= 1, targets
    for q in forwarded:
        assert valid_forwarded_head(q.raw_head), q.raw_head
        assert b"smuggled" not in q.raw_head
    for resp in responses:
        if 200 <= resp.status < 300:
            assert resp.body.startswith(b"ok from"), resp
    # one client request, at most one answer that is not an error
    assert len([x for x in responses if x.status < 400]) <= 1, responses
    if not forwarded:
        assert responses and responses[0].status in (400, 501), responses
        assert closed
    assert_serving(r, b)
    return responses, forwarded


@pytest.mark.parametrize("te", [v[1] for v in TE_VARIANTS], ids=[v[0] for v in TE_VARIANTS])
def test_smuggling_te(proxy, te):
    """Each Transfer-Encoding spelling in three shapes: CL.TE, TE.CL and
    TE alone. With a Content-Length as well, it is always refused."""
    for shape in (_cl_te, _te_cl, _te_only):
        responses, forwarded = _smuggle_check(proxy, shape(te))
        if shape is not _te_only:
            assert forwarded == [] or b"Transfer_Encoding" in te, (shape.__name__, responses)


CL_VARIANTS = [
    ("plus", b"+%d"),
    ("hex", b"0x%x"),
    ("minus-zero", b"-0%d"),
    ("leading-spaces", b"   %d"),
    ("trailing-junk", b"%d;"),
    ("list-different", b"%d, 1"),
    ("exp", b"%de0"),
    ("space-inside", b"%d 0"),
    ("underscore", b"%d_0"),
    ("leading-zeros", b"000%d"),
]


@pytest.mark.parametrize("fmt", [v[1] for v in CL_VARIANTS], ids=[v[0] for v in CL_VARIANTS])
def test_smuggling_cl(proxy, fmt):
    """The body is exactly the smuggled request. A parser that reads the
    odd Content-Length as 0 (atoi style) forwards it as a second request."""
    r, b = proxy
    value = fmt % len(SMUG)
    raw = b"POST /front HTTP/1.1\r\n" + H + b"Content-Length: " + value + b"\r\n\r\n" + SMUG
    responses, forwarded = _smuggle_check(proxy, raw)
    for q in forwarded:
        # what was forwarded is the whole body, under a clean length
        assert q.header("Content-Length") == str(len(SMUG)), q.raw_head
        assert q.body == SMUG


def test_smuggling_chunk_ext_quoted_crlf(proxy):
    """A chunk extension whose quoted string holds a CRLF and a fake last
    chunk: however the extension is read, no request hides in a body."""
    r, b = proxy
    body = (b"3;a=\"b\r\n0\r\n\r\n\"\r\nabc\r\n" b"0\r\n\r\n" + SMUG)
    raw = b"POST /front HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + body
    responses, closed = exchange(r.port, raw)
    time.sleep(0.15)
    # a quoted CRLF in an extension is invalid: 400; or, if read as
    # extension text, the smuggled request is a real pipelined one. Never
    # a request the backend sees inside a body.
    for q in b.requests:
        assert valid_forwarded_head(q.raw_head)
        if q.target == "/front":
            assert b"smuggled" not in q.body
    assert_serving(r, b)


# ---------------------------------------------------------------- pipelining

def test_pipeline_100_in_one_write(rampart, backend):
    def h(b, req, sock):
        return send_response(sock, 200, [("X-Target", req.target)], req.target,
                             keepalive=wants_keepalive(req))

    b = backend("pipe", h)
    r = rampart(CONF, backends={"b": b})
    data = b"".join(b"GET /p/%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % i for i in range(100))
    with Client(r.port, timeout=5) as c:
        c.send(data)
        got = [c.response() for _ in range(100)]
        assert c.closed(0.3) is False
    assert [x.status for x in got] == [200] * 100
    assert [x.body for x in got] == [b"/p/%d" % i for i in range(100)]
    assert [q.target for q in b.requests] == ["/p/%d" % i for i in range(100)]
    assert_serving(r, b)


# ---------------------------------------------------------------- response splitting

def test_response_splitting_arg(proxy):
    """$arg_u is not decoded: %0d%0a stays literal in the header."""
    r, b = proxy
    with Client(r.port) as c:
        resp = c.request("GET", "/hdr?u=a%0d%0aX-Injected:%20yes%0d%0a%0d%0aBODY")
    assert resp.status == 200
    assert not resp.has("X-Injected")
    assert resp.header("X-U") == "a%0d%0aX-Injected:%20yes%0d%0a%0d%0aBODY"
    q = b.last
    assert not q.has("X-Injected")
    assert q.header("X-P") == "a%0d%0aX-Injected:%20yes%0d%0a%0d%0aBODY"
    assert valid_forwarded_head(q.raw_head)
    assert_serving(r, b)


@pytest.mark.rampart_only
def test_response_splitting_decoded_uri(proxy):
    """$uri is percent-decoded, so %0d%0a in the path would put a raw CRLF
    into add_header / proxy_set_header values (nginx splits the response
    here). rampart must refuse the request or keep the CRLF out of every
    head: the client never sees an injected field, neither does the
    backend."""
    r, b = proxy
    raw = b"GET /hdr/a%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: localhost\r\n\r\n"
    with Client(r.port) as c:
        c.send(raw)
        try:
            resp = c.response()
        except Closed:
            resp = None
        rest = c.reader.read_to_eof(limit=65536) if resp is not None and c.closed(0.5) else b""
    if resp is not None:
        assert not resp.has("X-Injected"), resp.raw_head
        assert b"\r\nX-Injected" not in resp.raw_head
        assert resp.status in (200, 400, 500), resp
        for k, v in resp.headers:
            assert "\r" not in v and "\n" not in v
    assert b"X-Injected" not in rest or b"\r\nX-Injected" not in rest
    for q in b.requests:
        assert not q.has("X-Injected"), q.raw_head
        assert valid_forwarded_head(q.raw_head), q.raw_head
    assert_serving(r, b)


# ---------------------------------------------------------------- many headers

def _many_headers(n, size=10):
    return (b"GET /many HTTP/1.1\r\n" + H
            + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * size) for i in range(n)) + b"\r\n")


def test_headers_just_under_limits(proxy):
    """250 header lines, and three 8000-byte lines (each under the 8k line
    limit, together under 4 x 8k): served, all forwarded."""
    r, b = proxy
    for raw, count in ((_many_headers(250), 250),
                       (b"GET /many HTTP/1.1\r\n" + H
                        + b"".join(b"X-L%d: %s\r\n" % (i, b"l" * 8000) for i in range(3))
                        + b"\r\n", 3)):
        n = len(b.requests)
        responses, _ = exchange(r.port, raw)
        assert responses and responses[0].status == 200, responses
        assert len(b.requests) == n + 1
        got = [k for k, _ in b.last.headers if k.startswith("X-")]
        assert len(got) == count
    assert_serving(r, b)


@pytest.mark.parametrize("raw", [
    b"GET /many HTTP/1.1\r\n" + H + b"".join(b"X-L%d: %s\r\n" % (i, b"l" * 7000)
                                               for i in range(6)) + b"\r\n",
    b"GET /many HTTP/1.1\r\n" + H + b"X-Long: " + b"l" * 9000 + b"\r\n\r\n",
    _many_headers(5000, 1),
], ids=["total-over", "line-over", "5000-lines-over-size"])
def test_headers_over_limits(proxy, raw):
    r, b = proxy
    responses, closed = exchange(r.port, raw)
    assert responses and responses[0].status in (400, 431), responses
    assert closed
    assert b.requests == []
    assert_serving(r, b)


@pytest.mark.rampart_only
def test_header_count_over_limit(proxy):
    """More than 256 header lines: 431 (nginx has no count limit)."""
    r, b = proxy
    responses, closed = exchange(r.port, _many_headers(300))
    assert responses and responses[0].status == 431, responses
    assert closed
    assert b.requests == []
    assert_serving(r, b)


# ---------------------------------------------------------------- hostile backends

def _rst(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


def hostile(data, then="close", delay=0.0):
    """Answer /bad with data, then: close, rst or stall; anything else 200."""
    def h(b, req, sock):
        if not req.target.startswith("/bad"):
            return send_response(sock, 200, None, b"ok", keepalive=wants_keepalive(req))
        if delay:
            time.sleep(delay)
        if callable(data):
            data(sock)
        else:
            sock.sendall(data)
        if then == "rst":
            _rst(sock)
        elif then == "stall":
            time.sleep(3.0)
        return False
    return h


def _drip_head(sock):
    sock.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
    for _ in range(3):
        time.sleep(0.2)
        sock.sendall(b"d")


GARBAGE = bytes(random.Random(7).randrange(256) for _ in range(500))

# (id, backend behaviour, allowed statuses, body must be complete)
def _drip_forever(sock):
    sock.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
    for _ in range(25):
        time.sleep(0.2)
        sock.sendall(b"d")


# (id, backend behaviour, allowed statuses; None = closed without an answer)
BACKEND_BOTH = [
    ("rst-before-answer", hostile(b"", then="rst"), (502,)),
    ("close-before-answer", hostile(b""), (502,)),
    ("too-big-head", hostile(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 40)
                                                               for i in range(200))
                             + b"Content-Length: 2\r\n\r\nok"), (502,)),
    ("nul-in-head", hostile(b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok"), (502,)),
    # head and a broken first chunk in one read: nginx and rampart both
    # close without an answer (the head was not sent yet)
    ("bad-chunk", hostile(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
     (None, 200, 502)),
    ("bad-chunk-later", hostile(lambda s: (s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                                     b"3\r\nabc\r\n"), time.sleep(0.2),
                                           s.sendall(b"zz\r\nabc\r\n0\r\n\r\n"))),
     (200,)),
]

# nginx relays these: a status line it cannot parse as HTTP/0.9, both CL
# and TE by preferring chunked, an overflowing Content-Length by ignoring it.
BACKEND_RAMPART_ONLY = [
    ("garbage", hostile(GARBAGE), (502,)),
    ("garbage-rst", hostile(GARBAGE, then="rst"), (502,)),
    ("cl-and-te", hostile(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"3\r\nabc\r\n0\r\n\r\n" + b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nevil"),
     (502,)),
    ("huge-cl-overflow", hostile(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nabc"),
     (502,)),
    ("bad-status-code", hostile(b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"), (502,)),
    ("negative-cl", hostile(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nabcde"), (502,)),
    ("two-cl", hostile(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nabcde"), (502,)),
    ("cl-plus", hostile(b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nab"), (502,)),
    ("bare-cr-header", hostile(b"HTTP/1.1 200 OK\r\nX-A: a\rX-Injected: 1\r\nContent-Length: 2\r\n\r\nok"),
     (502,)),
    ("obs-fold", hostile(b"HTTP/1.1 200 OK\r\nX-A: a\r\n X-Injected: 1\r\nContent-Length: 2\r\n\r\nok"),
     (502,)),
]


def _backend_check(rampart, backend, handler, statuses):
    b = backend("hostile", handler)
    r = rampart(CONF, backends={"b": b})
    t0 = time.monotonic()
    responses, closed = exchange(r.port, b"GET /bad HTTP/1.1\r\nHost: localhost\r\n\r\n",
                                 timeout=3.0)
    elapsed = time.monotonic() - t0
    if not responses:
        assert None in statuses, "no answer"
        assert closed
        assert_serving(r, b, "/ok-after")
        return None, elapsed
    resp = responses[0]
    assert resp.status in statuses, resp
    assert not resp.has("X-Injected")
    if resp.status == 200:
        # headers already sent: the broken body ends with a close
        assert not resp.complete or closed
    assert b"evil" not in resp.body
    assert len(responses) == 1, responses
    assert elapsed < 3.5
    assert_serving(r, b, "/ok-after")
    return resp, elapsed


@pytest.mark.parametrize("handler,statuses", [c[1:] for c in BACKEND_BOTH],
                         ids=[c[0] for c in BACKEND_BOTH])
def test_hostile_backend(rampart, backend, handler, statuses):
    _backend_check(rampart, backend, handler, statuses)


@pytest.mark.rampart_only
@pytest.mark.parametrize("handler,statuses", [c[1:] for c in BACKEND_RAMPART_ONLY],
                         ids=[c[0] for c in BACKEND_RAMPART_ONLY])
def test_hostile_backend_strict(rampart, backend, handler, statuses):
    """nginx relays a non-HTTP answer as HTTP/0.9 and ignores a bad
    Content-Length; rampart answers 502 (docs/nginx-compat.md)."""
    _backend_check(rampart, backend, handler, statuses)


def test_backend_head_drip_then_stall_times_out(rampart, backend):
    """A response head that never ends: bytes trickle, then stop. The read
    timeout (1 s between reads) gives 504 about a second after the last
    byte, and the half head never leaks to the client."""
    b = backend("drip", hostile(_drip_head, then="stall"))
    r = rampart(CONF, backends={"b": b})
    t0 = time.monotonic()
    with Client(r.port, timeout=4) as c:
        resp = c.request("GET", "/bad")
    elapsed = time.monotonic() - t0
    assert resp.status == 504
    assert not resp.has("X-Drip")
    assert 0.9 <= elapsed < 2.8, elapsed
    assert_serving(r, b)


def test_backend_head_drips_forever(rampart, backend):
    """A backend that keeps a response head open by sending one byte every
    200 ms must not hold the client forever: nginx answers 504 after
    proxy_read_timeout (1 s) in total."""
    b = backend("drip", hostile(_drip_forever))
    r = rampart(CONF, backends={"b": b})
    t0 = time.monotonic()
    with Client(r.port, timeout=3) as c:
        try:
            resp = c.request("GET", "/bad")
        except (socket.timeout, Closed):
            resp = None
    elapsed = time.monotonic() - t0
    assert resp is not None and resp.status == 504, (resp, elapsed)
    assert elapsed < 2.5, elapsed
    assert_serving(r, b)


@pytest.mark.parametrize("how", ["rst", "close"])
def test_backend_dies_mid_response(rampart, backend, how):
    """Backend announces 100000 bytes, sends 20000, then resets/closes:
    the client gets the 200 head, a short body and a close, never a
    padded or completed body."""
    def data(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 20000)
        time.sleep(0.1)

    b = backend("dies", hostile(data, then=how))
    r = rampart(CONF, backends={"b": b})
    with Client(r.port, timeout=3) as c:
        resp = c.request("GET", "/bad")
        assert resp.status == 200
        assert not resp.complete
        assert len(resp.body) <= 20000
        assert set(resp.body) <= {ord("x")}
        assert c.reader.eof
    assert_serving(r, b)


def test_backend_huge_content_length_then_close(rampart, backend):
    """A valid but enormous Content-Length the backend does not honour."""
    b = backend("huge", hostile(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n" + b"y" * 10))
    r = rampart(CONF, backends={"b": b})
    with Client(r.port, timeout=3) as c:
        resp = c.request("GET", "/bad")
        assert resp.status == 200
        assert resp.header("Content-Length") == "1000000000000"
        assert not resp.complete and resp.body == b"y" * 10
    assert_serving(r, b)


# ---------------------------------------------------------------- upgrade tunnels

def test_many_tunnels_closed_abruptly(rampart, backend):
    """50 upgraded tunnels at once, each echoes once, then every client
    vanishes (half FIN, half RST) at the same moment: every backend side is
    closed by the proxy within a couple of seconds, and the proxy serves."""
    ended = []
    lock = threading.Lock()
    echo = upgrade_echo_handler("testproto")

    def h(b, req, sock, reader):
        if req.header("Upgrade") is None:
            return send_response(sock, 200, None, b"ok", keepalive=wants_keepalive(req))
        try:
            return echo(b, req, sock, reader)
        finally:
            with lock:
                ended.append(time.monotonic())
    h.wants_reader = True

    b = backend("tun", h)
    r = rampart(CONF, backends={"b": b})
    n = 50
    clients = []
    for i in range(n):
        c = Client(r.port, timeout=3)
        c.send(b"GET /tun/%d HTTP/1.1\r\nHost: localhost\r\nUpgrade: testproto\r\n"
               b"Connection: Upgrade\r\n\r\n" % i)
        clients.append(c)
    for i, c in enumerate(clients):
        resp = c.response()
        assert resp.status == 101, resp
        msg = b"hello %d \x00\xff" % i
        c.send(msg)
        assert c.reader.read_exact(len(msg)) == msg
    # some tunnels have bytes in flight when they die
    for i, c in enumerate(clients):
        if i % 3 == 0:
            c.sock.send(b"z" * 1000)
    t0 = time.monotonic()
    for i, c in enumerate(clients):
        if i % 2:
            rst_close(c.sock)
        else:
            c.close()
    assert wait_for(lambda: len(ended) >= n, 3.0), "%d of %d backend tunnels still open" % (
        n - len(ended), n)
    assert max(ended) - t0 < 3.0
    assert len(b.requests) == n
    assert all(valid_forwarded_head(q.raw_head) for q in b.requests)
    assert_serving(r, b)
