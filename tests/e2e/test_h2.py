"""HTTP/2 on the client side: ALPN and h2c, streams through the proxy,
request and response bodies, flow control, SETTINGS, limits, local
responses, field hygiene, timeouts, GOAWAY on keepalive_requests, reload and
graceful stop, access log.

Clients: `openssl s_client` (ALPN), curl (--http2 / --http2-prior-knowledge)
and python3-h2 driven over a raw socket (cleartext or TLS with ALPN h2), so
frames, SETTINGS, resets and flow control are visible. Every proxied case
also checks what the backend received. The nginx-compatible form
`listen ... http2` is used wherever nginx 1.22 behaves the same; `http2 on`
and behaviour nginx 1.22 lacks are rampart_only.
"""

import hashlib
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

h2 = pytest.importorskip("h2", reason="needs python3-h2 (run with /usr/bin/python3)")
import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.errors  # noqa: E402
import h2.events  # noqa: E402
import h2.exceptions  # noqa: E402
from h2.settings import SettingCodes  # noqa: E402

import tls_helpers as th  # noqa: E402
from helpers import HOST, get, send_response, wait_for, wants_keepalive  # noqa: E402

pytestmark = pytest.mark.skipif(not th.have_openssl(), reason="needs the openssl command")

MiB = 1 << 20
LAST_ID = (1 << 31) - 1  # last-stream-id of a graceful shutdown notice


def sha(data):
    return hashlib.sha256(data).hexdigest()


def rand_bytes(n, seed=1):
    return random.Random(seed).randbytes(n)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return th.make_certs(tmp_path_factory.mktemp("tls"))


# ---------------------------------------------------------------- config

PROXY_LOC = """
    location / {
        proxy_pass http://@b@;
        proxy_set_header X-P $server_protocol;
    }
"""


def tls_lines(certs, name="a"):
    return ("ssl_certificate %s/rsa-%s.pem;\n    ssl_certificate_key %s/rsa-%s.key;"
            % (certs, name, certs, name))


def server(listen="@LISTEN@ http2", certs=None, extra="", locations=PROXY_LOC,
           name="a.test localhost", cert="a"):
    return """
server {
    listen %s;
    server_name %s;
    %s
    %s
%s
}
""" % (listen, name, tls_lines(certs, cert) if certs else "", extra, locations)


# ---------------------------------------------------------------- h2 client

class _Conn(h2.connection.H2Connection):
    """h2's client connection with two liberties a test needs:
    - a GOAWAY is reported (ConnectionTerminated) but does not close h2's
      state machine, so the frames of streams still in flight after a
      graceful GOAWAY are processed as the protocol allows;
    - with unlimited set, streams may be opened beyond the server's
      SETTINGS_MAX_CONCURRENT_STREAMS (to see the server refuse them)."""

    unlimited = False

    @property
    def open_outbound_streams(self):
        if self.unlimited:
            return 0
        return self._open_streams(1)

    def _receive_goaway_frame(self, frame):
        ev = h2.events.ConnectionTerminated()
        ev.error_code = h2.errors._error_code_from_int(frame.error_code)
        ev.last_stream_id = frame.last_stream_id
        ev.additional_data = frame.additional_data or None
        return [], [ev]


class Stream:
    def __init__(self, sid):
        self.id = sid
        self.status = None
        self.headers = []
        self.interim = []
        self.trailers = None
        self.body = bytearray()
        self.frames = []  # flow-controlled length of each DATA frame
        self.ended = False
        self.reset = None  # RST_STREAM error code

    @property
    def done(self):
        return self.ended or self.reset is not None

    def header(self, name, default=None):
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def names(self):
        return [k for k, _ in self.headers]

    def __repr__(self):
        return "<Stream %d status=%s reset=%s ended=%s headers=%r body=%r>" % (
            self.id, self.status, self.reset, self.ended, self.headers, bytes(self.body[:200]))


class H2Client:
    """python3-h2 over one socket: cleartext prior knowledge, or TLS with
    ALPN h2 (tls=CA file path). Data is acknowledged as it arrives unless
    ack is False (then the windows only close)."""

    def __init__(self, port, tls=None, server_name="a.test", timeout=5.0, validate=True,
                 ack=True, window=None):
        raw = socket.create_connection((HOST, port), timeout=timeout)
        self.alpn = None
        if tls:
            ctx = th.client_context(cafile=tls, alpn=["h2"])
            try:
                raw = ctx.wrap_socket(raw, server_hostname=server_name)
            except Exception:
                raw.close()
                raise
            self.alpn = raw.selected_alpn_protocol()
        self.sock = raw
        self.scheme = "https" if tls else "http"
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                        validate_inbound_headers=validate,
                                        normalize_inbound_headers=validate)
        self.conn = _Conn(config=cfg)
        self.ack = ack
        self.streams = {}
        self.pending = {}  # sid -> [bytes, offset]
        self.goaways = []  # (error_code, last_stream_id, monotonic time)
        self.remote_settings = {}
        self.settings_seen = False
        self.eof = False
        self.eof_at = None
        self.conn.initiate_connection()
        if window:
            # a large window: big transfers need not wait for WINDOW_UPDATEs
            self.conn.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: window})
            self.conn.increment_flow_control_window(window)
        self.flush()

    # -- plumbing

    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.eof:
            try:
                self.sock.sendall(data)
            except OSError:
                pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def _stream(self, sid):
        if sid not in self.streams:
            self.streams[sid] = Stream(sid)
        return self.streams[sid]

    def _event(self, ev):
        E = h2.events
        if isinstance(ev, E.ResponseReceived):
            st = self._stream(ev.stream_id)
            st.headers = list(ev.headers)
            st.status = int(st.header(":status"))
        elif isinstance(ev, E.InformationalResponseReceived):
            self._stream(ev.stream_id).interim.append(list(ev.headers))
        elif isinstance(ev, E.TrailersReceived):
            self._stream(ev.stream_id).trailers = list(ev.headers)
        elif isinstance(ev, E.DataReceived):
            st = self._stream(ev.stream_id)
            st.body += ev.data
            st.frames.append(ev.flow_controlled_length)
            if self.ack and ev.flow_controlled_length:
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, E.StreamEnded):
            self._stream(ev.stream_id).ended = True
        elif isinstance(ev, E.StreamReset):
            self._stream(ev.stream_id).reset = ev.error_code
            self.pending.pop(ev.stream_id, None)
        elif isinstance(ev, E.ConnectionTerminated):
            self.goaways.append((ev.error_code, ev.last_stream_id, time.monotonic()))
        elif isinstance(ev, E.RemoteSettingsChanged):
            self.settings_seen = True
            for code, ch in ev.changed_settings.items():
                self.remote_settings[code] = ch.new_value

    def _send_pending(self):
        for sid in list(self.pending):
            buf, pos = self.pending[sid]
            try:
                while pos < len(buf):
                    n = min(self.conn.local_flow_control_window(sid),
                            self.conn.max_outbound_frame_size, len(buf) - pos)
                    if n <= 0:
                        break
                    self.conn.send_data(sid, buf[pos:pos + n])
                    pos += n
                if pos >= len(buf):
                    self.conn.end_stream(sid)
                    del self.pending[sid]
                else:
                    self.pending[sid][1] = pos
            except h2.exceptions.StreamClosedError:
                self.pending.pop(sid, None)

    def pump(self, timeout=0.2):
        """One read from the socket, fed to h2. False on timeout or EOF."""
        if self.eof:
            time.sleep(min(timeout, 0.05))
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 18)
        except socket.timeout:
            return False
        except OSError:
            data = b""
        if not data:
            self.eof = True
            self.eof_at = time.monotonic()
            return False
        for ev in self.conn.receive_data(data):
            self._event(ev)
        self._send_pending()
        self.flush()
        return True

    def run_until(self, pred, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0 or (self.eof and not pred()):
                break
            self.pump(min(left, 0.25))
        return pred()

    # -- requests

    def handshake(self, timeout=3.0):
        assert self.run_until(lambda: self.settings_seen, timeout), "no server SETTINGS"
        return self.remote_settings

    def request(self, method="GET", path="/", headers=(), body=None, authority="a.test",
                content_length=True):
        hdrs = [(":method", method), (":path", path), (":scheme", self.scheme),
                (":authority", authority)] + list(headers)
        if body is not None and content_length:
            hdrs.append(("content-length", str(len(body))))
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, hdrs, end_stream=body is None)
        self._stream(sid)
        if body is not None:
            self.pending[sid] = [bytes(body), 0]
            self._send_pending()
        self.flush()
        return sid

    def wait(self, sids, timeout=5.0):
        if isinstance(sids, int):
            sids = [sids]
        self.run_until(lambda: all(self.streams[s].done for s in sids), timeout)
        return [self.streams[s] for s in sids]

    def fetch(self, path="/", method="GET", timeout=5.0, **kw):
        sid = self.request(method, path, **kw)
        st = self.wait(sid, timeout)[0]
        assert st.done, "stream %d not done in %ss: %r" % (sid, timeout, st)
        return st


def refused(st):
    return st.reset in (h2.errors.ErrorCodes.REFUSED_STREAM, h2.errors.ErrorCodes.PROTOCOL_ERROR)


# ---------------------------------------------------------------- backend handlers

def path_handler(delay=0.0, stats=None):
    """200 "path=<target>"; counts how many requests are inside at once."""
    lock = threading.Lock()
    stats = stats if stats is not None else {}
    stats.update(now=0, max=0)

    def h(b, req, sock):
        with lock:
            stats["now"] += 1
            stats["max"] = max(stats["max"], stats["now"])
        try:
            if delay:
                time.sleep(delay)
        finally:
            with lock:
                stats["now"] -= 1
        return send_response(sock, 200, [("Content-Type", "text/plain")],
                             "path=" + req.target, keepalive=wants_keepalive(req))
    h.stats = stats
    return h


def body_sum_handler():
    """200 "<length> <sha256>" of the request body received."""
    def h(b, req, sock):
        return send_response(sock, 200, [("Content-Type", "text/plain")],
                             "%d %s" % (len(req.body), sha(req.body)),
                             keepalive=wants_keepalive(req))
    return h


def blocks_handler(nblocks, block=64 * 1024):
    """A body of nblocks distinct blocks (block i starts with i), counting
    what was written so far in .state['sent']: sendall blocks when nobody
    reads, which is what back-pressure looks like from the backend."""
    base = rand_bytes(block, seed=7)
    state = {"sent": 0, "done": False, "error": None}

    def blk(i):
        return struct.pack(">Q", i) + base[8:]

    def h(b, req, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (nblocks * block))
        try:
            for i in range(nblocks):
                sock.sendall(blk(i))
                state["sent"] += block
        except OSError as e:
            state["error"] = repr(e)
            return False
        state["done"] = True
        return False

    def expected_sha():
        hsh = hashlib.sha256()
        for i in range(nblocks):
            hsh.update(blk(i))
        return hsh.hexdigest()

    h.state = state
    h.expected_sha = expected_sha
    h.size = nblocks * block
    return h


def slow_body_handler(first, rest, pause):
    """Content-Length response: first bytes, a pause, then the rest."""
    def h(b, req, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                     % (len(first) + len(rest)))
        sock.sendall(first)
        time.sleep(pause)
        sock.sendall(rest)
        return False
    return h


def dispatch(routes, default=None):
    """Pick a handler by the request path (query left out)."""
    def h(b, req, sock):
        key = req.target.split("?")[0]
        return routes.get(key, default or path_handler())(b, req, sock)
    return h


# ---------------------------------------------------------------- curl

def have_curl_h2():
    if shutil.which("curl") is None:
        return False
    out = subprocess.run(["curl", "--version"], stdout=subprocess.PIPE).stdout.decode()
    return "HTTP2" in out


def curl(tmp_path, url, *args, timeout=15):
    """Run curl; returns (rc, http_version, status, headers dict, body, output)."""
    hf = tmp_path / "curl-headers"
    bf = tmp_path / "curl-body"
    for f in (hf, bf):
        if f.exists():
            f.unlink()
    p = subprocess.run(["curl", "-sS", "--max-time", "10", "-D", str(hf), "-o", str(bf),
                        "-w", "%{http_version} %{http_code}"] + list(args) + [url],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    out = p.stdout.decode("latin-1")
    parts = out.split()
    headers = {}
    if hf.exists():
        for line in hf.read_text("latin-1").splitlines()[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
    body = bf.read_bytes() if bf.exists() else b""
    version = parts[-2] if len(parts) >= 2 else None
    status = int(parts[-1]) if parts and parts[-1].isdigit() else None
    return p.returncode, version, status, headers, body, out


needs_curl = pytest.mark.skipif(not have_curl_h2(), reason="needs curl with HTTP2")


# ================================================================ 1. ALPN

def test_alpn_listen_http2(rampart, backend, certs):
    """`listen ... ssl http2` offers h2 then http/1.1; a TLS address without
    http2 offers only http/1.1; a client offering only http/1.1 still gets
    HTTP/1.1 on the h2 address."""
    b = backend("b1")
    http = (server("@LISTEN@ ssl http2", certs) + server("@LISTEN2@ ssl", certs))
    r = rampart(http, backends={"b": b})
    res = th.s_client(r.port, "-alpn", "h2,http/1.1", servername="a.test")
    assert res.handshake_ok and res.alpn == "h2", res
    res = th.s_client(r.ports[1], "-alpn", "h2,http/1.1", servername="a.test")
    assert res.handshake_ok and res.alpn == "http/1.1", res
    # only http/1.1 offered on the h2 address: HTTP/1.1 is served
    res = th.s_client(r.port, "-alpn", "http/1.1", servername="a.test",
                      data=th.http_req("/h1only", "a.test"))
    assert res.handshake_ok and res.alpn == "http/1.1", res
    assert res.http_status == 200 and "ok from b1" in res.out, res
    assert b.last.target == "/h1only" and b.last.header("X-P") == "HTTP/1.1"
    # no ALPN at all: HTTP/1.1 too
    res = th.s_client(r.port, servername="a.test", data=th.http_req("/noalpn", "a.test"))
    assert res.handshake_ok and res.alpn is None and res.http_status == 200, res
    assert b.last.target == "/noalpn" and b.last.header("X-P") == "HTTP/1.1"
    assert len(b.requests) == 2
    # and h2 really is served on the first address
    with H2Client(r.port, tls=certs + "/ca.pem") as c:
        assert c.alpn == "h2"
        st = c.fetch("/h2")
    assert st.status == 200 and bytes(st.body) == b"ok from b1"
    assert b.last.target == "/h2" and b.last.header("X-P") == "HTTP/2.0"


@pytest.mark.rampart_only  # `http2 on` is nginx >= 1.25.1
def test_alpn_http2_on_by_sni(rampart, backend, certs):
    """`http2 on` in the server chosen by SNI decides ALPN, whatever the
    default server of the address says."""
    b = backend("b1")
    http = (server("@LISTEN@ ssl", certs, name="b.test", cert="b")
            + server("@LISTEN@ ssl", certs, extra="http2 on;", name="a.test"))
    r = rampart(http, backends={"b": b})
    res = th.s_client(r.port, "-alpn", "h2,http/1.1", servername="a.test")
    assert res.handshake_ok and res.alpn == "h2", res
    res = th.s_client(r.port, "-alpn", "h2,http/1.1", servername="b.test")
    assert res.handshake_ok and res.alpn == "http/1.1", res
    res = th.s_client(r.port, "-alpn", "h2,http/1.1")
    assert res.handshake_ok and res.alpn == "http/1.1", res
    with H2Client(r.port, tls=certs + "/ca.pem", server_name="a.test") as c:
        assert c.alpn == "h2"
        st = c.fetch("/on?x=1")
    assert st.status == 200 and bytes(st.body) == b"ok from b1"
    assert b.last.target == "/on?x=1" and b.last.header("X-P") == "HTTP/2.0"
    # the default server has http2 off: b.test offered h2 is still HTTP/1.1
    res = th.s_client(r.port, "-alpn", "h2,http/1.1", servername="b.test",
                      data=th.http_req("/b1", "b.test"))
    assert res.alpn == "http/1.1" and res.http_status == 200, res
    assert b.last.target == "/b1" and b.last.header("X-P") == "HTTP/1.1"


@pytest.mark.rampart_only  # nginx 1.22: a cleartext http2 address speaks only HTTP/2
def test_h2c_and_http11_share_cleartext_port(rampart, backend):
    """`http2 on` on a cleartext server: h2c prior knowledge and HTTP/1.1
    both work on the one port."""
    b = backend("b1")
    r = rampart(server("@LISTEN@", extra="http2 on;"), backends={"b": b})
    with H2Client(r.port) as c:
        st = c.fetch("/c2")
    assert st.status == 200 and bytes(st.body) == b"ok from b1"
    assert b.last.target == "/c2" and b.last.header("X-P") == "HTTP/2.0"
    resp = get(r.port, "/c1")
    assert resp.status == 200 and resp.version == "HTTP/1.1" and resp.body == b"ok from b1"
    assert b.last.target == "/c1" and b.last.header("X-P") == "HTTP/1.1"
    assert len(b.requests) == 2


# ================================================================ 2. curl

@needs_curl
def test_curl_h2_tls_and_prior_knowledge(rampart, backend, certs, tmp_path):
    b = backend("b1")
    http = server("@LISTEN@ ssl http2", certs) + server("@LISTEN2@ http2")
    r = rampart(http, backends={"b": b})
    p1 = r.port
    rc, ver, status, hdrs, body, out = curl(
        tmp_path, "https://a.test:%d/path/x?q=1&r=2" % p1, "--http2",
        "--cacert", certs + "/ca.pem", "--resolve", "a.test:%d:127.0.0.1" % p1,
        "-H", "X-Test: hello h2")
    assert rc == 0 and ver == "2" and status == 200, out
    assert body == b"ok from b1"
    assert hdrs.get("content-type") == "text/plain"
    req = b.last
    assert req.method == "GET" and req.target == "/path/x?q=1&r=2"
    assert req.header("Host") == b.addr
    assert req.header("X-Test") == "hello h2"
    assert req.header("X-P") == "HTTP/2.0"
    assert (req.header("User-Agent") or "").startswith("curl/")
    # -k works the same
    rc, ver, status, _, body, out = curl(tmp_path, "https://127.0.0.1:%d/k" % p1,
                                         "--http2", "-k")
    assert rc == 0 and ver == "2" and status == 200 and body == b"ok from b1", out
    assert b.last.target == "/k"
    # cleartext, prior knowledge
    p2 = r.ports[1]
    rc, ver, status, _, body, out = curl(tmp_path, "http://127.0.0.1:%d/clear?z=9" % p2,
                                         "--http2-prior-knowledge", "-H", "X-Test: c")
    assert rc == 0 and ver == "2" and status == 200 and body == b"ok from b1", out
    req = b.last
    assert req.target == "/clear?z=9" and req.header("X-Test") == "c"
    assert req.header("X-P") == "HTTP/2.0" and req.header("Host") == b.addr
    # POST through curl
    data = tmp_path / "post.bin"
    payload = rand_bytes(200000, seed=3)
    data.write_bytes(payload)
    rc, ver, status, _, body, out = curl(tmp_path, "http://127.0.0.1:%d/post" % p2,
                                         "--http2-prior-knowledge",
                                         "--data-binary", "@" + str(data))
    assert rc == 0 and ver == "2" and status == 200, out
    assert b.last.method == "POST" and b.last.body == payload
    assert b.last.header("Content-Length") == str(len(payload))
    assert len(b.requests) == 4


@pytest.mark.skipif(shutil.which("nghttp") is None, reason="needs nghttp (nghttp2-client)")
def test_nghttp_client(rampart, backend, certs):
    """nghttp (nghttp2's own client) over TLS with ALPN h2 and over h2c:
    several URIs on one connection, each answered from the backend, and
    the frames it logs show rampart's SETTINGS and no GOAWAY."""
    b = backend("b1")
    http = server("@LISTEN@ ssl http2", certs) + server("@LISTEN2@ http2")
    r = rampart(http, backends={"b": b})
    for url in ("https://127.0.0.1:%d" % r.port, "http://127.0.0.1:%d" % r.ports[1]):
        uris = ["%s/ng/%d?x=%d" % (url, i, i) for i in range(5)]
        p = subprocess.run(["nghttp", "-nv", "-t", "10"] + uris, capture_output=True,
                           text=True, timeout=30)
        out = p.stdout + p.stderr
        assert p.returncode == 0, out
        assert out.count(":status: 200") == 5, out
        assert "recv SETTINGS frame" in out and "SETTINGS_MAX_CONCURRENT_STREAMS" in out, out
        assert "recv GOAWAY" not in out, out
        seen = sorted(q.target for q in b.requests if q.target.startswith("/ng/"))
        assert seen == sorted("/ng/%d?x=%d" % (i, i) for i in range(5)), seen
        for q in b.requests:
            assert q.header("X-P") == "HTTP/2.0"
        b.requests.clear()


@needs_curl
def test_h2c_preface_refused_without_http2(rampart, backend, tmp_path):
    """A cleartext address without HTTP/2: the preface is not served as
    HTTP/2 (an HTTP/1 error or a close), and nothing reaches the backend."""
    b = backend("b1")
    r = rampart(server("@LISTEN@"), backends={"b": b})
    rc, ver, status, _, body, out = curl(tmp_path, "http://127.0.0.1:%d/x" % r.port,
                                         "--http2-prior-knowledge")
    assert rc != 0 or ver != "2", out
    s = socket.create_connection((HOST, r.port), timeout=3)
    try:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        got = b""
        s.settimeout(3)
        try:
            while len(got) < 65536:
                d = s.recv(65536)
                if not d:
                    break
                got += d
        except (socket.timeout, ConnectionResetError):
            pass
    finally:
        s.close()
    # no SETTINGS frame (type 4 at offset 3): either an HTTP/1 error or nothing
    assert got == b"" or got.startswith(b"HTTP/1."), got[:200]
    if got:
        assert int(got.split(b" ")[1]) >= 400, got[:200]
    time.sleep(0.2)
    assert b.requests == []


# ================================================================ 3. many streams

@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_many_concurrent_streams(rampart, backend, certs, tls):
    stats = {}
    b = backend("b1", handler=path_handler(delay=0.3, stats=stats))
    listen = "@LISTEN@ ssl http2" if tls else "@LISTEN@ http2"
    r = rampart(server(listen, certs if tls else None), backends={"b": b})
    n = 50
    with H2Client(r.port, tls=certs + "/ca.pem" if tls else None) as c:
        c.handshake()
        sids = [c.request("GET", "/s/%d?i=%d" % (i, i), headers=[("x-i", str(i))])
                for i in range(n)]
        t0 = time.monotonic()
        streams = c.wait(sids, timeout=15)
        took = time.monotonic() - t0
        assert not c.goaways and not c.eof
    for i, st in enumerate(streams):
        assert st.status == 200 and st.ended, st
        assert bytes(st.body) == ("path=/s/%d?i=%d" % (i, i)).encode(), st
    assert len(b.requests) == n
    got = sorted((q.target, q.header("X-I"), q.header("X-P")) for q in b.requests)
    assert got == sorted(("/s/%d?i=%d" % (i, i), str(i), "HTTP/2.0") for i in range(n))
    # multiplexed, not one after the other (50 x 0.3 s would be 15 s)
    assert stats["max"] >= 10, stats
    assert took < 8, took


# ================================================================ 4. request bodies

@pytest.mark.parametrize("size", [0, 1, 100 * 1024, MiB])
@pytest.mark.parametrize("with_cl", [True, False], ids=["cl", "nocl"])
def test_request_body_buffered(rampart, backend, size, with_cl):
    b = backend("b1", handler=body_sum_handler())
    r = rampart(server(), backends={"b": b})
    payload = rand_bytes(size, seed=size + 1)
    with H2Client(r.port) as c:
        st = c.fetch("/up?n=%d" % size, "POST", body=payload, content_length=with_cl,
                     headers=[("content-type", "application/octet-stream")], timeout=15)
    assert st.status == 200, st
    assert bytes(st.body) == ("%d %s" % (size, sha(payload))).encode()
    req = b.last
    assert len(b.requests) == 1
    assert req.method == "POST" and req.target == "/up?n=%d" % size
    assert req.body == payload
    # buffered (the default): the backend always gets a length
    assert req.header("Content-Length") == str(size), req
    assert req.header("Transfer-Encoding") is None
    assert req.header("Content-Type") == "application/octet-stream"


def test_request_body_unbuffered_chunked(rampart, backend):
    b = backend("b1", handler=body_sum_handler())
    loc = """
    location / {
        proxy_pass http://@b@;
        proxy_http_version 1.1;
        proxy_request_buffering off;
    }
"""
    r = rampart(server(locations=loc), backends={"b": b})
    payload = rand_bytes(300 * 1024, seed=11)
    with H2Client(r.port) as c:
        st = c.fetch("/stream", "POST", body=payload, content_length=False, timeout=15)
        assert st.status == 200, st
        assert bytes(st.body) == ("%d %s" % (len(payload), sha(payload))).encode()
        # with a length the backend gets the length, even unbuffered
        st = c.fetch("/len", "POST", body=payload[:5000])
        assert st.status == 200, st
    q1, q2 = b.requests
    assert q1.header("Transfer-Encoding") == "chunked" and q1.header("Content-Length") is None
    assert q1.body == payload and q1.complete
    assert q2.header("Content-Length") == "5000" and q2.header("Transfer-Encoding") is None
    assert q2.body == payload[:5000]


@pytest.mark.parametrize("with_cl", [True, False], ids=["cl", "nocl"])
def test_request_body_too_large(rampart, backend, with_cl):
    b = backend("b1", handler=body_sum_handler())
    r = rampart(server(extra="client_max_body_size 1k;"), backends={"b": b})
    with H2Client(r.port) as c:
        st = c.fetch("/big", "POST", body=rand_bytes(50000), content_length=with_cl)
        assert st.status == 413, st
        # the connection goes on
        st2 = c.fetch("/small", "POST", body=b"x" * 1000)
        assert st2.status == 200, st2
    assert [q.target for q in b.requests] == ["/small"]
    assert b.last.body == b"x" * 1000


# ================================================================ 5. large responses

def test_large_responses(rampart, backend, tmp_path):
    data = rand_bytes(5 * MiB, seed=5)
    b = backend("b1", handler=lambda bk, req, sock: send_response(
        sock, 200, [("Content-Type", "application/octet-stream")], data, keepalive=False))
    loc = PROXY_LOC + """
    location /files/ { root @TMP@/www; }
"""
    r = rampart(server(locations=loc), backends={"b": b}, start=False)
    os.makedirs(os.path.join(r.tmp, "www", "files"))
    fdata = rand_bytes(3 * MiB + 123, seed=6)
    with open(os.path.join(r.tmp, "www", "files", "f.bin"), "wb") as f:
        f.write(fdata)
    r.start()
    with H2Client(r.port, window=8 * MiB) as c:
        sp = c.request("GET", "/big")
        sf = c.request("GET", "/files/f.bin")
        p, f = c.wait([sp, sf], timeout=20)
    assert p.status == 200 and p.ended, p
    assert len(p.body) == len(data) and sha(p.body) == sha(data)
    assert p.header("content-length") == str(len(data))
    assert f.status == 200 and f.ended, f
    assert len(f.body) == len(fdata) and sha(f.body) == sha(fdata)
    assert f.header("content-length") == str(len(fdata))
    # http2_chunk_size defaults to 8k
    assert max(p.frames) <= 8192 and max(f.frames) <= 8192
    assert len(b.requests) == 1 and b.last.target == "/big"


def test_chunk_size_bounds_data_frames(rampart, backend):
    data = rand_bytes(MiB + 17, seed=8)
    b = backend("b1", handler=lambda bk, req, sock: send_response(
        sock, 200, [], data, keepalive=False))
    loc = PROXY_LOC + """
    location /files/ { root @TMP@/www; }
"""
    r = rampart(server(extra="http2_chunk_size 4k;", locations=loc), backends={"b": b},
                start=False)
    os.makedirs(os.path.join(r.tmp, "www", "files"))
    with open(os.path.join(r.tmp, "www", "files", "g.bin"), "wb") as f:
        f.write(data)
    r.start()
    with H2Client(r.port, window=8 * MiB) as c:
        p = c.fetch("/p", timeout=15)
        f = c.fetch("/files/g.bin", timeout=15)
    for st in (p, f):
        assert st.status == 200 and st.ended, st
        assert sha(st.body) == sha(data)
        assert max(st.frames) <= 4096, max(st.frames)
        # sliced, not trickled: the bulk of the frames are full
        assert sum(1 for n in st.frames if n == 4096) >= len(data) // 4096 // 2
    assert len(b.requests) == 1


# ================================================================ 6. flow control

@pytest.mark.slow
@pytest.mark.rampart_only  # nginx buffers the response to a temp file instead
def test_flow_control_back_pressure(rampart, backend):
    """A client that never opens its window: rampart sends no more than the
    window, and the backend's writes stall (back-pressure, not buffering).
    Opening the window lets the transfer finish intact."""
    hnd = blocks_handler(nblocks=512)  # 32 MiB
    b = backend("b1", handler=hnd)
    r = rampart(server(), backends={"b": b})
    rss0 = r.rss_kib()
    with H2Client(r.port, ack=False, timeout=10) as c:
        sid = c.request("GET", "/huge")
        st = c.streams[sid]
        assert c.run_until(lambda: len(st.body) >= 65535, 5), st
        # keep reading (and not acknowledging) for 2 s
        c.run_until(lambda: False, 2.0)
        sent1 = hnd.state["sent"]
        c.run_until(lambda: False, 0.5)
        sent2 = hnd.state["sent"]
        assert st.status == 200 and not st.done, st
        # the initial windows are 65535: not one byte more
        assert len(st.body) == 65535, len(st.body)
        assert not hnd.state["done"], hnd.state
        assert sent2 < hnd.size // 2, (sent2, hnd.size)
        assert sent2 - sent1 <= 256 * 1024, (sent1, sent2)  # stalled
        # what the backend wrote sits in socket buffers, not in rampart
        assert r.rss_kib() - rss0 < 16 * 1024, (rss0, r.rss_kib())
        # open the windows
        c.ack = True
        c.conn.increment_flow_control_window(16 * MiB)
        c.conn.increment_flow_control_window(16 * MiB, stream_id=sid)
        c.conn.acknowledge_received_data(len(st.body), sid)
        c.flush()
        c.wait(sid, timeout=20)
    assert st.ended and st.reset is None, st
    assert len(st.body) == hnd.size
    assert sha(st.body) == hnd.expected_sha()
    assert hnd.state["done"] and hnd.state["error"] is None
    assert len(b.requests) == 1


# ================================================================ 7. SETTINGS

def test_settings_defaults(rampart, backend):
    b = backend("b1")
    r = rampart(server(), backends={"b": b})
    with H2Client(r.port) as c:
        s = c.handshake()
        st = c.fetch("/")
    assert s.get(SettingCodes.MAX_CONCURRENT_STREAMS) == 128, s
    assert s.get(SettingCodes.INITIAL_WINDOW_SIZE) == 65536, s
    assert st.status == 200 and b.last.target == "/"


@pytest.mark.rampart_only  # nginx 1.22 sends no SETTINGS_MAX_HEADER_LIST_SIZE
def test_settings_max_header_list(rampart, backend):
    b = backend("b1")
    r = rampart(server() + server("@LISTEN2@ http2", extra="large_client_header_buffers 4 1k;"),
                backends={"b": b})
    with H2Client(r.port) as c:
        s = c.handshake()
    assert s.get(SettingCodes.MAX_HEADER_LIST_SIZE) == 32768, s
    with H2Client(r.ports[1]) as c:
        s = c.handshake()
    assert s.get(SettingCodes.MAX_HEADER_LIST_SIZE) == 4096, s


def test_settings_configured_and_concurrency_limit(rampart, backend):
    stats = {}
    b = backend("b1", handler=path_handler(delay=1.0, stats=stats))
    extra = "http2_max_concurrent_streams 7;\n    http2_body_preread_size 32k;"
    r = rampart(server(extra=extra), backends={"b": b})
    with H2Client(r.port) as c:
        s = c.handshake()
        assert s.get(SettingCodes.MAX_CONCURRENT_STREAMS) == 7, s
        assert s.get(SettingCodes.INITIAL_WINDOW_SIZE) == 32768, s
        c.run_until(lambda: False, 0.2)  # our SETTINGS ACK reaches the server
        c.conn.unlimited = True
        sids = [c.request("GET", "/c/%d" % i) for i in range(10)]
        streams = c.wait(sids, timeout=10)
        assert not c.eof and all(g[0] == 0 for g in c.goaways), c.goaways
        ok = [st for st in streams if st.status == 200]
        ref = [st for st in streams if refused(st)]
        assert len(ok) == 7 and len(ref) == 3, streams
        # the first seven are the ones served
        assert [st.id for st in ok] == sids[:7]
        for st in ok:
            assert bytes(st.body) == ("path=/c/%d" % sids.index(st.id)).encode()
        # the connection is still good afterwards
        c.conn.unlimited = False
        st = c.fetch("/after", timeout=5)
        assert st.status == 200
    assert sorted(q.target for q in b.requests) == sorted(
        ["/c/%d" % i for i in range(7)] + ["/after"])


def test_body_preread_window_respected(rampart, backend):
    """http2_body_preread_size 32k: a 200k upload goes through in windows
    the server opens as the body moves on."""
    b = backend("b1", handler=body_sum_handler())
    r = rampart(server(extra="http2_body_preread_size 32k;"), backends={"b": b})
    payload = rand_bytes(200 * 1024, seed=12)
    with H2Client(r.port) as c:
        c.handshake()
        c.run_until(lambda: False, 0.2)
        st = c.fetch("/pre", "POST", body=payload, timeout=10)
        assert c.conn.remote_settings.initial_window_size == 32768
    assert st.status == 200 and bytes(st.body) == ("%d %s" % (len(payload),
                                                              sha(payload))).encode()
    assert b.last.body == payload


# ================================================================ 8. header limits

def test_header_list_too_large_not_served(rampart, backend):
    """A header list over large_client_header_buffers (4 x 1k) is never
    proxied: a 431, a reset or the end of the connection."""
    b = backend("b1")
    r = rampart(server(extra="large_client_header_buffers 4 1k;"), backends={"b": b})
    big = [("x-big-%d" % i, "v" * 800) for i in range(8)]  # each field < 1k, all > 4k
    with H2Client(r.port) as c:
        sid = c.request("GET", "/toolarge", headers=big)
        st = c.wait(sid, 5)[0]
        assert st.status == 431 or st.reset is not None or c.goaways or c.eof, st
        assert st.status != 200
    with H2Client(r.port) as c:
        st = c.fetch("/fine", headers=big[:2])
        assert st.status == 200 and bytes(st.body) == b"ok from b1", st
    assert [q.target for q in b.requests] == ["/fine"]
    assert b.last.header("X-Big-1") == "v" * 800


@pytest.mark.rampart_only  # nginx 1.22 ends the connection (GOAWAY ENHANCE_YOUR_CALM)
def test_header_list_too_large_is_431_on_the_stream(rampart, backend):
    b = backend("b1")
    r = rampart(server(extra="large_client_header_buffers 4 1k;"), backends={"b": b})
    big = [("x-big-%d" % i, "v" * 800) for i in range(8)]
    with H2Client(r.port) as c:
        st = c.fetch("/toolarge", headers=big)
        # a 431 that ends the stream; the connection serves on
        assert st.status == 431 and st.ended, st
        st = c.fetch("/toolarge2", "POST", headers=big, body=b"abc")
        assert st.status == 431, st
        st = c.fetch("/fine", headers=big[:2])
        assert st.status == 200 and bytes(st.body) == b"ok from b1", st
        assert not c.goaways and not c.eof
    assert [q.target for q in b.requests] == ["/fine"]
    assert b.last.header("X-Big-1") == "v" * 800


# ================================================================ 9. local responses

def test_local_responses(rampart, backend):
    routes = {
        "/b/304": lambda bk, req, sock: send_response(
            sock, 304, [("ETag", '"e1"')], b"", mode="none", keepalive=False),
        "/b/204": lambda bk, req, sock: send_response(
            sock, 204, [("X-From", "b")], b"", mode="none", keepalive=False),
    }
    b = backend("b1", handler=dispatch(routes))
    loc = """
    root @TMP@/www;
    add_header X-Always yes always;
    error_page 404 /err.html;
    location = /ret { return 200 "x"; }
    location = /redir { return 301 https://$host$request_uri; }
    location /static/ { }
    location = /err.html { }
    location /b/ { proxy_pass http://@b@; }
"""
    r = rampart(server(locations=loc), backends={"b": b}, start=False)
    os.makedirs(os.path.join(r.tmp, "www", "static"))
    with open(os.path.join(r.tmp, "www", "err.html"), "w") as f:
        f.write("custom not found\n")
    fbody = b"static file body\n" * 100
    with open(os.path.join(r.tmp, "www", "static", "f.txt"), "wb") as f:
        f.write(fbody)
    r.start()
    with H2Client(r.port) as c:
        st = c.fetch("/ret")
        assert st.status == 200 and bytes(st.body) == b"x" and st.ended, st
        assert st.header("x-always") == "yes" and st.header("content-length") == "1"
        st = c.fetch("/redir?a=1&b=2", authority="a.test")
        assert st.status == 301, st
        assert st.header("location") == "https://a.test/redir?a=1&b=2"
        assert st.header("x-always") == "yes"
        st = c.fetch("/static/missing")
        assert st.status == 404 and bytes(st.body) == b"custom not found\n", st
        assert st.header("x-always") == "yes"
        st = c.fetch("/static/f.txt")
        assert st.status == 200 and bytes(st.body) == fbody, st
        assert st.header("content-type") == "text/plain"
        st = c.fetch("/static/f.txt", "HEAD")
        assert st.status == 200 and st.ended and bytes(st.body) == b"", st
        assert st.header("content-length") == str(len(fbody))
        st = c.fetch("/b/304", headers=[("if-none-match", '"e1"')])
        assert st.status == 304 and st.ended and bytes(st.body) == b"", st
        assert st.header("etag") == '"e1"'
        st = c.fetch("/b/204")
        assert st.status == 204 and st.ended and bytes(st.body) == b"", st
        assert st.header("x-from") == "b"
        assert not c.eof
    assert [q.target for q in b.requests] == ["/b/304", "/b/204"]
    assert b.requests[0].header("If-None-Match") == '"e1"'


# ================================================================ 10. field hygiene

def test_connection_specific_fields_dropped(rampart, backend):
    body = b"hygienic body " * 1000

    def h(bk, req, sock):
        return send_response(sock, 200, [("Connection", "close"),
                                         ("Keep-Alive", "timeout=5, max=100"),
                                         ("X-Custom", "Kept"), ("Content-Type", "text/plain")],
                             body, mode="chunked", keepalive=False)
    b = backend("b1", handler=h)
    r = rampart(server(), backends={"b": b})
    with H2Client(r.port, validate=False) as c:
        st = c.fetch("/hyg")
    assert st.status == 200 and st.ended and bytes(st.body) == body, st
    names = st.names()
    for bad in ("connection", "keep-alive", "transfer-encoding", "proxy-connection",
                "upgrade"):
        assert bad not in [n.lower() for n in names], st.headers
    assert all(n == n.lower() for n in names), names
    assert st.header("x-custom") == "Kept"
    assert b.last.target == "/hyg" and b.last.header("X-P") == "HTTP/2.0"
    assert len(b.requests) == 1


# ================================================================ 11. idle timeout

def test_idle_timeout(rampart, backend):
    b = backend("b1")
    r = rampart(server(extra="keepalive_timeout 1s;"), backends={"b": b})
    with H2Client(r.port) as c:
        st = c.fetch("/idle")
        assert st.status == 200
        t0 = time.monotonic()
        c.run_until(lambda: c.eof or c.goaways, 5)
        assert c.eof or c.goaways, "idle connection still open after 5 s"
        t1 = c.goaways[0][2] if c.goaways else c.eof_at
        assert 0.6 <= t1 - t0 <= 3.5, t1 - t0
        # and it closes
        assert c.run_until(lambda: c.eof, 3)
    assert len(b.requests) == 1


# ================================================================ 12. keepalive_requests

def test_keepalive_requests_goaway(rampart, backend):
    b = backend("b1", handler=path_handler())
    r = rampart(server(extra="keepalive_requests 5;"), backends={"b": b})
    with H2Client(r.port) as c:
        sts = [c.fetch("/k%d" % i) for i in range(5)]
        for i, st in enumerate(sts):
            assert st.status == 200 and bytes(st.body) == b"path=/k%d" % i, st
        # a GOAWAY with no error, the last stream id is the fifth (9)
        assert c.run_until(lambda: any(g[1] != LAST_ID for g in c.goaways), 3), c.goaways
        assert all(g[0] == h2.errors.ErrorCodes.NO_ERROR for g in c.goaways), c.goaways
        final = [g for g in c.goaways if g[1] != LAST_ID][-1]
        assert final[1] == sts[-1].id == 9
        assert c.run_until(lambda: c.eof, 3), "connection not closed after GOAWAY"
    assert [q.target for q in b.requests] == ["/k%d" % i for i in range(5)]
    # a new connection is served
    with H2Client(r.port) as c:
        assert c.fetch("/k5").status == 200
    assert len(b.requests) == 6


# ================================================================ 13. reload and stop

SIG_LOC = """
    location = /ver { return 200 "%s"; }
    location / { proxy_pass http://@b@; }
"""


def _in_flight(r, c, sig, conf=None):
    """Starts /slow on c, lets part of it arrive, sends sig (rewriting the
    config first when given) and returns the stream after it ended."""
    sid = c.request("GET", "/slow")
    st = c.streams[sid]
    assert c.run_until(lambda: len(st.body) >= 10000, 5), st
    if conf is not None:
        r.write_config(conf)
    r.signal(sig)
    c.wait(sid, timeout=10)
    return st


def test_reload_h2_in_flight(rampart, backend):
    first, rest = rand_bytes(100000, seed=20), rand_bytes(150000, seed=21)
    b = backend("b1", handler=slow_body_handler(first, rest, 1.5))
    r = rampart(server(locations=SIG_LOC % "v1"), backends={"b": b})
    with H2Client(r.port) as c:
        assert bytes(c.fetch("/ver").body) == b"v1"
        st = _in_flight(r, c, signal.SIGHUP, server(locations=SIG_LOC % "v2"))
        assert st.status == 200 and st.ended and st.reset is None, st
        assert bytes(st.body) == first + rest
        assert c.run_until(lambda: c.goaways, 3), "no GOAWAY on reload"
        assert all(g[0] == h2.errors.ErrorCodes.NO_ERROR for g in c.goaways), c.goaways
        # the old connection goes once its streams are done
        assert c.run_until(lambda: c.eof, 5), "old connection not closed"
    assert len(b.requests) == 1 and b.last.target == "/slow"

    def new_version():
        try:
            with H2Client(r.port, timeout=2) as c2:
                return bytes(c2.fetch("/ver", timeout=2).body) == b"v2"
        except (OSError, AssertionError):
            return False
    assert wait_for(new_version, 5)
    assert r.alive()


def test_graceful_stop_h2_in_flight(rampart, backend):
    first, rest = rand_bytes(100000, seed=22), rand_bytes(150000, seed=23)
    b = backend("b1", handler=slow_body_handler(first, rest, 1.5))
    r = rampart(server(locations=SIG_LOC % "v1"), backends={"b": b})
    with H2Client(r.port) as c:
        st = _in_flight(r, c, signal.SIGQUIT)
        assert st.status == 200 and st.ended and st.reset is None, st
        assert bytes(st.body) == first + rest
        assert c.goaways, "no GOAWAY on graceful stop"
        assert all(g[0] == h2.errors.ErrorCodes.NO_ERROR for g in c.goaways), c.goaways
        assert c.run_until(lambda: c.eof, 5), "connection not closed on stop"
    assert r.wait_exit(10) == 0
    assert len(b.requests) == 1


# ================================================================ 14. access log

def test_access_log_h2(rampart, backend, certs):
    b = backend("b1")
    loc = PROXY_LOC + '    location = /nope { return 404; }\n'
    r = rampart(server("@LISTEN@ ssl http2", certs, locations=loc), backends={"b": b})
    with H2Client(r.port, tls=certs + "/ca.pem") as c:
        assert c.fetch("/logme?x=1").status == 200
        assert c.fetch("/nope").status == 404
        assert c.fetch("/up", "POST", body=b"12345").status == 200
    assert b.last.target == "/up" and b.last.body == b"12345"

    def lines():
        return [ln for ln in r.access_log().splitlines() if "HTTP/2.0" in ln]
    assert wait_for(lambda: len(lines()) >= 3, 5), r.access_log()
    text = "\n".join(lines())
    assert '"GET /logme?x=1 HTTP/2.0" 200 10 ' in text, text
    assert '"GET /nope HTTP/2.0" 404 ' in text, text
    assert '"POST /up HTTP/2.0" 200 ' in text, text
