"""Active health checks: `health_check` (in an upstream, or in a location
that proxies to one) and `match` blocks.

Every backend here answers its health URI through a switchable `Health`
object (status, headers, body, delay, or hang until the prober gives up)
and answers any other path "ok from <name>". The handler timestamps every
probe and every proxied request, so the tests can say when a server was
taken out or brought back, how many probes each server got, and how many
were in flight at once. Clients run a steady, bounded loop of GETs and
every test counts their errors.

Open-source nginx has no health_check: the whole module is rampart_only.
Timing bounds are widened under ASan (RAMPART_ASAN=1); lower bounds, which
prove that fails=/passes= are honoured, are not.
"""

import os
import select
import socket
import threading
import time

import pytest

from helpers import get, send_response, wait_for, wants_keepalive

pytestmark = pytest.mark.rampart_only

# upper time bounds are multiplied by this under ASan
SCALE = 3.0 if os.environ.get("RAMPART_ASAN") == "1" else 1.0

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "configs")


# ---------------------------------------------------------------- backends

class Health:
    """What a backend answers on its health URI, switchable at runtime,
    and a record of the probes (and of the other requests) it got."""

    def __init__(self, path="/health", status=200, headers=(), body=b"healthy",
                 mode="length", delay=0.0, hang=False, raw=None):
        self.path = path
        self.lock = threading.Lock()
        self.probes = []     # (arrival time, Request)
        self.answered = []   # (time, status) when a probe's answer was sent
        self.durations = []  # (arrival, end) of every probe connection
        self.traffic = []    # (time, target) of the requests that are not probes
        self.inflight = 0
        self.max_inflight = 0
        self.peer_closed = 0  # hung probes that the prober abandoned
        self.set(status=status, headers=headers, body=body, mode=mode, delay=delay,
                 hang=hang, raw=raw)

    def set(self, status=200, headers=(), body=b"healthy", mode="length", delay=0.0,
            hang=False, raw=None):
        with self.lock:
            self.status, self.headers, self.body = status, list(headers), body
            self.mode, self.delay, self.hang, self.raw = mode, delay, hang, raw

    def is_probe(self, req):
        return req.target == self.path

    # views (copies, taken under the lock)
    def probe_times(self, since=0.0):
        with self.lock:
            return [t for t, _ in self.probes if t >= since]

    def answers(self, since=0.0):
        with self.lock:
            return [(t, s) for t, s in self.answered if t >= since]

    def hits(self, since=0.0, until=None):
        with self.lock:
            return [t for t, _ in self.traffic if t >= since and (until is None or t < until)]


def health_handler(ctl):
    def h(b, req, sock):
        now = time.monotonic()
        if not ctl.is_probe(req):
            with ctl.lock:
                ctl.traffic.append((now, req.target))
            return send_response(sock, 200, [("Content-Type", "text/plain")],
                                 "ok from %s" % b.name, keepalive=wants_keepalive(req))
        with ctl.lock:
            ctl.probes.append((now, req))
            ctl.inflight += 1
            ctl.max_inflight = max(ctl.max_inflight, ctl.inflight)
            status, headers, body = ctl.status, ctl.headers, ctl.body
            mode, delay, hang, raw = ctl.mode, ctl.delay, ctl.hang, ctl.raw
        try:
            if hang:
                # never answer; wait (bounded) until the prober closes
                end = time.monotonic() + 20.0
                while time.monotonic() < end and not b.stopping:
                    r, _, _ = select.select([sock], [], [], 0.02)
                    if r:
                        try:
                            data = sock.recv(4096)
                        except OSError:
                            data = b""
                        if not data:
                            with ctl.lock:
                                ctl.peer_closed += 1
                            break
                return False
            if delay:
                time.sleep(delay)
            if raw is not None:
                sock.sendall(raw)
            else:
                send_response(sock, status, headers, body, mode, keepalive=False)
            with ctl.lock:
                ctl.answered.append((time.monotonic(), status))
            return False
        finally:
            with ctl.lock:
                ctl.inflight -= 1
                ctl.durations.append((now, time.monotonic()))
    return h


def hc_backend(backend, name, **kw):
    """A Backend whose health URI answers per a Health (as .hc)."""
    ctl = Health(**kw)
    b = backend(name, health_handler(ctl))
    b.hc = ctl
    return b


# ---------------------------------------------------------------- clients

class Load:
    """A steady loop of GETs on fresh connections (so both worker threads
    take requests), in a thread, bounded in count and time. results:
    (sent, done, status, body text or error)."""

    def __init__(self, port, target="/", pause=0.004, limit=20.0, max_n=6000):
        self.port, self.target, self.pause = port, target, pause
        self.limit, self.max_n = limit, max_n
        self.results = []
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        deadline = time.monotonic() + self.limit
        for _ in range(self.max_n):
            if self.stop_ev.is_set() or time.monotonic() > deadline:
                return
            t0 = time.monotonic()
            try:
                r = get(self.port, self.target, timeout=5.0)
                res = (t0, time.monotonic(), r.status, r.text, r.header("X-Gen"))
            except Exception as e:  # noqa: BLE001 - every failure counts
                res = (t0, time.monotonic(), None, repr(e), None)
            with self.lock:
                self.results.append(res)
            self.stop_ev.wait(self.pause)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_ev.set()
        self.thread.join(15)
        assert not self.thread.is_alive()
        return self.snapshot()

    def snapshot(self):
        with self.lock:
            return list(self.results)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


def errors(results):
    return [r for r in results if r[2] != 200]


def names(results):
    out = {}
    for r in results:
        out[r[3]] = out.get(r[3], 0) + 1
    return out


def wait_log(r, text, timeout):
    return wait_for(lambda: text in r.error_log(), timeout)


def unhealthy_line(b, ups="app", why=None):
    return 'health check of %s in upstream "%s" failed%s' % (
        b.addr, ups, " (%s): server is unhealthy" % why if why else "")


def healthy_line(b, ups="app"):
    return 'health check of %s in upstream "%s" passed: server is healthy' % (b.addr, ups)


def app_conf(servers, hc, loc="", extra_http="", ups_extra=""):
    """upstream app { servers; hc } and a server proxying / to it."""
    lines = "\n".join("        server %s;" % s for s in servers)
    return """
    %s
    upstream app {
%s
        %s
        %s
    }
    server {
        listen @LISTEN@;
        location / { proxy_pass http://app; %s }
    }
    """ % (extra_http, lines, hc, ups_extra, loc)


# ---------------------------------------------------------------- 1. fails / passes

def test_fails_take_out_passes_bring_back(rampart, backend):
    """interval=300ms fails=2 passes=2: a server whose /health turns 500 is
    out after its second failed probe (so within ~2 intervals, never after
    the first), while the other servers take every request with no error;
    when /health recovers it is back after its second good probe."""
    bs = [hc_backend(backend, n) for n in ("a", "b", "c")]
    a, b, c = bs
    r = rampart(app_conf([x.addr for x in bs],
                         "health_check interval=300ms fails=2 passes=2 uri=/health;"))
    assert wait_for(lambda: all(len(x.hc.probe_times()) >= 2 for x in bs), 3.0 * SCALE)
    with Load(r.port) as load:
        assert wait_for(lambda: len(b.hc.hits()) >= 10, 3.0 * SCALE)
        t_sw = time.monotonic()
        b.hc.set(status=500, body=b"broken")
        # two failed probes, then a settle time in which b must get nothing
        assert wait_for(lambda: len([s for _, s in b.hc.answers(t_sw) if s == 500]) >= 2,
                        3.0 * SCALE)
        fail_ans = [t for t, s in b.hc.answers(t_sw) if s == 500]
        time.sleep(1.0)
        out_hits = b.hc.hits(t_sw)
        t_rec = time.monotonic()
        b.hc.set(status=200)
        assert wait_for(lambda: b.hc.hits(t_rec), 3.0 * SCALE), "b never came back"
        time.sleep(0.3)
    res = load.snapshot()
    assert errors(res) == [], errors(res)[:5]
    assert set(names(res)) == {"ok from a", "ok from b", "ok from c"}, names(res)

    # out: after the second failed probe, not after the first
    assert out_hits, "b got no traffic after the switch at all"
    last_b = max(out_hits)
    out_after = last_b - t_sw
    assert out_after <= 0.6 + 0.35 * SCALE, out_after
    assert out_after >= 0.25, "taken out before the second failure: %.3f" % out_after
    assert any(fail_ans[0] + 0.02 < t < fail_ans[1] for t in out_hits), (fail_ans, out_hits)
    assert last_b <= fail_ans[1] + 0.1 * SCALE, (last_b, fail_ans)
    # while b was out, a and c took everything
    out_window = [x for x in res if last_b + 0.05 < x[1] and x[0] < t_rec]
    assert len(out_window) >= 30
    assert {x[3] for x in out_window} == {"ok from a", "ok from c"}
    assert b.hc.hits(last_b + 0.001, t_rec) == []

    # back: after the second good probe
    first_back = min(b.hc.hits(t_rec))
    good = b.hc.probe_times(t_rec)
    good_ans = [t for t, s in b.hc.answers(t_rec) if s == 200]
    assert len(good) >= 2 and len(good_ans) >= 2
    assert first_back >= good[1], (first_back, good)
    assert first_back <= good_ans[1] + 0.1 * SCALE, (first_back, good_ans)
    back_after = first_back - t_rec
    assert 0.25 <= back_after <= 0.6 + 0.35 * SCALE, back_after
    log = r.error_log()
    assert log.count(unhealthy_line(b, why="status not accepted")) == 1, log[-2000:]
    assert log.count(healthy_line(b)) == 1, log[-2000:]
    for x in (a, c):
        assert unhealthy_line(x) not in log


# ---------------------------------------------------------------- 2. one checker

@pytest.mark.parametrize("workers,jitter", [(2, 0), (4, 0), (2, 100)])
def test_one_probe_per_server_per_interval(rampart, backend, workers, jitter):
    """interval=200ms: each server gets ~10 probes in 2 s whatever the
    number of worker threads (one checker for the process), never two
    close together; with jitter=100ms the gaps spread over 200-300 ms.
    Every probe is its own connection: `GET /health HTTP/1.1`, Host: the
    upstream's name, Connection: close, User-Agent rampart-health-check."""
    bs = [hc_backend(backend, n) for n in ("a", "b")]
    hc = "health_check interval=200ms uri=/health%s;" % (" jitter=%dms" % jitter if jitter else "")
    r = rampart(app_conf([x.addr for x in bs], hc), workers=workers)
    assert wait_for(lambda: all(x.hc.probe_times() for x in bs), 2.0 * SCALE)
    time.sleep(0.3)
    t0 = time.monotonic()
    time.sleep(2.0)
    t1 = time.monotonic()
    gaps = []
    for x in bs:
        n = len([t for t in x.hc.probe_times(t0) if t < t1])
        if jitter:
            assert 5 <= n <= 11, (x.name, n)
        else:
            assert 6 <= n <= 14, (x.name, n)
        ts = x.hc.probe_times()
        gaps += [q - p for p, q in zip(ts, ts[1:])]
        assert min(gaps) >= 0.18, (x.name, gaps)
        reqs = [q for _, q in x.hc.probes]
        for q in reqs:
            assert (q.method, q.target, q.version) == ("GET", "/health", "HTTP/1.1")
            assert q.header("Host") == "app"
            assert q.header("Connection").lower() == "close"
            assert q.header("User-Agent") == "rampart-health-check"
            assert q.body == b"" and not q.has("Content-Length")
        assert len({q.conn_id for q in reqs}) == len(reqs)
        assert x.hc.max_inflight == 1
    if jitter:
        assert max(gaps) <= 0.3 + 0.1 * SCALE, gaps
        assert max(gaps) - min(gaps) >= 0.02, gaps
    else:
        assert max(gaps) <= 0.2 + 0.1 * SCALE, gaps
    # requests still flow to both
    got = [get(r.port, "/x").text for _ in range(10)]
    assert names([(0, 0, 200, t) for t in got]) == {"ok from a": 5, "ok from b": 5}


# ---------------------------------------------------------------- 3. hung backend

def test_hung_health_no_pileup(rampart, backend):
    """A backend whose /health never answers: at most one probe in flight
    (interval=300ms but the timeout is 1 s), each abandoned after ~1 s,
    the next one interval later; the server is taken out (timed out) and
    the other one takes all requests."""
    h = hc_backend(backend, "hung", hang=True)
    ok = hc_backend(backend, "ok")
    r = rampart(app_conf([h.addr, ok.addr], "health_check interval=300ms uri=/health;"))
    assert wait_log(r, unhealthy_line(h, why="timed out"), 3.0 * SCALE), r.error_log()[-2000:]
    t_out = time.monotonic()
    time.sleep(2.6)
    got = [get(r.port, "/q").text for _ in range(12)]
    assert got == ["ok from ok"] * 12
    assert h.hc.hits(t_out) == []
    ts = h.hc.probe_times()
    assert 2 <= len(ts) <= 4, ts
    assert h.hc.max_inflight == 1
    gaps = [q - p for p, q in zip(ts, ts[1:])]
    assert min(gaps) >= 1.25, gaps  # timeout (1 s) + interval, no overlap
    with h.hc.lock:
        ended = [e - s for s, e in h.hc.durations]
        closed = h.hc.peer_closed
    assert closed >= len(ts) - 1
    assert ended and all(0.9 <= d <= 1.0 + 0.5 * SCALE for d in ended), ended
    # ok: probed every ~300 ms meanwhile, never failed
    assert len(ok.hc.probe_times(t_out)) >= 5
    assert unhealthy_line(ok) not in r.error_log()
    assert r.alive()


# ---------------------------------------------------------------- 4. match

# (match block lines or None, good answer, bad answer, why the bad one fails)
MATCH_CASES = {
    "status-range": (
        "status 200-204;",
        dict(status=204, mode="none", body=b""),
        dict(status=302, headers=[("Location", "/elsewhere")]),
        "status not accepted"),
    "status-list": (
        "status 200 204;",
        dict(status=200),
        dict(status=201),
        "status not accepted"),
    "status-not": (
        "status ! 500;",
        dict(status=404),
        dict(status=500),
        "status not accepted"),
    "status-not-range": (
        "status ! 400-599;",
        dict(status=399),
        dict(status=503),
        "status not accepted"),
    "header-eq": (
        "header Content-Type = text/html;",
        dict(headers=[("Content-Type", "text/html")]),
        dict(headers=[("Content-Type", "text/html; charset=utf-8")]),
        "header did not match"),
    "header-ne": (
        "header X-Ver != 1;",
        dict(headers=[("X-Ver", "2")]),
        dict(headers=[("X-Ver", "1")]),
        "header did not match"),
    "header-re": (
        "header X-State ~ ^(ok|fine)$;",
        dict(headers=[("X-State", "fine")]),
        dict(headers=[("X-State", "not fine")]),
        "header did not match"),
    "header-not-re": (
        "header X-State !~ maint;",
        dict(headers=[("X-State", "serving")]),
        dict(headers=[("X-State", "in maintenance")]),
        "header did not match"),
    "header-present": (
        "header x-ready;",
        dict(headers=[("X-Ready", "1")]),
        dict(headers=[("X-Other", "1")]),
        "header did not match"),
    "header-absent": (
        "header ! X-Maint;",
        dict(headers=[("X-Other", "1")]),
        dict(headers=[("X-Maint", "yes")]),
        "header did not match"),
    "body-re": (
        'body ~ "status: up";',
        dict(body=b"svc\nstatus: up\n"),
        dict(body=b"svc\nstatus: down\n"),
        "body did not match"),
    "body-re-chunked": (
        'body ~ "^status: up$";',
        dict(body=b"status: up", mode="chunked"),
        dict(body=b"status: upgrading", mode="chunked"),
        "body did not match"),
    "body-re-close-delimited": (
        "body ~ ready;",
        dict(body=b"all ready", mode="close"),
        dict(body=b"not yet", mode="close"),
        "body did not match"),
    "body-not-re": (
        "body !~ maint;",
        dict(body=b"fine"),
        dict(body=b"down for maint"),
        "body did not match"),
    "all-rules": (
        "status 200; header X-Ready; header ! X-Maint; body ~ ok;",
        dict(headers=[("X-Ready", "1")], body=b"ok"),
        dict(headers=[("X-Ready", "1")], body=b"KO"),
        "body did not match"),
    "no-match-interim-then-200": (
        None,
        dict(raw=b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        dict(raw=b"this is not http\r\n\r\n"),
        "invalid response"),
    "no-match-404": (
        None,
        dict(status=302, headers=[("Location", "/x")]),
        dict(status=404),
        "status not accepted"),
}


@pytest.mark.parametrize("case", sorted(MATCH_CASES))
def test_match_rules(rampart, backend, case):
    """A server whose probe answer breaks the match block is taken out
    (with the reason logged); one whose answer satisfies it stays in."""
    block, good_ans, bad_ans, why = MATCH_CASES[case]
    good = hc_backend(backend, "good", **good_ans)
    bad = hc_backend(backend, "bad", **bad_ans)
    extra = "match m { %s }" % block if block else ""
    hc = "health_check interval=200ms uri=/health%s;" % (" match=m" if block else "")
    r = rampart(app_conf([good.addr, bad.addr], hc, extra_http=extra))
    assert wait_for(lambda: len(good.hc.probe_times()) >= 3 and len(bad.hc.probe_times()) >= 3,
                    3.0 * SCALE)
    first_bad = bad.hc.probe_times()[0]
    got = [get(r.port, "/r%d" % i).text for i in range(12)]
    assert got == ["ok from good"] * 12
    assert len(good.hc.hits()) == 12
    assert bad.hc.hits(first_bad + 0.1 * SCALE) == []
    log = r.error_log()
    assert unhealthy_line(bad, why=why) in log, log[-2000:]
    assert unhealthy_line(good) not in log, log[-2000:]


def test_match_config_errors(conf_test):
    """Broken match blocks and references are configuration errors."""
    base = """
    %s
    upstream app { server 127.0.0.1:1; %s }
    server { listen @LISTEN@; location / { proxy_pass http://app; } }
    """
    bad = [
        ("", "health_check match=nosuch;", "match \"nosuch\" not found"),
        ("match m { status 99; }", "health_check match=m;", "invalid status"),
        ("match m { status 500-400; }", "health_check match=m;", "invalid status"),
        ("match m { header X ?? y; }", "health_check match=m;", "invalid operator"),
        ("match m { body = x; }", "health_check match=m;", "invalid \"body\""),
        ("match m { body ~ a; body ~ b; }", "health_check match=m;", "invalid \"body\""),
        ("match m { header X ~ (; }", "health_check match=m;", ""),
        ("match m { frobnicate; }", "health_check match=m;", "unknown directive"),
        ("match m { } match m { }", "health_check match=m;", "duplicate match"),
        ("", "health_check persistent;", "requires \"mandatory\""),
        ("", "health_check interval=0;", "invalid parameter"),
        ("", "health_check uri=nopath;", "invalid parameter"),
        ("", "health_check port=70000;", "invalid parameter"),
        ("", "health_check fails=0;", "invalid parameter"),
        ("", "health_check bogus=1;", "invalid parameter"),
        ("", "health_check; health_check;", "duplicate"),
    ]
    for http_extra, hc, msg in bad:
        rc, out, _ = conf_test(base % (http_extra, hc))
        assert rc != 0, (http_extra, hc, out)
        assert msg in out, (http_extra, hc, out)
    rc, out, _ = conf_test(base % ("match m { status 200 204; header X; header ! Y; "
                                   "header Z != 1; body !~ x; }",
                                   "health_check interval=1 jitter=1s fails=3 passes=2 "
                                   "uri=/a?b=c port=8080 match=m mandatory persistent;"))
    assert rc == 0, out


# ---------------------------------------------------------------- 5. uri= and port=

def test_uri_and_port(rampart, backend):
    """uri= and port=: probes go to that path on that port of the server's
    address (here another backend), never to the serving port; the
    servers' verdict follows what the health port answers."""
    a = hc_backend(backend, "a")
    b = hc_backend(backend, "b")
    hp = hc_backend(backend, "hp", path="/deep/check?full=1")
    r = rampart(app_conf([a.addr, b.addr], "health_check interval=200ms uri=/deep/check?full=1 "
                                           "port=%d;" % hp.port))
    assert wait_for(lambda: len(hp.hc.probe_times()) >= 4, 3.0 * SCALE)
    got = [get(r.port, "/r").text for _ in range(10)]
    assert sorted(got) == ["ok from a"] * 5 + ["ok from b"] * 5
    for q in [q for _, q in hp.hc.probes]:
        assert q.target == "/deep/check?full=1" and q.header("Host") == "app"
    assert hp.hc.hits() == []
    for x in (a, b):
        assert x.hc.probes == []
        assert all(q.target == "/r" for q in x.requests)
    # the health port says no: both servers out, the client gets 502
    t = time.monotonic()
    hp.hc.set(status=503)
    assert wait_log(r, unhealthy_line(b, why="status not accepted"), 2.0 * SCALE)
    assert wait_log(r, unhealthy_line(a, why="status not accepted"), 2.0 * SCALE)
    n = len(a.requests) + len(b.requests)
    assert [get(r.port, "/r").status for _ in range(4)] == [502] * 4
    assert len(a.requests) + len(b.requests) == n
    assert a.hc.hits(t + 0.5 * SCALE) == [] and b.hc.hits(t + 0.5 * SCALE) == []
    # and yes again
    hp.hc.set(status=200)
    assert wait_log(r, healthy_line(a), 2.0 * SCALE)
    assert wait_log(r, healthy_line(b), 2.0 * SCALE)
    assert [get(r.port, "/r").status for _ in range(4)] == [200] * 4


def test_closed_health_port(rampart, backend):
    """port= where nothing listens: every probe fails (refused), the
    servers are out although their serving port answers."""
    a = hc_backend(backend, "a")
    b = hc_backend(backend, "b")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    r = rampart(app_conf([a.addr, b.addr], "health_check interval=200ms port=%d;" % dead))
    assert wait_log(r, unhealthy_line(a), 2.0 * SCALE), r.error_log()[-2000:]
    assert wait_log(r, unhealthy_line(b), 2.0 * SCALE)
    log = r.error_log()
    assert "connect() failed" in log or "connection refused" in log, log[-2000:]
    t = time.monotonic()
    assert [get(r.port, "/r").status for _ in range(4)] == [502] * 4
    assert a.hc.hits(t) == [] and b.hc.hits(t) == []


# ---------------------------------------------------------------- 6. mandatory

@pytest.mark.parametrize("mandatory", [True, False])
def test_mandatory_checking_until_first_pass(rampart, backend, mandatory):
    """With mandatory, servers are "checking" from the start: requests get
    502 until the first (slow, ~1 s) probe passes, and no request reaches
    a backend before its probe answered. Without it, requests succeed at
    once, while the first probe is still pending."""
    bs = [hc_backend(backend, n, delay=1.0) for n in ("a", "b")]
    hc = "health_check interval=2s uri=/health%s;" % (" mandatory" if mandatory else "")
    r = rampart(app_conf([x.addr for x in bs], hc))
    res = []
    deadline = time.monotonic() + 5.0 * SCALE
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        resp = get(r.port, "/m")
        res.append((t0, time.monotonic(), resp.status))
        if resp.status == 200 and len(res) >= 3:
            break
        time.sleep(0.05)
    assert res[-1][2] == 200, res
    assert wait_for(lambda: all(x.hc.answers() for x in bs), 3.0 * SCALE)
    first_ans = min(t for x in bs for t, _ in x.hc.answers())
    if mandatory:
        assert res[0][2] == 502, res
        assert all(st == 502 for _, done, st in res if done < first_ans), res
        first_ok = min(done for _, done, st in res if st == 200)
        assert first_ans <= first_ok <= first_ans + 0.5 * SCALE, (first_ans, res)
        for x in bs:
            ans = min(t for t, _ in x.hc.answers()) if x.hc.answers() else None
            assert all(ans is not None and t >= ans for t in x.hc.hits()), (x.name, ans)
        assert [st for _, _, st in res].count(502) >= 3
    else:
        assert all(st == 200 for _, _, st in res), res
        assert res[0][1] < first_ans, (res[0], first_ans)
        assert min(t for x in bs for t in x.hc.hits()) < first_ans


# ---------------------------------------------------------------- 7. reload

def gen_conf(servers, persistent, gen):
    hc = "health_check interval=2s uri=/health mandatory%s;" % (" persistent" if persistent else "")
    return app_conf(servers, hc, loc="add_header X-Gen %d always;" % gen)


@pytest.mark.parametrize("persistent", [True, False])
def test_mandatory_across_reload(rampart, backend, persistent):
    """Slow probes (0.8 s). With mandatory persistent, a reload keeps the
    verdicts: no 502 at all while requests loop through it (a server new
    in the reloaded configuration gets nothing until its own first pass).
    With mandatory alone, the reloaded servers are "checking" again: 502
    until their first probe in the new configuration passes."""
    a = hc_backend(backend, "a", delay=0.8)
    b = hc_backend(backend, "b", delay=0.8)
    c = hc_backend(backend, "c", delay=0.8)
    r = rampart(gen_conf([a.addr, b.addr], persistent, 1))
    assert wait_for(lambda: get(r.port, "/").status == 200, 4.0 * SCALE)
    servers2 = [a.addr, b.addr] + ([c.addr] if persistent else [])
    with Load(r.port, pause=0.01) as load:
        time.sleep(0.3)
        t_hup = time.monotonic()
        assert r.reload(gen_conf(servers2, persistent, 2),
                        check=lambda: any(x[4] == "2" for x in load.snapshot()),
                        timeout=5.0 * SCALE), r.error_log()[-2000:]
        # the new generation, until well after its first probes answered
        assert wait_for(lambda: any(x[4] == "2" and x[2] == 200 for x in load.snapshot()),
                        3.0 * SCALE)
        time.sleep(0.8)
    res = load.snapshot()
    gen1 = [x for x in res if x[4] == "1"]
    gen2 = [x for x in res if x[4] == "2"]
    assert gen1 and gen2 and all(x[2] == 200 for x in gen1), gen1[-5:]
    assert len(gen1) + len(gen2) == len(res), [x for x in res if x[4] not in ("1", "2")][:5]
    # a probe of the new generation starts after the SIGHUP and takes 0.8 s
    assert all(x.hc.probe_times(t_hup) for x in (a, b)), "no probe after the reload"
    if persistent:
        assert errors(res) == [], errors(res)[:5]
        # gen-2 requests were served before any gen-2 probe could answer
        assert gen2[0][1] < t_hup + 0.7, (gen2[0], t_hup)
        # c: nothing before its first passed probe
        c_ans = [t for t, s in c.hc.answers() if s == 200]
        assert c_ans, "c was never probed"
        assert all(t >= c_ans[0] for t in c.hc.hits()), (c.hc.hits()[:3], c_ans[0])
        assert c.hc.hits(), "c never got a request after passing"
    else:
        bad = [x for x in gen2 if x[2] != 200]
        assert bad and all(x[2] == 502 for x in bad), bad[:5]
        first_ok = min(x[1] for x in gen2 if x[2] == 200)
        # 502 only before the first probe of the new generation passed
        assert all(x[0] < first_ok for x in bad)
        assert first_ok >= t_hup + 0.75, (first_ok, t_hup)
        assert first_ok - min(x[0] for x in bad) <= 0.8 + 1.0 * SCALE
        assert gen2[0][2] == 502, gen2[:3]
        assert c.requests == []
    assert r.alive()


# ---------------------------------------------------------------- 8. in a location

def test_health_check_in_location(rampart, backend):
    """NGINX Plus placement: `health_check` inside the location that
    proxy_passes to an upstream applies to that upstream only."""
    a = hc_backend(backend, "a")
    b = hc_backend(backend, "b", status=500)
    c = hc_backend(backend, "c")
    r = rampart("""
    upstream app { server %s; server %s; }
    upstream other { server %s; }
    server {
        listen @LISTEN@;
        location / { proxy_pass http://app; health_check interval=200ms uri=/health; }
        location /o/ { proxy_pass http://other; }
    }
    """ % (a.addr, b.addr, c.addr))
    assert wait_log(r, unhealthy_line(b, why="status not accepted"), 2.0 * SCALE), \
        r.error_log()[-2000:]
    assert wait_for(lambda: len(a.hc.probe_times()) >= 3, 2.0 * SCALE)
    t = time.monotonic()
    assert [get(r.port, "/p").text for _ in range(8)] == ["ok from a"] * 8
    assert [get(r.port, "/o/x").text for _ in range(3)] == ["ok from c"] * 3
    assert b.hc.hits(t) == []
    for x in (a, b):
        assert all(q.header("Host") == "app" and q.target == "/health" for _, q in x.hc.probes)
    assert c.hc.probes == [] and all(q.target == "/o/x" for q in c.requests)
    assert 'in upstream "other"' not in r.error_log()


# ---------------------------------------------------------------- 9. killed backend

def test_backend_killed_under_load(rampart, backend):
    """A backend stopped under a steady GET loop, with health checks and
    max_fails: no client error (a refused attempt moves to the next
    server), and the checker marks it unhealthy."""
    bs = [hc_backend(backend, n) for n in ("a", "b", "c")]
    a, b, c = bs
    r = rampart(app_conf(["%s max_fails=1 fail_timeout=10s" % x.addr for x in bs],
                         "health_check interval=300ms uri=/health;"))
    assert wait_for(lambda: all(x.hc.probe_times() for x in bs), 2.0 * SCALE)
    with Load(r.port) as load:
        assert wait_for(lambda: len(b.hc.hits()) >= 10, 3.0 * SCALE)
        t_kill = time.monotonic()
        b.close()
        assert wait_log(r, unhealthy_line(b), 2.0 * SCALE), r.error_log()[-2000:]
        time.sleep(0.7)
    res = load.snapshot()
    assert errors(res) == [], errors(res)[:5]
    after = [x for x in res if x[0] > t_kill + 0.05]
    assert len(after) >= 30
    assert {x[3] for x in after} == {"ok from a", "ok from c"}
    assert b.hc.hits(t_kill + 0.05) == []
    assert r.alive()


# ---------------------------------------------------------------- 10. slow_start

def test_slow_start_after_recovery(rampart, backend):
    """weight=10 slow_start=2s: when the health check brings a server
    back, its share starts small and grows to its weight's share."""
    a = hc_backend(backend, "a", status=500)
    b = hc_backend(backend, "b")
    r = rampart(app_conf(["%s weight=10 slow_start=2s" % a.addr, "%s weight=10" % b.addr],
                         "health_check interval=200ms uri=/health;"))
    assert wait_log(r, unhealthy_line(a), 2.0 * SCALE)
    with Load(r.port, pause=0.002) as load:
        time.sleep(0.3)
        t_rec = time.monotonic()
        a.hc.set(status=200)
        assert wait_log(r, healthy_line(a), 2.0 * SCALE)
        assert wait_for(lambda: a.hc.hits(t_rec), 1.0 * SCALE)
        back = min(a.hc.hits(t_rec))
        time.sleep(max(0.0, back + 2.6 - time.monotonic()))
    res = load.snapshot()
    assert errors(res) == [], errors(res)[:5]

    def share(lo, hi):
        win = [x for x in res if back + lo <= x[0] < back + hi]
        return names(win).get("ok from a", 0) / max(1, len(win)), len(win)

    early, n1 = share(0.0, 0.5)
    late, n2 = share(2.1, 2.6)
    assert n1 >= 20 and n2 >= 20, (n1, n2)
    assert early < 0.3, (early, late)
    assert late > 0.35, (early, late)
    assert a.hc.hits(t_rec - 0.3, t_rec) == []


# ---------------------------------------------------------------- 11. reference config

def test_reference_health_checks_conf_failing_server(rampart, backend):
    """tests/fixtures/configs/health-checks.conf (`health_check interval=5
    fails=2 passes=2 uri=/health`, a bare 5 being seconds) with its third
    server failing its /health: one failed probe keeps it in, the second,
    ~5 s later, takes it out; the two others keep taking every request."""
    with open(os.path.join(FIXTURES, "health-checks.conf")) as f:
        frag = f.read()
    bs = [hc_backend(backend, "hc%d" % i) for i in range(3)]
    bs[2].hc.set(status=500)
    frag = frag.replace("listen 80;", "listen @LISTEN@;")
    for i, x in enumerate(bs):
        frag = frag.replace("server%d.example.com" % (i + 1), x.addr)
    assert "@LISTEN@" in frag and "example.com" not in frag
    r = rampart(frag)
    assert wait_for(lambda: bs[2].hc.answers(), 2.0 * SCALE)
    first = bs[2].hc.answers()[0][0]
    time.sleep(0.2)
    got = [get(r.port, "/x%d" % i).text for i in range(9)]
    assert sorted(got) == sorted(["ok from hc%d" % i for i in range(3)] * 3), got
    assert unhealthy_line(bs[2], ups="backend_servers") not in r.error_log()
    assert wait_log(r, unhealthy_line(bs[2], ups="backend_servers", why="status not accepted"),
                    7.0 * SCALE), r.error_log()[-2000:]
    ts = bs[2].hc.probe_times()
    assert len(ts) == 2 and 4.9 <= ts[1] - ts[0] <= 5.0 + 0.5 * SCALE, ts
    t = time.monotonic()
    got = [get(r.port, "/y%d" % i).text for i in range(10)]
    assert sorted(got) == ["ok from hc0"] * 5 + ["ok from hc1"] * 5, got
    assert bs[2].hc.hits(t) == []
    assert ts[0] <= first
    for x in bs[:2]:
        assert [q.target for _, q in x.hc.probes] == ["/health"] * len(x.hc.probes)
        assert unhealthy_line(x, ups="backend_servers") not in r.error_log()
