"""TLS termination: listen ... ssl, certificates, protocols, ciphers, SNI,
ALPN, resumption, stapling, client certificates, timeouts and errors.

Every test checks what the client got over TLS and what the backend
received. Certificates come from tests/fixtures/tls/make-certs.sh, made once
per module. Clients: python's ssl module, `openssl s_client`, testssl.sh.
Validated against nginx (RAMPART_BIN=/usr/sbin/nginx) where rampart mirrors
it; rampart-only defaults are marked rampart_only.
"""

import json
import shutil
import socket
import ssl
import subprocess
import sys
import time

import pytest

from helpers import Client, HOST, is_nginx
import tls_helpers as th
from tls_helpers import s_client, tls_get, http_req, client_context

pytestmark = pytest.mark.skipif(not th.have_openssl(), reason="needs the openssl command")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return th.make_certs(tmp_path_factory.mktemp("tls"))


def crt(certs, name):
    """ssl_certificate + ssl_certificate_key lines for NAME (rsa-a, ec-b...)."""
    return ("ssl_certificate %s/%s.pem;\n        ssl_certificate_key %s/%s.key;\n"
            % (certs, name, certs, name))


VARS = """
            proxy_set_header X-Scheme $scheme;
            proxy_set_header X-Https $https;
            proxy_set_header X-Proto $ssl_protocol;
            proxy_set_header X-Cipher $ssl_cipher;
            proxy_set_header X-SNI $ssl_server_name;
            proxy_set_header X-Reused $ssl_session_reused;
"""


def tls_server(certs, cert_names=("rsa-a",), extra="", name="a.test", listen="@LISTEN@",
               location_extra=""):
    c = "".join(crt(certs, n) for n in cert_names)
    if is_nginx() and "ssl_protocols" not in extra:
        # nginx before 1.23.4 defaults to TLSv1 TLSv1.1 TLSv1.2; rampart's
        # default is today's nginx default
        extra = "ssl_protocols TLSv1.2 TLSv1.3;\n    " + extra
    return """
server {
    listen %s ssl;
    server_name %s;
        %s
    %s
    location / {
        proxy_pass http://@b@;
%s
        %s
    }
}
""" % (listen, name, c, extra, VARS, location_extra)


def tls_only_protocol_error(res):
    """The handshake did not complete: no HTTP answer was read."""
    return not res.handshake_ok and res.http_status is None


# ---------------------------------------------------------------- reference config

def test_reference_tls_termination_config(rampart, backend, certs):
    """tests/fixtures/configs/tls-termination.conf with only paths, port and
    upstream adapted."""
    with open(th.REF_CONF) as f:
        text = f.read()
    assert "listen 443 ssl;" in text
    text = (text.replace("listen 443 ssl;", "listen @LISTEN@ ssl;")
            .replace("/path/to/your_certificate.pem", certs + "/rsa-a.pem")
            .replace("/path/to/your_private_key.pem", certs + "/rsa-a.key"))
    text = "upstream your_backend_servers { server @b@; }\n" + text
    b = backend("b1")
    r = rampart(text, backends={"b": b})
    ctx = client_context(cafile=certs + "/ca.pem")
    res = tls_get(r.port, "/app?q=1", host="yourdomain.com", server_name="yourdomain.com",
                  ctx=ctx)
    assert res.resp.status == 200 and res.resp.body == b"ok from b1"
    assert res.version in ("TLSv1.2", "TLSv1.3")
    req = b.last
    assert req.target == "/app?q=1"
    assert req.header("Host") == "yourdomain.com"
    assert req.header("X-Real-IP") == "127.0.0.1"
    assert req.header("X-Forwarded-For") == "127.0.0.1"
    assert req.header("X-Forwarded-Proto") == "https"
    # an incoming X-Forwarded-For is appended to
    res = tls_get(r.port, "/", host="yourdomain.com", server_name="yourdomain.com", ctx=ctx,
                  headers=[("X-Forwarded-For", "203.0.113.7")])
    assert res.resp.status == 200
    assert b.last.header("X-Forwarded-For") == "203.0.113.7, 127.0.0.1"
    assert len(b.requests) == 2


# ---------------------------------------------------------------- protocols

@pytest.mark.parametrize("flag,name", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_protocol_versions_default(rampart, backend, certs, flag, name):
    b = backend("b1")
    r = rampart(tls_server(certs), backends={"b": b})
    res = s_client(r.port, flag, servername="a.test", data=http_req("/v", "a.test"))
    assert res.handshake_ok and res.protocol == name, res
    assert res.http_status == 200 and "ok from b1" in res.out
    req = b.last
    assert req.target == "/v"
    assert req.header("X-Scheme") == "https"
    assert req.header("X-Https") == "on"
    assert req.header("X-Proto") == name
    assert req.header("X-Cipher") == res.cipher
    assert req.header("X-SNI") == "a.test"
    assert req.header("X-Reused") == "."


WEAK_CLIENT = "DEFAULT:@SECLEVEL=0"


@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_old_protocols_refused_by_default(rampart, backend, certs, flag):
    b = backend("b1")
    # second server: the same client succeeds where TLSv1/1.1 are enabled,
    # so the refusal is the server's, not the client library's
    http = tls_server(certs) + tls_server(
        certs, listen="@LISTEN2@",
        extra="ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n    ssl_ciphers \"DEFAULT:@SECLEVEL=0\";")
    r = rampart(http, backends={"b": b})
    res = s_client(r.port, flag, "-cipher", WEAK_CLIENT, servername="a.test",
                   data=http_req("/", "a.test"))
    assert tls_only_protocol_error(res), res
    assert b.requests == []
    ctl = s_client(r.ports[1], flag, "-cipher", WEAK_CLIENT, servername="a.test",
                   data=http_req("/ctl", "a.test"))
    assert ctl.handshake_ok and ctl.http_status == 200, ctl
    assert b.last.target == "/ctl"
    assert b.last.header("X-Proto") == {"-tls1": "TLSv1", "-tls1_1": "TLSv1.1"}[flag]


def test_tls13_only_refuses_tls12(rampart, backend, certs):
    b = backend("b1")
    r = rampart(tls_server(certs, extra="ssl_protocols TLSv1.3;"), backends={"b": b})
    res = s_client(r.port, "-tls1_2", servername="a.test", data=http_req())
    assert tls_only_protocol_error(res), res
    assert b.requests == []
    res = s_client(r.port, "-tls1_3", servername="a.test", data=http_req("/13"))
    assert res.handshake_ok and res.protocol == "TLSv1.3" and res.http_status == 200, res
    assert b.last.target == "/13" and b.last.header("X-Proto") == "TLSv1.3"


# ---------------------------------------------------------------- ciphers

WEAK_SUITES = [
    "AES128-SHA",                  # RSA key exchange, CBC
    "AES256-GCM-SHA384",           # RSA key exchange
    "ECDHE-RSA-AES128-SHA",        # CBC
    "ECDHE-RSA-AES256-SHA384",     # CBC
    "DES-CBC3-SHA",                # 3DES
    "NULL-SHA256",                 # no encryption
    "RC4-SHA",                     # RC4
]


@pytest.mark.rampart_only  # nginx's default is HIGH:!aNULL:!MD5 (CBC, RSA kex)
@pytest.mark.parametrize("suite", WEAK_SUITES)
def test_default_ciphers_refuse_weak_suites(rampart, backend, certs, suite):
    b = backend("b1")
    http = tls_server(certs) + tls_server(
        certs, listen="@LISTEN2@", extra="ssl_ciphers \"ALL:eNULL:@SECLEVEL=0\";")
    r = rampart(http, backends={"b": b})
    args = ("-tls1_2", "-cipher", suite + ":@SECLEVEL=0")
    ctl = s_client(r.ports[1], *args, servername="a.test")
    if not ctl.handshake_ok:
        pytest.skip("%s not available in this OpenSSL: %s" % (suite, ctl.out[-300:]))
    assert ctl.cipher == suite
    res = s_client(r.port, *args, servername="a.test", data=http_req())
    assert tls_only_protocol_error(res), res
    assert b.requests == []


@pytest.mark.parametrize("prefer,expect", [
    ("ssl_prefer_server_ciphers on;", "ECDHE-RSA-AES256-GCM-SHA384"),
    ("ssl_prefer_server_ciphers off;", "ECDHE-RSA-AES128-GCM-SHA256"),
    pytest.param("", "ECDHE-RSA-AES256-GCM-SHA384", marks=pytest.mark.rampart_only,
                 id="default-on"),
])
def test_server_cipher_order(rampart, backend, certs, prefer, expect):
    b = backend("b1")
    extra = "ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256;\n    " + prefer
    r = rampart(tls_server(certs, extra=extra), backends={"b": b})
    res = s_client(r.port, "-tls1_2", "-cipher",
                   "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384",
                   servername="a.test", data=http_req())
    assert res.cipher == expect, res
    assert res.http_status == 200
    assert b.last.header("X-Cipher") == expect


@pytest.mark.rampart_only
def test_default_cipher_order_is_servers(rampart, backend, certs):
    """Defaults: the client lists CHACHA20 first, the server's list (AES-GCM
    first) wins."""
    b = backend("b1")
    r = rampart(tls_server(certs), backends={"b": b})
    res = s_client(r.port, "-tls1_2", "-cipher",
                   "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256",
                   servername="a.test", data=http_req())
    assert res.cipher == "ECDHE-RSA-AES128-GCM-SHA256", res
    assert b.last.header("X-Cipher") == "ECDHE-RSA-AES128-GCM-SHA256"


# ---------------------------------------------------------------- SNI

def sni_config(certs):
    def srv(name, cert):
        return tls_server(certs, (cert,), name=name,
                          location_extra="proxy_set_header X-Server %s;" % name)
    return srv("default.test", "rsa-default") + srv("a.test", "rsa-a") + srv("b.test", "ec-b")


@pytest.mark.parametrize("sni,cn,bits,sni_var", [
    ("a.test", "a.test", 2048, "a.test"),
    ("b.test", "b.test", 256, "b.test"),
    (None, "default.test", 2048, ""),
    ("unknown.test", "default.test", 2048, "unknown.test"),
])
def test_sni_selects_certificate(rampart, backend, certs, sni, cn, bits, sni_var):
    b = backend("b1")
    r = rampart(sni_config(certs), backends={"b": b})
    res = s_client(r.port, servername=sni, data=http_req("/sni", sni or "localhost"))
    assert res.handshake_ok and res.subject_cn == cn and res.key_bits == bits, res
    assert res.http_status == 200
    req = b.last
    assert req.header("X-Server") == cn
    # an empty value is not sent at all (proxy_set_header)
    assert req.header("X-SNI", "") == sni_var


@pytest.mark.parametrize("order", [("rsa-a", "ec-a"), ("ec-a", "rsa-a")], ids=["rsa-first",
                                                                              "ec-first"])
@pytest.mark.parametrize("args,bits", [
    (("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"), 256),
    (("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"), 2048),
    (("-tls1_3", "-sigalgs", "ecdsa_secp256r1_sha256"), 256),
    (("-tls1_3", "-sigalgs", "rsa_pss_rsae_sha256"), 2048),
], ids=["12-ecdsa", "12-rsa", "13-ecdsa", "13-rsa"])
def test_rsa_and_ecdsa_on_one_server(rampart, backend, certs, order, args, bits):
    b = backend("b1")
    r = rampart(tls_server(certs, order), backends={"b": b})
    res = s_client(r.port, *args, servername="a.test", data=http_req())
    assert res.handshake_ok and res.subject_cn == "a.test" and res.key_bits == bits, res
    assert res.http_status == 200 and b.last.header("X-Cipher") == res.cipher


# ---------------------------------------------------------------- ALPN

@pytest.mark.parametrize("alpn,expect", [("http/1.1", "http/1.1"), ("h2,http/1.1", "http/1.1"),
                                         (None, None)])
def test_alpn(rampart, backend, certs, alpn, expect):
    b = backend("b1")
    r = rampart(tls_server(certs), backends={"b": b})
    args = ("-alpn", alpn) if alpn else ()
    res = s_client(r.port, *args, servername="a.test", data=http_req("/alpn"))
    assert res.handshake_ok and res.alpn == expect, res
    assert res.http_status == 200 and b.last.target == "/alpn"
    # python's client too
    res2 = tls_get(r.port, "/py", ctx=client_context(alpn=alpn.split(",") if alpn else None))
    assert res2.resp.status == 200 and res2.alpn == expect
    assert b.last.target == "/py"


# ---------------------------------------------------------------- resumption

@pytest.mark.parametrize("flag", ["-tls1_2", "-tls1_3"])
def test_resumption_with_tickets_s_client(rampart, backend, certs, tmp_path, flag):
    b = backend("b1")
    r = rampart(tls_server(certs), backends={"b": b})
    sess = str(tmp_path / "sess.pem")
    first = s_client(r.port, flag, "-sess_out", sess, servername="a.test", data=http_req("/1"))
    assert first.handshake_ok and first.new_or_reused == "New", first
    assert b.last.header("X-Reused") == "."
    second = s_client(r.port, flag, "-sess_in", sess, servername="a.test", data=http_req("/2"))
    assert second.reused, second
    assert second.http_status == 200
    assert b.last.target == "/2" and b.last.header("X-Reused") == "r"


def chained_resumptions(port, n, ctx, server_name="a.test"):
    """n connections, each resuming the session of the one before it;
    returns the list of (reused flag, backend-visible X-Reused)."""
    first = tls_get(port, "/0", server_name=server_name, ctx=ctx)
    assert first.resp.status == 200 and not first.reused
    sess = first.session
    out = []
    for i in range(1, n + 1):
        res = tls_get(port, "/%d" % i, server_name=server_name, ctx=ctx, session=sess)
        assert res.resp.status == 200
        out.append(res.reused)
        sess = res.session if res.session is not None else sess
    return out


@pytest.mark.parametrize("ver", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3],
                         ids=["tls12", "tls13"])
def test_ticket_resumption_across_workers(rampart, backend, certs, ver):
    b = backend("b1")
    r = rampart(tls_server(certs), backends={"b": b}, workers=4)
    ctx = client_context(minv=ver, maxv=ver)
    flags = chained_resumptions(r.port, 30, ctx)
    assert all(flags), flags
    assert len(b.requests) == 31
    assert [q.header("X-Reused") for q in b.requests[1:]] == ["r"] * 30


@pytest.mark.parametrize("ver", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3],
                         ids=["tls12", "tls13"])
def test_session_cache_resumption_without_tickets(rampart, backend, certs, tmp_path, ver):
    b = backend("b1")
    extra = "ssl_session_tickets off;\n    ssl_session_cache shared:x:1m;"
    r = rampart(tls_server(certs, extra=extra), backends={"b": b}, workers=4)
    ctx = client_context(minv=ver, maxv=ver)
    flags = chained_resumptions(r.port, 20, ctx)
    assert all(flags), flags
    assert [q.header("X-Reused") for q in b.requests[1:]] == ["r"] * 20
    # and s_client: no ticket was sent, the session id resumes
    flag = "-tls1_2" if ver == ssl.TLSVersion.TLSv1_2 else "-tls1_3"
    sess = str(tmp_path / "s.pem")
    first = s_client(r.port, flag, "-sess_out", sess, servername="a.test", data=http_req())
    assert first.handshake_ok
    if ver == ssl.TLSVersion.TLSv1_2:
        assert "TLS session ticket:" not in first.out, first
    second = s_client(r.port, flag, "-sess_in", sess, servername="a.test", data=http_req("/s"))
    assert second.reused, second
    assert b.last.target == "/s" and b.last.header("X-Reused") == "r"


def test_no_resumption_without_tickets_or_cache(rampart, backend, certs):
    b = backend("b1")
    r = rampart(tls_server(certs, extra="ssl_session_tickets off;"), backends={"b": b})
    ctx = client_context(minv=ssl.TLSVersion.TLSv1_2, maxv=ssl.TLSVersion.TLSv1_2)
    flags = chained_resumptions(r.port, 3, ctx)
    assert flags == [False] * 3
    assert [q.header("X-Reused") for q in b.requests] == ["."] * 4


def gen_reload(r, http, gen):
    return r.reload(http, check=lambda: _gen(r.port) == str(gen))


def _gen(port):
    try:
        return tls_get(port, "/gen", server_name="a.test", timeout=2).resp.header("X-Gen")
    except (OSError, ssl.SSLError):
        return None


@pytest.mark.parametrize("ver", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3],
                         ids=["tls12", "tls13"])
def test_ticket_key_rotation(rampart, backend, certs, ver):
    """First ssl_session_ticket_key encrypts, the others only decrypt."""
    b = backend("b1")

    def conf(keys, gen):
        extra = "".join("ssl_session_ticket_key %s/%s;\n    " % (certs, k) for k in keys)
        return tls_server(certs, extra=extra, location_extra="add_header X-Gen %d always;" % gen)

    r = rampart(conf(["ticket80.key"], 1), backends={"b": b})
    ctx = client_context(minv=ver, maxv=ver)
    s1 = tls_get(r.port, "/k1", server_name="a.test", ctx=ctx)
    assert s1.resp.header("X-Gen") == "1" and not s1.reused
    # same key still resumes after a reload (the key is the file's, not random)
    assert gen_reload(r, conf(["ticket80.key"], 2), 2)
    again = tls_get(r.port, "/k1b", server_name="a.test", ctx=ctx, session=s1.session)
    assert again.reused and b.last.header("X-Reused") == "r"
    # rotation: new key first, old one second: old tickets still resume and
    # the ticket issued now is under the new key
    assert gen_reload(r, conf(["ticket80b.key", "ticket80.key"], 3), 3)
    s2 = tls_get(r.port, "/k2", server_name="a.test", ctx=ctx, session=s1.session)
    assert s2.reused and b.last.target == "/k2" and b.last.header("X-Reused") == "r"
    # old key dropped: the first ticket no longer resumes, the new one does
    assert gen_reload(r, conf(["ticket80b.key"], 4), 4)
    old = tls_get(r.port, "/old", server_name="a.test", ctx=ctx, session=s1.session)
    assert old.resp.status == 200 and not old.reused
    assert b.last.header("X-Reused") == "."
    new = tls_get(r.port, "/new", server_name="a.test", ctx=ctx, session=s2.session)
    assert new.reused and b.last.target == "/new" and b.last.header("X-Reused") == "r"
    assert r.alive()


# ---------------------------------------------------------------- stapling

def test_ocsp_stapling_file(rampart, backend, certs):
    b = backend("b1")
    extra = "ssl_stapling on;\n    ssl_stapling_file %s/ocsp-good.der;" % certs
    http = tls_server(certs, extra=extra) + tls_server(certs, listen="@LISTEN2@")
    r = rampart(http, backends={"b": b})
    res = s_client(r.port, "-status", servername="a.test", data=http_req("/ocsp"))
    assert res.ocsp_status == "successful", res
    assert "Cert Status: good" in res.out
    assert "Responder Id: CN = rampart test CA" in res.out
    assert res.http_status == 200 and b.last.target == "/ocsp"
    # no stapling configured: nothing sent
    res = s_client(r.ports[1], "-status", servername="a.test", data=http_req("/plain"))
    assert res.http_status == 200 and "OCSP response: no response sent" in res.out, res
    assert b.last.target == "/plain"


# ---------------------------------------------------------------- client certificates

CLIENT_VARS = """
        proxy_set_header X-Client-Verify $ssl_client_verify;
        proxy_set_header X-Client-DN $ssl_client_s_dn;
        proxy_set_header X-Client-FP $ssl_client_fingerprint;
"""


def verify_server(certs, mode, ca="ssl_client_certificate"):
    extra = "ssl_verify_client %s;" % mode
    if ca:
        extra += "\n    %s %s/ca.pem;" % (ca, certs)
    return tls_server(certs, extra=extra, location_extra=CLIENT_VARS)


def client_args(certs, who):
    if who is None:
        return ()
    return ("-cert", "%s/%s.pem" % (certs, who), "-key", "%s/%s.key" % (certs, who))


def refused(res):
    """No certificate / a bad one under verify on: the handshake fails
    (rampart) or the request is answered 400 (nginx); never proxied."""
    return res.http_status in (None, 400) and "ok from" not in res.out


@pytest.mark.parametrize("flag", ["-tls1_2", "-tls1_3"])
def test_client_cert_required(rampart, backend, certs, flag):
    b = backend("b1")
    r = rampart(verify_server(certs, "on"), backends={"b": b})
    res = s_client(r.port, flag, servername="a.test", data=http_req("/none"))
    assert refused(res), res
    res = s_client(r.port, flag, *client_args(certs, "client-other"), servername="a.test",
                   data=http_req("/other"))
    assert refused(res), res
    assert b.requests == []
    res = s_client(r.port, flag, *client_args(certs, "client"), servername="a.test",
                   data=http_req("/good"))
    assert res.http_status == 200, res
    req = b.last
    assert req.target == "/good"
    assert req.header("X-Client-Verify") == "SUCCESS"
    assert req.header("X-Client-DN") == "CN=client one,O=rampart tests"
    assert req.header("X-Client-FP") == th.sha1_fingerprint(certs + "/client.pem")
    assert len(b.requests) == 1


@pytest.mark.rampart_only  # nginx 1.22 wants ssl_client_certificate for ssl_verify_client
def test_client_cert_with_python_and_trusted_certificate(rampart, backend, certs):
    """ssl_trusted_certificate verifies too (no CA names sent)."""
    b = backend("b1")
    r = rampart(verify_server(certs, "on", ca="ssl_trusted_certificate"), backends={"b": b})
    ctx = client_context(cafile=certs + "/ca.pem", cert=certs + "/client.pem",
                         key=certs + "/client.key")
    res = tls_get(r.port, "/py", server_name="a.test", ctx=ctx)
    assert res.resp.status == 200
    assert b.last.header("X-Client-Verify") == "SUCCESS"
    assert b.last.header("X-Client-DN") == "CN=client one,O=rampart tests"


def test_client_cert_optional(rampart, backend, certs):
    b = backend("b1")
    r = rampart(verify_server(certs, "optional"), backends={"b": b})
    res = s_client(r.port, servername="a.test", data=http_req("/none"))
    assert res.http_status == 200, res
    assert b.last.header("X-Client-Verify") == "NONE"
    assert b.last.header("X-Client-DN") is None and b.last.header("X-Client-FP") is None
    res = s_client(r.port, *client_args(certs, "client"), servername="a.test",
                   data=http_req("/good"))
    assert res.http_status == 200, res
    assert b.last.target == "/good" and b.last.header("X-Client-Verify") == "SUCCESS"
    assert b.last.header("X-Client-FP") == th.sha1_fingerprint(certs + "/client.pem")
    n = len(b.requests)
    res = s_client(r.port, *client_args(certs, "client-other"), servername="a.test",
                   data=http_req("/other"))
    assert refused(res), res
    assert len(b.requests) == n


def test_client_cert_optional_no_ca(rampart, backend, certs):
    b = backend("b1")
    r = rampart(verify_server(certs, "optional_no_ca"), backends={"b": b})
    res = s_client(r.port, *client_args(certs, "client-other"), servername="a.test",
                   data=http_req("/other"))
    assert res.http_status == 200, res
    req = b.last
    assert req.target == "/other"
    assert req.header("X-Client-Verify").startswith("FAILED"), req
    assert req.header("X-Client-DN") == "CN=client two,O=rampart tests"
    assert req.header("X-Client-FP") == th.sha1_fingerprint(certs + "/client-other.pem")
    res = s_client(r.port, *client_args(certs, "client"), servername="a.test",
                   data=http_req("/good"))
    assert res.http_status == 200 and b.last.header("X-Client-Verify") == "SUCCESS"
    res = s_client(r.port, servername="a.test", data=http_req("/none"))
    assert res.http_status == 200 and b.last.header("X-Client-Verify") == "NONE"


# ---------------------------------------------------------------- plain HTTP on the TLS port

def test_plain_http_to_tls_port(rampart, backend, certs):
    b = backend("b1")
    r = rampart(tls_server(certs), backends={"b": b})
    with Client(r.port, timeout=5) as c:
        resp = c.request("GET", "/plain", host="a.test")
        assert resp.status == 400
        assert b"The plain HTTP request was sent to HTTPS port" in resp.body
        assert c.closed(timeout=3)
    assert b.requests == []
    res = tls_get(r.port, "/after", server_name="a.test")
    assert res.resp.status == 200 and res.resp.body == b"ok from b1"
    assert [q.target for q in b.requests] == ["/after"]


# ---------------------------------------------------------------- handshake timeout

def test_stalled_handshakes_time_out_without_blocking(rampart, backend, certs):
    b = backend("b1")
    # nginx 1.22 has no ssl_handshake_timeout: its handshake runs under
    # client_header_timeout
    extra = "client_header_timeout 1s;" if is_nginx() else "ssl_handshake_timeout 1s;"
    r = rampart(tls_server(certs, extra=extra), backends={"b": b})
    hello = th.client_hello_bytes("a.test")
    stalled = []
    try:
        t0 = time.monotonic()
        for i in range(50):
            s = socket.create_connection((HOST, r.port), timeout=5)
            if i % 2:
                s.sendall(hello[:len(hello) // 2])
            stalled.append(s)
        # a normal client is served while the 50 sit there
        res = tls_get(r.port, "/live", server_name="a.test", timeout=3)
        served_after = time.monotonic() - t0
        assert res.resp.status == 200 and b.last.target == "/live"
        assert served_after < 0.9, served_after
        # none of the stalled ones is closed early
        assert not th.peer_closed(stalled[0], 0.05)
        # all closed after ~1 s, well before 4 s
        deadline = t0 + 4.0
        for s in stalled:
            assert th.peer_closed(s, max(0.05, deadline - time.monotonic())), \
                "stalled handshake still open after 4 s"
        assert time.monotonic() - t0 >= 0.8
    finally:
        for s in stalled:
            s.close()
    assert [q.target for q in b.requests] == ["/live"]
    assert tls_get(r.port, "/again", server_name="a.test").resp.status == 200


# ---------------------------------------------------------------- redirect and HSTS

def test_redirect_to_https_and_hsts(rampart, backend, certs):
    def handler(bk, req, sock):
        from helpers import send_response, wants_keepalive
        st = 404 if req.target.startswith("/missing") else 200
        return send_response(sock, st, [("Content-Type", "text/plain")], "from backend",
                             keepalive=wants_keepalive(req))

    b = backend("b1", handler)
    http = """
server {
    listen @LISTEN2@;
    server_name _;
    return 301 https://$host$request_uri;
}
""" + tls_server(certs, extra='add_header Strict-Transport-Security "max-age=63072000" always;'
                 + "\n    location /gone { return 404; }")
    r = rampart(http, backends={"b": b})
    with Client(r.ports[1]) as c:
        resp = c.request("GET", "/path/x?q=1&r=2", host="example.test")
    assert resp.status == 301
    assert resp.header("Location") == "https://example.test/path/x?q=1&r=2"
    assert resp.header("Strict-Transport-Security") is None
    ok = tls_get(r.port, "/ok", server_name="a.test")
    assert ok.resp.status == 200 and ok.resp.body == b"from backend"
    assert ok.resp.header("Strict-Transport-Security") == "max-age=63072000"
    miss = tls_get(r.port, "/missing", server_name="a.test")
    assert miss.resp.status == 404 and miss.resp.body == b"from backend"
    assert miss.resp.header("Strict-Transport-Security") == "max-age=63072000"
    gone = tls_get(r.port, "/gone", server_name="a.test")
    assert gone.resp.status == 404
    assert gone.resp.header("Strict-Transport-Security") == "max-age=63072000"
    assert [q.target for q in b.requests] == ["/ok", "/missing"]


# ---------------------------------------------------------------- certificate errors

def bad_cert_cases(certs):
    return {
        "missing-key": ("rsa-a.pem", "nope/missing.key", "ssl_certificate_key"),
        "key-is-directory": ("rsa-a.pem", "ca-db", "ssl_certificate_key"),
        "key-mismatch": ("rsa-a.pem", "rsa-b.key", "ssl_certificate"),
        "garbage-cert": ("garbage.pem", "rsa-a.key", "ssl_certificate"),
        "garbage-key": ("rsa-a.pem", "garbage.pem", "ssl_certificate_key"),
        "expired": ("expired.pem", "expired.key", "ssl_certificate"),
    }


BAD_IDS = ["missing-key", "key-is-directory", "key-mismatch", "garbage-cert", "garbage-key",
           "expired"]


def bad_http(certs, case):
    cert, key, _ = bad_cert_cases(certs)[case]
    return """
server {
    listen @LISTEN@ ssl;
    server_name a.test;
    ssl_certificate %s/%s;
    ssl_certificate_key %s/%s;
    location / { proxy_pass http://@b@; }
}
""" % (certs, cert, certs, key)


def directive_line(text, directive):
    """1-based line of `directive ` in text (nginx-style file:line)."""
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(directive + " "):
            return i
    raise AssertionError("no %s in config" % directive)


def check_cert_error(out, conf_path, text, case, certs):
    assert "emerg" in out or "error" in out.lower(), out
    if is_nginx():
        return  # nginx names the file but not always the line for SSL errors
    _, _, directive = bad_cert_cases(certs)[case]
    line = directive_line(text, directive)
    lines = [line]
    if directive == "ssl_certificate":  # a mismatch may be blamed on either line
        lines.append(directive_line(text, "ssl_certificate_key"))
    assert any("%s:%d" % (conf_path, n) in out for n in lines), (lines, out)


@pytest.mark.parametrize("case", BAD_IDS)
def test_certificate_errors_at_t(conf_test, certs, case):
    if case == "expired" and is_nginx():
        pytest.skip("nginx loads expired certificates")
    rc, out, path = conf_test(bad_http(certs, case), backends={"b": "127.0.0.1:9"})
    assert rc != 0, out
    with open(path) as f:
        text = f.read()
    check_cert_error(out, path, text, case, certs)


@pytest.mark.parametrize("case", BAD_IDS)
def test_certificate_errors_at_reload_keep_old_config(rampart, backend, certs, case):
    if case == "expired" and is_nginx():
        pytest.skip("nginx loads expired certificates")
    b = backend("b1")
    r = rampart(tls_server(certs), backends={"b": b})
    before = s_client(r.port, servername="a.test", data=http_req("/before"))
    assert before.http_status == 200 and before.subject_cn == "a.test"
    log0 = len(r.error_log())
    r.write_config(bad_http(certs, case))
    with open(r.conf_path) as f:
        text = f.read()
    r.reload(check=lambda: any(w in r.error_log()[log0:] for w in ("emerg", "[error]",
                                                                  "[crit]", "[alert]")))
    out = r.error_log()[log0:] + r.stderr()
    check_cert_error(out, r.conf_path, text, case, certs)
    assert r.alive()
    after = s_client(r.port, servername="a.test", data=http_req("/after"))
    assert after.http_status == 200 and after.subject_cn == "a.test", after
    assert b.last.target == "/after" and b.last.header("X-Scheme") == "https"


# ---------------------------------------------------------------- testssl.sh

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
# properties of the throw-away test PKI (self-signed CA, 30-day certs, no
# OCSP URI, name mismatch with 127.0.0.1), not of the server
PKI_FINDINGS = ("cert_", "DNS_CAArecord", "intermediate_cert")


@pytest.mark.slow
@pytest.mark.skipif(TESTSSL is None, reason="testssl.sh not installed (scripts/deps.sh test)")
def test_testssl_default_listener(rampart, backend, certs, tmp_path):
    b = backend("b1")
    http = """
server {
    listen @LISTEN@ ssl;
    ssl_certificate %s/rsa-a.pem;
    ssl_certificate_key %s/rsa-a.key;
    location / { proxy_pass http://@b@; }
}
""" % (certs, certs)
    r = rampart(http, backends={"b": b})
    out = tmp_path / "testssl.json"
    cmd = [TESTSSL, "--quiet", "--color", "0", "--warnings", "batch", "--jsonfile", str(out),
           "--severity", "MEDIUM", "--connect-timeout", "5", "--openssl-timeout", "5",
           "-p", "-s", "-f", "-U", "-S", "%s:%d" % (HOST, r.port)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=150)
    text = p.stdout.decode("latin-1")
    assert out.exists(), text[-3000:]
    findings = json.loads(out.read_text())
    bad = [f for f in findings
           if f.get("severity") in ("MEDIUM", "HIGH", "CRITICAL")
           and not f.get("id", "").startswith(PKI_FINDINGS)]
    assert bad == [], json.dumps(bad, indent=1)
    assert "offered (OK)" in text  # it did test something
    assert r.alive()
    res = tls_get(r.port, "/after-testssl", server_name="a.test")
    assert res.resp.status == 200 and b.last.target == "/after-testssl"


# ---------------------------------------------------------------- races

def test_tls13_many_fresh_connections_all_served(rampart, backend, certs):
    """Fresh TLS 1.3 connections whose ClientHello follows the connect at
    once: every one must be answered (a regression test: the first-byte
    check for plain HTTP once raced with the handshake). Parallel clients and two bounded busy
    loops (CPU contention preempts the server between its peek and its
    read) widen the window of the race above."""
    import threading
    b = backend("b1")
    r = rampart(tls_server(certs), backends={"b": b}, workers=2)
    hog = "import time\nt = time.monotonic() + 15\nwhile time.monotonic() < t: pass\n"
    hogs = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(2)]
    ctx = client_context(minv=ssl.TLSVersion.TLSv1_3)
    failures = []
    deadline = time.monotonic() + 20

    def worker(k):
        for i in range(150):
            if failures or time.monotonic() > deadline:
                return
            try:
                res = tls_get(r.port, "/c%d-%d" % (k, i), server_name="a.test", ctx=ctx)
                if res.resp.status != 200:
                    failures.append(res.resp.status)
            except (OSError, ssl.SSLError) as e:
                failures.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join(30)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert failures == [], failures[:3]
    assert len(b.requests) == 600
