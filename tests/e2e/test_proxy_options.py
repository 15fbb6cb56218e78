"""proxy_request_buffering, proxy_http_version 1.0, listen backlog=,
server_tokens on: what the backend sees and what the client gets."""

import re
import socket
import subprocess
import threading
import time

import pytest

from helpers import Client, free_port, get


class RawBackend:
    """Accepts one connection, records bytes as they arrive (with times),
    answers 200 once `total` body bytes came."""

    def __init__(self, total):
        self.total = total
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        self.data = b""
        self.first_at = None
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        self.sock.settimeout(10)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(10)
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                if self.first_at is None:
                    self.first_at = time.monotonic()
                self.data += chunk
                head, sep, body = self.data.partition(b"\r\n\r\n")
                if sep and len(body) >= self.total:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    return

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("buffering", ["on", "off"])
def test_request_buffering(rampart, buffering):
    """on: the backend sees nothing until the whole body has arrived (and
    gets a Content-Length); off: the head and the first bytes go on at once."""
    b = RawBackend(total=10)
    try:
        r = rampart("""
        server {
            listen @LISTEN@;
            location / { proxy_pass http://127.0.0.1:%d; proxy_request_buffering %s; }
        }
        """ % (b.port, buffering))
        with Client(r.port, timeout=10) as c:
            c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
            time.sleep(0.6)
            early = b.data
            c.send(b"56789")
            resp = c.response()
        assert resp.status == 200 and resp.body == b"ok"
        if buffering == "on":
            assert early == b""
        else:
            assert early.startswith(b"POST /up HTTP/1.") and early.endswith(b"01234")
        assert b.data.endswith(b"\r\n\r\n0123456789")
        assert b"Content-Length: 10\r\n" in b.data
    finally:
        b.close()


def test_proxy_http_version_10(rampart, backend):
    """proxy_http_version 1.0: the backend gets HTTP/1.0 with Connection:
    close and a new connection per request (nginx's default behaviour)."""
    bk = backend("b10")
    r = rampart("""
    server {
        listen @LISTEN@;
        location / { proxy_pass http://@b@; proxy_http_version 1.0; }
    }
    """, backends={"b": bk})
    with Client(r.port) as c:
        for i in range(3):
            assert c.request("GET", "/v%d" % i).status == 200
    assert [q.version for q in bk.requests] == ["HTTP/1.0"] * 3
    assert all((q.header("Connection") or "").lower() == "close" for q in bk.requests)
    assert bk.connections == 3


def test_listen_backlog(rampart):
    r = rampart("""
    server { listen @LISTEN@ backlog=77; location / { return 200 "b"; } }
    """)
    out = subprocess.run(["ss", "-ltnH", "sport = :%d" % r.port], stdout=subprocess.PIPE,
                         timeout=5).stdout.decode()
    # a listening socket's Send-Q is its backlog; every worker has one
    assert out.strip(), out
    assert all(line.split()[2] == "77" for line in out.strip().splitlines()), out


@pytest.mark.rampart_only
def test_server_tokens_on(rampart):
    """server_tokens on: the version appears in Server and on error pages;
    off (the default) shows neither."""
    r = rampart("""
    server { listen @LISTEN@; server_tokens on; location / { return 404; } }
    server { listen @LISTEN2@; location / { return 404; } }
    """)
    on = get(r.port, "/")
    assert re.fullmatch(r"rampart/\d+\.\d+\.\d+", on.header("Server"))
    assert on.header("Server").encode() in on.body
    off = get(r.ports[1], "/")
    assert off.header("Server") == "rampart"
    assert not re.search(rb"rampart/\d", off.body)
