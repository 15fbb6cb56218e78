"""proxy_pass URI rules (nginx docs, ngx_http_proxy_module "proxy_pass"):
with a URI in proxy_pass, the part of the normalized request URI matching
the location is replaced by it; without one, the request URI goes as the
client sent it. Query strings follow."""

import pytest

from helpers import Client

CONF = """
server {
    listen @LISTEN@;
    location /noruri/  { proxy_pass http://@b@; }
    location /root/    { proxy_pass http://@b@/; }
    location /app/     { proxy_pass http://@b@/v2/; }
    location /short    { proxy_pass http://@b@/long; }
    location ~ ^/re/   { proxy_pass http://@b@; }
    location = /exact  { proxy_pass http://@b@/other; }
}
"""

CASES = [
    # (client target, what the backend must receive)
    ("/noruri/x", "/noruri/x"),
    ("/noruri/x?a=1&b=2", "/noruri/x?a=1&b=2"),
    # no URI in proxy_pass: sent exactly as the client wrote it
    ("/noruri/a%20b", "/noruri/a%20b"),
    ("/noruri/%41b", "/noruri/%41b"),
    ("/noruri/./x/../y", "/noruri/./x/../y"),
    ("/noruri//dbl", "/noruri//dbl"),
    ("/root/x", "/x"),
    ("/root/", "/"),
    ("/root/x/y?q=1", "/x/y?q=1"),
    ("/app/x", "/v2/x"),
    ("/app/x?y=1", "/v2/x?y=1"),
    ("/app/", "/v2/"),
    # with a URI: the normalized, decoded URI is re-escaped
    ("/app/a%20b", "/v2/a%20b"),
    ("/app/%41b", "/v2/Ab"),
    ("/app/x/../y", "/v2/y"),
    ("/app/./x", "/v2/x"),
    ("/app/caf%C3%A9", "/v2/caf%C3%A9"),
    ("/short", "/long"),
    ("/shortcake", "/longcake"),
    ("/re/x?k=v", "/re/x?k=v"),
    ("/exact", "/other"),
    ("/exact?z=9", "/other?z=9"),
]


@pytest.fixture
def setup(rampart, backend):
    b = backend("b1")
    r = rampart(CONF, backends={"b": b})
    return r, b


def test_uri_table(setup):
    r, b = setup
    failures = []
    with Client(r.port) as c:
        for target, want in CASES:
            n = len(b.requests)
            resp = c.request("GET", target)
            if resp.status != 200 or len(b.requests) != n + 1:
                failures.append((target, "status %s" % resp.status))
                continue
            got = b.requests[-1].target
            if got != want:
                failures.append((target, got, want))
    assert not failures


def test_encoded_query_untouched(setup):
    r, b = setup
    with Client(r.port) as c:
        resp = c.request("GET", "/app/p?q=%2F%20+x&e=%00")
        assert resp.status == 200
    assert b.last.target == "/v2/p?q=%2F%20+x&e=%00"


def test_absolute_form_target_is_origin_form_to_backend(setup):
    r, b = setup
    with Client(r.port) as c:
        resp = c.request("GET", "http://localhost/root/abs?x=1")
        assert resp.status == 200
    assert b.last.target == "/abs?x=1"
