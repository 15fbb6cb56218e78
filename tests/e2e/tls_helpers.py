"""TLS helpers for the end-to-end suite: certificate fixtures, an
`openssl s_client` wrapper and a small HTTPS client on python's ssl module.

Everything talks to 127.0.0.1 only and every call has a timeout.
"""

import os
import re
import shutil
import socket
import ssl
import subprocess

from helpers import HOST, Reader, build_request, read_response

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_CERTS = os.path.join(HERE, "..", "fixtures", "tls", "make-certs.sh")
REF_CONF = os.path.join(HERE, "..", "fixtures", "configs", "tls-termination.conf")


def have_openssl():
    return shutil.which("openssl") is not None


def make_certs(d):
    """Run tests/fixtures/tls/make-certs.sh into d, then add a 'good' OCSP
    response for rsa-a (ocsp-good.der) signed by the test CA."""
    subprocess.run(["sh", MAKE_CERTS, str(d)], check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    make_good_ocsp(str(d), "rsa-a.pem", "ocsp-good.der")
    return str(d)


def _openssl(args, cwd, timeout=30):
    env = dict(os.environ, OPENSSL_CONF="/dev/null")
    return subprocess.run(["openssl"] + args, cwd=cwd, env=env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True)


def make_good_ocsp(d, cert, out):
    """An OCSP responder database listing cert as valid (V), the CA as the
    responder: `openssl ocsp` answers 'good' for it."""
    serial = _openssl(["x509", "-in", cert, "-noout", "-serial"], d).stdout.decode()
    serial = serial.strip().split("=", 1)[1]
    subject = _openssl(["x509", "-in", cert, "-noout", "-subject", "-nameopt", "compat"],
                       d).stdout.decode().strip().split("=", 1)[1].strip()
    # the index wants an expiry as YYMMDDHHMMSSZ; any future date does
    db = os.path.join(d, "ocsp-db")
    os.makedirs(db, exist_ok=True)
    with open(os.path.join(db, "index.txt"), "w") as f:
        f.write("V\t391231235959Z\t\t%s\tunknown\t%s\n" % (serial, subject))
    _openssl(["ocsp", "-issuer", "ca.pem", "-cert", cert, "-no_nonce",
              "-reqout", "ocsp-db/req.der"], d)
    _openssl(["ocsp", "-index", "ocsp-db/index.txt", "-rsigner", "ca.pem", "-rkey", "ca.key",
              "-CA", "ca.pem", "-reqin", "ocsp-db/req.der", "-respout", out, "-ndays", "1"], d)
    return os.path.join(d, out)


def sha1_fingerprint(cert_path):
    """nginx's $ssl_client_fingerprint: lowercase hex SHA-1 of the DER."""
    out = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-fingerprint",
                          "-sha1"], stdout=subprocess.PIPE, check=True, timeout=10).stdout
    return out.decode().strip().split("=", 1)[1].replace(":", "").lower()


# ---------------------------------------------------------------- s_client

class SClient:
    """The outcome of one `openssl s_client` run."""

    def __init__(self, rc, out):
        self.rc = rc
        self.out = out

    def _line(self, pattern):
        m = re.search(pattern, self.out, re.M)
        return m.group(1).strip() if m else None

    @property
    def handshake_ok(self):
        c = self.cipher
        return c is not None and c != "(NONE)" and c != "0000"

    @property
    def new_or_reused(self):
        """'New' or 'Reused' (None when no session summary was printed)."""
        return self._line(r"^(New|Reused), ")

    @property
    def reused(self):
        return self.new_or_reused == "Reused"

    @property
    def protocol(self):
        return self._line(r"^(?:New|Reused), (\S+), Cipher is")

    @property
    def cipher(self):
        return self._line(r"^(?:New|Reused), \S+, Cipher is (\S+)")

    @property
    def subject_cn(self):
        return self._line(r"^subject=.*CN ?= ?([^,\n]+)")

    @property
    def key_bits(self):
        v = self._line(r"^Server public key is (\d+) bit")
        return int(v) if v else None

    @property
    def alpn(self):
        if re.search(r"^No ALPN negotiated", self.out, re.M):
            return None
        return self._line(r"^ALPN protocol: (\S+)")

    @property
    def ocsp_status(self):
        return self._line(r"OCSP Response Status: (\S+)")

    @property
    def http_status(self):
        # not anchored: s_client may print its session dumps mid-line
        v = self._line(r"HTTP/1\.[01] (\d{3}) ")
        return int(v) if v else None

    def __repr__(self):
        return "<SClient rc=%s\n%s>" % (self.rc, self.out[-4000:])


def http_req(target="/", host="localhost", headers=None):
    """A request that closes the connection: s_client (with -ign_eof)
    reads until the server is done, so TLS 1.3 tickets that arrive after
    the handshake are stored by -sess_out."""
    hdrs = list(headers or []) + [("Connection", "close")]
    return build_request("GET", target, hdrs, None, "HTTP/1.1", host)


def s_client(port, *args, servername=None, data=None, timeout=10):
    """Run `openssl s_client -connect 127.0.0.1:port` with args. servername
    None sends no SNI at all. data (bytes) is written after the handshake and
    the output read until the server closes; without data the client says
    goodbye right after the handshake."""
    cmd = ["openssl", "s_client", "-connect", "%s:%d" % (HOST, port)]
    cmd += ["-servername", servername] if servername else ["-noservername"]
    if data is not None:
        cmd.append("-ign_eof")
    cmd += list(args)
    try:
        p = subprocess.run(cmd, input=data if data is not None else b"", timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except subprocess.TimeoutExpired as e:
        return SClient(None, (e.stdout or b"").decode("latin-1") + "\n[timeout]")
    return SClient(p.returncode, p.stdout.decode("latin-1"))


# ---------------------------------------------------------------- python ssl

def client_context(cafile=None, cert=None, key=None, minv=None, maxv=None, alpn=None,
                   ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    if minv:
        ctx.minimum_version = minv
    if maxv:
        ctx.maximum_version = maxv
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


class TLSResult:
    def __init__(self, resp, version, cipher, reused, session, alpn, peer_der):
        self.resp = resp
        self.version = version
        self.cipher = cipher
        self.reused = reused
        self.session = session
        self.alpn = alpn
        self.peer_der = peer_der


def tls_get(port, target="/", host="localhost", server_name=None, ctx=None, headers=None,
            session=None, timeout=5.0, method="GET", body=None):
    """One HTTPS request on a fresh connection (Connection: close). Returns a
    TLSResult; .session is the session to resume with (read after the
    response, so TLS 1.3 tickets have arrived)."""
    ctx = ctx or client_context()
    raw = socket.create_connection((HOST, port), timeout=timeout)
    raw.settimeout(timeout)
    try:
        s = ctx.wrap_socket(raw, server_hostname=server_name, session=session)
    except Exception:
        raw.close()
        raise
    try:
        hdrs = list(headers or []) + [("Connection", "close")]
        s.sendall(build_request(method, target, hdrs, body, "HTTP/1.1", host))
        reader = Reader(s)
        resp = read_response(reader, method)
        # drain to EOF: the tickets of TLS 1.3 come before the data, but
        # reading the close makes .session the final one
        try:
            reader.read_to_eof(limit=1 << 20)
        except (OSError, ssl.SSLError):
            pass
        return TLSResult(resp, s.version(), s.cipher()[0] if s.cipher() else None,
                         s.session_reused, s.session, s.selected_alpn_protocol(),
                         s.getpeercert(binary_form=True))
    finally:
        try:
            s.close()
        except OSError:
            pass


def client_hello_bytes(server_name="a.test"):
    """The bytes of a real ClientHello, made with a memory BIO."""
    ctx = client_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=server_name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def peer_closed(sock, timeout):
    """True when the peer closes (EOF or reset) within timeout."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    except OSError:
        return True
