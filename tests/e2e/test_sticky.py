"""sticky cookie (NGINX Plus's directive): a client without the cookie is
balanced and gets `Set-Cookie` naming its server; with the cookie it stays
on that server, whatever the method; when that server cannot take the
request (down, failed, draining), another one answers and the cookie is
set again. Each test checks the cookies the client got and the requests
each backend received."""

import re
import time

import pytest

from helpers import get, send_response, wants_keepalive

pytestmark = pytest.mark.rampart_only


def named(b, req, sock):
    return send_response(sock, 200, [("Content-Type", "text/plain")],
                         ("ok from %s" % b.name).encode(), keepalive=wants_keepalive(req))


def conf(params="expires=1h path=/ httponly secure samesite=lax", extra=""):
    return """
    upstream app {
        %s
        server @a@;
        server @b@;
        server @c@;
        sticky cookie srv %s;
    }
    server {
        listen @LISTEN@;
        location / { proxy_pass http://app; }
        location /api/ { api write=on; }
    }
    """ % (extra, params)


def cookie_of(resp):
    sc = resp.header("Set-Cookie")
    if not sc:
        return None, None
    m = re.match(r"srv=([0-9a-f]{16})(.*)", sc)
    assert m, sc
    return m.group(1), m.group(2)


def test_sticky_keeps_and_moves(rampart, backend):
    bs = {n: backend(n, named) for n in "abc"}
    r = rampart(conf(), backends=bs)
    # without a cookie: round robin, each answer names its server
    seen = {}
    for i in range(6):
        resp = get(r.port, "/x%d" % i)
        assert resp.status == 200
        val, attrs = cookie_of(resp)
        assert val, resp
        # expires=1h path=/ httponly secure samesite=lax
        assert "max-age=3600" in attrs and "; path=/" in attrs and "HttpOnly" in attrs
        assert "Secure" in attrs and "SameSite=lax" in attrs and "expires=" in attrs
        seen.setdefault(resp.text, set()).add(val)
    assert sorted(seen) == ["ok from a", "ok from b", "ok from c"]
    assert all(len(v) == 1 for v in seen.values())  # one value per server
    vals = {k[-1]: next(iter(v)) for k, v in seen.items()}
    # with the cookie: always that server, and no new cookie
    before = {n: len(b.requests) for n, b in bs.items()}
    for i in range(20):
        resp = get(r.port, "/s%d" % i, headers=[("Cookie", "x=1; srv=%s; y=2" % vals["b"])])
        assert resp.text == "ok from b" and resp.header("Set-Cookie") is None
    assert len(bs["b"].requests) - before["b"] == 20
    assert len(bs["a"].requests) == before["a"] and len(bs["c"].requests) == before["c"]
    # an unknown or malformed value: balanced, and a cookie set
    for bad in ("0" * 16, "nothex", ""):
        resp = get(r.port, "/u", headers=[("Cookie", "srv=%s" % bad)])
        assert resp.status == 200 and cookie_of(resp)[0] in vals.values()
    # b taken down through the API: the client moves, the cookie follows
    import json
    import urllib.request
    req = urllib.request.Request("http://127.0.0.1:%d/api/upstreams/app/servers/1" % r.port,
                                 data=json.dumps({"down": True}).encode(), method="PATCH")
    assert urllib.request.urlopen(req, timeout=5).status == 200
    resp = get(r.port, "/m", headers=[("Cookie", "srv=%s" % vals["b"])])
    assert resp.status == 200 and resp.text in ("ok from a", "ok from c")
    newval, _ = cookie_of(resp)
    assert newval == vals[resp.text[-1]]
    # and stays on the new one
    for i in range(5):
        again = get(r.port, "/m%d" % i, headers=[("Cookie", "srv=%s" % newval)])
        assert again.text == resp.text and again.header("Set-Cookie") is None


def test_sticky_moves_when_server_fails(rampart, backend):
    a = backend("a", named)
    b = backend("b", named)
    c = backend("c", named)
    r = rampart(conf(params="", extra=""), backends={"a": a, "b": b, "c": c})
    vals = {}
    for i in range(3):
        resp = get(r.port, "/x%d" % i)
        vals[resp.text[-1]] = cookie_of(resp)[0]
    _, attrs = cookie_of(get(r.port, "/y"))
    assert attrs == ""  # a session cookie without attributes
    b.close()
    time.sleep(0.2)
    for i in range(5):
        resp = get(r.port, "/f%d" % i, headers=[("Cookie", "srv=%s" % vals["b"])])
        assert resp.status == 200 and resp.text in ("ok from a", "ok from c"), resp
        assert cookie_of(resp)[0] == vals[resp.text[-1]]


def test_sticky_config_errors(conf_test):
    for bad, msg in (("sticky route $x;", "\"sticky route\" is not supported yet"),
                     ("sticky cookie;", "invalid number of arguments"),
                     ("sticky cookie a;b;", "unknown directive"),
                     ("sticky cookie srv samesite=bogus;", "invalid parameter \"samesite=bogus\""),
                     ("sticky cookie srv expires=1x;", "invalid parameter \"expires=1x\""),
                     ("sticky cookie srv; sticky cookie x;", "is duplicate")):
        rc, out, path = conf_test("upstream app { server 127.0.0.1:9; %s }\n" % bad)
        assert rc != 0 and msg in out and path in out, (bad, out)
