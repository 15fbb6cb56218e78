"""TLS to backends (proxy_pass https://): verification, SNI, client
certificates, reuse of pooled TLS connections. The TLS backend is a second
rampart server block answering with what it saw of the connection."""

import os
import re
import subprocess
import time

import pytest

from helpers import Client, get, wait_for

MAKE_CERTS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tls", "make-certs.sh")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(["sh", MAKE_CERTS, str(d)], check=True, timeout=120)
    return str(d)


BACKEND = """
server {
    listen @LISTEN2@ ssl;
    server_name a.test;
    ssl_certificate @C@/ec-a.pem;
    ssl_certificate_key @C@/ec-a.key;
    ssl_client_certificate @C@/ca.pem;
    ssl_verify_client optional;
    location / {
        return 200 "sni=$ssl_server_name verify=$ssl_client_verify reused=$ssl_session_reused conn=$connection uri=$request_uri fwd=$http_x_from";
    }
}
"""


def _conf(certs, front):
    return (BACKEND + front).replace("@C@", certs)


def test_https_backend_verified_with_sni(rampart, certs):
    r = rampart(_conf(certs, """
    server {
        listen @LISTEN@;
        location / {
            proxy_pass https://@LISTEN2@;
            proxy_ssl_server_name on;
            proxy_ssl_name a.test;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate @C@/ca.pem;
            proxy_set_header X-From front;
        }
    }
    """))
    resp = get(r.port, "/x?y=1")
    assert resp.status == 200
    assert "sni=a.test" in resp.text and "uri=/x?y=1" in resp.text and "fwd=front" in resp.text
    assert "verify=NONE" in resp.text


@pytest.mark.rampart_only
def test_https_backend_pooled_connection_reused(rampart, certs):
    """Keep-alive TLS connections to the backend are pooled: several client
    requests travel over one backend connection (one handshake)."""
    r = rampart(_conf(certs, """
    server {
        listen @LISTEN@;
        location / { proxy_pass https://@LISTEN2@; }
    }
    """), workers=1)
    with Client(r.port) as c:
        seen = {re.search(r"conn=(\d+)", c.request("GET", "/%d" % i).text).group(1)
                for i in range(5)}
    assert len(seen) == 1


@pytest.mark.rampart_only
def test_https_backend_wrong_name_is_502_and_logged(rampart, certs):
    """A backend whose certificate fails verification gets no request: the
    client gets 502 and the error log says why."""
    r = rampart(_conf(certs, """
    server {
        listen @LISTEN@;
        location / {
            proxy_pass https://@LISTEN2@;
            proxy_ssl_name wrong.test;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate @C@/ca.pem;
        }
    }
    """))
    resp = get(r.port, "/secret")
    assert resp.status == 502
    assert "a.test" not in resp.text and "127.0.0.1" not in resp.text
    log = r.error_log()
    assert "hostname mismatch" in log
    # front and backend share the access log: only the front's 502 line
    assert wait_for(lambda: "GET /secret" in r.access_log(), timeout=3)
    time.sleep(0.2)
    lines = [l for l in r.access_log().splitlines() if "GET /secret" in l]
    assert len(lines) == 1 and '" 502 ' in lines[0]


def test_https_backend_untrusted_ca_is_502(rampart, certs):
    r = rampart(_conf(certs, """
    server {
        listen @LISTEN@;
        location / {
            proxy_pass https://@LISTEN2@;
            proxy_ssl_name a.test;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate @C@/other-ca.pem;
        }
    }
    """))
    assert get(r.port, "/").status == 502
    assert "certificate" in r.error_log()


def test_https_backend_client_certificate(rampart, certs):
    """proxy_ssl_certificate: rampart presents a client certificate the
    backend verifies (mTLS to backends)."""
    r = rampart(_conf(certs, """
    server {
        listen @LISTEN@;
        location / {
            proxy_pass https://@LISTEN2@;
            proxy_ssl_certificate @C@/client.pem;
            proxy_ssl_certificate_key @C@/client.key;
        }
    }
    """))
    resp = get(r.port, "/")
    assert resp.status == 200 and "verify=SUCCESS" in resp.text


@pytest.mark.rampart_only
def test_https_backend_bad_client_key_is_config_error(conf_test, certs):
    """A client key that does not match its certificate is caught at -t
    (nginx notices only when a request first uses it)."""
    rc, out, path = conf_test(_conf(certs, """
    server {
        listen @LISTEN@;
        location / {
            proxy_pass https://@LISTEN2@;
            proxy_ssl_certificate @C@/client.pem;
            proxy_ssl_certificate_key @C@/ec-a.key;
        }
    }
    """))
    assert rc == 1
    assert re.search(re.escape(path) + r":\d+", out), out
