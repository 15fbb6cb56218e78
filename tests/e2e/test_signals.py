"""Signals: SIGHUP reload under load, bad reloads, SIGQUIT, SIGTERM, SIGUSR1."""

import os
import signal
import threading
import time

from helpers import Client, get, reply, wait_for

CONF = """
server {
    listen @LISTEN@;
    location /text { return 200 "gen-%s"; }
    location /hdr { add_header X-Gen "%s" always; return 200 "h"; }
    location / { proxy_pass http://@b@; }
}
"""


def _conf(gen):
    return CONF % (gen, gen)


def _settled(r, gen, n=5):
    """The new generation answers n fresh connections in a row (nginx's old
    workers may still answer for a moment after the new ones started)."""
    def check():
        for _ in range(n):
            try:
                resp = get(r.port, "/hdr", timeout=2)
            except Exception:
                return False
            if resp.header("X-Gen") != str(gen):
                return False
        return True
    return check


def test_reload_under_load(rampart, backend):
    b = backend("b1")
    r = rampart(_conf(0), backends={"b": b})
    stop = threading.Event()
    results = {"ok": 0, "fail": []}
    lock = threading.Lock()

    def client(i):
        n = 0
        while not stop.is_set() and n < 5000:
            n += 1
            path = "/text" if n % 2 else "/p%d" % i
            try:
                resp = get(r.port, path, timeout=5)
                ok = resp.status == 200
            except Exception as e:  # any failure counts
                ok = False
                resp = e
            with lock:
                if ok:
                    results["ok"] += 1
                else:
                    results["fail"].append(repr(resp))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    try:
        for gen in range(1, 21):
            assert r.reload(_conf(gen), check=_settled(r, gen), timeout=5)
            assert r.alive()
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert results["fail"] == []
    assert results["ok"] > 20
    assert wait_for(_settled(r, 20), 5)


def test_reload_changes_return_and_add_header(rampart, backend):
    b = backend("b1")
    r = rampart(_conf("one"), backends={"b": b})
    assert get(r.port, "/text").text == "gen-one"
    assert get(r.port, "/hdr").header("X-Gen") == "one"
    assert r.reload(_conf("two"), check=_settled(r, "two"))
    assert get(r.port, "/text").text == "gen-two"


def test_reload_in_flight_request_completes(rampart, backend):
    b = backend("slow", reply(200, None, b"slow done", delay=1.0))
    r = rampart(_conf("a"), backends={"b": b})
    with Client(r.port, timeout=8) as c:
        assert c.request("GET", "/text").text == "gen-a"
        c.send(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert b.wait_requests(1, 5)
        r.reload(_conf("b"))
        resp = c.response()
        assert resp.status == 200 and resp.body == b"slow done"
    assert wait_for(_settled(r, "b"), 5)


def test_bad_reload_keeps_old_config(rampart, backend):
    b = backend("b1")
    r = rampart(_conf("good"), backends={"b": b})
    assert get(r.port, "/text").text == "gen-good"
    bad = _conf("bad").replace('location /text', 'no_such_directive on;\n    location /text')
    r.write_config(bad)
    r.signal(signal.SIGHUP)
    conf = r.conf_path
    line = [i for i, l in enumerate(open(conf), 1) if "no_such_directive" in l][0]
    assert wait_for(lambda: "%s:%d" % (conf, line) in r.error_log(), 5), r.error_log()
    assert r.alive()
    for _ in range(5):
        resp = get(r.port, "/text")
        assert resp.status == 200 and resp.text == "gen-good"
    # a good config afterwards still loads
    assert r.reload(_conf("fixed"), check=_settled(r, "fixed"))


def _slow(rampart, backend):
    b = backend("slow", reply(200, None, b"slow done", delay=1.5))
    r = rampart(_conf(0), backends={"b": b})
    result = {}

    def run():
        try:
            result["resp"] = get(r.port, "/slow", timeout=8)
        except Exception as e:
            result["err"] = e

    t = threading.Thread(target=run)
    t.start()
    assert b.wait_requests(1, 5)
    return r, t, result


def test_sigquit_graceful(rampart, backend):
    r, t, result = _slow(rampart, backend)
    r.signal(signal.SIGQUIT)
    t.join(8)
    assert "resp" in result, result
    assert result["resp"].status == 200 and result["resp"].body == b"slow done"
    assert r.wait_exit(8) is not None
    # listeners are gone
    try:
        get(r.port, "/text", timeout=1)
        still = True
    except OSError:
        still = False
    assert not still


def test_sigterm_fast_exit(rampart, backend):
    r, t, result = _slow(rampart, backend)
    t0 = time.monotonic()
    r.signal(signal.SIGTERM)
    rc = r.wait_exit(5)
    assert rc is not None
    assert time.monotonic() - t0 < 1.4
    t.join(8)


def test_sigusr1_reopens_access_log(rampart, backend):
    b = backend("b1")
    r = rampart(_conf("log"), backends={"b": b})
    get(r.port, "/before-rotate")
    log = os.path.join(r.tmp, "access.log")
    assert wait_for(lambda: "/before-rotate" in r.access_log(), 3)
    os.rename(log, log + ".1")
    r.signal(signal.SIGUSR1)
    assert wait_for(lambda: os.path.exists(log), 5)
    time.sleep(0.2)
    get(r.port, "/after-rotate")
    assert wait_for(lambda: "/after-rotate" in r.access_log(), 3)
    with open(log + ".1") as f:
        old = f.read()
    assert "/before-rotate" in old and "/after-rotate" not in old
