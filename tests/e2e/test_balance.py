"""Load balancing in `upstream`: the methods (round robin, least_conn,
ip_hash, hash [consistent], random [two], least_time), the server
parameters (weight, max_conns, max_fails/fail_timeout, backup, down,
drain, slow_start) and proxy_next_upstream.

Every backend answers "ok from <name>", so the client sees who answered;
each test also checks what every backend received. Configurations that
nginx understands carry `zone` so nginx shares its balancing state between
its worker processes the way rampart's worker threads always do.
"""

import socket
import struct
import threading
import time

import pytest

from helpers import (Client, Closed, Reader, free_port, get, is_nginx, send_response,
                     wait_for, wants_keepalive)


# ---------------------------------------------------------------- helpers

def conf(upstream, loc="", zone=True, server=""):
    """An http{} body: upstream `app` with the given lines, one server
    proxying / to it."""
    z = "zone app 64k;" if zone else ""
    return """
    upstream app {
        %s
        %s
    }
    server {
        listen @LISTEN@;
        keepalive_requests 100000;
        %s
        location / { proxy_pass http://app; %s }
    }
    """ % (z, upstream, server, loc)


def name_of(resp):
    """The backend that answered, from its "ok from <name>" body."""
    if isinstance(resp, Exception) or resp is None or resp.status != 200:
        return None
    t = resp.text
    return t[len("ok from "):] if t.startswith("ok from ") else None


def counts(names):
    out = {}
    for n in names:
        out[n] = out.get(n, 0) + 1
    return out


def client_from(port, source=None, host="127.0.0.1", timeout=5.0):
    """A helpers.Client whose socket is bound to a source address."""
    c = Client.__new__(Client)
    c.sock = socket.create_connection((host, port), timeout=timeout,
                                      source_address=(source, 0) if source else None)
    c.sock.settimeout(timeout)
    c.reader = Reader(c.sock)
    return c


class Seq:
    """Sequential requests over a few keep-alive connections, taken in
    turn (so both worker threads pick from the same upstream). A
    connection the server ends (Connection: close) is replaced."""

    def __init__(self, port, conns=4, source=None, host="127.0.0.1"):
        self.port, self.source, self.host = port, source, host
        self.clients = [None] * conns
        self.n = 0

    def request(self, target="/", method="GET", body=None):
        i = self.n % len(self.clients)
        self.n += 1
        c = self.clients[i]
        if c is None:
            c = self.clients[i] = client_from(self.port, self.source, self.host)
        try:
            resp = c.request(method, target, body=body)
        except (OSError, Closed):
            c.close()
            self.clients[i] = None
            raise
        if (resp.header("Connection") or "").lower() == "close" or c.reader.eof:
            c.close()
            self.clients[i] = None
        return resp

    def names(self, n, target="/"):
        return [name_of(self.request(target)) for _ in range(n)]

    def close(self):
        for i, c in enumerate(self.clients):
            if c is not None:
                c.close()
            self.clients[i] = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def hammer(port, total, threads, target="/", timeout=30.0):
    """`total` GETs from `threads` threads at once, each thread over its
    own keep-alive connection. Returns a list (in request order) of
    Response, or the exception a request ended with."""
    results = [None] * total
    lock = threading.Lock()
    nxt = [0]
    deadline = time.monotonic() + timeout

    def run():
        c = None
        while time.monotonic() < deadline:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= total:
                break
            try:
                if c is None:
                    c = Client(port, timeout=10)
                resp = c.request("GET", target(i) if callable(target) else target)
                results[i] = resp
                if (resp.header("Connection") or "").lower() == "close" or c.reader.eof:
                    c.close()
                    c = None
            except (OSError, Closed) as e:
                results[i] = e
                if c is not None:
                    c.close()
                c = None
        if c is not None:
            c.close()

    ts = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(max(0.1, deadline - time.monotonic() + 5))
    return results


class Inflight:
    """Counts a backend's requests in progress and remembers the most."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cur = 0
        self.max = 0

    def enter(self):
        with self.lock:
            self.cur += 1
            self.max = max(self.max, self.cur)

    def leave(self):
        with self.lock:
            self.cur -= 1


def named(delay=0.0, body_delay=0.0, status=200, track=None):
    """Answer "ok from <name>" (status 200) or a bare `status`; wait
    `delay` before the head, or `body_delay` between head and body. With
    track, the request counts as in flight until the answer is decided
    (before a byte of it is written, so a next request the proxy sends
    after reading this answer can never overlap it)."""
    def h(b, req, sock):
        if track:
            track.enter()
        try:
            if delay:
                time.sleep(delay)
        finally:
            if track:
                track.leave()
        ka = wants_keepalive(req)
        body = ("ok from %s" % b.name).encode() if status == 200 else \
            ("status %d from %s" % (status, b.name)).encode()
        if body_delay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            head = "HTTP/1.1 %d X\r\nContent-Length: %d\r\n%s\r\n" % (
                status, len(body), "" if ka else "Connection: close\r\n")
            sock.sendall(head.encode())
            time.sleep(body_delay)
            sock.sendall(body)
            return ka
        return send_response(sock, status, [("Content-Type", "text/plain")], body,
                             reason="X", keepalive=ka)
    return h


def closing():
    """Read the request, then close without answering."""
    def h(b, req, sock):
        return False
    return h


def resetting():
    """Read the request (with its body), then reset the connection."""
    def h(b, req, sock):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        except OSError:
            pass
        return False
    return h


def targets_of(b):
    return [q.target for q in b.requests]


# ---------------------------------------------------------------- round robin

@pytest.mark.parametrize("zone", [
    True, pytest.param(False, marks=pytest.mark.rampart_only)], ids=["zone", "nozone"])
def test_round_robin_weights_5_1_1_exact(rampart, backend, zone):
    """Smooth weighted round robin is deterministic and its state is shared
    by the worker threads: 1400 sequential requests over 4 client
    connections give exactly a a b a c a a, 200 times. Without `zone` in
    rampart too (nginx needs the zone to share it across processes)."""
    a, b, c = backend("a", named()), backend("b", named()), backend("c", named())
    r = rampart(conf("server @a@ weight=5; server @b@; server @c@ weight=1;", zone=zone),
                backends={"a": a, "b": b, "c": c})
    with Seq(r.port) as s:
        seq = s.names(1400)
    got = counts(seq)
    assert abs(got.get("a", 0) - 1000) <= 2 and abs(got.get("b", 0) - 200) <= 2 \
        and abs(got.get("c", 0) - 200) <= 2, got
    for i in range(1, len(seq)):
        assert not (seq[i] in ("b", "c") and seq[i] == seq[i - 1]), (i, seq[i - 5:i + 5])
    assert "".join(seq) == "aabacaa" * 200
    assert (len(a.requests), len(b.requests), len(c.requests)) == (1000, 200, 200)


def test_round_robin_weights_3_1_exact(rampart, backend):
    a, b = backend("a", named()), backend("b", named())
    r = rampart(conf("server @a@ weight=3; server @b@;"), backends={"a": a, "b": b})
    with Seq(r.port) as s:
        seq = s.names(1000)
    assert counts(seq) == {"a": 750, "b": 250}
    assert "".join(seq) == "aaba" * 250
    assert (len(a.requests), len(b.requests)) == (750, 250)


def test_round_robin_weights_under_concurrency(rampart, backend):
    """Concurrent clients on both workers: the counts still follow the
    weights exactly (one shared sequence), within 2."""
    a, b = backend("a", named()), backend("b", named())
    r = rampart(conf("server @a@ weight=3; server @b@;"), backends={"a": a, "b": b})
    res = hammer(r.port, 1200, 12)
    names = [name_of(x) for x in res]
    assert None not in names, [x for x in res if name_of(x) is None][:3]
    got = counts(names)
    assert abs(got["a"] - 900) <= 2 and abs(got["b"] - 300) <= 2, got
    assert (len(a.requests), len(b.requests)) == (got["a"], got["b"])


# ---------------------------------------------------------------- least_conn

def test_least_conn_avoids_slow_backend(rampart, backend):
    """One backend takes 200 ms per answer, two answer at once: under 20
    concurrent clients least_conn sends the slow one far fewer requests
    (round robin would give it a third)."""
    slow = backend("slow", named(delay=0.2))
    f1, f2 = backend("f1", named()), backend("f2", named())
    r = rampart(conf("least_conn; server @s@; server @f1@; server @f2@;"),
                backends={"s": slow, "f1": f1, "f2": f2})
    res = hammer(r.port, 1000, 20)
    names = [name_of(x) for x in res]
    assert None not in names
    got = counts(names)
    assert 1 <= got.get("slow", 0) < 100, got
    assert len(slow.requests) == got.get("slow", 0)
    assert len(f1.requests) + len(f2.requests) == 1000 - got.get("slow", 0)


def test_least_conn_by_weight(rampart, backend):
    """least_conn counts requests in flight per unit of weight: with
    weights 3 and 1 and equally quick backends (10 ms), 8 concurrent
    clients split 3:1."""
    a, b = backend("a", named(delay=0.01)), backend("b", named(delay=0.01))
    r = rampart(conf("least_conn; server @a@ weight=3; server @b@;"), backends={"a": a, "b": b})
    res = hammer(r.port, 1000, 8)
    names = [name_of(x) for x in res]
    assert None not in names
    got = counts(names)
    assert abs(got["a"] / 1000 - 0.75) <= 0.05, got
    assert (len(a.requests), len(b.requests)) == (got["a"], got["b"])


def test_least_conn_equal_backends_even(rampart, backend):
    bs = {n: backend(n, named()) for n in ("a", "b", "c")}
    r = rampart(conf("least_conn; server @a@; server @b@; server @c@;"), backends=bs)
    res = hammer(r.port, 1200, 10)
    names = [name_of(x) for x in res]
    assert None not in names
    got = counts(names)
    for n, b in bs.items():
        assert abs(got[n] / 1200 - 1 / 3) < 0.05, got
        assert len(b.requests) == got[n]


# ---------------------------------------------------------------- ip_hash

def test_ip_hash_by_24_network(rampart, backend):
    """All of 127.0.0.0/24 (127.0.0.1 and 127.0.0.2-9 as source addresses)
    goes to one server; 40 other /24s (127.0.N.1) each stay on one server
    and together use several."""
    bs = {n: backend(n, named()) for n in ("a", "b", "c", "d")}
    r = rampart(conf("ip_hash; server @a@; server @b@; server @c@; server @d@;"), backends=bs)
    with Seq(r.port) as s:
        home = s.names(200)
    assert len(set(home)) == 1 and home[0] is not None, counts(home)
    same_net = []
    for k in range(2, 10):
        with Seq(r.port, conns=1, source="127.0.0.%d" % k) as s:
            same_net += s.names(25)
    assert set(same_net) == {home[0]}, counts(same_net)
    per_net = {}
    for n in range(1, 41):
        with Seq(r.port, conns=2, source="127.0.%d.1" % n) as s:
            per_net[n] = s.names(20)
    for n, names in per_net.items():
        assert len(set(names)) == 1 and names[0] is not None, (n, counts(names))
    used = {names[0] for names in per_net.values()}
    assert len(used) >= 3, used
    total = counts(home + same_net + [x for names in per_net.values() for x in names])
    for n, b in bs.items():
        assert len(b.requests) == total.get(n, 0)
    assert sum(len(b.requests) for b in bs.values()) == 1200


def test_ip_hash_ipv6_client(rampart, backend):
    """An IPv6 client (::1) is hashed by its whole address: one server."""
    s6 = socket.socket(socket.AF_INET6)
    try:
        s6.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1")
    finally:
        s6.close()
    bs = {n: backend(n, named()) for n in ("a", "b", "c")}
    r = rampart(conf("ip_hash; server @a@; server @b@; server @c@;",
                     server="listen [::1]:@PORT@;"), backends=bs)
    assert wait_for(lambda: _v6_up(r.port), 5)
    with Seq(r.port, host="::1") as s:
        names = s.names(1000)
    assert len(set(names)) == 1 and names[0] is not None, counts(names)
    assert len(bs[names[0]].requests) == 1000
    assert all(len(b.requests) == 0 for n, b in bs.items() if n != names[0])


def _v6_up(port):
    try:
        socket.create_connection(("::1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- hash

def _key_map(port, keys):
    """key -> backend name, one request per key over fresh keep-alive
    connections."""
    with Seq(port) as s:
        return {k: name_of(s.request("/k?key=%s" % k)) for k in keys}


def test_hash_same_key_same_server(rampart, backend):
    bs = {n: backend(n, named()) for n in ("a", "b", "c", "d")}
    r = rampart(conf("hash $arg_key; server @a@; server @b@; server @c@; server @d@;"),
                backends=bs)
    seen = {}
    with Seq(r.port) as s:
        for i in range(1000):
            k = "user%d" % (i % 100)
            seen.setdefault(k, set()).add(name_of(s.request("/x?key=%s&i=%d" % (k, i))))
    for k, names in seen.items():
        assert len(names) == 1 and None not in names, (k, names)
    mapping = {k: next(iter(v)) for k, v in seen.items()}
    assert set(mapping.values()) == set(bs), counts(mapping.values())
    for n, b in bs.items():
        got_keys = {t.split("key=")[1].split("&")[0] for t in targets_of(b)}
        assert got_keys == {k for k, v in mapping.items() if v == n}
        assert len(b.requests) == 10 * len(got_keys)


def _reload_away(r, http, key, gone, gen):
    """Reload with http (whose answers carry X-Gen: gen); wait until 5
    fresh connections in a row get the new generation and do not reach the
    server `gone` for `key`."""
    def check():
        for _ in range(5):
            resp = get(r.port, "/k?key=%s" % key)
            if resp.header("X-Gen") != gen or name_of(resp) in (gone, None):
                return False
        return True
    assert r.reload(http, check=check), "reload did not take effect"


def _moved(before, after):
    return [k for k in before if before[k] != after[k]]


def test_hash_consistent_moves_only_removed_servers_keys(rampart, backend):
    """hash ... consistent over 4 servers, 1000 keys: marking one `down`
    (reload) moves exactly its keys (about a quarter), none of the others;
    removing its line does the same (the ring points come from the
    server's own address). Plain hash moves far more when a line goes."""
    bs = {n: backend(n, named()) for n in ("a", "b", "c", "d")}
    keys = ["k%d" % i for i in range(1000)]
    lines = "server @a@; server @b@; server @c@; server @d@;"
    r = rampart(conf("hash $arg_key consistent; " + lines), backends=bs)
    before = _key_map(r.port, keys)
    assert None not in before.values()
    share = counts(before.values())
    assert set(share) == set(bs) and all(v > 100 for v in share.values()), share
    key_c = next(k for k in keys if before[k] == "c")

    _reload_away(r, conf("hash $arg_key consistent; " + lines.replace("@c@;", "@c@ down;"),
                         loc="add_header X-Gen g2;"), key_c, "c", "g2")
    n_c = len(bs["c"].requests)
    after = _key_map(r.port, keys)
    assert len(bs["c"].requests) == n_c, "a down server got requests"
    moved = _moved(before, after)
    assert set(moved) == {k for k in keys if before[k] == "c"}
    frac_consistent = len(moved) / len(keys)
    assert 0.15 <= frac_consistent <= 0.35, frac_consistent
    assert "c" not in after.values() and None not in after.values()

    _reload_away(r, conf("hash $arg_key consistent; " + lines.replace("server @c@;", ""),
                         loc="add_header X-Gen g3;"), key_c, "c", "g3")
    gone = _key_map(r.port, keys)
    assert gone == after, "removing the line moved other keys than marking it down"

    # plain hash: the weights laid end to end change, most keys move
    r2 = rampart(conf("hash $arg_key; " + lines), backends=bs)
    plain_before = _key_map(r2.port, keys)
    key_c2 = next(k for k in keys if plain_before[k] == "c")
    _reload_away(r2, conf("hash $arg_key; " + lines.replace("server @c@;", ""),
                          loc="add_header X-Gen g2;"), key_c2, "c", "g2")
    plain_after = _key_map(r2.port, keys)
    assert None not in plain_after.values() and "c" not in plain_after.values()
    frac_plain = len(_moved(plain_before, plain_after)) / len(keys)
    assert frac_plain > frac_consistent + 0.2, (frac_plain, frac_consistent)


# ---------------------------------------------------------------- random

def test_random_by_weight(rampart, backend):
    """2000 sequential requests split by weight within 5 points; and they
    really are random: weight-1 servers sometimes come twice in a row,
    which weighted round robin never does."""
    bs = {n: backend(n, named()) for n in ("a", "b", "c")}
    r = rampart(conf("random; server @a@; server @b@ weight=2; server @c@;"), backends=bs)
    with Seq(r.port) as s:
        names = s.names(2000)
    assert None not in names
    got = counts(names)
    for n, want in (("a", 0.25), ("b", 0.5), ("c", 0.25)):
        assert abs(got[n] / 2000 - want) <= 0.05, got
        assert len(bs[n].requests) == got[n]
    repeats = sum(1 for i in range(1, 2000) if names[i] == names[i - 1] and names[i] != "b")
    assert repeats >= 40, repeats


@pytest.mark.parametrize("how", [
    "least_conn",
    pytest.param("least_time=header", marks=pytest.mark.rampart_only),
    pytest.param("least_time=last_byte", marks=pytest.mark.rampart_only)])
def test_random_two_avoids_slow(rampart, backend, how):
    """random two: of two random servers the better one by `how` takes
    the request; a backend 200 ms slow gets few of 1000 requests from 20
    concurrent clients (plain random would give it a third)."""
    slow = backend("slow", named(delay=0.2))
    f1, f2 = backend("f1", named()), backend("f2", named())
    r = rampart(conf("random two %s; server @s@; server @f1@; server @f2@;" % how),
                backends={"s": slow, "f1": f1, "f2": f2})
    res = hammer(r.port, 1000, 20)
    names = [name_of(x) for x in res]
    assert None not in names
    got = counts(names)
    assert got.get("slow", 0) < 150, got
    assert len(slow.requests) == got.get("slow", 0)
    assert got.get("f1", 0) > 300 and got.get("f2", 0) > 300, got


# ---------------------------------------------------------------- least_time

@pytest.mark.rampart_only
@pytest.mark.parametrize("mode", ["header", "last_byte"])
def test_least_time_avoids_slow_backend(rampart, backend, mode):
    """least_time header: a backend 100 ms slower to answer gets almost
    nothing once it has a sample. last_byte: the same for a backend that
    sends its head at once but its body 100 ms later."""
    if mode == "header":
        slow = backend("slow", named(delay=0.1))
    else:
        slow = backend("slow", named(body_delay=0.1))
    f1, f2 = backend("f1", named()), backend("f2", named())
    r = rampart(conf("least_time %s; server @s@; server @f1@; server @f2@;" % mode, zone=False),
                backends={"s": slow, "f1": f1, "f2": f2})
    warm = hammer(r.port, 200, 8)
    assert all(name_of(x) for x in warm)
    assert len(slow.requests) >= 1
    n0 = len(slow.requests)
    res = hammer(r.port, 1000, 8)
    names = [name_of(x) for x in res]
    assert None not in names
    got = counts(names)
    assert got.get("slow", 0) < 100, got
    assert len(slow.requests) - n0 == got.get("slow", 0)


@pytest.mark.rampart_only
@pytest.mark.parametrize("mode,winner", [("header", "sb"), ("last_byte", "f")])
def test_least_time_measures_its_mode(rampart, backend, mode, winner):
    """sb sends its head at once and its body 10 ms later; f waits 3 ms,
    then sends everything. One request at a time (so requests in flight do
    not weigh in): by time to the head sb is faster, by time to the last
    byte f is."""
    sb = backend("sb", named(body_delay=0.01))
    f = backend("f", named(delay=0.003))
    r = rampart(conf("least_time %s; server @sb@; server @f@;" % mode, zone=False),
                backends={"sb": sb, "f": f})
    with Seq(r.port, conns=1) as s:
        names = s.names(100)
    got = counts(names)
    assert got.get(winner, 0) >= 90, got
    assert (len(sb.requests), len(f.requests)) == (got.get("sb", 0), got.get("f", 0))


# ---------------------------------------------------------------- max_conns

@pytest.mark.parametrize("zone", [
    True, pytest.param(False, marks=pytest.mark.rampart_only)], ids=["zone", "nozone"])
def test_max_conns_limits_inflight(rampart, backend, zone):
    """max_conns=2 on a slow backend (0.1 s per answer, the other takes
    10 ms), 10 concurrent clients on both workers: it never has more than 2
    requests at once (and does reach 2); everything else goes to the other
    server, no client error."""
    tr = Inflight()
    slow = backend("slow", named(delay=0.1, track=tr))
    fast = backend("fast", named(delay=0.01))
    r = rampart(conf("server @s@ max_conns=2; server @f@;", zone=zone),
                backends={"s": slow, "f": fast})
    res = hammer(r.port, 1000, 10)
    names = [name_of(x) for x in res]
    assert None not in names, [x for x in res if not name_of(x)][:3]
    assert tr.max == 2, tr.max
    got = counts(names)
    assert len(slow.requests) == got.get("slow", 0) >= 10
    assert len(fast.requests) == got.get("fast", 0)


def test_max_conns_released_after_abort_timeout_and_error(rampart, backend):
    """A request slot (max_conns=1, lone server) comes back however the
    request ended: the client went away (499), the backend timed out
    (504), or it dropped the connection (502). Otherwise the server would
    stay full and every later request get 502."""
    def h(b, req, sock):
        if req.target == "/slow":
            time.sleep(1.0)
        elif req.target == "/drop":
            return False
        return send_response(sock, 200, None, "ok from %s" % b.name,
                             keepalive=wants_keepalive(req))
    s1 = backend("s1", h)
    r = rampart(conf("server @s@ max_conns=1;", loc="proxy_read_timeout 300ms;"),
                backends={"s": s1})
    c = Client(r.port, timeout=5)
    c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s1.wait_requests(1, 3)
    c.close()
    time.sleep(0.1)
    # one client connection: each request starts after the previous one
    # ended in the same worker (test_max_conns_free_once_answered covers
    # the hand-over between workers)
    with Seq(r.port, conns=1) as s:
        after_abort = [s.request("/a%d" % i) for i in range(5)]
        timed_out = s.request("/slow")
        after_timeout = [s.request("/t%d" % i) for i in range(5)]
        dropped = s.request("/drop")
        after_drop = [s.request("/d%d" % i) for i in range(5)]
    assert [name_of(x) for x in after_abort + after_timeout + after_drop] == ["s1"] * 15
    assert timed_out.status == 504 and dropped.status == 502
    # (a repeat on a fresh connection after a pooled one failed is allowed
    # here; test_timed_out_request_not_resent covers the timeout case)
    seen = [q.target for q in s1.requests]
    seen = [t for i, t in enumerate(seen) if i == 0 or t != seen[i - 1]]
    assert seen == (["/slow"] + ["/a%d" % i for i in range(5)] + ["/slow"] +
                    ["/t%d" % i for i in range(5)] + ["/drop"] + ["/d%d" % i for i in range(5)])


def test_max_conns_free_once_answered(rampart, backend):
    """A request whose whole answer the client has is no longer in flight:
    with max_conns=1 on a lone server, 4000 strictly sequential requests
    taking turns over 4 client connections (so over both workers) are all
    served; none finds the slot still taken by the previous one."""
    s1 = backend("s1", named())
    r = rampart(conf("server @s@ max_conns=1;"), backends={"s": s1})
    with Seq(r.port, conns=4) as s:
        res = [s.request("/r%d" % i) for i in range(4000)]
    bad = [(i, x.status) for i, x in enumerate(res) if x.status != 200]
    assert not bad, "%d of 4000 refused, first: %s" % (len(bad), bad[:5])
    assert len(s1.requests) == 4000


def test_max_conns_all_full_gives_502_at_once(rampart, backend):
    """Two servers with max_conns=1 each, answering in 0.5 s, 6 requests
    at the same moment: 2 are served, 4 get 502 without waiting."""
    t1, t2 = Inflight(), Inflight()
    s1 = backend("s1", named(delay=0.5, track=t1))
    s2 = backend("s2", named(delay=0.5, track=t2))
    r = rampart(conf("server @s1@ max_conns=1; server @s2@ max_conns=1;"),
                backends={"s1": s1, "s2": s2})
    barrier = threading.Barrier(6)
    out = [None] * 6

    def one(i):
        c = Client(r.port, timeout=5)
        try:
            barrier.wait(5)
            t0 = time.monotonic()
            resp = c.request("GET", "/%d" % i)
            out[i] = (resp.status, time.monotonic() - t0, name_of(resp))
        finally:
            c.close()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    statuses = sorted(o[0] for o in out)
    assert statuses == [200, 200, 502, 502, 502, 502], out
    assert all(o[1] < 0.3 for o in out if o[0] == 502), out
    assert sorted(o[2] for o in out if o[0] == 200) == ["s1", "s2"]
    assert len(s1.requests) == 1 and len(s2.requests) == 1
    assert t1.max == 1 and t2.max == 1


# ---------------------------------------------------------------- max_fails

# fail_timeout=1s: rampart counts it in milliseconds; nginx in whole
# seconds, so there a server may stay out for up to 2 s
LATE_RETURN = 2.4 if is_nginx() else 1.4


def _poll(seq, pred, budget, pause=0.01):
    """A request every `pause` until pred() (after a request) is true or
    `budget` seconds pass; returns (responses, time pred became true or
    None)."""
    out = []
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        out.append(seq.request("/"))
        if pred():
            return out, time.monotonic()
        time.sleep(pause)
    return out, None


def _until(seq, pred, limit, budget):
    """Sequential requests until pred() or limits; returns the responses."""
    out = []
    deadline = time.monotonic() + budget
    while len(out) < limit and time.monotonic() < deadline and not pred():
        out.append(seq.request("/"))
    return out


@pytest.mark.parametrize("max_fails", [1, 3])
def test_max_fails_takes_server_out_for_fail_timeout(rampart, backend, max_fails):
    """A backend that closes every connection, next to a good one: clients
    never see an error (proxy_next_upstream error); the bad one gets
    max_fails attempts, then none for fail_timeout (1s), then it is tried
    again (at most max_fails more times)."""
    bad = backend("bad", closing())
    ok = backend("ok", named())
    r = rampart(conf("server @bad@ max_fails=%d fail_timeout=1s; server @ok@;" % max_fails),
                backends={"bad": bad, "ok": ok})
    with Seq(r.port) as s:
        first = _until(s, lambda: len(bad.requests) >= max_fails, 100, 3)
        t_out = time.monotonic()
        assert len(bad.requests) == max_fails
        quiet = []
        while time.monotonic() < t_out + 0.9 and len(quiet) < 5000:
            quiet.append(s.request("/"))
        assert len(quiet) >= 50
        assert len(bad.requests) == max_fails, "tried during fail_timeout"
        back, t_back = _poll(s, lambda: len(bad.requests) > max_fails, 3)
        assert t_back is not None, "not tried again after fail_timeout"
        assert t_back - t_out < LATE_RETURN, t_back - t_out
        again = [s.request("/") for _ in range(30)]
    assert all(name_of(x) == "ok" for x in first + quiet + back + again)
    assert max_fails + 1 <= len(bad.requests) <= 2 * max_fails, len(bad.requests)
    assert len(ok.requests) == len(first) + len(quiet) + len(back) + len(again)


def test_max_fails_refused_port_logged_once_per_fail_timeout(rampart, backend):
    """A port where nothing listens: every client request succeeds on the
    other server; the dead one is taken out once per fail_timeout, which
    the error log tells ("upstream server temporarily disabled")."""
    dead = free_port()
    ok = backend("ok", named())
    r = rampart(conf("server 127.0.0.1:%d fail_timeout=1s; server @ok@;" % dead),
                backends={"ok": ok})

    def disabled():
        return r.error_log().count("upstream server temporarily disabled")
    with Seq(r.port) as s:
        first = [s.request("/")]
        t_out = time.monotonic()
        while time.monotonic() < t_out + 0.9 and len(first) < 5000:
            first.append(s.request("/"))
        assert disabled() == 1
        back, t_back = _poll(s, lambda: disabled() == 2, 3)
        assert t_back is not None, "not tried again after fail_timeout"
        assert t_back - t_out < LATE_RETURN, t_back - t_out
        again = [s.request("/") for _ in range(30)]
    assert disabled() == 2
    assert all(name_of(x) == "ok" for x in first + back + again)
    assert len(ok.requests) == len(first) + len(back) + len(again)


def test_lone_server_never_taken_out(rampart, backend):
    """A group's only server is tried for every request, failures or not."""
    bad = backend("bad", closing())
    r = rampart(conf("server @bad@ max_fails=1 fail_timeout=10s;"), backends={"bad": bad})
    with Seq(r.port) as s:
        res = [s.request("/") for _ in range(10)]
    assert [x.status for x in res] == [502] * 10
    assert len(bad.requests) == 10


# ---------------------------------------------------------------- backup

def test_backup_only_when_primary_unusable(rampart, backend):
    prim = backend("prim", named())
    bak = backend("bak", named())
    r = rampart(conf("server @p@ fail_timeout=1s; server @b@ backup;"),
                backends={"p": prim, "b": bak})
    with Seq(r.port) as s:
        assert set(s.names(300)) == {"prim"}
        assert len(bak.requests) == 0 and len(prim.requests) == 300
        port = prim.port
        prim.close()
        t_down = time.monotonic()
        during = s.names(200)
        assert set(during) == {"bak"}, counts(during)
        prim2 = backend("prim", named(), port=port)
        # until fail_timeout has passed the primary stays out
        while time.monotonic() < t_down + 0.8:
            assert name_of(s.request("/")) == "bak"
            time.sleep(0.02)
        assert len(prim2.requests) == 0
        back = wait_for(lambda: name_of(s.request("/")) == "prim", 3, 0.02)
        assert back, "traffic did not return to the primary"
        assert time.monotonic() - t_down >= 0.9
        n_bak = len(bak.requests)
        after = s.names(300)
    assert set(after) == {"prim"}
    assert len(bak.requests) == n_bak
    assert len(prim2.requests) == 301


def test_backup_when_primaries_at_max_conns(rampart, backend):
    """The primary is at max_conns: further requests go to the backup."""
    tr = Inflight()
    prim = backend("prim", named(delay=0.4, track=tr))
    bak = backend("bak", named())
    r = rampart(conf("server @p@ max_conns=1; server @b@ backup;"),
                backends={"p": prim, "b": bak})
    c = Client(r.port, timeout=5)
    try:
        c.send(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        assert prim.wait_requests(1, 3)
        with Seq(r.port) as s:
            during = [s.request("/d%d" % i) for i in range(50)]
        first = c.response()
    finally:
        c.close()
    assert name_of(first) == "prim"
    assert all(name_of(x) == "bak" for x in during)
    assert targets_of(prim) == ["/first"] and tr.max == 1
    assert targets_of(bak) == ["/d%d" % i for i in range(50)]


# ---------------------------------------------------------------- down, drain

def test_down_server_never_used(rampart, backend):
    bs = {n: backend(n, named()) for n in ("a", "b", "c")}
    r = rampart(conf("server @a@ weight=2; server @b@ down; server @c@;"), backends=bs)
    with Seq(r.port) as s:
        names = s.names(1200)
    assert counts(names) == {"a": 800, "c": 400}
    assert len(bs["b"].requests) == 0
    assert (len(bs["a"].requests), len(bs["c"].requests)) == (800, 400)


def test_all_servers_down_502_at_once(rampart, backend):
    a, b = backend("a", named()), backend("b", named())
    r = rampart(conf("server @a@ down; server @b@ down;"), backends={"a": a, "b": b})
    t0 = time.monotonic()
    with Seq(r.port) as s:
        res = [s.request("/") for _ in range(20)]
    assert [x.status for x in res] == [502] * 20
    assert time.monotonic() - t0 < 2
    assert len(a.requests) == 0 and len(b.requests) == 0


@pytest.mark.rampart_only
def test_drain_server_gets_no_new_requests(rampart, backend):
    bs = {n: backend(n, named()) for n in ("a", "b", "c")}
    r = rampart(conf("server @a@; server @b@ drain; server @c@;", zone=False), backends=bs)
    res = hammer(r.port, 1000, 4)
    names = [name_of(x) for x in res]
    assert None not in names
    assert counts(names) == {"a": 500, "c": 500}
    assert len(bs["b"].requests) == 0


@pytest.mark.rampart_only
def test_drain_on_reload_lets_inflight_finish(rampart, backend):
    """A request in flight to a server that a reload marks `drain`
    finishes normally; new requests go elsewhere."""
    slow = backend("slow", named(delay=1.0))
    other = backend("other", named())
    lines = "server @s@; server @o@;"
    r = rampart(conf(lines, zone=False), backends={"s": slow, "o": other})
    c = Client(r.port, timeout=5)
    try:
        c.send(b"GET /long HTTP/1.1\r\nHost: x\r\n\r\n")
        assert slow.wait_requests(1, 3)
        assert r.reload(conf(lines.replace("@s@;", "@s@ drain;"), zone=False),
                        check=lambda: "active" in r.error_log().split("reconfiguring")[-1])
        with Seq(r.port) as s:
            names = s.names(100)
        resp = c.response()
    finally:
        c.close()
    assert resp.status == 200 and name_of(resp) == "slow"
    assert set(names) == {"other"}
    assert targets_of(slow) == ["/long"]


# ---------------------------------------------------------------- slow_start

@pytest.mark.rampart_only
def test_slow_start_ramps_weight(rampart, backend):
    """b (weight 10, slow_start=2s) next to a (weight 10): after b comes
    back from being taken out, its share starts low and grows to half."""
    state = {"broken": True}
    ok_h = named()

    def flaky(b, req, sock):
        if state["broken"]:
            return False
        return ok_h(b, req, sock)
    a = backend("a", named())
    b = backend("b", flaky)
    r = rampart(conf("server @a@ weight=10; server @b@ weight=10 slow_start=2s fail_timeout=1s;",
                     zone=False), backends={"a": a, "b": b})
    with Seq(r.port) as s:
        pre = _until(s, lambda: len(b.requests) >= 1, 50, 3)
        t_out = time.monotonic()
        assert len(b.requests) == 1 and all(name_of(x) == "a" for x in pre)
        state["broken"] = False
        t0 = None
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if name_of(s.request("/")) == "b":
                t0 = time.monotonic()
                break
            time.sleep(0.005)
        assert t0 is not None, "b never came back"
        assert t0 - t_out >= 0.9

        def phase(start, end):
            time.sleep(max(0.0, t0 + start - time.monotonic()))
            out = []
            while time.monotonic() < t0 + end and len(out) < 5000:
                out.append(name_of(s.request("/")))
            return out
        early = phase(0.0, 0.5)
        mid = phase(1.0, 1.5)
        time.sleep(max(0.0, t0 + 2.3 - time.monotonic()))
        late = s.names(600)
    share = [counts(p).get("b", 0) / max(1, len(p)) for p in (early, mid, late)]
    assert len(early) >= 100 and len(mid) >= 100, (len(early), len(mid))
    assert None not in early + mid + late
    assert share[0] < 0.25, share
    assert share[0] < share[1] < share[2], share
    assert 0.47 <= share[2] <= 0.53, share


# ---------------------------------------------------------------- proxy_next_upstream

@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_next_upstream_http_status_counts_as_failure(rampart, backend, status):
    """http_XXX: A's answer is dropped, B answers; the status counts
    against A, so A (max_fails=1, fail_timeout 10s) gets no more requests."""
    a = backend("A", named(status=status))
    b = backend("B", named())
    r = rampart(conf("server @a@; server @b@;",
                     loc="proxy_next_upstream error timeout http_%d;" % status),
                backends={"a": a, "b": b})
    with Seq(r.port) as s:
        res = [s.request("/r%d" % i) for i in range(50)]
    assert all(x.status == 200 and name_of(x) == "B" for x in res)
    assert len(a.requests) == 1
    assert targets_of(b) == ["/r%d" % i for i in range(50)]


def test_unlisted_503_reaches_client_and_is_no_failure(rampart, backend):
    """With the default proxy_next_upstream a 503 is an answer like any
    other: the client gets it, and A keeps its turns."""
    a = backend("A", named(status=503))
    b = backend("B", named())
    r = rampart(conf("server @a@; server @b@;"), backends={"a": a, "b": b})
    with Seq(r.port) as s:
        res = [s.request("/r%d" % i) for i in range(40)]
    from_a = [x for x in res if x.status == 503]
    assert all(x.text == "status 503 from A" for x in from_a)
    assert len(from_a) == len(a.requests) == 20
    assert all(name_of(x) == "B" for x in res if x.status != 503)
    assert len(b.requests) == 20


def test_timeout_counts_as_failure(rampart, backend):
    """A GET that times out (proxy_read_timeout) goes to the next server,
    and the slow one is taken out: it sees one request only."""
    slow = backend("slow", named(delay=1.0))
    ok = backend("ok", named())
    r = rampart(conf("server @s@; server @o@;", loc="proxy_read_timeout 300ms;"),
                backends={"s": slow, "o": ok})
    with Seq(r.port) as s:
        res = [s.request("/r%d" % i) for i in range(20)]
    assert all(name_of(x) == "ok" for x in res)
    assert len(slow.requests) == 1
    assert targets_of(ok) == ["/r%d" % i for i in range(20)]


@pytest.mark.rampart_only
def test_invalid_head_counts_as_failure_even_unlisted(rampart, backend):
    """An invalid response head is always a failed attempt: with
    `proxy_next_upstream error` (no invalid_header) the client gets 502,
    not retried, and the server is taken out. (nginx reads such an answer
    as HTTP/0.9.)"""
    def garbage(b, req, sock):
        sock.sendall(b"this is not http\r\n\r\n")
        return False
    bad = backend("bad", garbage)
    ok = backend("ok", named())
    r = rampart(conf("server @b@; server @o@;", loc="proxy_next_upstream error;", zone=False),
                backends={"b": bad, "o": ok})
    with Seq(r.port) as s:
        res = [s.request("/r%d" % i) for i in range(20)]
    assert [x.status for x in res] == [502] + [200] * 19
    assert targets_of(bad) == ["/r0"]
    assert targets_of(ok) == ["/r%d" % i for i in range(1, 20)]


def test_timed_out_request_not_resent(rampart, backend):
    """A request that timed out waiting for the answer on a pooled
    connection was received by the server: it is not sent to that server
    again (each server at most once per request), and the client gets 504
    after one proxy_read_timeout, not two."""
    def h(b, req, sock):
        if req.target == "/slow":
            time.sleep(1.0)
        return send_response(sock, 200, None, "ok from %s" % b.name,
                             keepalive=wants_keepalive(req))
    s1 = backend("s1", h)
    r = rampart(conf("server @s@; keepalive 8;",
                     loc='proxy_read_timeout 300ms; proxy_http_version 1.1; '
                         'proxy_set_header Connection "";'), backends={"s": s1})
    with Client(r.port) as c:
        assert name_of(c.request("GET", "/warm")) == "s1"
        t0 = time.monotonic()
        resp = c.request("GET", "/slow")
        took = time.monotonic() - t0
    assert resp.status == 504
    time.sleep(0.2)
    assert [q.target for q in s1.requests] == ["/warm", "/slow"]
    assert s1.requests[1].conn_id == s1.requests[0].conn_id  # sent on the pooled one
    assert took < 0.55, took


@pytest.mark.parametrize("status", [403, 404])
def test_next_upstream_http_403_404_are_not_failures(rampart, backend, status):
    """http_403 / http_404: the answer is dropped and B asked, but A is not
    taken out: it keeps getting its turn (every other request)."""
    a = backend("A", named(status=status))
    b = backend("B", named())
    r = rampart(conf("server @a@; server @b@;",
                     loc="proxy_next_upstream error http_%d;" % status),
                backends={"a": a, "b": b})
    with Seq(r.port) as s:
        res = [s.request("/r%d" % i) for i in range(40)]
    assert all(x.status == 200 and name_of(x) == "B" for x in res)
    assert len(a.requests) >= 15, len(a.requests)
    assert len(b.requests) == 40


@pytest.mark.rampart_only
def test_success_clears_failure_count(rampart, backend):
    """max_fails=2: a server that fails every other request never has two
    failures without a success between them, so it is never taken out.
    (nginx keeps counting within fail_timeout.)"""
    seen = [0]

    def flaky(b, req, sock):
        seen[0] += 1
        if seen[0] % 2:
            return False
        # no pooled connection: a failure on one would be retried unseen
        return send_response(sock, 200, None, "ok from %s" % b.name, keepalive=False)
    f = backend("F", flaky)
    g = backend("G", named())
    r = rampart(conf("server @f@ max_fails=2 fail_timeout=10s; server @g@;", zone=False),
                backends={"f": f, "g": g})
    with Seq(r.port) as s:
        res = [s.request("/r%d" % i) for i in range(40)]
    assert all(x.status == 200 for x in res)
    assert len(f.requests) >= 20, len(f.requests)
    assert counts(name_of(x) for x in res).get("F", 0) >= 8


def test_next_upstream_http_503_last_answer_goes_to_client(rampart, backend):
    """With no other server left the client gets the 503 itself: a lone
    server, or two that both answer 503 (each asked once)."""
    a = backend("A", named(status=503))
    r = rampart(conf("server @a@;", loc="proxy_next_upstream error http_503;"),
                backends={"a": a})
    with Seq(r.port) as s:
        res = [s.request("/") for _ in range(5)]
    assert [x.status for x in res] == [503] * 5
    assert all(x.text == "status 503 from A" for x in res)
    assert len(a.requests) == 5

    a2 = backend("A2", named(status=503))
    b2 = backend("B2", named(status=503))
    r2 = rampart(conf("server @a@ max_fails=0; server @b@ max_fails=0;",
                      loc="proxy_next_upstream error http_503;"), backends={"a": a2, "b": b2})
    with Seq(r2.port) as s:
        res = [s.request("/r%d" % i) for i in range(10)]
    assert [x.status for x in res] == [503] * 10
    assert targets_of(a2) == targets_of(b2) == ["/r%d" % i for i in range(10)]


def test_next_upstream_off_refused_gives_502(rampart, backend):
    dead = free_port()
    b = backend("B", named())
    r = rampart(conf("server 127.0.0.1:%d; server @b@;" % dead, loc="proxy_next_upstream off;"),
                backends={"b": b})
    with Seq(r.port) as s:
        res = [s.request("/r%d" % i) for i in range(10)]
    statuses = [x.status for x in res]
    # the dead one is picked first, fails (502, B not asked), then is out
    assert statuses == [502] + [200] * 9, statuses
    assert targets_of(b) == ["/r%d" % i for i in range(1, 10)]


def test_next_upstream_each_server_once(rampart, backend):
    """Four servers that all drop the connection: each request is tried
    once on each, then 502."""
    bs = {n: backend(n, closing()) for n in ("a", "b", "c", "d")}
    r = rampart(conf("server @a@ max_fails=0; server @b@ max_fails=0; "
                     "server @c@ max_fails=0; server @d@ max_fails=0;"), backends=bs)
    with Seq(r.port) as s:
        res = [s.request("/r%d" % i) for i in range(5)]
    assert [x.status for x in res] == [502] * 5
    for b in bs.values():
        assert sorted(targets_of(b)) == ["/r%d" % i for i in range(5)]


def test_next_upstream_tries(rampart, backend):
    bs = {n: backend(n, closing()) for n in ("a", "b", "c", "d")}
    r = rampart(conf("server @a@ max_fails=0; server @b@ max_fails=0; "
                     "server @c@ max_fails=0; server @d@ max_fails=0;",
                     loc="proxy_next_upstream_tries 2;"), backends=bs)
    with Seq(r.port) as s:
        res = [s.request("/r%d" % i) for i in range(10)]
    assert [x.status for x in res] == [502] * 10
    per_target = counts(t for b in bs.values() for t in targets_of(b))
    assert per_target == {"/r%d" % i: 2 for i in range(10)}


def test_next_upstream_timeout(rampart, backend):
    """Servers that drop the connection after 0.4 s; with
    proxy_next_upstream_timeout 0.6s a request gets a second server (at
    0.4 s) but no third (at 0.8 s)."""
    def late_close(b, req, sock):
        time.sleep(0.4)
        return False
    bs = {n: backend(n, late_close) for n in ("a", "b", "c", "d")}
    r = rampart(conf("server @a@ max_fails=0; server @b@ max_fails=0; "
                     "server @c@ max_fails=0; server @d@ max_fails=0;",
                     loc="proxy_next_upstream_timeout 600ms;"), backends=bs)
    t0 = time.monotonic()
    resp = get(r.port, "/once", timeout=5)
    took = time.monotonic() - t0
    assert resp.status == 502
    assert sum(len(b.requests) for b in bs.values()) == 2
    assert 0.7 < took < 1.5, took


def test_post_not_resent_unless_non_idempotent(rampart, backend):
    """X resets the connection after reading a POST's body. By default the
    POST is not sent again (502; Y never sees it) while a GET is; with
    `proxy_next_upstream error non_idempotent` the POST goes to Y."""
    x = backend("X", resetting())
    y = backend("Y", named())
    lines = "server @x@ max_fails=0; server @y@ max_fails=0;"
    r = rampart(conf(lines), backends={"x": x, "y": y})
    with Seq(r.port) as s:
        posts = {"p%d" % i: s.request("/post", method="POST", body="p%d" % i) for i in range(10)}
        gets = [s.request("/get%d" % i) for i in range(6)]
    to_x = {q.body.decode() for q in x.requests if q.method == "POST"}
    to_y = [q.body.decode() for q in y.requests if q.method == "POST"]
    assert to_x, "no POST reached X"
    for body, resp in posts.items():
        if body in to_x:
            assert resp.status == 502, (body, resp)
            assert body not in to_y
        else:
            assert resp.status == 200 and name_of(resp) == "Y"
            assert to_y.count(body) == 1
    assert all(g.status == 200 and name_of(g) == "Y" for g in gets)
    assert sorted(t for t in targets_of(y) if t.startswith("/get")) == \
        ["/get%d" % i for i in range(6)]

    x2 = backend("X2", resetting())
    y2 = backend("Y2", named())
    r2 = rampart(conf(lines, loc="proxy_next_upstream error non_idempotent;"),
                 backends={"x": x2, "y": y2})
    with Seq(r2.port) as s:
        posts = {"p%d" % i: s.request("/post", method="POST", body="p%d" % i) for i in range(10)}
    assert all(resp.status == 200 and name_of(resp) == "Y2" for resp in posts.values())
    assert len(x2.requests) >= 1
    assert sorted(q.body.decode() for q in y2.requests) == sorted(posts)
    assert all(q.complete and q.body.startswith(b"p") for q in x2.requests + y2.requests)


def test_post_not_sent_yet_moves_on(rampart, backend):
    """A POST of which nothing went out (the connection was refused) goes
    to the next server whatever its method."""
    dead = free_port()
    y = backend("Y", named())
    r = rampart(conf("server 127.0.0.1:%d max_fails=0; server @y@ max_fails=0;" % dead),
                backends={"y": y})
    with Seq(r.port) as s:
        res = [s.request("/p", method="POST", body="p%d" % i) for i in range(10)]
    assert all(x.status == 200 and name_of(x) == "Y" for x in res)
    assert [q.body for q in y.requests] == [b"p%d" % i for i in range(10)]


# ---------------------------------------------------------------- config errors

@pytest.mark.parametrize("method", ["hash $uri", "hash $uri consistent", "ip_hash", "random"])
def test_backup_with_hash_is_config_error(conf_test, method):
    """Refused at the server line, with its file:line (nginx words the
    sentence a little differently)."""
    rc, out, path = conf_test("events {}\nhttp {\nupstream app {\n    %s;\n"
                              "    server 127.0.0.1:1;\n    server 127.0.0.1:2 backup;\n}\n}\n"
                              % method, full=True)
    assert rc == 1
    assert 'support parameter "backup"' in out and path + ":6" in out, out
    if not is_nginx():
        assert 'load balancing method doesn\'t support parameter "backup" in %s:6' % path in out


@pytest.mark.rampart_only
def test_two_methods_is_config_error(conf_test):
    rc, out, path = conf_test("events {}\nhttp {\nupstream app {\n    least_conn;\n"
                              "    ip_hash;\n    server 127.0.0.1:1;\n}\n}\n", full=True)
    assert rc == 1
    assert "load balancing method redefined" in out and path + ":5" in out, out


def test_backup_with_round_robin_and_least_conn_is_fine(conf_test):
    for method in ("", "least_conn;"):
        rc, out, _ = conf_test("events {}\nhttp {\nupstream app {\n    %s\n"
                               "    server 127.0.0.1:1;\n    server 127.0.0.1:2 backup;\n}\n}\n"
                               % method, full=True)
        assert rc == 0, out
