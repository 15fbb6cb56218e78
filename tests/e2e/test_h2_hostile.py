"""HTTP/2 under attack: rapid reset, CONTINUATION flood, HPACK bomb, control
frame floods, empty DATA flood, zero-window stall, garbage and idle peers.

The attacks are written frame by frame (9-byte frame header + payload, see
RFC 9113 4.1) on a raw socket, h2c with prior knowledge on a cleartext
listener and TLS with ALPN h2 for some of them. Header blocks come from
hpack's encoder, or are built by hand where the attack needs exact control
of the HPACK dynamic table (the bomb).

Every attack test checks four things:
 (a) the attacking connection is cut: a GOAWAY with the code the codec uses
     for that defence (ENHANCE_YOUR_CALM for floods, the nghttp2 error for
     protocol violations) and then EOF, within a few seconds;
 (b) while the attack runs (repeated on fresh connections until the normal
     client is done), a normal client on another HTTP/2 connection of the
     same (single) worker gets all of its 20 requests answered 200 with the
     backend's body;
 (c) the backend received nothing from the attacker beyond what was
     legitimate: every attack request carries x-attack: <round>-<stream>, so
     the backend's view is checked against the GOAWAY's last stream id and
     the defence's budget;
 (d) rampart is alive afterwards and serves a fresh connection.

The thresholds are rampart's (src/http/h2.h: reset bucket 200 + 33/s,
control bucket 1000 + 100/s, 8 CONTINUATION frames, header list 32 KiB),
hence rampart_only. Every loop is bounded in count and time; timeouts grow
under ASan (RAMPART_ASAN=1).
"""

import collections
import os
import random
import select
import socket
import ssl
import struct
import threading
import time

import pytest

import h2.config
import h2.connection
import h2.events
import hpack

from helpers import HOST, get, send_response, wait_for, wants_keepalive
import tls_helpers as th

pytestmark = pytest.mark.rampart_only

SLOW = 4.0 if os.environ.get("RAMPART_ASAN") == "1" else 1.0
CUT_TIMEOUT = 5.0 * SLOW  # attack written -> connection closed
ATTACK_TIME = 5.0  # time cap of one attack loop
NORMAL_N = 20

# frame types and flags (RFC 9113 6)
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIO = 0x20
# error codes (RFC 9113 7)
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
FRAME_SIZE_ERROR = 0x6
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xb
# settings
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_ENABLE_PUSH = 0x2

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# rampart's defaults (src/http/h2.h)
RESET_BURST, RESET_RATE = 200, 33
CTRL_BURST, CTRL_RATE = 1000, 100
MAX_CONTINUATIONS = 8

BIG_SIZE = 20 << 20


# ---------------------------------------------------------------- frames

def frame(ftype, flags, sid, payload=b""):
    return (struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags,
                                                              sid & 0x7fffffff) + payload)


def settings(*pairs, ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v)
                                                           for k, v in pairs))


def rst_stream(sid, code=CANCEL):
    return frame(RST_STREAM, 0, sid, struct.pack(">I", code))


def ping(data=b"\0" * 8, ack=False):
    return frame(PING, ACK if ack else 0, 0, data)


def priority(sid, dep=0, weight=15):
    return frame(PRIORITY, 0, sid, struct.pack(">IB", dep, weight))


# Hand-made HPACK (RFC 7541) for blocks whose effect on the dynamic table
# must be exact. Strings are raw (no Huffman).

def hp_int(value, prefix, flags=0):
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes([flags | value])
    out = [flags | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7f) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hp_str(s):
    return hp_int(len(s), 7) + s


def hp_ref(index):
    """Indexed field (static 1..61, dynamic 62..)."""
    return hp_int(index, 7, 0x80)


def hp_plain(name, value):
    """Literal without indexing: leaves the dynamic table alone. name is a
    static-table index or bytes."""
    if isinstance(name, int):
        return hp_int(name, 4, 0x00) + hp_str(value)
    return b"\x00" + hp_str(name) + hp_str(value)


def hp_insert(name, value):
    """Literal with incremental indexing, new name: becomes dynamic entry 62."""
    return b"\x40" + hp_str(name) + hp_str(value)


def plain_block(path, method="GET", scheme="http", extra=()):
    """A request header block that does not touch the dynamic table."""
    # static table: 2 :method GET, 3 :method POST, 6 :scheme http,
    # 7 :scheme https, 4 :path, 1 :authority
    out = hp_ref(2 if method == "GET" else 3) + hp_ref(6 if scheme == "http" else 7)
    out += hp_plain(4, path.encode()) + hp_plain(1, b"localhost")
    for k, v in extra:
        out += hp_plain(k.encode(), v.encode())
    return out


def request_fields(path, scheme, tag, method="GET"):
    return [(":method", method), (":scheme", scheme), (":authority", "localhost"),
            (":path", path), ("x-attack", tag)]


# ---------------------------------------------------------------- raw peer

Goaway = collections.namedtuple("Goaway", "last_sid code debug")


class RawH2:
    """An attacking HTTP/2 client connection, single-threaded: writes go
    through select() so whatever rampart sends meanwhile is read and parsed
    (unless read=False is asked for). TLS runs over memory BIOs so the same
    loop serves both transports. Records the GOAWAY, the frames received,
    response statuses, DATA bytes per stream and when the connection
    ended (EOF or reset)."""

    def __init__(self, port, ctx=None, rcvbuf=None, timeout=5.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((HOST, port))
        self.tls = None
        if ctx is not None:
            self._handshake(ctx)
        self.sock.setblocking(False)
        self.buf = b""
        self.types = collections.Counter()
        self.goaway = None
        self.closed_at = None
        self.reset = False
        self.status = {}
        self.end_stream = set()
        self.data = collections.Counter()
        self.rst = {}
        self.rst_at = {}
        self.write_failed = False
        self.decoder = hpack.Decoder()
        self.bytes_out = 0
        self.started = time.monotonic()

    # -- TLS over memory BIOs
    def _handshake(self, ctx):
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname="a.test")
        deadline = time.monotonic() + 5 * SLOW
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            if out.pending:
                self.sock.sendall(out.read())
            if time.monotonic() > deadline:
                raise TimeoutError("TLS handshake")
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed during the TLS handshake")
            inc.write(data)
        if out.pending:
            self.sock.sendall(out.read())
        assert obj.selected_alpn_protocol() == "h2", obj.selected_alpn_protocol()
        self.tls = (obj, inc, out)

    def _encode(self, data):
        if self.tls is None:
            return data
        obj, _, out = self.tls
        obj.write(data)
        return out.read()

    # -- reading
    def _closed(self, reset=False):
        if self.closed_at is None:
            self.closed_at = time.monotonic()
        self.reset = self.reset or reset

    def _recv(self):
        try:
            data = self.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except (ConnectionResetError, BrokenPipeError):
            self._closed(reset=True)
            return
        except OSError:
            self._closed(reset=True)
            return
        if not data:
            self._closed()
            return
        if self.tls is not None:
            obj, inc, _ = self.tls
            inc.write(data)
            plain = []
            while True:
                try:
                    chunk = obj.read(262144)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    self._closed()
                    break
                except ssl.SSLError:
                    self._closed(reset=True)
                    break
                if not chunk:
                    break
                plain.append(chunk)
            data = b"".join(plain)
        self.buf += data
        self._parse()

    def _parse(self):
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                return
            ftype, flags, sid = struct.unpack(">BBI", self.buf[3:9])
            sid &= 0x7fffffff
            payload = self.buf[9:9 + length]
            self.buf = self.buf[9 + length:]
            self.types[ftype] += 1
            if ftype == GOAWAY and self.goaway is None:
                last, code = struct.unpack(">II", payload[:8])
                self.goaway = Goaway(last & 0x7fffffff, code, payload[8:])
            elif ftype == HEADERS:
                block = payload
                if flags & PADDED:
                    block = block[1:len(block) - block[0]]
                if flags & PRIO:
                    block = block[5:]
                fields = dict(self.decoder.decode(block))
                if ":status" in fields:
                    self.status.setdefault(sid, int(fields[":status"]))
                if flags & END_STREAM:
                    self.end_stream.add(sid)
            elif ftype == DATA:
                self.data[sid] += length
                if flags & END_STREAM:
                    self.end_stream.add(sid)
            elif ftype == RST_STREAM:
                self.rst[sid] = struct.unpack(">I", payload[:4])[0]
                self.rst_at.setdefault(sid, time.monotonic())

    # -- writing
    def send(self, data, deadline=None, read=True):
        """Writes data (reading meanwhile when read). Returns False when the
        peer closed or reset, or the deadline passed with bytes unwritten."""
        if self.closed_at is not None or self.write_failed:
            return False
        view = memoryview(self._encode(data))
        deadline = deadline or time.monotonic() + 5 * SLOW
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, w, _ = select.select([self.sock] if read else [], [self.sock], [], left)
            if r:
                self._recv()
                if self.closed_at is not None:
                    return False
            if w:
                try:
                    n = self.sock.send(view)
                except (BlockingIOError, InterruptedError):
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    # rampart is gone; what it sent before is still in our
                    # receive queue: wait_closed() reads it
                    self.write_failed = True
                    return False
                self.bytes_out += n
                view = view[n:]
        return True

    def poll(self, timeout=0.0):
        """Reads what is there (waiting up to timeout for something)."""
        if self.closed_at is not None:
            return
        r, _, _ = select.select([self.sock], [], [], timeout)
        if r:
            self._recv()

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while not pred() and self.closed_at is None and time.monotonic() < deadline:
            self.poll(min(0.1, max(0.0, deadline - time.monotonic())))
        return pred()

    def wait_closed(self, timeout=CUT_TIMEOUT):
        """True when rampart closed the connection within timeout."""
        deadline = time.monotonic() + timeout
        while self.closed_at is None and time.monotonic() < deadline:
            self.poll(min(0.2, max(0.0, deadline - time.monotonic())))
        return self.closed_at is not None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def summary(self):
        closed = None if self.closed_at is None else round(self.closed_at - self.started, 3)
        return ("goaway=%r closed=%s reset=%s write_failed=%s frames=%s statuses=%s rst=%s "
                "out=%d" % (self.goaway, closed, self.reset, self.write_failed, dict(self.types),
                            dict(list(self.status.items())[:10]),
                            dict(list(self.rst.items())[:10]), self.bytes_out))


def start(port, ctx=None, extra=b"", **kw):
    """A raw connection that sent the preface and an empty SETTINGS."""
    raw = RawH2(port, ctx, **kw)
    raw.send(PREFACE + settings() + extra, read=kw.get("rcvbuf") is None)
    return raw


# ---------------------------------------------------------------- normal client

class H2Client:
    """A well-behaved client on python h2 (blocking socket)."""

    def __init__(self, port, ctx=None, timeout=5.0 * SLOW):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.scheme = "http"
        if ctx is not None:
            self.sock = ctx.wrap_socket(self.sock, server_hostname="a.test")
            assert self.sock.selected_alpn_protocol() == "h2"
            self.scheme = "https"
        self.sock.settimeout(timeout)
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())

    def get(self, path, headers=()):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", "GET"), (":scheme", self.scheme),
                                     (":authority", "localhost"), (":path", path)] +
                               list(headers), end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        status, body = None, b""
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed before the response ended")
            done = False
            for ev in self.conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    status = int(dict(ev.headers)[":status"])
                elif isinstance(ev, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    if ev.stream_id == sid:
                        body += ev.data
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    done = True
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                    raise ConnectionError("stream reset: %r" % ev)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    raise ConnectionError("GOAWAY: %r" % ev)
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)
            if done:
                return status, body

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class NormalTraffic(threading.Thread):
    """NORMAL_N GET requests, paced, over one HTTP/2 connection (a new one
    after a failure, which is recorded). results: (t0, t1, status, body)."""

    def __init__(self, port, ctx=None, n=NORMAL_N, pause=0.03):
        super().__init__(daemon=True)
        self.port, self.ctx, self.n, self.pause = port, ctx, n, pause
        self.results = []
        self.done = threading.Event()

    def run(self):
        cli = None
        try:
            for i in range(self.n):
                t0 = time.monotonic()
                try:
                    if cli is None:
                        cli = H2Client(self.port, self.ctx)
                    status, body = cli.get("/normal/%d" % i)
                except Exception as e:  # noqa: BLE001 - recorded, asserted later
                    status, body = None, repr(e).encode()
                    if cli is not None:
                        cli.close()
                    cli = None
                self.results.append((t0, time.monotonic(), status, body))
                time.sleep(self.pause)
        finally:
            if cli is not None:
                cli.close()
            self.done.set()

    def check(self, attack_spans):
        assert self.done.wait(30 * SLOW), "normal client did not finish"
        bad = [(s, b[:200]) for _, _, s, b in self.results if s != 200 or b != b"ok from b"]
        assert len(self.results) == self.n and not bad, \
            "normal client not served during the attack: %r" % bad
        overlap = sum(1 for t0, t1, _, _ in self.results
                      if any(t0 < b and t1 > a for a, b in attack_spans))
        assert overlap >= 1, "no normal request ran while an attack did"
        return overlap


def run_attack(port, attack, ctx=None, max_rounds=2000, pause=0.01, min_overlap=NORMAL_N // 2):
    """Runs attack(round) on fresh connections, again and again, until a
    normal client on its own connection has made its NORMAL_N requests
    (at least one round, at most max_rounds, at most 20 s). Checks that the
    normal client was served and that at least min_overlap of its requests
    ran while an attacking connection was open, none of them slowly.
    Returns (results, a summary line for the report)."""
    traffic = NormalTraffic(port, ctx, pause=pause)
    traffic.start()
    results, spans = [], []
    t_end = time.monotonic() + 20 * SLOW
    while len(results) < max_rounds and time.monotonic() < t_end:
        t0 = time.monotonic()
        results.append(attack(len(results)))
        spans.append((t0, time.monotonic()))
        if traffic.done.is_set():
            break
    overlap = traffic.check(spans)
    assert overlap >= min_overlap, "only %d normal requests ran during the attack" % overlap
    worst = max(t1 - t0 for t0, t1, _, _ in traffic.results)
    # served, not starved: no normal request waited long
    assert worst < 2.0 * SLOW, "a normal request took %.2fs during the attack" % worst
    return results, "normal: %d/%d during the attack, slowest %.0f ms" % (
        overlap, len(traffic.results), worst * 1000)


# ---------------------------------------------------------------- backend, config

def handler(b, req, sock):
    """/big streams BIG_SIZE bytes and records how far it got (b.big);
    everything else answers a short body."""
    if req.target.startswith("/big"):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\n\r\n" % BIG_SIZE)
        block = b"z" * 65536
        st = b.big
        st["started"] = time.monotonic()
        try:
            while st["sent"] < BIG_SIZE:
                sock.sendall(block)
                st["sent"] += len(block)
                st["last"] = time.monotonic()
            st["done"] = True
        except OSError as e:
            st["error"] = repr(e)
            st["error_at"] = time.monotonic()
        return False
    body = b"ok from b" if req.target.startswith("/normal") or \
        req.target.startswith("/alive") else b"attack answered"
    return send_response(sock, 200, [("Content-Type", "text/plain")], body,
                         keepalive=wants_keepalive(req))


def make_backend(backend):
    b = backend("b", handler)
    b.big = {"sent": 0, "done": False, "error": None, "started": None, "last": None,
             "error_at": None}
    return b


def server_conf(listen="@LISTEN@ http2", extra="", tls="", keepalive="30s"):
    return """
server {
    listen %s;
    %s
    keepalive_timeout %s;
    send_timeout 2s;
    client_header_timeout 2s;
    %s
    location / {
        proxy_pass http://@b@;
        proxy_read_timeout 10s;
    }
}
""" % (listen, tls, keepalive, extra)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not th.have_openssl():
        pytest.skip("needs the openssl command")
    return th.make_certs(tmp_path_factory.mktemp("h2tls"))


def make_proxy(rampart, backend, request, transport="h2c", extra="", keepalive="30s"):
    """rampart with one worker (attacker and normal client share its loop)
    proxying to a fresh backend. Returns (r, b, ctx, scheme)."""
    b = make_backend(backend)
    if transport == "tls":
        certs = request.getfixturevalue("certs")
        tls = "ssl_certificate %s/rsa-a.pem;\n    ssl_certificate_key %s/rsa-a.key;" % (
            certs, certs)
        r = rampart(server_conf("@LISTEN@ ssl http2", extra, tls, keepalive),
                    backends={"b": b}, workers=1)
        ctx = th.client_context(alpn=["h2"])
        return r, b, ctx, "https"
    r = rampart(server_conf(extra=extra, keepalive=keepalive), backends={"b": b}, workers=1)
    return r, b, None, "http"


def attack_requests(b, rnd=None):
    """(round, stream id) of every request the backend got from an attacker."""
    out = []
    for req in list(b.requests):
        tag = req.header("X-Attack")
        if tag is None:
            continue
        r_, sid = (int(x) for x in tag.split("-"))
        if rnd is None or r_ == rnd:
            out.append((r_, sid))
    return out


def goaways(raws):
    """{(last stream id, code) or None: how many connections} for reports."""
    return dict(collections.Counter(
        r.goaway and (r.goaway.last_sid, hex(r.goaway.code)) for r in raws))


def spread(values):
    v = sorted(values)
    return "%d..%d" % (v[0], v[-1]) if v else "-"


def assert_cut(raw, codes, what, goaway=True):
    """(a): a GOAWAY with one of codes (required unless goaway is False),
    then EOF, within CUT_TIMEOUT."""
    closed = raw.wait_closed(CUT_TIMEOUT)
    assert closed, "%s: attacking connection still open after %.0fs: %s" % (
        what, CUT_TIMEOUT, raw.summary())
    if goaway:
        assert raw.goaway is not None, "%s: closed without a GOAWAY: %s" % (what, raw.summary())
    if raw.goaway is not None:
        assert raw.goaway.code in codes, "%s: GOAWAY code 0x%x, expected %s: %s" % (
            what, raw.goaway.code, [hex(c) for c in codes], raw.summary())


def assert_serving(r, b, ctx=None):
    """(d): alive, and a fresh HTTP/2 connection (and HTTP/1.1 on h2c) is
    served by the backend."""
    assert r.alive(), "rampart died:\n" + r.stderr()[-3000:] + r.error_log()[-3000:]
    n = len(b.requests)
    cli = H2Client(r.port, ctx)
    try:
        status, body = cli.get("/alive-h2")
    finally:
        cli.close()
    assert (status, body) == (200, b"ok from b")
    if ctx is None:
        resp = get(r.port, "/alive-h1")
        assert resp.status == 200 and resp.body == b"ok from b"
    assert wait_for(lambda: len(b.requests) > n, 2)
    assert any(q.target == "/alive-h2" for q in b.requests[n:])
    assert r.alive()


# ---------------------------------------------------------------- 1 rapid reset

@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_rapid_reset(rampart, backend, request, transport):
    """CVE-2023-44487: HEADERS + RST_STREAM pairs as fast as the socket
    takes them (up to 10000 pairs or 5 s). rampart answers
    GOAWAY(ENHANCE_YOUR_CALM) once the reset bucket (200 + 33/s) is empty;
    it processed at most that many streams (GOAWAY last stream id) and the
    backend saw at most that many requests, all from before the cut."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request, transport)

    def attack(rnd):
        raw = start(r.port, ctx)
        enc = hpack.Encoder()
        sid, pairs = 1, 0
        t0 = time.monotonic()
        deadline = t0 + ATTACK_TIME
        try:
            while pairs < 10000 and time.monotonic() < deadline:
                batch = []
                for _ in range(100):
                    block = enc.encode(request_fields("/attack/rr", scheme, "%d-%d" % (rnd, sid)))
                    batch.append(frame(HEADERS, END_STREAM | END_HEADERS, sid, block))
                    batch.append(rst_stream(sid))
                    sid += 2
                if not raw.send(b"".join(batch), deadline):
                    break
                pairs += 100
            assert_cut(raw, [ENHANCE_YOUR_CALM], "rapid reset")
            return raw, pairs, time.monotonic() - t0
        finally:
            raw.close()

    results, normal = run_attack(r.port, attack, ctx)
    total_pairs = 0
    for rnd, (raw, pairs, elapsed) in enumerate(results):
        total_pairs += pairs
        budget = RESET_BURST + RESET_RATE * elapsed + 10
        assert pairs > budget, "the attack did not outrun the budget (%d pairs)" % pairs
        # streams rampart processed: odd ids up to last_sid
        assert raw.goaway.last_sid <= 2 * budget + 1, raw.summary()
        seen = attack_requests(b, rnd)
        assert len(seen) <= budget, (rnd, len(seen))
        assert all(sid <= raw.goaway.last_sid for _, sid in seen), (raw.goaway, seen[-5:])
    # far fewer backend requests than streams opened
    assert len(attack_requests(b)) * 10 < total_pairs
    print("rapid reset %s: rounds=%d pairs=%d backend=%d goaway=%s %s" % (
        transport, len(results), total_pairs, len(attack_requests(b)),
        goaways(x[0] for x in results), normal))
    assert_serving(r, b, ctx)


# ---------------------------------------------------------------- 2 CONTINUATION flood

def continuation_payloads(kind):
    """Endless CONTINUATION payloads (no END_HEADERS): one small field each,
    empty, or full 16 KiB frames of fields."""
    if kind == "empty":
        while True:
            yield b""
    i = 0
    if kind == "many":
        while True:
            yield hp_plain(b"x-c%d" % i, b"v" * 20)
            i += 1
    pending = b""
    while True:
        while len(pending) < 16384:
            pending += hp_plain(b"x-fill%d" % i, b"f" * 200)
            i += 1
        yield pending[:16384]
        pending = pending[16384:]


@pytest.mark.parametrize("kind,transport", [("many", "h2c"), ("empty", "h2c"),
                                            ("large", "h2c"), ("many", "tls")])
def test_continuation_flood(rampart, backend, request, kind, transport):
    """CVE-2024-28182: HEADERS without END_HEADERS, then CONTINUATION frames
    forever (up to 10000 frames or 5 s). rampart answers
    GOAWAY(ENHANCE_YOUR_CALM) after 8 CONTINUATION frames (or once the
    encoded block passes 32 KiB + 1 KiB); the request never reaches the
    backend."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request, transport)

    def attack(rnd):
        raw = start(r.port, ctx)
        t0 = time.monotonic()
        deadline = t0 + ATTACK_TIME
        sent = 0
        gen = continuation_payloads(kind)
        try:
            first = plain_block("/attack/cont", scheme=scheme, extra=[("x-attack", "%d-1" % rnd)])
            ok = raw.send(frame(HEADERS, END_STREAM, 1, first), deadline)
            while ok and sent < 10000 and time.monotonic() < deadline:
                batch = [frame(CONTINUATION, 0, 1, next(gen)) for _ in range(20)]
                ok = raw.send(b"".join(batch), deadline)
                if ok:
                    sent += len(batch)
            assert_cut(raw, [ENHANCE_YOUR_CALM], "CONTINUATION flood (%s)" % kind)
            assert 1 not in raw.status, raw.summary()
            return raw, sent
        finally:
            raw.close()

    results, normal = run_attack(r.port, attack, ctx)
    assert all(raw.goaway.last_sid in (0, 1) for raw, _ in results)
    time.sleep(0.2)
    assert attack_requests(b) == [], "the backend got a request from the flood"
    print("continuation %s/%s: rounds=%d frames=%s goaway=%s %s" % (
        kind, transport, len(results), spread(n for _, n in results),
        goaways(x for x, _ in results), normal))
    assert_serving(r, b, ctx)


def test_continuation_limits_boundary(rampart, backend, request):
    """The CONTINUATION defences cut attacks, not big requests: a header
    block in HEADERS + 8 CONTINUATION frames, and a 28 KB header list (two
    16 KiB frames), are proxied; HEADERS + 9 CONTINUATION frames is
    GOAWAY(ENHANCE_YOUR_CALM) without a backend request."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request)

    def split_send(block, nframes):
        raw = start(r.port)
        size = -(-len(block) // nframes)
        parts = [block[i * size:(i + 1) * size] for i in range(nframes)]
        data = b""
        for i, part in enumerate(parts):
            flags = END_HEADERS if i == nframes - 1 else 0
            if i == 0:
                data += frame(HEADERS, flags | END_STREAM, 1, part)
            else:
                data += frame(CONTINUATION, flags, 1, part)
        raw.send(data)
        return raw

    # 1 + MAX_CONTINUATIONS frames: served
    raw = split_send(plain_block("/normal/cont8", extra=[("x-attack", "0-1")] +
                                 [("x-f%d" % i, "v" * 30) for i in range(9)]),
                     1 + MAX_CONTINUATIONS)
    try:
        assert raw.wait(lambda: 1 in raw.end_stream, 5 * SLOW), raw.summary()
        assert raw.status[1] == 200 and raw.goaway is None, raw.summary()
    finally:
        raw.close()
    # a 28 KB header list in two full frames: served, all fields forwarded
    big = [("x-big%d" % i, "%d" % i * 3990) for i in range(7)]
    blk = plain_block("/normal/bighdr", extra=[("x-attack", "1-1")] + big)
    assert 16384 < len(blk) <= 2 * 16384
    raw = split_send(blk, 2)
    try:
        assert raw.wait(lambda: 1 in raw.end_stream, 5 * SLOW), raw.summary()
        assert raw.status[1] == 200 and raw.goaway is None, raw.summary()
    finally:
        raw.close()
    # 1 + MAX_CONTINUATIONS + 1 frames: cut
    raw = split_send(plain_block("/normal/cont9", extra=[("x-attack", "2-1")] +
                                 [("x-f%d" % i, "v" * 30) for i in range(10)]),
                     2 + MAX_CONTINUATIONS)
    try:
        assert_cut(raw, [ENHANCE_YOUR_CALM], "9 CONTINUATION frames")
        assert 1 not in raw.status
    finally:
        raw.close()
    time.sleep(0.2)
    assert sorted(attack_requests(b)) == [(0, 1), (1, 1)]
    q = [q for q in b.requests if q.target == "/normal/bighdr"][0]
    assert all(q.header(k) == v for k, v in big), q
    assert_serving(r, b, ctx)


# ---------------------------------------------------------------- 3 HPACK bomb

BOMB_VALUE = b"b" * 4000  # entry size 6 + 4000 + 32 <= 4096 (default table)
BOMB_REFS = 2000  # 2000 one-byte references: ~8 MB decoded


def bomb_block(rnd, sid, scheme, insert):
    """Pseudo-headers as literals without indexing, then (first block only)
    x-bomb inserted into the dynamic table as entry 62, then BOMB_REFS
    one-byte references to entry 62."""
    out = plain_block("/attack/bomb", scheme=scheme, extra=[("x-attack", "%d-%d" % (rnd, sid))])
    if insert:
        out += hp_insert(b"x-bomb", BOMB_VALUE)
    return out + hp_ref(62) * BOMB_REFS


def test_hpack_bomb_single_stream_431(rampart, backend, request):
    """One bomb (about 6 KB encoded, 8 MB decoded): that stream gets 431,
    the connection lives on, the next stream on it is proxied normally;
    the backend never sees the bomb."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request)
    raw = start(r.port)
    try:
        blk = bomb_block(0, 1, scheme, insert=True)
        assert len(blk) < 16384
        raw.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, blk))
        assert raw.wait(lambda: 1 in raw.status and 1 in raw.end_stream, 5 * SLOW), \
            raw.summary()
        assert raw.status[1] == 431
        assert raw.goaway is None and raw.closed_at is None, raw.summary()
        # the same connection, HPACK state intact: a normal request
        raw.send(frame(HEADERS, END_STREAM | END_HEADERS, 3,
                       plain_block("/normal/after-bomb", extra=[("x-attack", "0-3")])))
        assert raw.wait(lambda: 3 in raw.end_stream, 5 * SLOW), raw.summary()
        assert raw.status[3] == 200 and raw.data[3] == len(b"ok from b"), raw.summary()
    finally:
        raw.close()
    assert attack_requests(b) == [(0, 3)]
    assert [q.target for q in b.requests] == ["/normal/after-bomb"]
    assert b.requests[0].header("X-Bomb") is None
    assert_serving(r, b, ctx)


def test_hpack_bomb_flood(rampart, backend, request):
    """Bomb after bomb on new streams (up to 2000 streams or 5 s): each one
    gets 431 and draws from the rejected-request bucket in proportion to its
    decoded size, so after a few bombs rampart answers
    GOAWAY(ENHANCE_YOUR_CALM); no bomb reaches the backend."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request)

    def attack(rnd):
        raw = start(r.port)
        t0 = time.monotonic()
        deadline = t0 + ATTACK_TIME
        sid, n = 1, 0
        try:
            while n < 2000 and time.monotonic() < deadline:
                batch = []
                for _ in range(10):
                    batch.append(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                                       bomb_block(rnd, sid, scheme, insert=sid == 1)))
                    sid += 2
                if not raw.send(b"".join(batch), deadline):
                    break
                n += 10
            assert_cut(raw, [ENHANCE_YOUR_CALM], "HPACK bomb flood")
            return raw, n, time.monotonic() - t0
        finally:
            raw.close()

    # a bomb costs rampart decoding time, so few are allowed per connection;
    # the attack goes on with new connections while the normal client runs
    results, normal = run_attack(r.port, attack, ctx, min_overlap=NORMAL_N // 4)
    for raw, n, elapsed in results:
        statuses = set(raw.status.values())
        # 431s queued in the same read as the bomb that empties the
        # bucket may be dropped with the connection: only 431s, if any
        assert statuses <= {431}, raw.summary()
        budget = RESET_BURST + RESET_RATE * elapsed + 10
        assert raw.goaway.last_sid <= 2 * budget + 1, raw.summary()
        # 431s counted: each ~8 MB bomb takes 50 of the 200 tokens
        assert len(raw.status) <= 10, raw.summary()
    time.sleep(0.2)
    assert attack_requests(b) == [], "a bomb reached the backend"
    print("hpack bomb: rounds=%d streams=%s 431s=%s goaway=%s %s" % (
        len(results), spread(n for _, n, _ in results),
        spread(len(x.status) for x, _, _ in results), goaways(x for x, _, _ in results), normal))
    assert_serving(r, b, ctx)


# ---------------------------------------------------------------- 4, 5 control floods

@pytest.mark.parametrize("kind", ["settings", "settings_noread", "ping", "ping_noread",
                                  "priority"])
def test_control_frame_flood(rampart, backend, request, kind):
    """SETTINGS, PING or PRIORITY frames, up to 10000 or 5 s, with one real
    request every 250 frames. A reading peer: the control bucket
    (1000 + 100/s) empties and rampart answers GOAWAY(ENHANCE_YOUR_CALM).
    A peer that never reads its ACKs (4 KiB receive buffer): cut as well,
    by the same bucket or by the cap on queued ACKs (then without a GOAWAY:
    the peer does not read anyway). Only requests sent before the cut reach
    the backend."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request)
    reading = not kind.endswith("_noread")
    every = 250

    def one(i):
        if kind.startswith("settings"):
            return settings((SETTINGS_ENABLE_PUSH, 0))
        if kind.startswith("ping"):
            return ping(struct.pack(">Q", i))
        return priority(1001 + 2 * (i % 50))

    def attack(rnd):
        raw = start(r.port, rcvbuf=None if reading else 4096)
        t0 = time.monotonic()
        deadline = t0 + ATTACK_TIME
        n, sid, reqs = 0, 1, 0
        try:
            while n < 10000 and time.monotonic() < deadline:
                batch = []
                for _ in range(every):
                    batch.append(one(n))
                    n += 1
                batch.append(frame(HEADERS, END_STREAM | END_HEADERS, sid, plain_block(
                    "/attack/ctrl", extra=[("x-attack", "%d-%d" % (rnd, sid))])))
                sid += 2
                reqs += 1
                if not raw.send(b"".join(batch), deadline, read=reading):
                    break
            assert_cut(raw, [ENHANCE_YOUR_CALM], "%s flood" % kind, goaway=reading)
            return raw, n, reqs, time.monotonic() - t0
        finally:
            raw.close()

    results, normal = run_attack(r.port, attack, ctx)
    time.sleep(0.2)
    for rnd, (raw, n, reqs, elapsed) in enumerate(results):
        budget = CTRL_BURST + CTRL_RATE * elapsed + 10
        assert n > budget, "the flood did not outrun the budget (%d frames)" % n
        seen = attack_requests(b, rnd)
        # requests placed before the cut point only
        assert len(seen) <= budget // every + 1, (rnd, seen)
        if raw.goaway is not None:
            assert all(sid <= raw.goaway.last_sid for _, sid in seen), (raw.goaway, seen)
        # ACKs: never more than one per frame rampart accepted
        if kind.startswith("settings"):
            assert raw.types[SETTINGS] <= budget + 2, raw.summary()
        elif kind.startswith("ping"):
            assert raw.types[PING] <= budget + 1, raw.summary()
    print("%s flood: rounds=%d frames=%s backend=%d goaway=%s acks=%s %s" % (
        kind, len(results), spread(x[1] for x in results), len(attack_requests(b)),
        goaways(x[0] for x in results),
        spread(x[0].types[SETTINGS] + x[0].types[PING] for x in results), normal))
    assert_serving(r, b, ctx)


@pytest.mark.parametrize("kind", ["settings", "ping"])
def test_control_burst_in_one_write(rampart, backend, request, kind):
    """1100 SETTINGS (or PING) frames in a single write, so rampart reads
    more than the bucket's 1000 in one go, and a client that reads: still
    GOAWAY(ENHANCE_YOUR_CALM) (the codec's answer to a flood), not a silent
    close."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request)
    one = settings((SETTINGS_ENABLE_PUSH, 0)) if kind == "settings" else ping()
    raw = RawH2(r.port)
    try:
        raw.send(PREFACE + settings() + one * 1100)
        assert_cut(raw, [ENHANCE_YOUR_CALM], "%s burst" % kind)
        print("%s burst: %s" % (kind, raw.summary()))
    finally:
        raw.close()
    assert b.requests == []
    assert_serving(r, b, ctx)


# ---------------------------------------------------------------- 6 empty DATA flood

def test_empty_data_flood(rampart, backend, request):
    """A POST whose body is thousands of zero-length DATA frames without
    END_STREAM (up to 10000 or 5 s): GOAWAY(ENHANCE_YOUR_CALM); the backend
    got at most that one request, with no body bytes and not complete."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request)

    def attack(rnd):
        raw = start(r.port)
        t0 = time.monotonic()
        deadline = t0 + ATTACK_TIME
        n = 0
        try:
            ok = raw.send(frame(HEADERS, END_HEADERS, 1, plain_block(
                "/attack/upload", method="POST", extra=[("x-attack", "%d-1" % rnd)])), deadline)
            empty = frame(DATA, 0, 1)
            while ok and n < 10000 and time.monotonic() < deadline:
                ok = raw.send(empty * 200, deadline)
                if ok:
                    n += 200
            assert_cut(raw, [ENHANCE_YOUR_CALM], "empty DATA flood")
            return raw, n, time.monotonic() - t0
        finally:
            raw.close()

    results, normal = run_attack(r.port, attack, ctx)
    for raw, n, elapsed in results:
        assert n > CTRL_BURST + CTRL_RATE * elapsed, n
        assert raw.goaway.last_sid in (0, 1)
    time.sleep(0.3)
    for rnd in range(len(results)):
        reqs = [q for q in b.requests if q.header("X-Attack") == "%d-1" % rnd]
        assert len(reqs) <= 1
        for q in reqs:
            assert q.method == "POST" and q.body_len == 0 and not q.complete, q
    print("empty DATA flood: rounds=%d frames=%s backend=%d goaway=%s %s" % (
        len(results), spread(x[1] for x in results), len(attack_requests(b)),
        goaways(x[0] for x in results), normal))
    assert_serving(r, b, ctx)


# ---------------------------------------------------------------- 7 zero-window stall

@pytest.mark.parametrize("how", ["initial_window_0", "no_window_update"])
def test_zero_window_stall(rampart, backend, request, how):
    """The client asks for a 20 MiB response and never opens its window
    (SETTINGS_INITIAL_WINDOW_SIZE 0, or the default 65535 never refilled).
    rampart sends no more DATA than the window allows and reads the backend
    only as far as its buffers go (the backend blocks: back-pressure); after
    send_timeout (2s) the stalled connection is closed and the backend
    connection released. A normal client is served meanwhile."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request)
    window = 0 if how == "initial_window_0" else 65535
    limit = 2.0 + 3.0 * SLOW
    facts = {}

    def attack(rnd):
        extra = settings((SETTINGS_INITIAL_WINDOW_SIZE, window)) if window == 0 else b""
        raw = start(r.port, extra=extra)
        t0 = time.monotonic()
        samples = []
        try:
            raw.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, plain_block(
                "/big", extra=[("x-attack", "%d-1" % rnd)])))
            # the stall: read (never acknowledging) until rampart closes
            while raw.closed_at is None and time.monotonic() < t0 + limit:
                raw.poll(0.1)
                samples.append((time.monotonic() - t0, b.big["sent"]))
                if 1 in raw.rst and "backend_at_rst" not in facts:
                    facts["backend_at_rst"] = dict(b.big)
            facts["backend_at_end"] = dict(b.big)
            facts["samples"] = samples
            return raw, t0
        finally:
            raw.close()

    results, normal = run_attack(r.port, attack, ctx, max_rounds=1, pause=0.06)
    raw, t0 = results[0]
    rst_after = raw.rst_at[1] - t0 if 1 in raw.rst_at else None
    closed_after = raw.closed_at - t0 if raw.closed_at is not None else None
    print("zero-window %s: rst=%s after %s s, closed after %s s, goaway=%r, DATA=%d, "
          "backend sent=%d, backend error=%s, %s" % (
              how, raw.rst.get(1), rst_after and round(rst_after, 2),
              closed_after and round(closed_after, 2), raw.goaway, raw.data[1],
              facts["backend_at_end"]["sent"], b.big["error"], normal))
    assert raw.status.get(1) == 200, raw.summary()
    # flow control respected
    assert raw.data[1] <= window, raw.summary()
    # back-pressure: the backend got stuck far from the end, and stayed
    # stuck (no progress over the last second before the stall was cut)
    end = facts["backend_at_end"]
    assert not end["done"] and end["sent"] < BIG_SIZE // 2, end
    late = [n for t, n in facts["samples"] if 0.8 <= t <= 1.8]
    assert late and late[0] == late[-1], facts["samples"]
    assert len(attack_requests(b)) == 1
    # the stream was given up after send_timeout (reset or connection
    # closed), not at once
    cut = min(x for x in (rst_after, closed_after) if x is not None) \
        if rst_after is not None or closed_after is not None else None
    assert cut is not None and 1.5 <= cut <= limit, raw.summary()
    # the backend connection is released
    assert wait_for(lambda: b.big["error"] is not None, 5 * SLOW), b.big
    assert not b.big["done"] and b.big["sent"] < BIG_SIZE, b.big
    # the stalled connection itself is closed by send_timeout
    assert closed_after is not None, \
        "stalled connection still open %.0fs after the request: %s" % (limit, raw.summary())
    assert closed_after <= limit
    if raw.goaway is not None:
        assert raw.goaway.code in (NO_ERROR, ENHANCE_YOUR_CALM, PROTOCOL_ERROR), raw.goaway
    assert_serving(r, b, ctx)


# ---------------------------------------------------------------- 8 garbage, invalid frames

GARBAGE = {
    # first frame after the preface must be SETTINGS (RFC 9113 3.4)
    "headers_before_settings": (PREFACE + frame(HEADERS, END_STREAM | END_HEADERS, 1,
                                                plain_block("/attack/g", extra=[
                                                    ("x-attack", "0-1")])),
                                [PROTOCOL_ERROR]),
    "data_on_stream_0": (PREFACE + settings() + frame(DATA, 0, 0, b"x" * 10),
                         [PROTOCOL_ERROR]),
    "settings_bad_length": (PREFACE + settings() + frame(SETTINGS, 0, 0, b"\0" * 5),
                            [FRAME_SIZE_ERROR]),
    "headers_even_stream": (PREFACE + settings() + frame(HEADERS, END_STREAM | END_HEADERS, 2,
                                                         plain_block("/attack/g", extra=[
                                                             ("x-attack", "0-2")])),
                            [PROTOCOL_ERROR]),
    "bad_hpack_index": (PREFACE + settings() + frame(HEADERS, END_STREAM | END_HEADERS, 1,
                                                     b"\x82\x86\xff\x7f"),
                        [COMPRESSION_ERROR]),
    # a 1 MiB frame announced; SETTINGS_MAX_FRAME_SIZE is 16 KiB
    "frame_too_large": (PREFACE + settings() + struct.pack(">I", 1 << 20)[1:] +
                        struct.pack(">BBI", DATA, 0, 1) + b"\0" * 4096,
                        [FRAME_SIZE_ERROR]),
    "random_bytes": (PREFACE + settings() + random.Random(4711).randbytes(4096), None),
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_invalid_frames(rampart, backend, request, case):
    """A valid preface then a protocol violation: GOAWAY with the error
    nghttp2 assigns, then close; nothing reaches the backend."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request)
    data, codes = GARBAGE[case]
    raw = RawH2(r.port)
    try:
        raw.send(data)
        closed = raw.wait_closed(CUT_TIMEOUT)
        print("%s: %s" % (case, raw.summary()))
        assert closed, raw.summary()
        if codes is not None:
            assert raw.goaway is not None and raw.goaway.code in codes, raw.summary()
        assert not raw.status, raw.summary()
    finally:
        raw.close()
    time.sleep(0.2)
    assert b.requests == []
    assert_serving(r, b, ctx)


@pytest.mark.parametrize("data", [
    b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + settings(),
    b"PRI * HTTP/2.0\r\n\r\n" + settings(),
    b"\x00\x00\x12\x04\x00\x00\x00\x00\x00" + b"\0" * 18,
], ids=["bad_magic", "truncated_magic", "frames_without_preface"])
def test_garbage_preface(rampart, backend, request, data):
    """Not the client preface on an h2c listener: the bytes are an invalid
    HTTP/1 request (an error answer or a plain close), never a proxied
    request, never HTTP/2."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request)
    raw = RawH2(r.port)
    try:
        raw.send(data)
        closed = raw.wait_closed(CUT_TIMEOUT)
        got = raw.buf
        assert closed, raw.summary()
    finally:
        raw.close()
    print("garbage preface: %r" % got[:100])
    assert not got.startswith(b"HTTP/1.1 200") and b"ok from b" not in got
    if got:
        assert got.startswith(b"HTTP/1.1 4") or got.startswith(b"HTTP/1.1 5"), got[:200]
    time.sleep(0.2)
    assert b.requests == []
    assert_serving(r, b, ctx)


# ---------------------------------------------------------------- idle peers

@pytest.mark.parametrize("tail", [b"", b"\x00\x00\x08\x06"],
                         ids=["after_settings", "partial_frame"])
def test_idle_connection_closed_by_keepalive_timeout(rampart, backend, request, tail):
    """An HTTP/2 connection with no stream (nothing after SETTINGS, or a
    frame header cut short) is closed after keepalive_timeout (1s here),
    not kept forever."""
    r, b, ctx, scheme = make_proxy(rampart, backend, request, keepalive="1s")
    raw = start(r.port, extra=tail)
    try:
        t0 = time.monotonic()
        closed = raw.wait_closed(1.0 + 6.0 * SLOW)
        took = time.monotonic() - t0
        print("idle %r: closed after %.2fs %s" % (tail, took, raw.summary()))
        assert closed, raw.summary()
        assert took >= 0.7, took
        if raw.goaway is not None:
            assert raw.goaway.code in (NO_ERROR, PROTOCOL_ERROR), raw.goaway
    finally:
        raw.close()
    assert b.requests == []
    assert_serving(r, b, ctx)
