"""Upstreams: balancing, backend connections, backend failures."""

import re
import socket
import time

import pytest

from helpers import (Client, free_port, get, reply, raw_handler,
                     close_mid_body_handler, send_response, wait_for)


def test_round_robin_two_backends(rampart, backend):
    a, b = backend("a"), backend("b")
    r = rampart("""
    upstream app { server @a@; server @b@; }
    server { listen @LISTEN@; location / { proxy_pass http://app; } }
    """, backends={"a": a, "b": b})
    with Client(r.port) as c:
        names = [c.request("GET", "/").text for _ in range(6)]
    assert names.count("ok from a") == 3 and names.count("ok from b") == 3
    assert names[0] != names[1]


def test_smooth_weighted_round_robin(rampart, backend):
    """weights 5,1,1 give nginx's smooth sequence a a b a c a a. One client
    connection, so one worker picks them all."""
    a, b, c_ = backend("a"), backend("b"), backend("c")
    r = rampart("""
    upstream app {
        server @a@ weight=5;
        server @b@;
        server @c@ weight=1;
    }
    server { listen @LISTEN@; location / { proxy_pass http://app; } }
    """, backends={"a": a, "b": b, "c": c_})
    with Client(r.port) as c:
        seq = [c.request("GET", "/").text[-1] for _ in range(14)]
    assert "".join(seq) == "aabacaa" * 2


@pytest.mark.rampart_only
def test_backup_with_hash_is_a_config_error(conf_test):
    """`backup` is accepted with round robin; a hash picks servers by key,
    so a backup there is a config error naming the server's line."""
    rc, out, path = conf_test("events {}\nhttp {\nupstream app { server 127.0.0.1:1; }\n"
                              "upstream b2 { server 127.0.0.1:2 backup; server 127.0.0.1:3; }\n}\n",
                              full=True)
    assert rc == 0, out
    rc, out, path = conf_test("events {}\nhttp {\nupstream app { hash $uri; server 127.0.0.1:1; }\n"
                              "upstream b2 {\n hash $uri;\n server 127.0.0.1:2 backup;\n"
                              " server 127.0.0.1:3;\n}\n}\n", full=True)
    assert rc == 1
    assert "doesn't support parameter \"backup\"" in out and path + ":6" in out, out


def test_next_upstream_on_refused(rampart, backend):
    b = backend("alive")
    dead = free_port()
    r = rampart("""
    upstream app { server 127.0.0.1:%d; server @b@; }
    server { listen @LISTEN@; location / { proxy_pass http://app; } }
    """ % dead, backends={"b": b})
    with Client(r.port) as c:
        for _ in range(4):
            resp = c.request("GET", "/")
            assert resp.status == 200 and resp.text == "ok from alive"


@pytest.mark.rampart_only
def test_keepalive_to_backend_reused(rampart, backend):
    """rampart speaks HTTP/1.1 to backends and pools connections by
    default; nginx sends HTTP/1.0 with Connection: close unless configured
    (proxy_http_version 1.1, keepalive N)."""
    b = backend("b1")
    r = rampart("""
    upstream app { server @b@; }
    server { listen @LISTEN@; location / { proxy_pass http://app; } }
    """, backends={"b": b})
    with Client(r.port) as c:
        for i in range(5):
            assert c.request("GET", "/r%d" % i).status == 200
    assert len(b.requests) == 5
    assert b.connections == 1
    assert all(q.version == "HTTP/1.1" for q in b.requests)
    assert all((q.header("Connection") or "").lower() != "close" for q in b.requests)


def test_keepalive_to_backend_configured(rampart, backend):
    """The nginx way of pooling: proxy_http_version 1.1, empty Connection,
    keepalive in the upstream. Works in both."""
    b = backend("b1")
    r = rampart("""
    upstream app { server @b@; keepalive 4; }
    server {
        listen @LISTEN@;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    """, backends={"b": b})
    with Client(r.port) as c:
        for i in range(5):
            assert c.request("GET", "/r%d" % i).status == 200
    assert b.connections == 1
    assert b.last.version == "HTTP/1.1"


def test_nginx_default_backend_protocol(rampart, backend):
    """Without configuration nginx uses HTTP/1.0 and closes; rampart 1.1
    pooled. Either way the request gets through and is well-formed."""
    b = backend("b1")
    r = rampart("""
    server { listen @LISTEN@; location / { proxy_pass http://@b@; } }
    """, backends={"b": b})
    assert get(r.port, "/").status == 200
    assert b.last.version in ("HTTP/1.0", "HTTP/1.1")


@pytest.mark.rampart_only
def test_pooled_connection_closed_by_backend_is_retried(rampart, backend):
    """A pooled connection the backend closed while idle must not fail the
    next GET: rampart retries it on a fresh connection."""
    def h(bk, req, sock):
        send_response(sock, 200, None, "ok", keepalive=True)
        # pretend to keep the connection, then drop it while it is idle
        time.sleep(0.3)
        return False
    b = backend("b1", h)
    r = rampart("""
    upstream app { server @b@; }
    server { listen @LISTEN@; location / { proxy_pass http://app; } }
    """, backends={"b": b})
    with Client(r.port) as c:
        assert c.request("GET", "/1").status == 200
        time.sleep(0.8)
        resp = c.request("GET", "/2")
        assert resp.status == 200 and resp.text == "ok"
    assert [q.target for q in b.requests][-1] == "/2"


def test_backend_refuses_502_quickly(rampart):
    dead = free_port()
    r = rampart("""
    server { listen @LISTEN@; location / { proxy_pass http://127.0.0.1:%d; } }
    """ % dead)
    t0 = time.monotonic()
    resp = get(r.port, "/")
    assert resp.status == 502
    assert time.monotonic() - t0 < 2.0


def test_read_timeout_504(rampart, backend):
    b = backend("slow", reply(200, None, b"late", delay=3.0))
    r = rampart("""
    server {
        listen @LISTEN@;
        location / { proxy_pass http://@b@; proxy_read_timeout 1s; }
    }
    """, backends={"b": b})
    t0 = time.monotonic()
    resp = get(r.port, "/")
    took = time.monotonic() - t0
    assert resp.status == 504
    assert 0.8 < took < 2.9
    assert len(b.requests) == 1


def test_read_timeout_next_server_for_get_not_post(rampart, backend):
    """proxy_next_upstream's default (error timeout): a GET that timed out
    on one server is passed to the next; a POST that was already sent is
    not (it is not idempotent), the client gets 504."""
    slow = backend("slow", reply(200, None, b"late", delay=3.0))
    fast = backend("fast")
    r = rampart("""
    upstream app { server @s@ max_fails=0; server @f@; }
    server {
        listen @LISTEN@;
        location / { proxy_pass http://app; proxy_read_timeout 1s; }
    }
    """, backends={"s": slow, "f": fast})
    # max_fails=0: the slow server stays in the rotation after its timeouts
    got = [get(r.port, "/g%d" % i) for i in range(2)]
    assert all(x.status == 200 and x.text == "ok from fast" for x in got)
    assert [q.target for q in fast.requests] == ["/g0", "/g1"]
    posts = {"/p%d" % i: get(r.port, "/p%d" % i, method="POST", body=b"data") for i in range(4)}
    to_slow = {q.target for q in slow.requests if q.method == "POST"}
    to_fast = {q.target for q in fast.requests if q.method == "POST"}
    assert not (to_slow & to_fast), "a POST was sent twice"
    assert to_slow, "no POST reached the slow server"
    for target, resp in posts.items():
        assert resp.status == (504 if target in to_slow else 200)


def test_connect_timeout_504(rampart):
    """A listening socket whose accept queue is full never completes the
    handshake for new connections: connect times out."""
    port = free_port()
    lst = socket.socket()
    lst.bind(("127.0.0.1", port))
    lst.listen(0)
    fillers = []
    try:
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(s)
        r = rampart("""
        server {
            listen @LISTEN@;
            location / { proxy_pass http://127.0.0.1:%d; proxy_connect_timeout 1s; }
        }
        """ % port)
        t0 = time.monotonic()
        resp = get(r.port, "/", timeout=8)
        assert resp.status == 504
        assert time.monotonic() - t0 < 4
    finally:
        for s in fillers:
            s.close()
        lst.close()


GARBAGE = [
    b"this is not http\r\n\r\n",
    b"HTTP/1.1 abc OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: zz\r\n\r\n",
    b"\x00\x01\x02\x03",
]


def _garbage(rampart, backend, garbage):
    b = backend("bad", raw_handler(garbage))
    r = rampart("""
    server { listen @LISTEN@; location / { proxy_pass http://@b@; } }
    """, backends={"b": b})
    resp = get(r.port, "/")
    assert resp.status == 502
    assert len(b.requests) == 1


def test_empty_response_502(rampart, backend):
    _garbage(rampart, backend, b"")


def test_truncated_head_502(rampart, backend):
    _garbage(rampart, backend, b"HTTP/1.1 200 OK\r\nContent-Le")


@pytest.mark.rampart_only
@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_response_502(rampart, backend, garbage):
    """nginx treats a response without a valid status line as HTTP/0.9 and
    relays the bytes, and ignores an invalid Content-Length; rampart answers
    502 Bad Gateway: HTTP/0.9 is not spoken to backends."""
    _garbage(rampart, backend, garbage)


def test_oversized_response_head_502(rampart, backend):
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(
        b"X-Filler-%d: %s\r\n" % (i, b"f" * 100) for i in range(400)) + b"Content-Length: 2\r\n\r\nok"
    b = backend("big", raw_handler(head))
    r = rampart("""
    server {
        listen @LISTEN@;
        location / { proxy_pass http://@b@; proxy_buffer_size 4k; }
    }
    """, backends={"b": b})
    resp = get(r.port, "/")
    assert resp.status == 502


def test_backend_closes_mid_body(rampart, backend):
    b = backend("mid", close_mid_body_handler(announced=100000, sent=1000))
    r = rampart("""
    server { listen @LISTEN@; location / { proxy_pass http://@b@; } }
    """, backends={"b": b})
    with Client(r.port, timeout=5) as c:
        resp = c.request("GET", "/")
        assert resp.status == 200
        assert not resp.complete
        assert len(resp.body) < 100000
        assert c.reader.eof


def test_backend_closes_mid_chunked_body(rampart, backend):
    b = backend("mid", raw_handler(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n"))
    r = rampart("""
    server { listen @LISTEN@; location / { proxy_pass http://@b@; } }
    """, backends={"b": b})
    with Client(r.port, timeout=5) as c:
        resp = c.request("GET", "/")
        assert resp.status == 200
        assert not resp.complete
        assert c.reader.eof


def _error_pages(rampart, backend):
    bad = backend("bad", raw_handler(b""))
    slow = backend("slow", reply(200, None, b"late", delay=2.0))
    dead = free_port()
    r = rampart("""
    server {
        listen @LISTEN@;
        proxy_read_timeout 1s;
        location /bad { proxy_pass http://@bad@; }
        location /slow { proxy_pass http://@slow@; }
        location /dead { proxy_pass http://127.0.0.1:%d; }
    }
    """ % dead, backends={"bad": bad, "slow": slow})
    out = []
    for path, status in (("/bad", 502), ("/slow", 504), ("/dead", 502)):
        resp = get(r.port, path)
        assert resp.status == status
        out.append(resp)
    return out, [bad.port, slow.port, dead]


def test_error_pages_hide_backend_address(rampart, backend):
    responses, ports = _error_pages(rampart, backend)
    for resp in responses:
        text = resp.raw_head.decode("latin-1") + resp.text
        for p in ports:
            assert str(p) not in text
        assert "127.0.0.1" not in text


@pytest.mark.rampart_only
def test_error_pages_hide_software(rampart, backend):
    """rampart's error pages carry no product name or version (nginx's say
    "nginx/<version>" unless server_tokens off)."""
    responses, _ = _error_pages(rampart, backend)
    for resp in responses:
        text = (resp.text + " " + (resp.header("Server") or "")).lower()
        assert "nginx" not in text
        # no product/version token like "name/1.2" in the page or Server
        assert not re.search(r"[a-z]/\d+\.\d+", text), text
        assert resp.header("Server") == "rampart"


def test_client_abort_while_waiting_logs_499(rampart, backend):
    """A client that closes while the backend is still working ends the
    request at once (not when the backend answers): 499 in the access log."""
    b = backend("slow", reply(200, None, b"late", delay=3.0))
    r = rampart("""
    server { listen @LISTEN@; location / { proxy_pass http://@b@; } }
    """, backends={"b": b})
    s = socket.create_connection(("127.0.0.1", r.port))
    s.sendall(b"GET /gone HTTP/1.1\r\nHost: x\r\n\r\n")
    assert wait_for(lambda: len(b.requests) == 1, timeout=3)
    s.close()
    t0 = time.monotonic()
    assert wait_for(lambda: re.search(r'"GET /gone HTTP/1.1" 499 ', r.access_log()), timeout=2.5)
    assert time.monotonic() - t0 < 2.5


@pytest.mark.rampart_only
def test_large_response_head_within_proxy_buffer_size(rampart, backend):
    """A backend head larger than the default read buffer is fine when
    proxy_buffer_size allows it, and a 502 (never a hang) when it does not.
    (nginx also wants proxy_busy_buffers_size adjusted for this config.)"""
    big = "v" * 40000
    b = backend("b1", reply(200, [("X-Big", big)], b"body"))
    r = rampart("""
    server {
        listen @LISTEN@;
        location /ok/ { proxy_pass http://@b@; proxy_buffer_size 64k; }
        location /small/ { proxy_pass http://@b@; }
    }
    """, backends={"b": b})
    resp = get(r.port, "/ok/x", timeout=5)
    assert resp.status == 200 and resp.header("X-Big") == big and resp.body == b"body"
    resp = get(r.port, "/small/x", timeout=5)
    assert resp.status == 502
