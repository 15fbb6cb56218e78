#!/usr/bin/python3
"""Small parsers and helpers for bench/run.sh (one subcommand each).

    util.py freeports N             N free TCP ports on 127.0.0.1 in 20000-32000
    util.py wrk FILE                "requests rps p99_ms bad" from wrk --latency output
    util.py h2load FILE             "succeeded" from h2load output
    util.py h2run FILE LOG          "requests rps p99_ms bad protocol" from a timed h2load
                                    run and its --log-file
    util.py stime FILE...           "connections bytes" summed over openssl s_time outputs
    util.py callgrind FILE...       summed Ir over callgrind output files
    util.py strace FILE             total system calls from strace -c output
    util.py median V...             median of numbers
    util.py html SIZE FILE          writes a deterministic HTML page of SIZE bytes to FILE
    util.py fetch PORT PATH CODING FILE
                                    one GET with "Accept-Encoding: CODING": "status
                                    content-encoding body_bytes decoded_bytes same", same = 1
                                    when the decoded body equals FILE
    util.py wrkread FILE            bytes read per response in a wrk run

Everything prints one line to stdout; a parse failure prints "failed" and
exits 1 so the shell can record the row as failed instead of aborting.
"""

import gzip
import http.client
import io
import random
import re
import socket
import statistics
import sys


def freeports(n):
    # Ports below 32768 stay clear of the kernel's ephemeral range, where
    # wrk's and the proxies' own client sockets take their source ports.
    rng = random.Random()
    got = []
    tries = 0
    while len(got) < n and tries < 2000:
        tries += 1
        p = rng.randrange(20000, 32000)
        if p in got:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        got.append(p)
    if len(got) < n:
        raise SystemExit("failed")
    print(" ".join(map(str, got)))


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNIT[m.group(2)]


def wrk(path):
    text = open(path, errors="replace").read()
    m = re.search(r"(\d+) requests in ([0-9.]+)(us|ms|s|m)", text)
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    p99 = re.search(r"^\s+99(?:\.000)?%\s+(\S+)", text, re.M)
    if not (m and rps and p99):
        raise SystemExit("failed")
    bad = 0
    n2 = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if n2:
        bad += int(n2.group(1))
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if se:
        bad += sum(int(x) for x in se.groups())
    print(m.group(1), rps.group(1), "%.3f" % _ms(p99.group(1)), bad)


def h2load(path):
    text = open(path, errors="replace").read()
    m = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", text)
    if not m:
        raise SystemExit("failed")
    print(m.group(1))


def h2run(path, log):
    # The summary gives the counts and the rate; the per-request log (one
    # "start_us status duration_us" row per finished stream, status -1 for
    # a failed one) gives the latency percentile h2load does not print.
    # h2load's "failed" already includes its "errored" and "timeout" streams
    # and 4xx/5xx answers; it counts 3xx as success, this does not.
    text = open(path, errors="replace").read()
    fin = re.search(r"^finished in [0-9.]+(?:us|ms|s|m), ([0-9.]+) req/s", text, re.M)
    req = re.search(r"^requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, "
                    r"(\d+) failed, \d+ errored, \d+ timeout", text, re.M)
    codes = re.search(r"^status codes: \d+ 2xx, (\d+) 3xx, \d+ 4xx, \d+ 5xx", text, re.M)
    proto = re.search(r"^Application protocol: (\S+)", text, re.M)
    if not (fin and req and codes):
        raise SystemExit("failed")
    times = []
    for line in open(log, errors="replace"):
        f = line.split("\t")
        if len(f) >= 3 and f[1] != "-1":
            times.append(int(f[2]))
    if not times:
        raise SystemExit("failed")
    times.sort()
    p99 = times[min(len(times) - 1, (len(times) * 99 + 99) // 100 - 1)] / 1000.0
    bad = int(req.group(2)) + int(codes.group(1))
    print(req.group(1), fin.group(1), "%.3f" % p99, bad, proto.group(1) if proto else "none")


def stime(paths):
    # openssl s_time prints, for the -new pass,
    #   "N connections in 0.53s; 2267.92 connections/user sec, bytes read B"
    # (the time there is its own CPU time, not wall time: the driver times
    # the run itself). Every file must have it, or that client failed.
    conns = nbytes = 0
    for p in paths:
        m = re.search(r"^(\d+) connections in [0-9.]+s; [0-9.]+ connections/user sec, "
                      r"bytes read (\d+)$", open(p, errors="replace").read(), re.M)
        if not m:
            raise SystemExit("failed")
        conns += int(m.group(1))
        nbytes += int(m.group(2))
    print(conns, nbytes)


def callgrind(paths):
    total = 0
    found = False
    for p in paths:
        for line in open(p, errors="replace"):
            if line.startswith("summary:"):
                total += int(line.split()[1])
                found = True
                break
    if not found:
        raise SystemExit("failed")
    print(total)


def strace(path):
    for line in open(path, errors="replace"):
        f = line.split()
        if f and f[-1] == "total" and len(f) >= 4:
            print(f[3])
            return
    raise SystemExit("failed")


def median(vals):
    print("%.6g" % statistics.median(float(v) for v in vals))


# The compression runs' page: ordinary markup (navigation, paragraphs with
# links, cards, tables, indentation) with words drawn from a small vocabulary
# by a Zipf-like law, so that it compresses like a real page (about 3.9x
# with gzip level 1, 4.4x at level 6) and not like one byte repeated.
WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from "
         "at which but have an they you were their one all we can her has there been if more "
         "when will would who so no time people year way day thing man world life hand part "
         "child eye woman place work week case point government company number group problem "
         "fact system program question night home water room mother area money story month lot "
         "right study book job word business issue side kind head house service friend father "
         "power hour game line end member law car city community name president team minute "
         "idea kid body information back parent face others level office door health person art "
         "war history party result change morning reason research girl guy moment air teacher "
         "force education proxy server request response header cache client upstream latency "
         "network stream buffer config release update support download install feature report "
         "price product review search account order shipping delivery privacy policy terms "
         "contact about careers press blog news events gallery").split()
SECTIONS = ["news", "products", "blog", "support", "docs", "events", "about", "careers"]


def html_page(size, seed=1):
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) for i in range(len(WORDS))]

    def words(n):
        return " ".join(rng.choices(WORDS, weights, k=n))

    def slug():
        return "-".join(rng.choices(WORDS, weights, k=rng.randint(1, 3)))

    def link():
        return '<a href="/%s/%s-%d" class="link">%s</a>' % (
            rng.choice(SECTIONS), slug(), rng.randint(1, 9999), words(rng.randint(1, 3)))

    def para(indent):
        parts = [words(rng.randint(6, 18)).capitalize()]
        for _ in range(rng.randint(0, 2)):
            parts += [link(), words(rng.randint(4, 14))]
        return '%s<p class="text">%s.</p>\n' % (indent, " ".join(parts))

    def card():
        return ('      <div class="card">\n'
                '        <a class="card-link" href="/%s/%s" data-track="card">\n'
                '          <img class="card-img" src="/img/%s-%d.jpg" alt="%s" loading="lazy">\n'
                '        </a>\n'
                '        <div class="card-body">\n'
                '          <h3 class="card-title">%s</h3>\n'
                '%s'
                '          <span class="card-meta">%d comments</span>\n'
                '        </div>\n'
                '      </div>\n' % (rng.choice(SECTIONS), slug(), slug(), rng.randint(1, 999),
                                    words(3), words(rng.randint(2, 5)).title(), para(" " * 10),
                                    rng.randint(0, 300)))

    def table():
        rows = "".join('          <tr><td class="name">%s</td><td class="num">%d.%02d</td>'
                       '<td class="act">%s</td></tr>\n'
                       % (words(2).title(), rng.randint(1, 999), rng.randint(0, 99), link())
                       for _ in range(rng.randint(3, 6)))
        return ('      <table class="table">\n        <thead><tr><th>Name</th><th>Price</th>'
                '<th></th></tr></thead>\n        <tbody>\n%s        </tbody>\n      </table>\n'
                % rows)

    nav = "".join('        <li class="nav-item"><a href="/%s/">%s</a></li>\n' % (s, s.title())
                  for s in SECTIONS)
    head = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n'
            '  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '  <title>%s</title>\n  <link rel="stylesheet" href="/static/site.css">\n'
            '</head>\n<body>\n  <header class="site-header">\n    <nav class="nav">\n'
            '      <ul>\n%s      </ul>\n    </nav>\n  </header>\n  <main class="content">\n'
            % (words(4).title(), nav))
    tail = ('  </main>\n  <footer class="site-footer">\n    <p>Example site</p>\n'
            '  </footer>\n</body>\n</html>\n')
    if size < len(head) + len(tail) + 1:
        raise ValueError("page too small")
    out = [head]
    used = len(head) + len(tail)
    n = 0
    while True:
        n += 1
        k = rng.random()
        if k < 0.15:
            block = '    <h2 id="section-%d">%s</h2>\n' % (n, words(rng.randint(2, 6)).title())
        elif k < 0.55:
            block = para("    ")
        elif k < 0.85:
            block = card()
        else:
            block = table()
        if used + len(block) + 1 > size:
            break
        out.append(block)
        used += len(block)
    out.append(" " * (size - used - 1) + "\n")  # the last block's indentation, to size
    out.append(tail)
    return "".join(out).encode()


def html(size, path):
    with open(path, "wb") as f:
        f.write(html_page(size))


def _decode(coding, body):
    if coding in ("identity", ""):
        return body
    if coding == "gzip":
        return gzip.decompress(body)  # every member
    if coding == "br":
        import brotli
        return brotli.decompress(body)
    if coding == "zstd":
        import zstandard
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body),
                                                            read_across_frames=True)
        return reader.read()
    raise ValueError(coding)


def fetch(port, path, coding, ref):
    # http.client undoes chunked framing and nothing else: len(body) is the
    # coded body as the client receives it.
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": coding})
        resp = conn.getresponse()
        body = resp.read()
    except (http.client.HTTPException, OSError):
        raise SystemExit("failed")
    finally:
        conn.close()
    got = (resp.getheader("Content-Encoding") or "identity").strip().lower()
    try:
        plain = _decode(got, body)
    except Exception:  # noqa: BLE001 - any decoder error means a bad body
        plain = None
    same = int(plain is not None and plain == open(ref, "rb").read())
    print(resp.status, got, len(body), -1 if plain is None else len(plain), same)


_SIZE = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def wrkread(path):
    # "N requests in 5.00s, 1.23GB read": wrk's units are powers of 1024.
    text = open(path, errors="replace").read()
    m = re.search(r"(\d+) requests in [0-9.]+(?:us|ms|s|m), ([0-9.]+)(B|KB|MB|GB|TB) read", text)
    if not m or int(m.group(1)) == 0:
        raise SystemExit("failed")
    print("%.0f" % (float(m.group(2)) * _SIZE[m.group(3)] / int(m.group(1))))


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "freeports":
            freeports(int(args[0]))
        elif cmd == "wrk":
            wrk(args[0])
        elif cmd == "h2load":
            h2load(args[0])
        elif cmd == "h2run":
            h2run(args[0], args[1])
        elif cmd == "stime":
            stime(args)
        elif cmd == "callgrind":
            callgrind(args)
        elif cmd == "strace":
            strace(args[0])
        elif cmd == "median":
            median(args)
        elif cmd == "html":
            html(int(args[0]), args[1])
        elif cmd == "fetch":
            fetch(args[0], args[1], args[2], args[3])
        elif cmd == "wrkread":
            wrkread(args[0])
        else:
            raise SystemExit(__doc__)
    except (OSError, ValueError, IndexError):
        print("failed")
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
