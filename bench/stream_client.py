#!/usr/bin/python3
"""One large body through a proxy, with the proxy's memory sampled meanwhile.

    stream_client.py get  --port P --path /big    --size N --rate MiB/s --pids "PID..."
    stream_client.py post --port P --path /upload --size N --pids "PID..."

get: a slow reader. A 64 KiB receive buffer, 64 KiB per recv, and a sleep
whenever it is ahead of --rate, so the proxy's upstream side is much faster
than its client side and only back-pressure (or spooling) keeps the body out
of the proxy's memory. Checks status 200 and that exactly --size body bytes
arrive (Content-Length or chunked framing, then the connection closes).

post: an upload sent as fast as the proxy takes it, with Content-Length.
The backend (bench/sink.py) reads the whole body and answers with the byte
count; checks that it is exactly --size.

While the transfer runs, a thread sums VmRSS over --pids every 50 ms. Prints
one line: "ok BYTES SECONDS BASE_KIB PEAK_KIB" (BASE before the request,
PEAK the highest sample, BASE included), or "error ..." and exits 1.
Everything is bounded by --deadline seconds.
"""

import argparse
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sink import Conn  # noqa: E402  (same framing reader as the sink)

STEP = 64 * 1024


def fail(msg):
    print("error " + msg, flush=True)
    sys.exit(1)


def rss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass  # a process that exited holds no memory
    return total


class Sampler:
    def __init__(self, pids, period=0.05):
        self.pids = pids
        self.period = period
        self.base = rss_kib(pids)
        self.peak = self.base
        self.done = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.done.wait(self.period):
            self.peak = max(self.peak, rss_kib(self.pids))

    def stop(self):
        self.done.set()
        self.t.join(2)
        self.peak = max(self.peak, rss_kib(self.pids))


class PacedConn(Conn):
    """Conn whose reads are 64 KiB at most and held to `rate` bytes/s."""

    def __init__(self, sock, rate, end):
        super().__init__(sock)
        self.rate = rate
        self.end = end
        self.t0 = None
        self.got = 0

    def pace(self, n):
        now = time.monotonic()
        if now > self.end:
            raise TimeoutError("deadline exceeded after %d bytes" % self.got)
        if self.t0 is None:
            self.t0 = now
        self.got += n
        ahead = self.got / self.rate - (now - self.t0)
        if ahead > 0:
            time.sleep(ahead)

    def fill(self):
        data = self.sock.recv(STEP)
        if not data:
            raise EOFError
        self.pace(len(data))
        self.buf += data

    def skip(self, n):
        left = n
        take = min(left, len(self.buf))
        self.buf = self.buf[take:]
        left -= take
        view = memoryview(self.mem)
        while left:
            got = self.sock.recv_into(view, min(left, STEP))
            if not got:
                raise EOFError
            self.pace(got)
            left -= got
        return n


def response(c):
    """(status, body bytes) of one response on Conn c."""
    head = c.head().split(b"\r\n")
    parts = head[0].split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    length, chunked = None, False
    for h in head[1:]:
        name, _, value = h.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
    return status, length, chunked


def get(a, sampler, end):
    s = socket.socket()
    # A small receive window: the reader, not the kernel, sets the pace.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STEP)
    s.settimeout(30)
    s.connect(("127.0.0.1", a.port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n" % a.path.encode())
    c = PacedConn(s, a.rate * 1024 * 1024, end)
    status, length, chunked = response(c)
    if status != 200:
        fail("status %d" % status)
    if chunked:
        n = c.chunked()
    elif length is not None:
        if length != a.size:
            fail("Content-Length %d, expected %d" % (length, a.size))
        n = c.skip(length)
    else:
        fail("response without Content-Length or chunked framing")
    # nothing may follow the body before the close
    s.settimeout(5)
    extra = len(c.buf) + len(s.recv(STEP))
    s.close()
    if extra:
        fail("%d bytes after the body" % extra)
    return n


def post(a, sampler, end):
    s = socket.socket()
    s.settimeout(30)
    s.connect(("127.0.0.1", a.port))
    block = b"u" * (1 << 20)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (a.path.encode(), a.size))
    left = a.size
    try:
        while left:
            if time.monotonic() > end:
                fail("deadline exceeded with %d bytes left to send" % left)
            n = min(left, len(block))
            s.sendall(block[:n] if n < len(block) else block)
            left -= n
    except OSError as e:
        # the proxy may have answered early (413, 502): show its status
        c = Conn(s)
        try:
            status = response(c)[0]
        except (OSError, EOFError, ValueError):
            status = "none"
        fail("send failed with %d bytes left (%s); response status %s" % (left, e, status))
    s.settimeout(max(1.0, end - time.monotonic()))
    c = Conn(s)
    status, length, chunked = response(c)
    if status != 200:
        fail("status %d" % status)
    if length is None or chunked or length > 32:
        fail("unexpected response framing from the sink")
    while len(c.buf) < length:
        c.fill()
    s.close()
    return int(c.buf[:length])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["get", "post"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--rate", type=float, default=256, help="MiB/s, get only")
    ap.add_argument("--pids", default="")
    ap.add_argument("--deadline", type=float, default=120)
    a = ap.parse_args()
    pids = [int(p) for p in a.pids.split()]
    end = time.monotonic() + a.deadline
    sampler = Sampler(pids)
    t0 = time.monotonic()
    try:
        n = (get if a.mode == "get" else post)(a, sampler, end)
    except (OSError, EOFError, ValueError) as e:
        sampler.stop()
        fail("%s: %s" % (type(e).__name__, e))
    secs = time.monotonic() - t0
    sampler.stop()
    if n != a.size:
        fail("%d body bytes arrived, expected %d" % (n, a.size))
    print("ok %d %.3f %d %d" % (n, secs, sampler.base, sampler.peak), flush=True)


if __name__ == "__main__":
    main()
