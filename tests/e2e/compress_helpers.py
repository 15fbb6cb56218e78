"""Machinery for test_compress.py: reproducible bodies, a backend scripted
by the query string, decoders for gzip/br/zstd (whole and incremental), an
incremental chunked decoder, an RSS sampler and a small HTTP/2 client.

Everything talks to 127.0.0.1 only; every socket has a timeout and every
loop is bounded in count or time."""

import functools
import gzip
import hashlib
import os
import random
import socket
import threading
import time
import zlib
from urllib.parse import parse_qsl, urlsplit

import brotli
import zstandard

from helpers import HOST, send_response, wants_keepalive

MiB = 1 << 20


def sha(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- bodies

@functools.lru_cache(maxsize=4)
def _words(seed):
    rnd = random.Random(seed * 7919 + 1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [''.join(rnd.choice(letters) for _ in range(rnd.randint(2, 10)))
            for _ in range(4096)]


@functools.lru_cache(maxsize=24)
def text_body(n, seed=1):
    """n bytes of numbered lines of pseudo-random words: compressible about
    2:1 like real text, reproducible from (n, seed)."""
    if n <= 0:
        return b""
    rnd = random.Random(seed)
    picks = rnd.choices(_words(seed), k=n // 5 + 64)
    out = []
    total = i = pos = 0
    while total < n:
        k = 6 + (i % 7)
        if pos + k > len(picks):
            pos = 0
        line = "%07d %s\n" % (i, " ".join(picks[pos:pos + k]))
        pos += k
        out.append(line)
        total += len(line)
        i += 1
    return "".join(out).encode()[:n]


def gzip_member(data, level=6):
    return gzip.compress(data, compresslevel=level, mtime=0)


def gzip_with_bad_crc(data):
    g = bytearray(gzip_member(data))
    g[-8] ^= 0xFF  # CRC32 of the trailer
    return bytes(g)


def gzip_corrupt_middle(data):
    """A valid gzip member cut in the middle and followed by noise: the
    first part inflates fine, then the stream is invalid."""
    g = gzip_member(data)
    noise = random.Random(99).randbytes(64 * 1024)
    return g[:len(g) // 2] + b"\xff" * 8 + noise


# ---------------------------------------------------------------- decoders

class DecodeError(Exception):
    pass


class Decoder:
    """Incremental decoder for one response body: feed(data) -> bytes;
    finished tells whether the coding's stream ended properly."""

    def __init__(self, coding):
        self.coding = coding
        self.finished = coding == "identity"
        if coding in ("gzip", "x-gzip"):
            self.obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "br":
            self.obj = brotli.Decompressor()
        elif coding == "zstd":
            self.obj = zstandard.ZstdDecompressor().decompressobj()
        elif coding != "identity":
            raise ValueError(coding)

    def feed(self, data):
        if self.coding == "identity":
            return bytes(data)
        out = []
        try:
            if self.coding in ("gzip", "x-gzip"):
                while data:
                    if self.finished:
                        # a further member (multi-member gzip)
                        self.obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
                        self.finished = False
                    out.append(self.obj.decompress(data))
                    data = b""
                    if self.obj.eof:
                        self.finished = True
                        data = self.obj.unused_data
            elif self.coding == "br":
                if data:
                    out.append(self.obj.process(bytes(data)))
                self.finished = self.obj.is_finished()
            else:
                while data:
                    if self.finished:
                        self.obj = zstandard.ZstdDecompressor().decompressobj()
                        self.finished = False
                    out.append(self.obj.decompress(bytes(data)))
                    data = b""
                    if self.obj.eof:
                        self.finished = True
                        data = self.obj.unused_data
        except (zlib.error, brotli.error, zstandard.ZstdError) as e:
            raise DecodeError("%s: %s" % (self.coding, e))
        return b"".join(out)


def decode(coding, data):
    """Whole-body decode; raises DecodeError when the stream is invalid or
    does not end."""
    d = Decoder(coding or "identity")
    out = d.feed(data)
    if not d.finished:
        raise DecodeError("%s stream does not end (%d bytes)" % (coding, len(data)))
    return out


def encode(coding, data):
    if coding == "gzip":
        return gzip_member(data)
    if coding == "br":
        return brotli.compress(data)
    if coding == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    raise ValueError(coding)


class ChunkedDecoder:
    """Incremental de-chunker: feed(data) -> payload bytes; done when the
    last chunk and the trailer section have been seen."""

    def __init__(self):
        self.buf = bytearray()
        self.left = 0  # payload bytes left in the current chunk
        self.state = "size"  # size | data | crlf | trailer | done
        self.chunks = 0

    @property
    def done(self):
        return self.state == "done"

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            if self.state == "data":
                if not self.buf:
                    break
                take = min(self.left, len(self.buf))
                out.append(bytes(self.buf[:take]))
                del self.buf[:take]
                self.left -= take
                if self.left == 0:
                    self.state = "crlf"
                continue
            i = self.buf.find(b"\n")
            if i < 0:
                if len(self.buf) > 4096:
                    raise ValueError("chunk line too long")
                break
            line = bytes(self.buf[:i]).rstrip(b"\r")
            del self.buf[:i + 1]
            if self.state == "crlf":
                if line:
                    raise ValueError("junk after chunk data: %r" % line[:40])
                self.state = "size"
            elif self.state == "size":
                size = int(line.split(b";", 1)[0].strip(), 16)
                self.chunks += 1
                if size == 0:
                    self.state = "trailer"
                else:
                    self.left = size
                    self.state = "data"
            elif self.state == "trailer":
                if not line:
                    self.state = "done"
                    break
            else:
                break
        return b"".join(out)


# ---------------------------------------------------------------- backend

def _params(target):
    q = urlsplit(target).query
    return parse_qsl(q, keep_blank_values=True)


def scripted_body(p):
    """(body bytes, extra headers) described by the query parameters."""
    size = int(p.get("size", "100"))
    seed = int(p.get("seed", "1"))
    body = text_body(size, seed)
    hdrs = []
    if p.get("kind") == "random":
        body = random.Random(seed).randbytes(size)
    pre = p.get("pre")
    if pre:
        if pre == "gzip":
            body = gzip_member(body)
        elif pre == "gzip2":
            half = len(body) // 3
            body = gzip_member(body[:half]) + gzip_member(body[half:], 1)
        elif pre == "badcrc":
            body = gzip_with_bad_crc(body)
        elif pre == "corrupt":
            body = gzip_corrupt_middle(body)
        elif pre == "truncated":
            g = gzip_member(body)
            body = g[:len(g) * 2 // 3]
        else:
            raise ValueError(pre)
        hdrs.append(("Content-Encoding", "gzip"))
    return body, hdrs


def scripted_handler(chunk=64 * 1024):
    """A backend answer described by the request's query string:
    size, seed: body = text_body(size, seed) (kind=random: random bytes);
    ct: Content-Type (default text/plain; `none` = no such field);
    status: status code (default 200);
    mode: length | chunked | close (default length);
    h: extra header "Name: value" (repeatable);
    pre: gzip | gzip2 (two members) | badcrc | corrupt | truncated —
         the body is sent gzip-encoded with Content-Encoding: gzip.
    HEAD gets the head of the GET answer; 204 and 304 get no body."""
    def h(b, req, sock):
        p_list = _params(req.target)
        p = dict(p_list)
        body, hdrs = scripted_body(p)
        status = int(p.get("status", "200"))
        ct = p.get("ct", "text/plain")
        headers = [] if ct == "none" else [("Content-Type", ct)]
        headers += hdrs
        for k, v in p_list:
            if k == "h":
                name, val = v.split(":", 1)
                headers.append((name.strip(), val.strip()))
        mode = p.get("mode", "length")
        ka = wants_keepalive(req)
        if status in (204, 304):
            return send_response(sock, status, headers, b"", "none", keepalive=ka)
        if req.method == "HEAD":
            headers.append(("Content-Length", str(len(body))))
            return send_response(sock, status, headers, b"", "none", keepalive=ka)
        reason = {403: "Forbidden", 206: "Partial Content", 201: "Created",
                  301: "Moved Permanently", 302: "Found", 400: "Bad Request",
                  503: "Service Unavailable"}.get(status)
        if mode == "chunked":
            send_response(sock, status, headers + [("Transfer-Encoding", "chunked")], b"",
                          "none", keepalive=ka, reason=reason)
            for i in range(0, len(body), chunk):
                piece = body[i:i + chunk]
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
            return ka
        if mode == "close":
            send_response(sock, status, headers, b"", "none", keepalive=False, reason=reason)
            sock.sendall(body)
            return False
        headers.append(("Content-Length", str(len(body))))
        send_response(sock, status, headers, b"", "none", keepalive=ka, reason=reason)
        for i in range(0, len(body), 1 << 20):
            sock.sendall(body[i:i + (1 << 20)])
        return ka
    return h


class BlockStream:
    """A long text body made on the fly from a few precomputed blocks of
    pseudo-random lines, in a pseudo-random order; the sha256 of what was
    sent is computed as it goes (.sent, .digest, .done)."""

    def __init__(self, total, block=MiB, nblocks=16, seed=5):
        self.total = total
        self.blocks = [text_body(block, seed + i) for i in range(nblocks)]
        self.seed = seed
        self.sent = 0
        self.digest = None
        self.done = False
        self.error = None
        self.started = threading.Event()

    def handler(self, ctype="text/plain", mode="length"):
        def h(b, req, sock):
            hdr = "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n" % ctype
            if mode == "length":
                hdr += "Content-Length: %d\r\n" % self.total
            sock.sendall((hdr + "\r\n").encode())
            self.started.set()
            rnd = random.Random(self.seed)
            hsh = hashlib.sha256()
            left = self.total
            try:
                while left > 0:
                    blk = self.blocks[rnd.randrange(len(self.blocks))]
                    if left < len(blk):
                        blk = blk[:left]
                    sock.sendall(blk)
                    hsh.update(blk)
                    left -= len(blk)
                    self.sent += len(blk)
            except OSError as e:
                self.error = repr(e)
                return False
            self.digest = hsh.hexdigest()
            self.done = True
            return False
        return h


def sse_event(i):
    return b"id: %d\ndata: event number %d %s\n\n" % (i, i, b"x" * 40)


def event_source(events, pause, sent_at):
    """text/event-stream, chunked: `events` events `pause` seconds apart;
    the send time of each (monotonic) goes to sent_at."""
    def h(b, req, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(events):
            ev = sse_event(i)
            sock.sendall(b"%x\r\n%s\r\n" % (len(ev), ev))
            sent_at.append(time.monotonic())
            if i + 1 < events:
                time.sleep(pause)
        sock.sendall(b"0\r\n\r\n")
        return False
    return h


# ---------------------------------------------------------------- memory



# ---------------------------------------------------------------- HTTP/2

class H2Result:
    def __init__(self):
        self.status = None
        self.headers = []
        self.body = bytearray()
        self.ended = False
        self.reset = None

    def header(self, name, default=None):
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k == name]

    def __repr__(self):
        return "<H2Result %s %r reset=%s ended=%s len=%d>" % (
            self.status, self.headers, self.reset, self.ended, len(self.body))


class H2Client:
    """python3-h2 over cleartext prior knowledge, with large windows."""

    def __init__(self, port, timeout=10.0, window=1 << 24):
        import h2.config
        import h2.connection
        import h2.events
        from h2.settings import SettingCodes
        self.events = h2.events
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        self.conn.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.conn.increment_flow_control_window(window)
        self.results = {}
        self.eof = False
        self._flush()

    def _flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def _pump(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 18)
        except socket.timeout:
            return
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return
        E = self.events
        for ev in self.conn.receive_data(data):
            res = self.results.get(getattr(ev, "stream_id", None))
            if res is None:
                continue
            if isinstance(ev, E.ResponseReceived):
                res.headers = list(ev.headers)
                res.status = int(res.header(":status"))
            elif isinstance(ev, E.DataReceived):
                res.body += ev.data
                if ev.flow_controlled_length:
                    self.conn.acknowledge_received_data(ev.flow_controlled_length,
                                                        ev.stream_id)
            elif isinstance(ev, E.StreamEnded):
                res.ended = True
            elif isinstance(ev, E.StreamReset):
                res.reset = ev.error_code
        self._flush()

    def start(self, path, headers=(), method="GET"):
        """Sends a request; returns its H2Result, filled in by pump()."""
        sid = self.conn.get_next_available_stream_id()
        res = self.results[sid] = H2Result()
        hdrs = [(":method", method), (":path", path), (":scheme", "http"),
                (":authority", "localhost")] + list(headers)
        self.conn.send_headers(sid, hdrs, end_stream=True)
        self._flush()
        return res

    def pump(self, timeout):
        """One read from the socket (at most timeout seconds)."""
        self._pump(timeout)

    def get(self, path, headers=(), method="GET", timeout=15.0):
        res = self.start(path, headers, method)
        deadline = time.monotonic() + timeout
        while not (res.ended or res.reset is not None or self.eof):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._pump(min(left, 0.5))
        return res

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def sanitizer_report(inst):
    """Text of an ASan/UBSan report in the instance's logs (RAMPART_ASAN=1)."""
    if os.environ.get("RAMPART_ASAN") != "1":
        return None
    text = inst.stderr() + inst.error_log()
    for mark in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        if mark in text:
            return text[-6000:]
    return None


class CodedRead:
    """What read_coded_body got: decoded and wire byte counts, the decoded
    bytes' sha256, whether the chunked framing and the coding ended."""

    def __init__(self):
        self.got = self.wire = 0
        self.digest = None
        self.complete = self.finished = False


def read_coded_body(sock, rd, coding="gzip", slow=False, deadline=60.0, recv_size=65536):
    """Reads a chunked, coded body from sock after its head (rd: the Reader
    that read the head), decoding and hashing as it goes. slow: a slow
    client, which stops reading for 2 s after 256 KiB and then reads with a
    pause per MiB. Fails when the body takes more than `deadline` seconds."""
    res = CodedRead()
    dechunk = ChunkedDecoder()
    dec = Decoder(coding)
    hsh = hashlib.sha256()
    data = rd.buf
    t0 = time.monotonic()
    stalled = False
    while True:
        if data:
            res.wire += len(data)
            out = dec.feed(dechunk.feed(data))
            hsh.update(out)
            res.got += len(out)
        if dechunk.done:
            break
        if slow and not stalled and res.wire >= 256 * 1024:
            stalled = True
            time.sleep(2.0)  # the client stops reading
        elif slow and res.wire % (1 << 20) < 65536:
            time.sleep(0.01)
        data = sock.recv(recv_size)
        if not data:
            break
        assert time.monotonic() - t0 < deadline, "too slow: %d MiB in %d s" % (
            res.got >> 20, deadline)
    res.digest = hsh.hexdigest()
    res.complete = dechunk.done
    res.finished = dec.finished
    return res
