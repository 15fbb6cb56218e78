"""Protocol upgrades through the proxy: WebSocket, a generic Upgrade
tunnel, and server-sent events with proxy_buffering off."""

import asyncio
import threading
import time

import pytest
import websockets

from helpers import Client, free_port, sse_handler, upgrade_echo_handler

WS_CONF = """
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}
server {
    listen @LISTEN@;
    location / {
        proxy_pass http://@b@;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout 5s;
    }
}
"""


class WsEcho:
    """A websockets echo server in its own event loop thread."""

    def __init__(self):
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.paths = []
        self.headers = []
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        async def echo(ws, path=None):
            self.paths.append(path if path is not None else getattr(ws, "path", None))
            self.headers.append(dict(ws.request_headers))
            async for msg in ws:
                await ws.send(msg)

        async def main():
            self.server = await websockets.serve(echo, "127.0.0.1", self.port)
            started.set()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(main())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait(5)

    def close(self):
        async def stop():
            self.server.close()
            await self.server.wait_closed()
        try:
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def ws_backend():
    s = WsEcho()
    yield s
    s.close()


def test_websocket_echo(rampart, ws_backend):
    r = rampart(WS_CONF, backends={"b": ws_backend})

    async def client():
        async with websockets.connect("ws://127.0.0.1:%d/chat?room=1" % r.port,
                                      open_timeout=5, close_timeout=2) as ws:
            out = []
            for msg in ["hello", "x" * 70000, b"\x00\x01binary"]:
                await ws.send(msg)
                out.append(await asyncio.wait_for(ws.recv(), 5))
            return out

    got = asyncio.run(client())
    assert got == ["hello", "x" * 70000, b"\x00\x01binary"]
    assert ws_backend.paths == ["/chat?room=1"]
    h = {k.lower(): v for k, v in ws_backend.headers[0].items()}
    assert h["upgrade"].lower() == "websocket"
    assert "upgrade" in h["connection"].lower()


def test_websocket_many_messages(rampart, ws_backend):
    r = rampart(WS_CONF, backends={"b": ws_backend})

    async def client():
        async with websockets.connect("ws://127.0.0.1:%d/" % r.port, open_timeout=5) as ws:
            for i in range(200):
                await ws.send("m%d" % i)
            return [await asyncio.wait_for(ws.recv(), 5) for _ in range(200)]

    assert asyncio.run(client()) == ["m%d" % i for i in range(200)]


def test_generic_upgrade_tunnel(rampart, backend):
    b = backend("tun", upgrade_echo_handler("testproto"))
    r = rampart(WS_CONF, backends={"b": b})
    with Client(r.port, timeout=5) as c:
        c.send(b"GET /tunnel HTTP/1.1\r\nHost: localhost\r\nUpgrade: testproto\r\n"
               b"Connection: Upgrade\r\n\r\n")
        resp = c.response()
        assert resp.status == 101
        assert resp.header("Upgrade") == "testproto"
        assert "upgrade" in resp.header("Connection", "").lower()
        for payload in (b"raw bytes \x00\xff", b"second", b"y" * 100000):
            c.send(payload)
            got = c.reader.read_exact(len(payload))
            assert got == payload
    req = b.last
    assert req.header("Upgrade") == "testproto"
    assert req.header("Connection").lower() == "upgrade"


def test_upgrade_not_requested_is_plain(rampart, backend):
    b = backend("plain")
    r = rampart(WS_CONF, backends={"b": b})
    with Client(r.port) as c:
        resp = c.request("GET", "/")
        assert resp.status == 200
    assert b.last.header("Connection").lower() == "close"
    assert not b.last.has("Upgrade")


def test_sse_unbuffered(rampart, backend):
    b = backend("sse", sse_handler(events=3, pause=1.0))
    r = rampart("""
    server {
        listen @LISTEN@;
        location /events {
            proxy_pass http://@b@;
            proxy_buffering off;
            proxy_http_version 1.1;
        }
    }
    """, backends={"b": b})
    with Client(r.port, timeout=5) as c:
        t0 = time.monotonic()
        c.send(b"GET /events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
        from helpers import read_head, split_head
        head = read_head(c.reader)
        status_line, headers = split_head(head)
        assert b" 200 " in status_line
        # first event before the backend finishes (it needs ~2 s)
        got, c.reader.buf = c.reader.buf, b""
        while b"event 0" not in got:
            chunk = c.sock.recv(4096)
            assert chunk
            got += chunk
        first = time.monotonic() - t0
        assert first < 1.0
        while b"event 2" not in got:
            chunk = c.sock.recv(4096)
            assert chunk
            got += chunk
        total = time.monotonic() - t0
        assert total > 1.5
