"""Connection limits and timeouts (all timeouts 1 s to keep the suite fast)."""

import os
import socket
import time

import pytest

from helpers import Client, Closed, get, huge_handler


def test_worker_connections_limit(rampart):
    """Past worker_connections, new connections are closed or never served;
    the existing ones keep working. One worker so the limit is exact-ish
    (nginx counts its listening socket too). The held connections are in
    the middle of a request head: nginx would otherwise reclaim idle
    keep-alive connections ("reusing connections")."""
    r = rampart("""
    server {
        listen @LISTEN@;
        location / { return 200 "alive"; }
    }
    """, workers=1, worker_connections=16)
    held = []
    extra = []
    try:
        for _ in range(10):
            c = Client(r.port, timeout=2)
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
            held.append(c)
        time.sleep(0.2)
        for _ in range(10):
            try:
                c = Client(r.port, timeout=1)
                extra.append(c)
                c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                pass
        time.sleep(0.2)
        unserved = 10 - len(extra)
        for c in extra:
            try:
                c.send(b"\r\n")
                resp = c.response()
                if resp.status != 200:
                    unserved += 1
            except (OSError, Closed):
                unserved += 1
        assert unserved >= 1
        for c in extra:
            c.close()
        # the held ones still work
        for c in held:
            c.send(b"\r\n")
            assert c.response().text == "alive"
    finally:
        for c in held + extra:
            c.close()
    # and once they are gone, new connections are served again
    time.sleep(0.3)
    assert get(r.port, "/").text == "alive"


def test_keepalive_timeout_closes_idle(rampart):
    r = rampart("""
    server {
        listen @LISTEN@;
        keepalive_timeout 1s;
        location / { return 200 "x"; }
    }
    """)
    with Client(r.port) as c:
        assert c.request("GET", "/").status == 200
        t0 = time.monotonic()
        assert c.closed(4.0)
        assert 0.5 < time.monotonic() - t0 < 3.5


def test_client_header_timeout(rampart, backend):
    b = backend("b1")
    r = rampart("""
    server {
        listen @LISTEN@;
        client_header_timeout 1s;
        location / { proxy_pass http://@b@; }
    }
    """, backends={"b": b})
    with Client(r.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: local")
        t0 = time.monotonic()
        # a 408 may be sent before closing; either way it closes
        data = b""
        try:
            while True:
                chunk = c.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pytest.fail("still open after %.1fs" % (time.monotonic() - t0))
        except ConnectionResetError:
            pass
        assert time.monotonic() - t0 < 4
        assert data == b"" or data.startswith(b"HTTP/1.1 408")
    assert b.requests == []


def test_client_body_timeout(rampart, backend):
    b = backend("b1")
    r = rampart("""
    server {
        listen @LISTEN@;
        client_body_timeout 1s;
        location / { proxy_pass http://@b@; }
    }
    """, backends={"b": b})
    with Client(r.port, timeout=6) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789")
        t0 = time.monotonic()
        data = b""
        try:
            while True:
                chunk = c.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pytest.fail("still open")
        except ConnectionResetError:
            pass
        assert time.monotonic() - t0 < 4
        assert data == b"" or data.startswith(b"HTTP/1.1 408")
    # the backend never saw a complete request
    assert all(not q.complete for q in b.requests)


def test_send_timeout(rampart, backend):
    size = 64 * 1024 * 1024
    b = backend("big", huge_handler(size))
    r = rampart("""
    server {
        listen @LISTEN@;
        send_timeout 1s;
        location / { proxy_pass http://@b@; }
    }
    """, backends={"b": b})
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(5)
    s.connect(("127.0.0.1", r.port))
    s.sendall(b"GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n")
    time.sleep(3.0)  # do not read: the proxy's writes stall past send_timeout
    got = 0
    try:
        while True:
            data = s.recv(1 << 20)
            if not data:
                break
            got += len(data)
    except ConnectionResetError:
        pass
    s.close()
    assert got < size  # closed before the whole body was delivered


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.rampart_only
def test_out_of_descriptors_does_not_spin(rampart):
    """With worker_rlimit_nofile far below worker_connections, accept()
    fails with EMFILE. rampart pauses accepting for a moment instead of
    spinning on a listen socket it cannot serve, keeps serving the
    connections it has, and accepts again once descriptors are free."""
    r = rampart("""
    server {
        listen @LISTEN@;
        location / { return 200 "alive"; }
    }
    """, workers=1, worker_connections=4096, main_extra="worker_rlimit_nofile 48;")
    first = Client(r.port, timeout=3)
    held = []
    try:
        for _ in range(80):
            try:
                held.append(socket.create_connection(("127.0.0.1", r.port), timeout=2))
            except OSError:
                break
        time.sleep(0.3)
        before = _cpu_seconds(r.proc.pid)
        time.sleep(1.5)
        used = _cpu_seconds(r.proc.pid) - before
        assert used < 0.5, "busy loop: %.2f s CPU in 1.5 s" % used
        # the connection accepted before the limit still works
        first.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert first.response().text == "alive"
        assert "accept" in r.error_log()
    finally:
        for s in held:
            s.close()
        first.close()
    time.sleep(0.5)
    assert get(r.port, "/").text == "alive"
