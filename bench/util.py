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

Everything prints one line to stdout; a parse failure prints "failed" and
exits 1 so the shell can record the row as failed instead of aborting.
"""

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
        else:
            raise SystemExit(__doc__)
    except (OSError, ValueError, IndexError):
        print("failed")
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
