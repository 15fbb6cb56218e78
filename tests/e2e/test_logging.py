"""Access log: the default combined format, log_format, access_log off."""

import os
import re
import time

from helpers import get, wait_for

COMBINED = re.compile(
    r'^(?P<addr>\S+) - (?P<user>\S+) \[(?P<time>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<ua>[^"]*)"$')


def _lines(text, needle):
    return [l for l in text.splitlines() if needle in l]


def test_default_combined_format(rampart, backend):
    b = backend("b1")
    r = rampart("""
    server {
        listen @LISTEN@;
        location / { proxy_pass http://@b@; }
        location /missing { return 404; }
    }
    """, backends={"b": b})
    resp = get(r.port, "/logged?q=1", headers=[("Referer", "http://ref.test/"),
                                               ("User-Agent", "e2e-agent/1.0")])
    assert resp.status == 200
    get(r.port, "/missing")
    assert wait_for(lambda: _lines(r.access_log(), "/missing"), 3)
    line = _lines(r.access_log(), "/logged")[0]
    m = COMBINED.match(line)
    assert m, line
    assert m["addr"] == "127.0.0.1"
    assert m["user"] == "-"
    assert m["request"] == "GET /logged?q=1 HTTP/1.1"
    assert m["status"] == "200"
    assert int(m["bytes"]) == len(b"ok from b1")
    assert m["referer"] == "http://ref.test/"
    assert m["ua"] == "e2e-agent/1.0"
    m2 = COMBINED.match(_lines(r.access_log(), "/missing")[0])
    assert m2["status"] == "404"
    assert m2["referer"] == "-" and m2["ua"] == "-"


def test_custom_log_format(rampart, backend):
    b = backend("b1")
    r = rampart("""
    log_format custom '$remote_addr|$request_method|$uri|$args|$status|$body_bytes_sent|'
                      '$http_x_test|$upstream_status|$server_port|$host|$request_uri';
    server {
        listen @LISTEN@;
        access_log @TMP@/custom.log custom;
        location / { proxy_pass http://@b@; }
    }
    """, backends={"b": b})
    get(r.port, "/path/x?a=b", headers=[("X-Test", "hdrval")], host="vhost.test")
    path = os.path.join(r.tmp, "custom.log")

    def read():
        try:
            return open(path).read()
        except OSError:
            return ""
    assert wait_for(lambda: "/path/x" in read(), 3)
    fields = read().splitlines()[-1].split("|")
    assert fields == ["127.0.0.1", "GET", "/path/x", "a=b", "200", str(len(b"ok from b1")),
                      "hdrval", "200", str(r.port), "vhost.test", "/path/x?a=b"]
    # the http-level access_log is replaced in this server
    assert "/path/x" not in r.access_log()


def test_log_format_timing_vars(rampart, backend):
    b = backend("b1")
    r = rampart("""
    log_format t '$request_time $upstream_response_time $upstream_addr $msec $time_iso8601';
    server {
        listen @LISTEN@;
        access_log @TMP@/t.log t;
        location / { proxy_pass http://@b@; }
    }
    """, backends={"b": b})
    get(r.port, "/")
    path = os.path.join(r.tmp, "t.log")
    assert wait_for(lambda: os.path.exists(path) and open(path).read().strip(), 3)
    rt, urt, uaddr, msec, iso = open(path).read().split()
    assert re.match(r"^\d+\.\d{3}$", rt)
    assert re.match(r"^\d+\.\d{3}$", urt)
    assert uaddr == b.addr
    assert re.match(r"^\d{10}\.\d{3}$", msec)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", iso)


def test_access_log_off(rampart):
    r = rampart("""
    server {
        listen @LISTEN@;
        location /quiet { access_log off; return 200 "q"; }
        location /loud { return 200 "l"; }
    }
    """)
    get(r.port, "/quiet")
    get(r.port, "/loud")
    assert wait_for(lambda: "/loud" in r.access_log(), 3)
    assert "/quiet" not in r.access_log()


def test_access_log_buffer_flushes(rampart):
    """access_log buffer=: lines are held by the worker and written when the
    flush time passes, never lost; the format and order stay intact."""
    r = rampart("""
    server {
        listen @LISTEN@;
        access_log @TMP@/buffered.log combined buffer=32k flush=1s;
        location / { return 200 "ok"; }
    }
    """)
    path = os.path.join(r.tmp, "buffered.log")
    for i in range(5):
        assert get(r.port, "/b%d" % i).status == 200
    deadline = time.monotonic() + 5
    lines = []
    while time.monotonic() < deadline:
        if os.path.exists(path):
            lines = open(path).read().splitlines()
            if len(lines) == 5:
                break
        time.sleep(0.1)
    assert sorted(l.split('"')[1] for l in lines) == ["GET /b%d HTTP/1.1" % i for i in range(5)]


def test_log_format_escape_json(rampart):
    """log_format escape=json: quotes, backslashes and controls in values
    are JSON-escaped, so each line parses as JSON."""
    import json
    r = rampart("""
    log_format js escape=json '{"uri":"$request_uri","ua":"$http_user_agent","ref":"$http_referer"}';
    server {
        listen @LISTEN@;
        access_log @TMP@/json.log js;
        location / { return 200 "ok"; }
    }
    """)
    assert get(r.port, "/j?a=1", headers=[("User-Agent", 'say "hi" \\ there')]).status == 200
    path = os.path.join(r.tmp, "json.log")
    wait_for(lambda: os.path.exists(path) and open(path).read().strip(), timeout=5)
    rec = json.loads(open(path).read().splitlines()[0])
    assert rec == {"uri": "/j?a=1", "ua": 'say "hi" \\ there', "ref": ""}
