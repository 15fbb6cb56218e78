#!/usr/bin/python3
"""Holds N idle client connections open against a proxy, in steps.

Driven line by line by bench/run.sh over stdin/stdout so the shell can read
the proxy's RSS between steps:

    -> "warm"          one connection made WARM requests (lazy start-up done)
    <- any line
    -> "open K"        K connections accepted by the kernel, no bytes sent
    <- any line
    -> "done OK BAD"   one GET sent and its response read on each; all
                       connections stay open, idle in keep-alive
    <- any line (or EOF): close everything and exit

Every wait is bounded by --deadline seconds in total; on timeout it prints
"error ..." and exits 1.
"""

import argparse
import errno
import selectors
import socket
import sys
import time


def fail(msg):
    print("error " + msg, flush=True)
    sys.exit(1)


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        t = self.end - time.monotonic()
        if t <= 0:
            fail("deadline exceeded")
        return t


def wait_line(dl):
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ)
    if not sel.select(dl.left()):
        fail("no go from driver")
    sel.close()
    return sys.stdin.readline()


def response_len(buf):
    """Total length of one response in buf, or None if not complete yet."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    clen = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            clen = int(value.strip())
    total = end + 4 + clen
    return total if len(buf) >= total else None


def warm(port, path, n, dl):
    req = ("GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=dl.left())
    for _ in range(n):
        s.sendall(req)
        buf = b""
        while response_len(buf) is None:
            chunk = s.recv(65536)
            if not chunk:
                fail("warm-up connection closed")
            buf += chunk
        if not buf.startswith(b"HTTP/1.1 200"):
            fail("warm-up status " + buf[:12].decode(errors="replace"))
    return s


def open_all(port, n, batch, dl):
    """Connects n sockets, batch at a time so no listen backlog overflows."""
    socks = []
    sel = selectors.DefaultSelector()
    while len(socks) < n:
        pending = []
        for _ in range(min(batch, n - len(socks))):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                fail("connect: " + errno.errorcode.get(err, str(err)))
            sel.register(s, selectors.EVENT_WRITE)
            pending.append(s)
        left = len(pending)
        while left:
            for key, _ in sel.select(dl.left()):
                s = key.fileobj
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail("connect: " + errno.errorcode.get(err, str(err)))
                sel.unregister(s)
                left -= 1
        socks.extend(pending)
        time.sleep(0.005)
    sel.close()
    return socks


def request_all(socks, path, inflight, dl):
    """One GET per socket, at most inflight outstanding at once."""
    req = ("GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path).encode()
    sel = selectors.DefaultSelector()
    bufs = {}
    ok = bad = 0
    nxt = 0
    while nxt < len(socks) or bufs:
        while nxt < len(socks) and len(bufs) < inflight:
            s = socks[nxt]
            nxt += 1
            try:
                s.send(req)  # a few dozen bytes always fit an empty socket buffer
            except OSError:
                bad += 1
                continue
            bufs[s] = b""
            sel.register(s, selectors.EVENT_READ)
        for key, _ in sel.select(dl.left()):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            buf = bufs[s] + chunk
            done = response_len(buf) is not None
            if done or not chunk:
                sel.unregister(s)
                del bufs[s]
                if done and buf.startswith(b"HTTP/1.1 200"):
                    ok += 1
                else:
                    bad += 1
            else:
                bufs[s] = buf
    sel.close()
    return ok, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=5000)
    ap.add_argument("--path", default="/small")
    ap.add_argument("--warm", type=int, default=20)
    ap.add_argument("--deadline", type=float, default=180)
    a = ap.parse_args()
    dl = Deadline(a.deadline)

    w = warm(a.port, a.path, a.warm, dl)
    print("warm", flush=True)
    wait_line(dl)
    socks = open_all(a.port, a.conns, 200, dl)
    print("open %d" % len(socks), flush=True)
    wait_line(dl)
    ok, bad = request_all(socks, a.path, 100, dl)
    print("done %d %d" % (ok, bad), flush=True)
    wait_line(dl)
    for s in socks:
        s.close()
    w.close()


if __name__ == "__main__":
    main()
