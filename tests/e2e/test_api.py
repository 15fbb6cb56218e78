"""The runtime API (`api [write=on|off]` in a location): upstreams and
their servers as JSON, PATCH of a server's weight, max_conns, backup, down
and drain with no reload, the error answers, allow/deny in front of it, and
the rolling upgrade it exists for (drain, wait for idle, replace the
backend, undrain) under continuous traffic.

Every test checks the API's answer and what the backends received. The
API is rampart's own (nginx's open-source build has none): every test is
rampart_only.
"""

import json
import shutil
import subprocess
import threading
import time

import pytest

from helpers import (Client, build_request, get, raw_exchange, read_response, send_response,
                     wait_for, wants_keepalive)

pytestmark = pytest.mark.rampart_only

JSON_HDR = {"Content-Type": "application/json"}


# ---------------------------------------------------------------- helpers

def api(port, path, method="GET", body=None, prefix="/api"):
    """One API request on a fresh connection: (status, parsed JSON, Response)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    headers = JSON_HDR if body is not None else None
    resp = get(port, prefix + path, method=method, body=body, headers=headers)
    data = None
    if resp.body:
        data = json.loads(resp.body.decode("utf-8"))
    return resp.status, data, resp


def server_obj(port, ups, sid, prefix="/api"):
    st, data, _ = api(port, "/upstreams/%s/servers/%d" % (ups, sid), prefix=prefix)
    assert st == 200, data
    return data


def patch(port, ups, sid, change, expect=200):
    st, data, resp = api(port, "/upstreams/%s/servers/%d" % (ups, sid), "PATCH", change)
    assert st == expect, (change, st, data)
    assert resp.header("Content-Type") == "application/json"
    return data


def patch_at(port, prefix, change):
    st, data, resp = api(port, "/upstreams/app/servers/0", "PATCH", change, prefix=prefix)
    assert st == 200, data
    return data


def config_fields(s):
    """The changeable part of a server object."""
    return {k: s[k] for k in ("weight", "max_conns", "backup", "down", "drain")}


def assert_error(status, data, resp, code, want_status):
    assert status == want_status, (status, data)
    assert resp.header("Content-Type") == "application/json"
    assert set(data) == {"error"}, data
    err = data["error"]
    assert err["status"] == want_status
    assert err["code"] == code, err
    assert isinstance(err["text"], str) and err["text"], err


def named_handler(slow_path=None, delay=0.0, pause=0.0):
    """'ok from <name>'; every request gets .t (arrival, monotonic); a
    target starting with slow_path waits delay seconds first, others
    pause seconds."""
    def h(b, req, sock):
        req.t = time.monotonic()
        if slow_path is not None and req.target.startswith(slow_path):
            time.sleep(delay)
        elif pause:
            time.sleep(pause)
        return send_response(sock, 200, [("Content-Type", "text/plain")],
                             "ok from %s" % b.name, keepalive=wants_keepalive(req))
    return h


def name_of(resp):
    if resp is None or resp.status != 200 or not resp.text.startswith("ok from "):
        return None
    return resp.text[len("ok from "):]


def spread(port, n, path="/"):
    """n sequential requests, each on a fresh connection (so both worker
    threads take some); returns {backend name: count}; any failure fails."""
    out = {}
    for _ in range(n):
        r = get(port, path)
        name = name_of(r)
        assert name is not None, r
        out[name] = out.get(name, 0) + 1
    return out


def received(*backends):
    return [len(b.requests) for b in backends]


def conf(upstreams, extra_locations=""):
    return """
    %s
    server {
        listen @LISTEN@;
        keepalive_requests 100000;
        location / { proxy_pass http://app; }
        location /api/ { api write=on; }
        location /ro/ { api; }
        %s
    }
    """ % (upstreams, extra_locations)


# ---------------------------------------------------------------- GET

def test_get_endpoints(rampart, backend):
    a = backend("a", named_handler())
    b = backend("b", named_handler())
    c = backend("c", named_handler())
    http = conf("""
    upstream app {
        server @a@;
        server @b@ weight=2 max_conns=10 max_fails=3 fail_timeout=7s;
        keepalive 8;
    }
    upstream checked {
        least_conn;
        server @c@;
        health_check interval=200ms uri=/hc;
    }
    """, """
        location /chk/ { proxy_pass http://checked; }
        location /imp/ { proxy_pass http://@c@; }
        location /deep/admin/ { api; }
    """)
    r = rampart(http, backends={"a": a, "b": b, "c": c})
    port = r.port

    # a path without "/upstreams" lists what there is
    st, data, resp = api(port, "/")
    assert st == 200 and data == ["upstreams"]
    assert resp.header("Content-Type") == "application/json"

    # wait for the checker's first verdicts on c
    assert wait_for(lambda: any(rq.target == "/hc" for rq in c.requests), 5.0)
    assert wait_for(lambda: server_obj(port, "checked", 0)["health_checks"]["checks"] >= 1, 5.0)

    st, data, resp = api(port, "/upstreams")
    assert st == 200 and resp.header("Content-Type") == "application/json"
    # the implicit upstream of `proxy_pass http://host:port` is not listed
    assert set(data) == {"app", "checked"}

    app = data["app"]
    assert app["name"] == "app"
    assert app["method"] == "round_robin"
    assert app["keepalive"] == 8
    assert app["health_check"] is False
    s0, s1 = app["servers"]
    assert (s0["id"], s1["id"]) == (0, 1)
    assert s0["server"] == a.addr and s1["server"] == b.addr
    assert (s0["weight"], s1["weight"]) == (1, 2)
    assert (s0["max_conns"], s1["max_conns"]) == (0, 10)
    assert s1["max_fails"] == 3 and s1["fail_timeout_ms"] == 7000
    assert s0["slow_start_ms"] == 0
    for s in (s0, s1):
        assert s["backup"] is False and s["down"] is False and s["drain"] is False
        assert s["state"] == "up" and s["idle"] is True and s["active"] == 0
        assert s["requests"] == 0 and s["fails"] == 0
        assert "health_checks" not in s
        assert isinstance(s["header_time_ms"], (int, float))
        assert isinstance(s["response_time_ms"], (int, float))

    chk = data["checked"]
    assert chk["method"] == "least_conn" and chk["health_check"] is True
    (cs,) = chk["servers"]
    assert cs["server"] == c.addr
    hc = cs["health_checks"]
    assert hc["checks"] >= 1 and hc["healthy"] is True and hc["last_status"] == 200
    assert hc["fails"] == 0

    # the other endpoints return the same objects
    st, up, _ = api(port, "/upstreams/app")
    assert st == 200 and up["name"] == "app" and len(up["servers"]) == 2
    st, servers, _ = api(port, "/upstreams/app/servers")
    assert st == 200 and isinstance(servers, list)
    assert [s["server"] for s in servers] == [a.addr, b.addr]
    one = server_obj(port, "app", 1)
    assert one["id"] == 1 and one["server"] == b.addr and one["weight"] == 2

    # any location prefix works; read-only GET on the `api;` location too
    for prefix in ("/ro", "/deep/admin"):
        st, other, _ = api(port, "/upstreams/app/servers/1", prefix=prefix)
        assert st == 200 and config_fields(other) == config_fields(one)

    # HEAD: same head, no body
    resp = get(port, "/api/upstreams/app", method="HEAD")
    assert resp.status == 200 and resp.body == b""
    assert int(resp.header("Content-Length")) > 0

    # traffic moves the counters, and they match what the backends received
    got = spread(port, 30)
    assert got == {"a": 10, "b": 20}
    assert received(a, b) == [10, 20]
    servers = api(port, "/upstreams/app/servers")[1]
    assert [s["requests"] for s in servers] == [10, 20]
    assert all(s["idle"] and s["active"] == 0 for s in servers)
    assert all(s["response_time_ms"] >= s["header_time_ms"] >= 0 for s in servers)
    # the checked upstream carries its own counter
    assert get(port, "/chk/x").status == 200
    cs = server_obj(port, "checked", 0)
    assert cs["requests"] == 1
    assert [rq.target for rq in c.requests if rq.target != "/hc"] == ["/chk/x"]
    # API requests are not proxied anywhere
    assert all(rq.target == "/" for rq in a.requests + b.requests)


# ---------------------------------------------------------------- PATCH

def test_patch_weight_applies_at_once(rampart, backend):
    a = backend("a", named_handler())
    b = backend("b", named_handler())
    r = rampart(conf("upstream app { server @a@; server @b@; }"), backends={"a": a, "b": b})
    got = spread(r.port, 40)
    assert abs(got.get("a", 0) - 20) <= 2 and abs(got.get("b", 0) - 20) <= 2, got
    before = received(a, b)

    s = patch(r.port, "app", 0, {"weight": 3})
    assert s["id"] == 0 and s["server"] == a.addr and s["weight"] == 3
    assert server_obj(r.port, "app", 0)["weight"] == 3
    assert server_obj(r.port, "app", 1)["weight"] == 1

    got = spread(r.port, 400)
    assert abs(got.get("a", 0) - 300) <= 2 and abs(got.get("b", 0) - 100) <= 2, got
    after = received(a, b)
    assert abs((after[0] - before[0]) - 300) <= 2 and abs((after[1] - before[1]) - 100) <= 2

    # and back, plus max_conns in the same object
    s = patch(r.port, "app", 0, {"weight": 1, "max_conns": 50})
    assert s["weight"] == 1 and s["max_conns"] == 50
    got = spread(r.port, 100)
    assert abs(got.get("a", 0) - 50) <= 2 and abs(got.get("b", 0) - 50) <= 2, got


def test_patch_down_and_back(rampart, backend):
    bs = [backend(n, named_handler()) for n in ("a", "b", "c")]
    r = rampart(conf("upstream app { server @a@; server @b@; server @c@; }"),
                backends={x.name: x for x in bs})
    assert spread(r.port, 30) == {"a": 10, "b": 10, "c": 10}

    s = patch(r.port, "app", 1, {"down": True})
    assert s["down"] is True and s["state"] == "down"
    before_b = len(bs[1].requests)
    got = spread(r.port, 60)
    assert got == {"a": 30, "c": 30}, got
    assert len(bs[1].requests) == before_b  # b received nothing at all

    s = patch(r.port, "app", 1, {"down": False})
    assert s["down"] is False and s["state"] == "up"
    got = spread(r.port, 60)
    assert got == {"a": 20, "b": 20, "c": 20}, got
    assert len(bs[1].requests) == before_b + 20
    assert [s["requests"] for s in api(r.port, "/upstreams/app/servers")[1]] == \
        received(*bs) == [60, 30, 60]


def test_patch_backup(rampart, backend):
    """backup=true takes a server out of the normal rotation: it gets
    requests only when no primary is usable."""
    a = backend("a", named_handler())
    b = backend("b", named_handler())
    r = rampart(conf("upstream app { server @a@; server @b@; }"), backends={"a": a, "b": b})
    s = patch(r.port, "app", 1, {"backup": True})
    assert s["backup"] is True
    assert spread(r.port, 20) == {"a": 20}
    assert received(a, b) == [20, 0]
    patch(r.port, "app", 0, {"down": True})
    assert spread(r.port, 10) == {"b": 10}
    assert received(a, b) == [20, 10]
    patch(r.port, "app", 0, {"down": False})
    patch(r.port, "app", 1, {"backup": False})
    assert spread(r.port, 20) == {"a": 10, "b": 10}


def test_drain_lets_inflight_finish(rampart, backend):
    slow = 1.5
    a = backend("a", named_handler("/slow", slow))
    b = backend("b", named_handler("/slow", slow))
    r = rampart(conf("upstream app { server @a@; server @b@; keepalive 4; }"),
                backends={"a": a, "b": b})
    result = {}

    def long_request():
        try:
            result["resp"] = get(r.port, "/slow", timeout=10.0)
        except Exception as e:  # reported by the assertion below
            result["resp"] = e

    t0 = time.monotonic()
    t = threading.Thread(target=long_request, daemon=True)
    t.start()
    assert wait_for(lambda: len(a.requests) + len(b.requests) == 1, 3.0)
    busy, other = (a, b) if a.requests else (b, a)
    sid = 0 if busy is a else 1

    s = patch(r.port, "app", sid, {"drain": True})
    assert s["drain"] is True and s["state"] == "draining"
    assert s["idle"] is False and s["active"] == 1
    # no new request reaches the draining server while the long one runs
    got = spread(r.port, 20)
    assert got == {other.name: 20}, got
    assert len(busy.requests) == 1 and len(other.requests) == 20
    s = server_obj(r.port, "app", sid)
    assert time.monotonic() - t0 < slow, "the check ran too late to mean anything"
    assert s["state"] == "draining" and s["idle"] is False and s["active"] == 1

    t.join(10)
    resp = result.get("resp")
    assert not isinstance(resp, Exception) and resp is not None, resp
    assert resp.status == 200 and resp.text == "ok from %s" % busy.name
    assert time.monotonic() - t0 >= slow
    assert wait_for(lambda: server_obj(r.port, "app", sid)["idle"], 2.0)
    s = server_obj(r.port, "app", sid)
    assert s["state"] == "draining" and s["active"] == 0 and s["requests"] == 1
    assert spread(r.port, 10) == {other.name: 10}
    assert len(busy.requests) == 1

    s = patch(r.port, "app", sid, {"drain": False})
    assert s["drain"] is False and s["state"] == "up"
    got = spread(r.port, 20)
    assert got == {"a": 10, "b": 10}, got
    assert len(busy.requests) == 11


def test_reload_starts_from_configuration(rampart, backend):
    a = backend("a", named_handler())
    b = backend("b", named_handler())
    r = rampart(conf("upstream app { server @a@ weight=2; server @b@; }"),
                backends={"a": a, "b": b})
    patch(r.port, "app", 0, {"weight": 7, "down": True})
    assert spread(r.port, 6) == {"b": 6}
    assert r.reload(check=lambda: server_obj(r.port, "app", 0)["down"] is False)
    s = server_obj(r.port, "app", 0)
    assert s["weight"] == 2 and s["drain"] is False
    # the counters start again with the new configuration
    assert [s["requests"] for s in api(r.port, "/upstreams/app/servers")[1]] == [0, 0]
    got = spread(r.port, 30)
    assert got == {"a": 20, "b": 10}, got
    assert received(a, b) == [20, 16]
    assert [s["requests"] for s in api(r.port, "/upstreams/app/servers")[1]] == [20, 10]


# ---------------------------------------------------------------- errors

BAD_BODIES = [
    "",
    "not json",
    "{}",
    "[]",
    '[{"weight": 2}]',
    '"weight"',
    '{"weight": 0}',
    '{"weight": 1000001}',
    '{"weight": -1}',
    '{"weight": "2"}',
    '{"weight": 2.5}',
    '{"weight": 2e1}',
    '{"weight": 05}',
    '{"weight": null}',
    '{"weight": true}',
    '{"max_conns": -1}',
    '{"max_conns": 1000000001}',
    '{"down": 1}',
    '{"down": "true"}',
    '{"drain": null}',
    '{"backup": 0}',
    '{"weight": 2, "weight": 3}',
    '{"down": false, "down": false}',
    '{"weight": 2, "color": "red"}',
    '{"id": 0}',
    '{"server": "127.0.0.1:1"}',
    '{"Weight": 2}',
    '{"weight": 2,}',
    '{"weight": 2',
    '{"weight" 2}',
    "{'weight': 2}",
    '{"weight": 2} x',
    '{"weight": 2}{"weight": 3}',
    '{"down": true, "weight": 0}',
]


def test_bad_bodies_change_nothing(rampart, backend):
    a = backend("a", named_handler())
    b = backend("b", named_handler())
    r = rampart(conf("upstream app { server @a@ weight=2 max_conns=5; server @b@; }"),
                backends={"a": a, "b": b})
    before = [config_fields(server_obj(r.port, "app", i)) for i in (0, 1)]
    assert before[0] == {"weight": 2, "max_conns": 5, "backup": False, "down": False,
                         "drain": False}
    for body in BAD_BODIES:
        st, data, resp = api(r.port, "/upstreams/app/servers/0", "PATCH", body)
        assert_error(st, data, resp, "BadRequest", 400)
        after = [config_fields(server_obj(r.port, "app", i)) for i in (0, 1)]
        assert after == before, body
    # the request passed none of them on, and traffic is as configured
    assert received(a, b) == [0, 0]
    assert spread(r.port, 30) == {"a": 20, "b": 10}

    # backup makes no sense with a hash: refused, nothing changed
    http2 = conf("""
    upstream app { server @a@; server @b@; }
    upstream hashed { hash $request_uri; server @a@; server @b@; }
    """)
    r2 = rampart(http2, backends={"a": a, "b": b})
    st, data, resp = api(r2.port, "/upstreams/hashed/servers/1", "PATCH",
                         {"backup": True, "weight": 9})
    assert_error(st, data, resp, "BadRequest", 400)
    s = server_obj(r2.port, "hashed", 1)
    assert s["backup"] is False and s["weight"] == 1


def test_not_found(rampart, backend):
    a = backend("a", named_handler())
    b = backend("b", named_handler())
    http = conf("upstream app { server @a@; server @b@; }",
                "location /imp/ { proxy_pass http://@b@; }")
    r = rampart(http, backends={"a": a, "b": b})
    cases = [
        ("/upstreams/nope", "UpstreamNotFound"),
        ("/upstreams/nope/servers", "UpstreamNotFound"),
        ("/upstreams/nope/servers/0", "UpstreamNotFound"),
        ("/upstreams/APP", "UpstreamNotFound"),
        # the implicit upstream of `proxy_pass http://host:port`
        ("/upstreams/%s" % b.addr, "UpstreamNotFound"),
        ("/upstreams/app/servers/2", "UpstreamServerNotFound"),
        ("/upstreams/app/servers/999999", "UpstreamServerNotFound"),
        ("/upstreams/app/servers/x", "NotFound"),
        ("/upstreams/app/servers/-1", "NotFound"),
        ("/upstreams/app/servers/0/extra", "NotFound"),
        ("/upstreams/app/peers", "NotFound"),
        ("/upstreams/app/peers/0", "NotFound"),
    ]
    for path, code in cases:
        st, data, resp = api(r.port, path)
        assert_error(st, data, resp, code, 404)
        # PATCH answers the same, and changes nothing
        if "/servers/" in path:
            st, data, resp = api(r.port, path, "PATCH", {"down": True})
            assert_error(st, data, resp, code, 404)
    assert all(not s["down"] for s in api(r.port, "/upstreams/app/servers")[1])
    assert spread(r.port, 10) == {"a": 5, "b": 5}
    assert received(a, b) == [5, 5]


def test_methods(rampart, backend):
    a = backend("a", named_handler())
    b = backend("b", named_handler())
    r = rampart(conf("upstream app { server @a@; server @b@; }"), backends={"a": a, "b": b})
    before = config_fields(server_obj(r.port, "app", 0))

    # PATCH on the read-only location
    st, data, resp = api(r.port, "/upstreams/app/servers/0", "PATCH", {"down": True},
                         prefix="/ro")
    assert_error(st, data, resp, "MethodDisabled", 405)
    # DELETE and POST on the read-only location
    st, data, resp = api(r.port, "/upstreams/app/servers/0", "DELETE", None, prefix="/ro")
    assert_error(st, data, resp, "MethodDisabled", 405)
    st, data, resp = api(r.port, "/upstreams/app/servers", "POST", '{"server": "127.0.0.1:9"}',
                         prefix="/ro")
    assert_error(st, data, resp, "MethodDisabled", 405)
    # other methods on the write location (POST adds to .../servers only)
    for method in ("POST", "PUT", "OPTIONS"):
        body = '{"down": true}' if method in ("POST", "PUT") else None
        st, data, resp = api(r.port, "/upstreams/app/servers/0", method, body)
        assert_error(st, data, resp, "MethodNotAllowed", 405)
    # PATCH where there is nothing to patch
    for path in ("/", "/upstreams", "/upstreams/app", "/upstreams/app/servers"):
        st, data, resp = api(r.port, path, "PATCH", {"down": True})
        assert_error(st, data, resp, "MethodNotAllowed", 405)
    assert config_fields(server_obj(r.port, "app", 0)) == before

    # a refused request's unread body is never taken for the next request
    data = build_request("POST", "/api/upstreams/app/servers/0",
                         body="GET /api/upstreams HTTP/1.1\r\nHost: x\r\n\r\n") + \
        build_request("GET", "/api/upstreams/app/servers/0")
    resps, closed = raw_exchange(r.port, data)
    assert resps[0].status == 405
    assert all(x.status in (200, 405) for x in resps), resps
    if len(resps) > 1:
        assert len(resps) == 2 and json.loads(resps[1].text)["id"] == 0
    else:
        assert closed

    # a good PATCH keeps the connection, and a chunked body works
    with Client(r.port) as c:
        resp = c.request("PATCH", "/api/upstreams/app/servers/0",
                         headers=[("Transfer-Encoding", "chunked")],
                         body=b"6\r\n{\"weig\r\n7\r\nht\": 4}\r\n0\r\n\r\n")
        assert resp.status == 200 and json.loads(resp.text)["weight"] == 4
        resp = c.request("GET", "/api/upstreams/app/servers/0")
        assert resp.status == 200 and json.loads(resp.text)["weight"] == 4
    assert received(a, b) == [0, 0]
    assert spread(r.port, 10) == {"a": 8, "b": 2}


def test_patch_expect_continue(rampart, backend):
    """A PATCH with `Expect: 100-continue` gets the interim 100 before it
    sends its body (as a proxied request does), then the change."""
    a = backend("a", named_handler())
    r = rampart(conf("upstream app { server @a@; }"), backends={"a": a})
    body = b'{"weight": 6}'
    with Client(r.port, timeout=3.0) as c:
        c.send(build_request("PATCH", "/api/upstreams/app/servers/0",
                             headers=[("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body))),
                                      ("Expect", "100-continue")]))
        try:
            interim = read_response(c.reader, "PATCH", skip_interim=False)
        except OSError:
            interim = None
        assert interim is not None and interim.status == 100, \
            "no 100 Continue for an API PATCH with Expect: 100-continue"
        c.send(body)
        resp = c.response("PATCH")
        assert resp.status == 200 and json.loads(resp.text)["weight"] == 6
    assert server_obj(r.port, "app", 0)["weight"] == 6
    assert a.requests == []


def test_allow_deny(rampart, backend):
    a = backend("a", named_handler())
    http = """
    upstream app { server @a@; }
    server {
        listen @LISTEN@;
        location / { proxy_pass http://app; }
        location /open/ { api write=on; allow 127.0.0.1; deny all; }
        location /wrongnet/ { api write=on; allow 10.0.0.0/8; deny all; }
        location /closed/ { api write=on; deny 127.0.0.0/8; }
        location /v6only/ { api; allow ::1; deny all; }
        location = /closed/ret { deny all; return 200 "still answered\\n"; }
        location /proxied/ { deny 127.0.0.1; proxy_pass http://app; }
    }
    """
    r = rampart(http, backends={"a": a})
    st, data, _ = api(r.port, "/upstreams/app/servers/0", prefix="/open")
    assert st == 200 and data["server"] == a.addr
    s = patch_at(r.port, "/open", {"weight": 3})
    assert s["weight"] == 3

    for prefix in ("/wrongnet", "/closed", "/v6only"):
        resp = get(r.port, prefix + "/upstreams")
        assert resp.status == 403, (prefix, resp)
        assert b"upstreams" not in resp.body
        resp = get(r.port, prefix + "/upstreams/app/servers/0", method="PATCH",
                   body='{"down": true}', headers=JSON_HDR)
        assert resp.status == 403, (prefix, resp)
    s = server_obj(r.port, "app", 0, prefix="/open")
    assert s["down"] is False and s["weight"] == 3
    assert "access forbidden by rule" in r.error_log()

    # `return` runs before allow/deny
    resp = get(r.port, "/closed/ret")
    assert resp.status == 200 and resp.text == "still answered\n"
    # deny in front of a proxied location: the backend sees nothing
    assert get(r.port, "/proxied/x").status == 403
    assert get(r.port, "/x").status == 200
    assert [rq.target for rq in a.requests] == ["/x"]


# ---------------------------------------------------------------- rolling upgrade

def test_rolling_upgrade_loses_nothing(rampart, backend):
    """Three backends behind round robin, four clients looping on
    keep-alive connections; each backend in turn is drained, waited for
    (idle), stopped, replaced by a new process on the same address and
    undrained. No client request may fail, no request may reach a backend
    while it is drained or gone, and every replacement must serve."""
    handler = named_handler(pause=0.003)
    olds = [backend("old%d" % i, handler) for i in range(3)]
    http = """
    upstream app {
        server @b0@;
        server @b1@;
        server @b2@;
        keepalive 16;
    }
    server {
        listen @LISTEN@;
        keepalive_requests 100000;
        location / { proxy_pass http://app; }
        location /api/ { api write=on; }
    }
    """
    r = rampart(http, backends={"b%d" % i: b for i, b in enumerate(olds)})
    port = r.port

    stop = threading.Event()
    lock = threading.Lock()
    ok = []  # (time, backend name)
    failures = []
    deadline = time.monotonic() + 25.0

    def client_loop(k):
        c = None
        n = 0
        while not stop.is_set() and n < 20000 and time.monotonic() < deadline:
            n += 1
            try:
                if c is None:
                    c = Client(port, timeout=5.0)
                resp = c.request("GET", "/item/%d/%d" % (k, n))
                name = name_of(resp)
                if name is None:
                    raise AssertionError("bad response %r" % resp)
                with lock:
                    ok.append((time.monotonic(), name))
                if (resp.header("Connection") or "").lower() == "close":
                    c.close()
                    c = None
            except Exception as e:
                with lock:
                    failures.append((time.monotonic(), k, n, repr(e)))
                if c is not None:
                    c.close()
                c = None
        if c is not None:
            c.close()

    threads = [threading.Thread(target=client_loop, args=(k,), daemon=True) for k in range(4)]
    for t in threads:
        t.start()
    steps = []
    news = []
    try:
        time.sleep(0.5)
        for i, old in enumerate(olds):
            step = {}
            step["drain"] = time.monotonic()
            s = patch(port, "app", i, {"drain": True})
            assert s["drain"] is True and s["state"] == "draining"
            assert wait_for(lambda: server_obj(port, "app", i)["idle"], 5.0), \
                "server %d never became idle" % i
            step["idle"] = time.monotonic()
            s = server_obj(port, "app", i)
            assert s["state"] == "draining" and s["active"] == 0
            # still running, drained: it must get nothing now
            time.sleep(0.3)
            step["stop"] = time.monotonic()
            old.close()
            time.sleep(0.3)
            new = backend("new%d" % i, handler, port=old.port)
            news.append(new)
            time.sleep(0.2)
            step["undrain"] = time.monotonic()
            s = patch(port, "app", i, {"drain": False})
            assert s["drain"] is False and s["state"] == "up"
            assert new.wait_requests(5, 3.0), "replacement %d got no traffic" % i
            step["done"] = time.monotonic()
            steps.append(step)
            time.sleep(0.2)
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not any(t.is_alive() for t in threads)

    assert failures == [], failures[:10]
    served = {}
    for _, name in ok:
        served[name] = served.get(name, 0) + 1
    assert len(ok) > 500, "too little traffic to mean anything: %d" % len(ok)
    for i in range(3):
        assert served.get("old%d" % i, 0) > 0, served
        assert served.get("new%d" % i, 0) > 0, served
        # nothing reached the old one after it was seen idle (drained)
        late = [rq.t for rq in olds[i].requests if rq.t >= steps[i]["idle"]]
        assert late == [], "old%d got %d requests while drained" % (i, len(late))
        # nothing reached the replacement before its undrain
        early = [rq.t for rq in news[i].requests if rq.t < steps[i]["undrain"]]
        assert early == [], "new%d got %d requests before undrain" % (i, len(early))
        # clients saw no answer from old i after its drain completed
        assert not [t for t, n in ok if n == "old%d" % i and t > steps[i]["idle"] + 0.05]
    # every request was answered once: no retry hid a failure
    total_backend = sum(len(b.requests) for b in olds + news)
    assert total_backend == len(ok), (total_backend, len(ok))
    servers = api(port, "/upstreams/app/servers")[1]
    assert sum(s["requests"] for s in servers) == len(ok)
    assert all(s["state"] == "up" and s["fails"] == 0 for s in servers), servers
    log = r.error_log()
    for bad in ("[error]", "[crit]", "[alert]", "[emerg]", "temporarily disabled"):
        assert bad not in log, log[-3000:]
    assert " 502 " not in r.access_log() and " 504 " not in r.access_log()


# ---------------------------------------------------------------- HTTP/2

@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_api_over_http2(rampart, backend):
    a = backend("a", named_handler())
    http = """
    upstream app { server @a@; server @a@ weight=2; }
    server {
        listen @LISTEN@ http2;
        location / { proxy_pass http://app; }
        location /api/ { api write=on; }
    }
    """
    r = rampart(http, backends={"a": a})
    base = "http://127.0.0.1:%d/api/upstreams/app/servers/1" % r.port

    def curl(*args):
        p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-m", "5",
                            "-w", "\n%{http_code} %{http_version}"] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        out = p.stdout.decode()
        body, _, tail = out.rpartition("\n")
        code, version = tail.split()
        return int(code), version, body

    code, version, body = curl(base)
    assert (code, version) == (200, "2")
    s = json.loads(body)
    assert s["id"] == 1 and s["weight"] == 2 and s["server"] == a.addr
    code, version, body = curl("-X", "PATCH", "-H", "Content-Type: application/json",
                               "--data-binary", '{"weight": 5}', base)
    assert (code, version) == (200, "2") and json.loads(body)["weight"] == 5
    code, version, body = curl("-X", "PATCH", "--data-binary", '{"weight": 0}', base)
    assert (code, version) == (400, "2")
    assert json.loads(body)["error"]["code"] == "BadRequest"
    code, version, body = curl(base)
    assert (code, version) == (200, "2") and json.loads(body)["weight"] == 5
    # the API answered itself; proxied traffic over h2 still reaches the backend
    assert a.requests == []
    code, version, body = curl("http://127.0.0.1:%d/via-h2" % r.port)
    assert (code, version, body) == (200, "2", "ok from a")
    assert [rq.target for rq in a.requests] == ["/via-h2"]


@pytest.mark.rampart_only
def test_add_and_remove_servers(rampart, backend):
    """POST .../servers adds a server that takes traffic at once, with no
    reload; DELETE removes one: it gets no new request and disappears from
    the listing (its id is not reused). Bad additions change nothing."""
    a = backend("a", named_handler())
    b = backend("b", named_handler())
    c = backend("c", named_handler())
    r = rampart(conf("upstream app { server @a@; }"), backends={"a": a})
    assert spread(r.port, 6) == {"a": 6}
    st, data, resp = api(r.port, "/upstreams/app/servers", "POST",
                         {"server": b.addr, "weight": 2})
    assert st == 201, data
    assert data["id"] == 1 and data["server"] == b.addr and data["weight"] == 2
    assert spread(r.port, 30) == {"a": 10, "b": 20}
    # the same address again, a name, no port, junk: refused, nothing added
    for body in ({"server": b.addr}, {"server": "localhost:80"}, {"server": "127.0.0.1"},
                 {"weight": 2}, {"server": 5}):
        st, data, resp = api(r.port, "/upstreams/app/servers", "POST", body)
        assert st in (400, 409), (body, st, data)
    st, data, _ = api(r.port, "/upstreams/app/servers", "POST", {"server": c.addr})
    assert st == 201 and data["id"] == 2
    st, data, _ = api(r.port, "/upstreams/app/servers/0", "DELETE", None)
    assert st == 200 and [x["id"] for x in data] == [1, 2]
    before = len(a.requests)
    got = spread(r.port, 30)
    assert got == {"b": 20, "c": 10}, got
    assert len(a.requests) == before
    st, data, resp = api(r.port, "/upstreams/app/servers/0", "GET", None)
    assert_error(st, data, resp, "UpstreamServerNotFound", 404)
    st, data, resp = api(r.port, "/upstreams/app/servers/0", "DELETE", None)
    assert_error(st, data, resp, "UpstreamServerNotFound", 404)


@pytest.mark.rampart_only
def test_state_file_keeps_servers(rampart, backend, tmp_path):
    """`state FILE`: the servers live in the file; every change through the
    API rewrites it, and a reload (or restart) starts from it."""
    a = backend("a", named_handler())
    b = backend("b", named_handler())
    state = tmp_path / "app.state"
    state.write_text("server %s;\n" % a.addr)
    r = rampart(conf("upstream app { state %s; }" % state), backends={})
    assert spread(r.port, 4) == {"a": 4}
    st, data, _ = api(r.port, "/upstreams/app/servers", "POST",
                      {"server": b.addr, "weight": 3, "drain": False})
    assert st == 201
    text = state.read_text()
    assert ("server %s weight=3" % b.addr) in text and a.addr in text, text
    st, _, _ = api(r.port, "/upstreams/app/servers/0", "PATCH", {"down": True})
    assert st == 200
    assert " down;" in state.read_text()
    r.reload()
    time.sleep(0.5)
    got = spread(r.port, 9)
    assert got == {"b": 9}, got  # a stays down after the reload
    st, data, _ = api(r.port, "/upstreams/app/servers", "GET", None)
    assert [x["server"] for x in data] == [a.addr, b.addr]
    assert data[0]["down"] is True and data[1]["weight"] == 3


@pytest.mark.rampart_only
def test_state_file_errors(conf_test, tmp_path):
    """A broken state file is a configuration error naming the state file
    and its line; `server` lines next to `state` are refused."""
    state = tmp_path / "bad.state"
    state.write_text("server 127.0.0.1:9001;\nserver 127.0.0.1:9002 weight=0;\n")
    rc, out, _ = conf_test("upstream app { state %s; }\n" % state)
    assert rc != 0 and "invalid parameter \"weight=0\"" in out and "%s:2" % state in out, out
    state.write_text("backend 127.0.0.1:9001;\n")
    rc, out, _ = conf_test("upstream app { state %s; }\n" % state)
    assert rc != 0 and "invalid line in state file" in out and "%s:1" % state in out, out
    rc, out, path = conf_test("upstream app {\n state %s;\n server 127.0.0.1:9;\n}\n" % state)
    assert rc != 0 and "\"server\" cannot be used with \"state\"" in out, out
    state.unlink()
    rc, out, _ = conf_test("upstream app { state %s; }\n" % state)
    assert rc == 0, out  # a missing file is an empty upstream
