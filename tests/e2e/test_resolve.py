"""Upstream host names re-resolved while rampart runs: `resolver`,
`resolver_timeout` and `server NAME[:port] ... resolve`.

A fake DNS server written here (UDP on 127.0.0.1, a thread) answers A
queries for app.test from a list the test changes, AAAA queries with no
data, and records every query it gets. Three backends listen on 127.0.0.1,
127.0.0.2 and 127.0.0.3 on one port, so the answer alone decides where
requests go. Each test checks what the runtime API lists, what the
backends received and what the error log says.

`server ... resolve` is rampart's own here (nginx's open-source build has
no such parameter): every test is rampart_only.
"""

import json
import socket
import struct
import threading
import time

import pytest

import helpers
from helpers import Client, Closed, get, wait_for

pytestmark = pytest.mark.rampart_only

NAME = "app.test"
IPS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
QTYPE_A = 1
QTYPE_AAAA = 28


# ---------------------------------------------------------------- fake DNS server

class FakeDNS:
    """A UDP name server on 127.0.0.1 (kernel-chosen port).

    mode "answer": A queries for `name` get one record per address in
    .addrs with TTL .ttl; AAAA queries get NOERROR with no record. mode
    "nxdomain": rcode 3 for everything. mode "silent": queries are read
    and recorded, never answered. Other names get NXDOMAIN. .delay holds
    each answer back that long. Every query is recorded in .queries as
    (monotonic time, name, qtype)."""

    def __init__(self, addrs=(), ttl=1, mode="answer", name=NAME, delay=0.0):
        self.name = name
        self.addrs = list(addrs)
        self.ttl = ttl
        self.mode = mode
        self.delay = delay
        self.queries = []
        self.lock = threading.Lock()
        self.stopping = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((helpers.HOST, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return "%s:%d" % (helpers.HOST, self.port)

    def set(self, addrs=None, mode="answer", ttl=None):
        with self.lock:
            if addrs is not None:
                self.addrs = list(addrs)
            self.mode = mode
            if ttl is not None:
                self.ttl = ttl

    def times(self, qtype=QTYPE_A):
        """Arrival times of the queries of one type for our name."""
        with self.lock:
            return [t for t, n, q in self.queries if n == self.name and q == qtype]

    def count(self, qtype=QTYPE_A):
        return len(self.times(qtype))

    @staticmethod
    def _parse(data):
        """(id, flags, name, qtype, end of question) or None."""
        if len(data) < 12:
            return None
        qid, flags, qd = struct.unpack("!HHH", data[:6])
        if qd != 1:
            return None
        off = 12
        labels = []
        while True:
            if off >= len(data):
                return None
            ln = data[off]
            off += 1
            if ln == 0:
                break
            if ln > 63 or off + ln > len(data):
                return None
            labels.append(data[off:off + ln].decode("latin-1"))
            off += ln
        if off + 4 > len(data):
            return None
        qtype, _qclass = struct.unpack("!HH", data[off:off + 4])
        return qid, flags, ".".join(labels).lower(), qtype, off + 4

    def _answer(self, data, parsed):
        qid, qflags, name, qtype, qend = parsed
        with self.lock:
            mode, addrs, ttl = self.mode, list(self.addrs), self.ttl
        rcode = 0
        records = []
        if mode == "nxdomain" or name != self.name:
            rcode = 3
        elif qtype == QTYPE_A:
            records = addrs
        flags = 0x8000 | (qflags & 0x0100) | 0x0080 | rcode  # QR, RD copied, RA
        out = struct.pack("!HHHHHH", qid, flags, 1, len(records), 0, 0) + data[12:qend]
        for ip in records:
            # the owner name is a pointer to the question's name (offset 12)
            out += b"\xc0\x0c" + struct.pack("!HHIH", QTYPE_A, 1, ttl, 4) + socket.inet_aton(ip)
        return out

    def _loop(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            parsed = self._parse(data)
            if parsed is None:
                continue
            with self.lock:
                self.queries.append((time.monotonic(), parsed[2], parsed[3]))
                mode, delay = self.mode, self.delay
            if mode == "silent":
                continue
            if delay:
                time.sleep(delay)
            try:
                self.sock.sendto(self._answer(data, parsed), peer)
            except OSError:
                pass

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def dns():
    """Factory: dns(addrs, ttl=1, mode=..., delay=...) starts a FakeDNS."""
    made = []

    def factory(addrs=(), **kw):
        d = FakeDNS(addrs, **kw)
        made.append(d)
        return d

    yield factory
    for d in made:
        d.close()


# ---------------------------------------------------------------- backends on 127.0.0.x

class HostBackend(helpers.Backend):
    """helpers.Backend (which binds 127.0.0.1 only) on a chosen loopback
    address; the request handling is the parent's."""

    def __init__(self, name, host, port, handler=None, timeout=10.0):
        self.name = name
        self.host = host
        self.handler = handler or helpers.ok_handler()
        self.port = port
        self.record_body = True
        self.timeout = timeout
        self.requests = []
        self.connections = 0
        self.raw = []
        self.lock = threading.Lock()
        self.stopping = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.threads = []
        self.conns = []
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return "%s:%d" % (self.host, self.port)


@pytest.fixture
def trio():
    """Three backends b1, b2, b3 on 127.0.0.1, .2, .3, all on one port."""
    made = []
    for _ in range(20):
        port = helpers.free_port()
        try:
            for i, ip in enumerate(IPS):
                made.append(HostBackend("b%d" % (i + 1), ip, port))
            break
        except OSError:
            for b in made:
                b.close()
            made = []
    assert len(made) == 3, "no port free on 127.0.0.1-3"
    yield made
    for b in made:
        b.close()


# ---------------------------------------------------------------- helpers

def conf(resolver, port, server_params="", resolver_timeout=None, extra_servers=""):
    """An upstream `app` with `server app.test:PORT ... resolve`, a proxy
    location and the API at /api/."""
    rt = "    resolver_timeout %s;\n" % resolver_timeout if resolver_timeout else ""
    return """
    resolver %s;
%s
    upstream app {
        server %s:%d %s resolve;
%s
    }
    server {
        listen @LISTEN@;
        location / { proxy_pass http://app; }
        location /api/ { api; }
    }
""" % (resolver, rt, NAME, port, server_params, extra_servers)


def api_servers(port):
    resp = get(port, "/api/upstreams/app/servers")
    assert resp.status == 200, resp
    return json.loads(resp.body.decode("utf-8"))


def listed(port):
    """The addresses the API lists for upstream app, sorted."""
    return sorted(s["server"] for s in api_servers(port))


def ids(port):
    return {s["server"]: s["id"] for s in api_servers(port)}


def wait_listed(port, want, timeout):
    want = sorted(want)
    got = wait_for(lambda: listed(port) == want, timeout, interval=0.05)
    return got and listed(port) == want


def hit(port, n, tag="r"):
    """n sequential requests on fresh connections; returns the bodies."""
    out = []
    for i in range(n):
        resp = get(port, "/%s/%d" % (tag, i))
        out.append((resp.status, resp.body.decode("latin-1")))
    return out


def counts(trio):
    return [len(b.requests) for b in trio]


class Loader:
    """A steady request loop in a thread, on one keep-alive connection
    (reopened when rampart closes it). Bounded: at most max_requests
    requests and max_seconds seconds."""

    def __init__(self, port, max_requests=4000, max_seconds=20.0):
        self.port = port
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.ok = 0
        self.errors = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        c = None
        n = 0
        while not self.stopping and n < self.max_requests and time.monotonic() < deadline:
            n += 1
            try:
                if c is None:
                    c = Client(self.port, timeout=5.0)
                resp = c.request("GET", "/load/%d" % n)
                if resp.status != 200 or not resp.body.startswith(b"ok from b"):
                    self.errors.append((n, resp.status, resp.body[:100]))
                else:
                    self.ok += 1
                if (resp.header("Connection") or "").lower() == "close":
                    c.close()
                    c = None
            except (Closed, OSError) as e:
                self.errors.append((n, "exception", repr(e)))
                if c is not None:
                    c.close()
                c = None
            time.sleep(0.002)
        if c is not None:
            c.close()

    def wait_more(self, n, timeout=5.0):
        start = self.ok
        return wait_for(lambda: self.ok >= start + n, timeout)

    def stop(self):
        self.stopping = True
        self.thread.join(10)
        assert not self.thread.is_alive()


# ---------------------------------------------------------------- 1. servers follow the answers

def test_servers_follow_answers(rampart, dns, trio):
    b1, b2, b3 = trio
    port = b1.port
    a1, a2 = "127.0.0.1:%d" % port, "127.0.0.2:%d" % port
    d = dns([IPS[0]])
    r = rampart(conf("%s valid=500ms" % d.addr, port))

    assert wait_listed(r.port, [a1], 3.0), listed(r.port)
    assert hit(r.port, 10, "one") == [(200, "ok from b1")] * 10
    assert counts(trio) == [10, 0, 0]
    first_id = ids(r.port)[a1]
    assert ('upstream "app": app.test resolves to %s, added' % a1) in r.error_log()

    # a second address appears: a second server, requests spread over both
    d.set([IPS[0], IPS[1]])
    assert wait_listed(r.port, [a1, a2], 2.5), listed(r.port)
    for s in api_servers(r.port):
        assert s["name"] == "app.test:%d" % port, s
        assert s["state"] == "up", s
    before = counts(trio)
    res = hit(r.port, 40, "two")
    assert all(st == 200 for st, _ in res), res
    delta = [a - b for a, b in zip(counts(trio), before)]
    assert sum(delta) == 40 and delta[2] == 0, delta
    assert delta[0] >= 10 and delta[1] >= 10, delta
    assert ('upstream "app": app.test resolves to %s, added' % a2) in r.error_log()

    # .1 disappears from the answer: removed, no new requests
    d.set([IPS[1]])
    assert wait_listed(r.port, [a2], 2.5), listed(r.port)
    time.sleep(0.1)
    before = counts(trio)
    assert hit(r.port, 20, "three") == [(200, "ok from b2")] * 20
    assert counts(trio) == [before[0], before[1] + 20, before[2]]
    assert ('upstream "app": app.test no longer resolves to %s, removed' % a1) in r.error_log()

    # .1 comes back, with the id it had
    d.set([IPS[0], IPS[1]])
    assert wait_listed(r.port, [a1, a2], 2.5), listed(r.port)
    assert ids(r.port)[a1] == first_id
    before = counts(trio)
    res = hit(r.port, 20, "four")
    assert all(st == 200 for st, _ in res), res
    delta = [a - b for a, b in zip(counts(trio), before)]
    assert delta[0] >= 5 and delta[1] >= 5 and delta[2] == 0, delta
    assert len(api_servers(r.port)) == 2
    # every query was for our name, A and AAAA (ipv6 is on by default)
    assert d.count(QTYPE_A) >= 4 and d.count(QTYPE_AAAA) >= 4
    assert all(n == NAME for _, n, _ in d.queries), d.queries
    # the log tells the whole story: the return of .1 is logged like its removal
    log = r.error_log()
    assert log.count('upstream "app": app.test resolves to %s, added' % a1) == 2, \
        "the return of %s is not logged:\n%s" % (a1, log[-3000:])


# ---------------------------------------------------------------- 2. no errors during changes

def test_no_client_errors_during_changes(rampart, dns, trio):
    port = trio[0].port
    addr = ["%s:%d" % (ip, port) for ip in IPS]
    d = dns([IPS[0]])
    r = rampart(conf("%s valid=300ms" % d.addr, port))
    assert wait_listed(r.port, [addr[0]], 3.0), listed(r.port)

    load = Loader(r.port)
    try:
        assert load.wait_more(20)
        steps = [[0, 1], [1], [1, 2], [2], [0]]
        for step in steps:
            d.set([IPS[i] for i in step])
            assert wait_listed(r.port, [addr[i] for i in step], 2.5), (step, listed(r.port))
            time.sleep(0.2)  # requests picked before the change have landed
            frozen = {i: len(trio[i].requests) for i in range(3) if i not in step}
            assert load.wait_more(30), load.errors
            # backends out of the answer got nothing new meanwhile
            for i, n in frozen.items():
                assert len(trio[i].requests) == n, (step, i)
            for i in step:
                assert trio[i].wait_requests(1, 2.0)
    finally:
        load.stop()
    assert load.errors == []
    assert load.ok >= 150
    # each 200 is one request at one backend: nothing lost, nothing retried
    assert sum(counts(trio)) == load.ok, (counts(trio), load.ok)
    assert all(c > 0 for c in counts(trio)), counts(trio)


# ---------------------------------------------------------------- 3. when it asks again

def test_valid_overrides_ttl(rampart, dns, trio):
    port = trio[0].port
    d = dns([IPS[0]], ttl=30)
    r = rampart(conf("%s valid=400ms" % d.addr, port))
    assert wait_listed(r.port, ["127.0.0.1:%d" % port], 3.0)
    time.sleep(0.2)
    start = time.monotonic()
    time.sleep(2.0)
    n = len([t for t in d.times() if start <= t < start + 2.0])
    assert 3 <= n <= 8, (n, d.times())
    # A and AAAA are asked together each round
    assert abs(d.count(QTYPE_A) - d.count(QTYPE_AAAA)) <= 1


def test_ttl_drives_requery(rampart, dns, trio):
    port = trio[0].port
    d = dns([IPS[0]], ttl=1)
    r = rampart(conf(d.addr, port))
    assert wait_listed(r.port, ["127.0.0.1:%d" % port], 3.0)

    # TTL 1 s: about one query a second
    start = time.monotonic()
    time.sleep(3.0)
    n = len([t for t in d.times() if start <= t < start + 3.0])
    assert 2 <= n <= 4, (n, d.times())

    # TTL 3 s: once the answer with it is in, the next query is 3 s later
    d.set(ttl=3)
    changed = time.monotonic()
    assert wait_for(lambda: len([t for t in d.times() if t > changed]) >= 2, 5.5), d.times()
    after = [t for t in d.times() if t > changed]
    gap = after[1] - after[0]
    assert 2.8 <= gap <= 3.8, (gap, after)

    # TTL 0: at least 1 s between queries, no busy loop
    d.set(ttl=0)
    assert wait_for(lambda: d.times()[-1] > after[1], 4.0)
    start = time.monotonic()
    time.sleep(2.2)
    n = len([t for t in d.times() if start <= t < start + 2.2])
    assert 1 <= n <= 3, (n, d.times())


# ---------------------------------------------------------------- 4. NXDOMAIN and no data

def test_nxdomain_and_nodata_remove_servers(rampart, dns, trio):
    b1 = trio[0]
    port = b1.port
    a1 = "127.0.0.1:%d" % port
    d = dns([IPS[0]])
    r = rampart(conf("%s valid=300ms" % d.addr, port))
    assert wait_listed(r.port, [a1], 3.0)
    assert hit(r.port, 3, "a") == [(200, "ok from b1")] * 3
    first_id = ids(r.port)[a1]

    for how in ("nxdomain", "nodata"):
        if how == "nxdomain":
            d.set(mode="nxdomain")
        else:
            d.set([])
        assert wait_listed(r.port, [], 2.5), (how, listed(r.port))
        time.sleep(0.1)
        n = len(b1.requests)
        res = hit(r.port, 2, how)
        assert [st for st, _ in res] == [502, 502], (how, res)
        assert len(b1.requests) == n
        log = r.error_log()
        assert log.count('upstream "app": app.test no longer resolves to %s, removed' % a1) == \
            (1 if how == "nxdomain" else 2), log[-2000:]

        # answered again: back, with its id
        d.set([IPS[0]])
        assert wait_listed(r.port, [a1], 2.5), (how, listed(r.port))
        assert ids(r.port)[a1] == first_id
        assert hit(r.port, 3, how + "-back") == [(200, "ok from b1")] * 3
        assert len(b1.requests) == n + 3

    # an answer without addresses is an answer, not a failure
    assert "resolving app.test failed" not in r.error_log()


# ---------------------------------------------------------------- 5. silent name servers

def test_next_name_server_when_first_is_silent(rampart, dns, trio):
    port = trio[0].port
    a1, a2 = "127.0.0.1:%d" % port, "127.0.0.2:%d" % port
    silent = dns([IPS[2]], mode="silent")
    d = dns([IPS[0]])
    r = rampart(conf("%s %s valid=1s" % (silent.addr, d.addr), port, resolver_timeout="500ms"))

    assert wait_listed(r.port, [a1], 3.0), listed(r.port)
    assert silent.count() >= 1
    # the second name server was asked after the first one's timeout
    assert d.times()[0] - silent.times()[0] >= 0.4, (silent.times(), d.times())
    assert hit(r.port, 5, "a") == [(200, "ok from b1")] * 5

    d.set([IPS[0], IPS[1]])
    assert wait_listed(r.port, [a1, a2], 3.5), listed(r.port)
    res = hit(r.port, 10, "b")
    assert all(st == 200 for st, _ in res), res
    assert len(trio[1].requests) >= 3
    # nothing of what the silent one would have said (127.0.0.3) got in
    assert len(trio[2].requests) == 0
    assert "resolving app.test failed" not in r.error_log()


def test_no_name_server_answers(rampart, dns, trio):
    b1 = trio[0]
    port = b1.port
    a1 = "127.0.0.1:%d" % port
    d = dns([IPS[0]])
    r = rampart(conf("%s valid=300ms" % d.addr, port, resolver_timeout="300ms"))
    assert wait_listed(r.port, [a1], 3.0)

    d.set(mode="silent")
    silenced = time.monotonic()
    assert wait_for(lambda: "resolving app.test failed" in r.error_log(), 2.5), \
        r.error_log()[-2000:]
    # the servers stay as they are
    assert listed(r.port) == [a1]
    n = len(b1.requests)
    assert hit(r.port, 5, "stay") == [(200, "ok from b1")] * 5
    assert len(b1.requests) == n + 5
    assert "no longer resolves" not in r.error_log()

    # asked again 5 s after the failure, not before
    d.set([IPS[1]])
    asked = [t for t in d.times() if t >= silenced]
    assert len(asked) == 1, asked
    assert wait_for(lambda: len([t for t in d.times() if t >= silenced]) >= 2, 7.0), d.times()
    asked = [t for t in d.times() if t >= silenced]
    gap = asked[1] - asked[0]
    assert 5.0 <= gap <= 6.5, (gap, asked)
    assert wait_listed(r.port, ["127.0.0.2:%d" % port], 2.0), listed(r.port)


# ---------------------------------------------------------------- load-time resolution

def test_load_time_resolution_then_dns(rampart, dns, trio):
    """`localhost` resolves at load with the system resolver; the name
    server's (late) answer then replaces what it gave."""
    port = trio[0].port
    d = dns([IPS[1]], name="localhost", delay=1.5)
    http = conf("%s valid=10s ipv6=off" % d.addr, port, resolver_timeout="5s")
    http = http.replace("server %s:" % NAME, "server localhost:")
    r = rampart(http)
    # before any answer: the load-time address
    assert listed(r.port) == ["127.0.0.1:%d" % port]
    assert hit(r.port, 3, "a") == [(200, "ok from b1")] * 3
    assert wait_listed(r.port, ["127.0.0.2:%d" % port], 4.0), listed(r.port)
    assert hit(r.port, 3, "b") == [(200, "ok from b2")] * 3
    assert len(trio[0].requests) == 3
    log = r.error_log()
    assert 'localhost no longer resolves to 127.0.0.1:%d, removed' % port in log
    assert 'localhost resolves to 127.0.0.2:%d, added' % port in log
    # ipv6=off: no AAAA query
    assert d.count(QTYPE_AAAA) == 0 and d.count(QTYPE_A) >= 1


# ---------------------------------------------------------------- 6. configuration

UPS_HTTP = """
%s
    upstream app {
%s
        server app.test:%d resolve;
    }
    upstream other {
%s
        server 127.0.0.1:%d;
    }
    server {
        listen @LISTEN@;
        location / { proxy_pass http://app; }
    }
"""


def line_of(path, needle):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if needle in line:
                return i
    raise AssertionError("%r not in %s" % (needle, path))


def test_resolve_without_resolver_is_an_error(conf_test):
    port = helpers.free_port()
    # no resolver anywhere; one in another upstream does not count either
    for other in ("", "        resolver 127.0.0.1:5353;"):
        rc, out, path = conf_test(UPS_HTTP % ("", "", port, other, port))
        assert rc != 0, out
        assert "no resolver defined to resolve app.test" in out, out
        assert "in %s:%d" % (path, line_of(path, "server app.test")) in out, out
        assert "test failed" in out, out
    # control: in http, or in the upstream itself, it loads
    rc, out, _ = conf_test(UPS_HTTP % ("    resolver 127.0.0.1:5353 valid=2s;", "", port, "",
                                       port))
    assert rc == 0, out
    rc, out, _ = conf_test(UPS_HTTP % ("", "        resolver 127.0.0.1 ipv6=off;\n"
                                       "        resolver_timeout 2s;", port, "", port))
    assert rc == 0, out


@pytest.mark.parametrize("resolver,token", [
    ("resolver 127.0.0.1 valid=abc;", "valid=abc"),
    ("resolver 127.0.0.1 ipv6=maybe;", "ipv6=maybe"),
    ("resolver 127.0.0.1 ipv4=off ipv6=off;", None),
    ("resolver valid=1s;", None),
    ("resolver 127.0.0.1:99999;", "127.0.0.1:99999"),
    ("resolver 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5;", None),
    ("resolver_timeout 0;", None),
    ("resolver_timeout soon;", "soon"),
])
def test_bad_resolver_config(conf_test, resolver, token):
    port = helpers.free_port()
    http = UPS_HTTP % ("    resolver 127.0.0.1:5353;" if resolver.startswith("resolver_t")
                       else "", "        %s" % resolver, port, "", port)
    rc, out, path = conf_test(http)
    assert rc != 0, out
    assert "[emerg]" in out, out
    assert "in %s:%d" % (path, line_of(path, resolver)) in out, out
    if token:
        assert token in out, out


# ---------------------------------------------------------------- 7. parameters carried

def test_server_parameters_carried(rampart, dns, trio):
    port = trio[0].port
    a1, a2, a3 = ("%s:%d" % (ip, port) for ip in IPS)
    d = dns([IPS[0], IPS[1]])
    r = rampart(conf("%s valid=1s" % d.addr, port,
                     "weight=3 max_conns=5 max_fails=2 fail_timeout=7s",
                     extra_servers="        server %s;" % a3))
    assert wait_listed(r.port, [a1, a2, a3], 3.0), listed(r.port)
    by = {s["server"]: s for s in api_servers(r.port)}
    assert by[a3]["id"] == 0 and by[a3]["weight"] == 1 and by[a3]["max_conns"] == 0
    for a in (a1, a2):
        s = by[a]
        assert s["name"] == "app.test:%d" % port, s
        assert (s["weight"], s["max_conns"], s["max_fails"], s["fail_timeout_ms"]) == \
            (3, 5, 2, 7000), s
        assert s["state"] == "up" and not s["backup"] and not s["down"], s
    assert sorted(s["id"] for s in by.values()) == [0, 1, 2]

    # the weights are used: 3:3:1
    res = hit(r.port, 70, "w")
    assert all(st == 200 for st, _ in res), res
    c = counts(trio)
    assert sum(c) == 70, c
    assert 4 <= c[2] <= 16, c
    assert c[0] >= 22 and c[1] >= 22, c


# ---------------------------------------------------------------- reload

def test_reload_resolves_again(rampart, dns, trio):
    """A reload starts the new configuration's resolution at once; its
    servers follow the current answer, not the old generation's state."""
    port = trio[0].port
    a1, a2, a3 = ("%s:%d" % (ip, port) for ip in IPS)
    d = dns([IPS[0], IPS[1]])
    http = conf("%s valid=10s" % d.addr, port)
    r = rampart(http)
    assert wait_listed(r.port, [a1, a2], 3.0), listed(r.port)
    d.set([IPS[1], IPS[2]])
    n = d.count()
    # valid=10s: only the reload makes it ask again before the test ends
    assert r.reload(http, check=lambda: "generation 2 active" in r.error_log())
    assert wait_for(lambda: d.count() > n, 2.0), d.times()
    assert wait_listed(r.port, [a2, a3], 2.0), listed(r.port)
    before = counts(trio)
    res = hit(r.port, 20, "after")
    assert all(st == 200 for st, _ in res), res
    delta = [a - b for a, b in zip(counts(trio), before)]
    assert delta[0] == 0 and delta[1] >= 5 and delta[2] >= 5 and sum(delta) == 20, delta
