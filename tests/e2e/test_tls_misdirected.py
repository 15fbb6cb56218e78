"""SNI and Host must agree where client certificates are checked: a request
whose Host picks another server than SNI did gets 421 when either server
verifies client certificates (nginx does the same)."""

import os
import socket
import ssl
import subprocess

import pytest

MAKE_CERTS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tls", "make-certs.sh")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(["sh", MAKE_CERTS, str(d)], check=True, timeout=120)
    return str(d)


def _request(port, sni, host, certs, client=False):
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    ctx.check_hostname = False
    if client:
        ctx.load_cert_chain(os.path.join(certs, "client.pem"), os.path.join(certs, "client.key"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_host_other_than_sni_with_client_verification_is_421(rampart, certs):
    r = rampart("""
    server {
        listen @LISTEN@ ssl default_server;
        server_name a.test;
        ssl_certificate @C@/ec-a.pem;
        ssl_certificate_key @C@/ec-a.key;
        location / { return 200 "a"; }
    }
    server {
        listen @LISTEN@ ssl;
        server_name b.test;
        ssl_certificate @C@/ec-b.pem;
        ssl_certificate_key @C@/ec-b.key;
        ssl_client_certificate @C@/ca.pem;
        ssl_verify_client on;
        location / { return 200 "b $ssl_client_verify"; }
    }
    server {
        listen @LISTEN@ ssl;
        server_name c.test;
        ssl_certificate @C@/ec-default.pem;
        ssl_certificate_key @C@/ec-default.key;
        location / { return 200 "c"; }
    }
    """.replace("@C@", certs))
    # the way in: SNI b.test with a client certificate
    assert _request(r.port, "b.test", "b.test", certs, client=True) == (200, b"b SUCCESS")
    # SNI a.test (no client check) must not reach b.test's content
    status, body = _request(r.port, "a.test", "b.test", certs)
    assert status == 421 and b"b " not in body
    # between two servers without client checks, Host decides (as nginx)
    assert _request(r.port, "a.test", "c.test", certs) == (200, b"c")
