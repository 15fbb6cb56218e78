"""Shared machinery for rampart's end-to-end tests.

Everything talks to 127.0.0.1 only. Every socket has a timeout and every
wait loop is bounded, so a broken binary makes tests fail, never hang.

The binary under test comes from $RAMPART_BIN. The suite is validated
against real nginx (RAMPART_BIN=/usr/sbin/nginx) because rampart takes
nginx's command line and configuration syntax.
"""

import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

HOST = "127.0.0.1"


def binary():
    return os.environ.get("RAMPART_BIN", "./rampart")


def is_nginx():
    return os.path.basename(binary()).startswith("nginx")


# ---------------------------------------------------------------- ports

_port_lock = threading.Lock()
_ports_given = set()


def free_port():
    """A random free TCP port in 20000-32000 (below the kernel's ephemeral
    range), checked by binding it. Random choice keeps parallel runs of the
    suite from colliding; the set avoids handing one port out twice."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with _port_lock:
            if port in _ports_given:
                continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((HOST, port))
        except OSError:
            continue
        finally:
            s.close()
        with _port_lock:
            _ports_given.add(port)
        return port
    raise RuntimeError("no free port found")


def wait_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_for(pred, timeout=5.0, interval=0.05):
    """Poll pred() until it returns a true value (returned) or time runs out
    (returns the last value)."""
    deadline = time.monotonic() + timeout
    val = pred()
    while not val and time.monotonic() < deadline:
        time.sleep(interval)
        val = pred()
    return val


# ---------------------------------------------------------------- HTTP parsing

class Response:
    def __init__(self):
        self.version = None
        self.status = None
        self.reason = None
        self.headers = []  # ordered list of (name, value)
        self.body = b""
        self.raw_head = b""
        self.complete = True  # False when the body ended early (EOF)
        self.interim = []  # 1xx responses seen before this one

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has(self, name):
        return self.header(name) is not None

    @property
    def text(self):
        return self.body.decode("latin-1")

    def __repr__(self):
        return "<Response %s %s %r>" % (self.status, self.headers, self.body[:200])


class Closed(Exception):
    """The peer closed before a complete response head arrived."""


class Reader:
    """Buffered reader over a socket, with a deadline per call."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_until(self, sep, limit=1 << 20):
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("line too long")
            if not self._fill():
                raise Closed(self.buf)
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                out, self.buf = self.buf, b""
                return out
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_to_eof(self, limit=None):
        while self._fill():
            if limit is not None and len(self.buf) > limit:
                break
        out, self.buf = self.buf, b""
        return out


def read_head(reader):
    """Read one message head; tolerate bare LF line ends."""
    while True:
        m = re.search(b"\r?\n\r?\n", reader.buf)
        if m:
            head = reader.buf[:m.end()]
            reader.buf = reader.buf[m.end():]
            return head
        if len(reader.buf) > 1 << 20:
            raise ValueError("head too long")
        if not reader._fill():
            raise Closed(reader.buf)


def parse_headers(lines):
    headers = []
    for line in lines:
        if not line:
            continue
        if b":" not in line:
            headers.append((line.decode("latin-1"), ""))
            continue
        k, v = line.split(b":", 1)
        headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
    return headers


def split_head(head):
    lines = re.split(b"\r?\n", head)
    return lines[0], parse_headers(lines[1:])


def read_chunked(reader):
    """De-chunk a chunked body. Returns (body, raw, complete)."""
    body = b""
    raw = b""
    while True:
        try:
            line = reader.read_until(b"\n")
        except Closed:
            return body, raw, False
        raw += line
        size_s = line.split(b";", 1)[0].strip()
        try:
            size = int(size_s, 16)
        except ValueError:
            return body, raw, False
        if size == 0:
            # trailers up to the empty line
            while True:
                try:
                    t = reader.read_until(b"\n")
                except Closed:
                    return body, raw, False
                raw += t
                if t in (b"\r\n", b"\n"):
                    return body, raw, True
        data = reader.read_exact(size)
        body += data
        raw += data
        if len(data) < size:
            return body, raw, False
        crlf = reader.read_until(b"\n") if not reader.eof else b""
        raw += crlf


def read_response(reader, method="GET", skip_interim=True):
    """Read one response from reader. Raises Closed if the connection ended
    before a status line."""
    interim = []
    while True:
        head = read_head(reader)
        status_line, headers = split_head(head)
        parts = status_line.decode("latin-1").split(" ", 2)
        resp = Response()
        resp.raw_head = head
        resp.version = parts[0]
        resp.status = int(parts[1])
        resp.reason = parts[2] if len(parts) > 2 else ""
        resp.headers = headers
        if 100 <= resp.status < 200 and resp.status != 101 and skip_interim:
            interim.append(resp)
            continue
        break
    resp.interim = interim
    if method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200:
        return resp
    te = resp.header("Transfer-Encoding")
    cl = resp.header("Content-Length")
    if te is not None and "chunked" in te.lower():
        resp.body, _, resp.complete = read_chunked(reader)
    elif cl is not None:
        n = int(cl)
        resp.body = reader.read_exact(n)
        resp.complete = len(resp.body) == n
    else:
        resp.body = reader.read_to_eof()
    return resp


# ---------------------------------------------------------------- raw client

class Client:
    """A raw HTTP client connection: send exact bytes, read responses."""

    def __init__(self, port, timeout=5.0, host=HOST):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.reader = Reader(self.sock)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def request(self, method="GET", target="/", headers=None, body=None,
                version="HTTP/1.1", host="localhost"):
        """Send a well-formed request and return its response."""
        self.send(build_request(method, target, headers, body, version, host))
        return self.response(method)

    def response(self, method="GET"):
        return read_response(self.reader, method)

    def closed(self, timeout=2.0):
        """True when the peer closed (EOF or reset) within timeout, with no
        further bytes; False when the connection stays open (or sends
        more data: that is returned in self.extra)."""
        if self.reader.buf:
            self.extra = self.reader.buf
            return False
        if self.reader.eof:
            return True
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        finally:
            try:
                self.sock.settimeout(old)
            except OSError:
                pass
        if data:
            self.extra = data
            self.reader.buf += data
            return False
        self.reader.eof = True
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def build_request(method="GET", target="/", headers=None, body=None,
                  version="HTTP/1.1", host="localhost"):
    lines = ["%s %s %s" % (method, target, version)]
    hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = {k.lower() for k, _ in hdrs}
    if host is not None and "host" not in names:
        lines.append("Host: %s" % host)
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        hdrs.append(("Content-Length", str(len(body))))
    for k, v in hdrs:
        lines.append("%s: %s" % (k, v))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if body:
        data += body if isinstance(body, bytes) else body.encode("latin-1")
    return data


def raw_exchange(port, data, timeout=3.0, method="GET"):
    """Send raw bytes on a fresh connection; return (responses, closed).

    Reads responses until the connection closes or goes quiet for timeout.
    closed tells whether the server closed the connection."""
    responses = []
    with Client(port, timeout=timeout) as c:
        try:
            c.send(data)
        except OSError:
            pass
        while True:
            try:
                responses.append(c.response(method))
            except Closed:
                return responses, True
            except (socket.timeout, ConnectionResetError):
                return responses, c.reader.eof or True
            if c.reader.eof:
                return responses, True
            if c.closed(timeout=timeout if not responses else 1.0):
                return responses, True
            if not c.reader.buf:
                return responses, False


def get(port, target="/", headers=None, timeout=5.0, host="localhost",
        method="GET", body=None):
    """One request on a fresh connection; returns the Response."""
    with Client(port, timeout=timeout) as c:
        return c.request(method, target, headers=headers, body=body, host=host)


# ---------------------------------------------------------------- backend

class Request:
    """What a backend received."""

    def __init__(self):
        self.raw_head = b""
        self.method = None
        self.target = None
        self.version = None
        self.headers = []
        self.body = b""
        self.raw_body = b""
        self.body_len = 0
        self.conn_id = None
        self.complete = True

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has(self, name):
        return self.header(name) is not None

    def __repr__(self):
        return "<Request %s %s %s %r>" % (self.method, self.target, self.version, self.headers)


def wants_keepalive(req):
    conn = (req.header("Connection") or "").lower()
    if req.version == "HTTP/1.1":
        return "close" not in conn
    return "keep-alive" in conn


def send_response(sock, status=200, headers=None, body=b"", mode="length",
                  reason=None, keepalive=True, version="HTTP/1.1"):
    """Write a response. mode: length (Content-Length), chunked, close
    (close-delimited, no length), none (no framing header: for 204/304/HEAD).
    Returns whether the connection may be kept."""
    if isinstance(body, str):
        body = body.encode()
    reasons = {200: "OK", 101: "Switching Protocols", 204: "No Content",
               304: "Not Modified", 404: "Not Found", 500: "Internal Server Error"}
    lines = ["%s %d %s" % (version, status, reason or reasons.get(status, "Whatever"))]
    hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if mode == "length":
        hdrs.append(("Content-Length", str(len(body))))
    elif mode == "chunked":
        hdrs.append(("Transfer-Encoding", "chunked"))
    if mode == "close":
        keepalive = False
    if not keepalive:
        hdrs.append(("Connection", "close"))
    for k, v in hdrs:
        lines.append("%s: %s" % (k, v))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if mode == "chunked":
        if body:
            # split in two chunks so the de-chunker really works
            half = max(1, len(body) // 2)
            for part in (body[:half], body[half:]):
                if part:
                    data += b"%x\r\n%s\r\n" % (len(part), part)
        data += b"0\r\n\r\n"
    elif mode != "none":
        data += body
    sock.sendall(data)
    return keepalive


class Backend:
    """A threaded raw-socket HTTP/1.1 origin server on 127.0.0.1.

    handler(backend, req, sock) answers one request; it returns True to
    keep the connection open for the next request. The default answers 200
    "ok from <name>" with Content-Length, keeping the connection when the
    request allows it. Every request received goes to .requests; every
    accepted connection counts in .connections."""

    def __init__(self, name="backend", handler=None, port=None, record_body=True,
                 timeout=10.0):
        self.name = name
        self.handler = handler or ok_handler()
        self.port = port or free_port()
        self.record_body = record_body
        self.timeout = timeout
        self.requests = []
        self.connections = 0
        self.raw = []  # raw bytes of each connection, when a handler saves them
        self.lock = threading.Lock()
        self.stopping = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, self.port))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.threads = []
        self.conns = []
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return "%s:%d" % (HOST, self.port)

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                cid = self.connections
                self.conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn, cid), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, conn, cid):
        conn.settimeout(self.timeout)
        reader = Reader(conn)
        try:
            while not self.stopping:
                try:
                    req = self.read_request(reader)
                except (Closed, socket.timeout, ConnectionResetError, ValueError):
                    return
                req.conn_id = cid
                with self.lock:
                    self.requests.append(req)
                keep = self.handler(self, req, conn, reader) if _wants_reader(self.handler) \
                    else self.handler(self, req, conn)
                if not keep:
                    return
        except (OSError, BrokenPipeError):
            return
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def read_request(self, reader):
        head = read_head(reader)
        req = Request()
        req.raw_head = head
        line, req.headers = split_head(head)
        parts = line.decode("latin-1").split(" ")
        req.method = parts[0]
        req.target = parts[1] if len(parts) > 1 else ""
        req.version = parts[2] if len(parts) > 2 else ""
        te = req.header("Transfer-Encoding")
        cl = req.header("Content-Length")
        if te is not None and "chunked" in te.lower():
            req.body, req.raw_body, req.complete = read_chunked(reader)
            req.body_len = len(req.body)
        elif cl is not None:
            n = int(cl)
            if self.record_body:
                req.body = reader.read_exact(n)
                req.raw_body = req.body
                req.body_len = len(req.body)
            else:
                left = n
                while left > 0:
                    if reader.buf:
                        take = min(left, len(reader.buf))
                        reader.buf = reader.buf[take:]
                        left -= take
                        continue
                    if not reader._fill():
                        break
                req.body_len = n - left
            req.complete = req.body_len == n
        return req

    def wait_requests(self, n, timeout=5.0):
        return wait_for(lambda: len(self.requests) >= n, timeout)

    @property
    def last(self):
        return self.requests[-1] if self.requests else None

    def close(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.thread.join(2)


def _wants_reader(handler):
    return getattr(handler, "wants_reader", False)


# ----- handlers: each returns a function(backend, req, sock) -> keep?

def ok_handler(extra_headers=None):
    def h(b, req, sock):
        return send_response(sock, 200, [("Content-Type", "text/plain")] + list(extra_headers or []),
                             "ok from %s" % b.name, keepalive=wants_keepalive(req))
    return h


def reply(status=200, headers=None, body=b"", mode="length", delay=0.0,
          keepalive=None, reason=None):
    """A fixed answer; mode length|chunked|close|none; delay before it."""
    def h(b, req, sock):
        if delay:
            time.sleep(delay)
        ka = wants_keepalive(req) if keepalive is None else keepalive
        return send_response(sock, status, headers, body, mode, reason=reason, keepalive=ka)
    return h


def echo_handler():
    """200 with the received body echoed and a few request facts in headers."""
    def h(b, req, sock):
        return send_response(sock, 200, [("X-Method", req.method), ("X-Target", req.target)],
                             req.body, keepalive=wants_keepalive(req))
    return h


def raw_handler(data, close=True, delay=0.0):
    """Send exact bytes (garbage, broken heads...) then close."""
    def h(b, req, sock):
        if delay:
            time.sleep(delay)
        sock.sendall(data)
        return not close
    return h


def close_mid_body_handler(announced=100000, sent=1000):
    def h(b, req, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % announced)
        sock.sendall(b"x" * sent)
        time.sleep(0.2)
        return False
    return h


def huge_handler(size, chunk=1 << 16, mode="length"):
    """Stream size bytes of body without holding them."""
    block = b"z" * chunk

    def h(b, req, sock):
        hdr = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        if mode == "length":
            hdr += "Content-Length: %d\r\n" % size
        else:
            hdr += "Connection: close\r\n"
        sock.sendall((hdr + "\r\n").encode())
        left = size
        try:
            while left > 0:
                n = min(left, chunk)
                sock.sendall(block[:n])
                left -= n
        except OSError:
            return False
        return mode == "length" and wants_keepalive(req)
    return h


def upgrade_echo_handler(protocol="testproto"):
    """Answer 101 and echo raw bytes back until the peer closes."""
    def h(b, req, sock, reader):
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\n"
                      "Connection: Upgrade\r\n\r\n" % protocol).encode())
        if reader.buf:
            sock.sendall(reader.buf)
            reader.buf = b""
        while True:
            try:
                data = sock.recv(65536)
            except (socket.timeout, OSError):
                return False
            if not data:
                return False
            sock.sendall(data)
    h.wants_reader = True
    return h


def sse_handler(events=3, pause=1.0):
    """Server-sent events: one event, pause, the next... chunked."""
    def h(b, req, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(events):
            ev = b"data: event %d\n\n" % i
            sock.sendall(b"%x\r\n%s\r\n" % (len(ev), ev))
            if i + 1 < events:
                time.sleep(pause)
        sock.sendall(b"0\r\n\r\n")
        return False
    return h


# ---------------------------------------------------------------- rampart

MAIN_TEMPLATE = """\
{user}daemon off;
worker_processes {workers};
pid {tmp}/rampart.pid;
error_log {tmp}/error.log {log_level};
{main_extra}
events {{
    worker_connections {worker_connections};
}}

http {{
    access_log {tmp}/access.log;
{nginx_http}
{http}
}}
"""

NGINX_HTTP = """\
    client_body_temp_path {tmp}/client_body_temp;
    proxy_temp_path {tmp}/proxy_temp;
    fastcgi_temp_path {tmp}/fastcgi_temp;
    uwsgi_temp_path {tmp}/uwsgi_temp;
    scgi_temp_path {tmp}/scgi_temp;
"""


def render_config(tmp, http, ports, backends=None, workers=2, worker_connections=1024,
                  main_extra="", log_level="info"):
    """Fill the standard main part around an http{} body.

    Placeholders in http: @LISTEN@ / @LISTEN2@... -> 127.0.0.1:<port>,
    @PORT@ / @PORT2@... -> the port, @TMP@ -> the prefix directory,
    @name@ -> 127.0.0.1:<port> of backends[name]."""
    tmp = str(tmp)
    text = http
    for i, p in enumerate(ports):
        suffix = "" if i == 0 else str(i + 1)
        text = text.replace("@LISTEN%s@" % suffix, "%s:%d" % (HOST, p))
        text = text.replace("@PORT%s@" % suffix, str(p))
    text = text.replace("@TMP@", tmp)
    for name, b in (backends or {}).items():
        text = text.replace("@%s@" % name, b.addr if hasattr(b, "addr") else str(b))
    nginx = is_nginx()
    user = "user root;\n" if nginx and os.geteuid() == 0 else ""
    return MAIN_TEMPLATE.format(
        user=user, workers=workers, tmp=tmp, log_level=log_level,
        main_extra=main_extra.replace("@TMP@", tmp),
        worker_connections=worker_connections,
        nginx_http=NGINX_HTTP.format(tmp=tmp) if nginx else "",
        http=text)


def make_prefix(tmp):
    for d in ("client_body_temp", "proxy_temp", "fastcgi_temp", "uwsgi_temp",
              "scgi_temp", "logs", "html"):
        os.makedirs(os.path.join(str(tmp), d), exist_ok=True)


def run_test_config(conf_path, prefix, timeout=10):
    """Run `$RAMPART_BIN -t -c file -p dir`; return (rc, combined output)."""
    prefix = str(prefix)
    if not prefix.endswith("/"):
        prefix += "/"
    p = subprocess.run([binary(), "-t", "-c", str(conf_path), "-p", prefix],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("latin-1")


def process_tree_rss_kib(pid):
    """VmRSS of pid plus its direct children (nginx's workers), in KiB."""
    total = 0
    pids = [pid]
    try:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    pids.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    except OSError:
        pass
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Rampart:
    """One running instance of the binary under test."""

    def __init__(self, tmp, http, backends=None, nports=None, workers=2,
                 worker_connections=1024, main_extra="", start=True, log_level="info"):
        self.tmp = str(tmp)
        make_prefix(self.tmp)
        if nports is None:
            nports = 1
            for i in range(2, 10):
                if "@LISTEN%d@" % i in http or "@PORT%d@" % i in http:
                    nports = i
        self.ports = [free_port() for _ in range(nports)]
        self.port = self.ports[0]
        self.backends = backends or {}
        self.conf_args = dict(workers=workers, worker_connections=worker_connections,
                              main_extra=main_extra, log_level=log_level)
        self.conf_path = os.path.join(self.tmp, "rampart.conf")
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.proc = None
        self.write_config(http)
        if start:
            self.start()

    def write_config(self, http):
        text = render_config(self.tmp, http, self.ports, self.backends, **self.conf_args)
        with open(self.conf_path, "w") as f:
            f.write(text)
        return text

    def start(self):
        self.stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [binary(), "-p", self.tmp + "/", "-c", self.conf_path],
            stdin=subprocess.DEVNULL, stdout=self.stderr_file, stderr=self.stderr_file)
        for p in self.ports:
            if not wait_port(p, 10.0, self.proc):
                out = self.stderr()
                self.stop()
                raise RuntimeError("rampart did not listen on %d (rc=%s): %s\n%s" % (
                    p, self.proc.returncode, out, self.error_log()[-3000:]))
        return self

    @property
    def pid(self):
        return self.proc.pid

    def url(self, path="/", port=None):
        return "http://%s:%d%s" % (HOST, port or self.port, path)

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def reload(self, http=None, check=None, timeout=10.0):
        """Optionally rewrite the config, send SIGHUP, then wait: until
        check() is true when given, else a short settle time. Returns the
        check's result (or True)."""
        if http is not None:
            self.write_config(http)
        self.signal(signal.SIGHUP)
        if check is not None:
            return wait_for(check, timeout)
        time.sleep(0.3)
        return True

    def wait_exit(self, timeout=10.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        try:
            self.stderr_file.close()
        except Exception:
            pass
        return self.proc.returncode

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _read(self, name):
        try:
            with open(os.path.join(self.tmp, name), "rb") as f:
                return f.read().decode("latin-1")
        except OSError:
            return ""

    def error_log(self):
        return self._read("error.log")

    def access_log(self):
        return self._read("access.log")

    def stderr(self):
        return self._read("stderr.log")

    def rss_kib(self):
        return process_tree_rss_kib(self.proc.pid)


class RssSampler:
    """Samples the RSS of a Rampart (process tree) every 50 ms."""

    def __init__(self, r, interval=0.05):
        self.r = r
        self.interval = interval
        self.max = 0
        self.samples = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop:
            self.max = max(self.max, self.r.rss_kib())
            self.samples += 1
            time.sleep(self.interval)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        self.t.join(2)
