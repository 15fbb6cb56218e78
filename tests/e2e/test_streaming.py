"""Large bodies stream with bounded memory in both directions.

256 MiB each way (1 GiB is too slow for CI). The proxy's resident memory
(process plus children, for nginx's workers) must not grow by more than
64 MiB while the body passes through."""

import socket
import time

import pytest

from helpers import Client, RssSampler, huge_handler, reply, read_head, split_head

SIZE = 256 * 1024 * 1024
MAX_GROWTH_KIB = 64 * 1024

CONF = """
server {
    listen @LISTEN@;
    client_max_body_size 0;
    location / { proxy_pass http://@b@; }
}
"""




@pytest.mark.slow
def test_large_response_slow_reader(rampart, backend):
    b = backend("huge", huge_handler(SIZE))
    r = rampart(CONF, backends={"b": b})
    base = r.rss_kib()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(10)
    s.connect(("127.0.0.1", r.port))
    s.sendall(b"GET /huge HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    with RssSampler(r) as rss:
        from helpers import Reader
        rd = Reader(s)
        head = read_head(rd)
        line, headers = split_head(head)
        assert b" 200 " in line
        got = len(rd.buf)
        rd.buf = b""
        next_pause = 4 << 20
        t0 = time.monotonic()
        while True:
            data = s.recv(65536)
            if not data:
                break
            got += len(data)
            if got >= next_pause:
                next_pause += 4 << 20
                time.sleep(0.03)  # a slow reader: the proxy must apply back-pressure
            assert time.monotonic() - t0 < 60
    s.close()
    assert got == SIZE
    growth = rss.max - base
    assert growth < MAX_GROWTH_KIB, "RSS grew by %d KiB" % growth


@pytest.mark.slow
def test_large_upload(rampart, backend):
    b = backend("sink", reply(200, None, b"stored"), record_body=False, timeout=30)
    r = rampart(CONF, backends={"b": b})
    base = r.rss_kib()
    block = b"u" * (1 << 20)
    with RssSampler(r) as rss:
        with Client(r.port, timeout=30) as c:
            c.send(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % SIZE)
            for _ in range(SIZE // len(block)):
                c.send(block)
            resp = c.response()
    assert resp.status == 200 and resp.body == b"stored"
    assert b.last.body_len == SIZE
    assert b.last.complete
    growth = rss.max - base
    assert growth < MAX_GROWTH_KIB, "RSS grew by %d KiB" % growth


def test_chunked_upload_medium(rampart, backend):
    b = backend("sink", reply(200, None, b"ok"), record_body=True)
    r = rampart(CONF, backends={"b": b})
    piece = bytes(range(256)) * 256  # 64 KiB
    with Client(r.port, timeout=10) as c:
        c.send(b"POST /c HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(64):
            c.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
        c.send(b"0\r\n\r\n")
        resp = c.response()
    assert resp.status == 200
    assert b.last.body == piece * 64
