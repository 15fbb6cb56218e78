#!/usr/bin/python3
"""Upload sink for bench/run.sh: an HTTP/1.1 backend that reads each request
body completely and then answers 200 with the number of body bytes it read.

    sink.py --port P [--lifetime S]

It reads the whole body before answering (as an application that stores an
upload would), so a proxy in front of it has to carry the body all the way.
Content-Length and chunked bodies are both counted (chunked: decoded data
bytes). Keep-alive; one thread per connection. Listens on 127.0.0.1 only.
Every socket wait times out after 60 s, and the process exits by itself after
--lifetime seconds in case the driver is gone.
"""

import argparse
import os
import socket
import socketserver
import threading

HEAD_MAX = 64 * 1024
CHUNK = 1 << 20


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""  # bytes read past what was consumed
        self.mem = bytearray(CHUNK)

    def fill(self):
        data = self.sock.recv(CHUNK)
        if not data:
            raise EOFError
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > HEAD_MAX:
                raise ValueError("line too long")
            self.fill()
        ln, _, self.buf = self.buf.partition(b"\r\n")
        return ln

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > HEAD_MAX:
                raise ValueError("head too long")
            self.fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return head

    def skip(self, n):
        """Reads and drops exactly n bytes; returns n."""
        left = n
        take = min(left, len(self.buf))
        self.buf = self.buf[take:]
        left -= take
        view = memoryview(self.mem)
        while left:
            got = self.sock.recv_into(view, min(left, CHUNK))
            if not got:
                raise EOFError
            left -= got
        return n

    def chunked(self):
        total = 0
        while True:
            size = int(self.line().split(b";")[0].strip(), 16)
            if size == 0:
                while self.line():  # trailer fields up to the empty line
                    pass
                return total
            total += self.skip(size)
            if self.line():
                raise ValueError("chunk not followed by CRLF")


def serve(sock):
    c = Conn(sock)
    while True:
        try:
            head = c.head()
        except EOFError:
            return
        lines = head.split(b"\r\n")
        length, chunked, close = 0, False, False
        for h in lines[1:]:
            name, _, value = h.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value.endswith(b"chunked")
            elif name == b"connection":
                close = value == b"close"
        n = c.chunked() if chunked else c.skip(length)
        body = b"%d" % n
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\n%s\r\n%s"
                     % (len(body), b"Connection: close\r\n" if close else b"", body))
        if close:
            return


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(60)
        try:
            serve(self.request)
        except (OSError, EOFError, ValueError):
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lifetime", type=float, default=7200)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    timer = threading.Timer(a.lifetime, lambda: os._exit(2))
    timer.daemon = True
    timer.start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
