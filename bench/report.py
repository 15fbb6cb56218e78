#!/usr/bin/python3
"""Turns bench/run.sh's raw records into the markdown result table.

usage: report.py RESULTS.tsv META.txt NOTES.txt > latest.md

RESULTS.tsv rows are "target scenario metric value" (tab separated), one per
round; a value of "failed" marks a run that did not produce a figure. Each
cell is the median over rounds; a cell with no figure but a failure says
"failed"; a cell never measured says "-".
"""

import statistics
import sys

TARGETS = ["backend", "rampart", "nginx", "haproxy"]
HEAD = ["backend alone", "rampart", "nginx", "haproxy"]

# (scenario, metric, row label, unit label, format, better)
ROWS = [
    ("ka_small", "rps", "keep-alive, 100 B", "requests/s", "{:,.0f}", "higher"),
    ("ka_small", "p99_ms", "keep-alive, 100 B", "p99 latency, ms", "{:.2f}", "lower"),
    ("ka_small", "cpu_us", "keep-alive, 100 B", "CPU µs / request", "{:.2f}", "lower"),
    ("close_small", "rps", "new connection per request, 100 B", "requests/s", "{:,.0f}", "higher"),
    ("close_small", "p99_ms", "new connection per request, 100 B", "p99 latency, ms", "{:.2f}", "lower"),
    ("close_small", "cpu_us", "new connection per request, 100 B", "CPU µs / request", "{:.2f}", "lower"),
    ("ka_16k", "rps", "keep-alive, 16 KiB", "requests/s", "{:,.0f}", "higher"),
    ("ka_16k", "p99_ms", "keep-alive, 16 KiB", "p99 latency, ms", "{:.2f}", "lower"),
    ("ka_16k", "cpu_us", "keep-alive, 16 KiB", "CPU µs / request", "{:.2f}", "lower"),
    ("idle_silent", "bytes_per_conn", "idle connections, nothing sent", "RSS bytes / connection", "{:,.0f}", "lower"),
    ("idle_ka", "bytes_per_conn", "idle keep-alive, after one request", "RSS bytes / connection", "{:,.0f}", "lower"),
]


def count_rows(cells):
    """Rows for the fixed-count runs, one pair per h2load connection count."""
    conns = sorted({int(k[1][len("count_c"):]) for k in cells if k[1].startswith("count_c")})
    rows = []
    for c in conns:
        label = "keep-alive, 100 B, fixed count, %d connection%s" % (c, "" if c == 1 else "s")
        rows.append(("count_c%d" % c, "instr", label, "instructions / request", "{:,.0f}", "lower"))
        rows.append(("count_c%d" % c, "syscalls", label, "system calls / request", "{:.2f}", "lower"))
    return rows


def size_label(mib):
    return "%d GiB" % (mib // 1024) if mib >= 1024 and mib % 1024 == 0 else "%d MiB" % mib


def stream_rows(cells, meta):
    """Rows for the large-body runs, when they ran (STREAM=1)."""
    if not any(k[1].startswith("stream_") for k in cells):
        return []
    size = size_label(int(meta.get("stream_mib") or 1024))
    rows = []
    for scenario, label in (("stream_get", "%s response, slow reader" % size),
                            ("stream_post", "%s upload" % size)):
        rows.append((scenario, "rss_mib", label, "peak RSS growth, MiB", "{:.1f}", "lower"))
        rows.append((scenario, "seconds", label, "seconds", "{:.2f}", "lower"))
    return rows


# The TLS runs (TLS=1): new connections from openssl s_time (no latency
# figure), keep-alive from wrk. No "backend alone": the backend speaks HTTP.
TLS_ROWS = [
    ("tls_new_ec", "rps", "new TLS connection per request, ECDSA P-256", "connections/s", "{:,.0f}", "higher"),
    ("tls_new_ec", "cpu_us", "new TLS connection per request, ECDSA P-256", "CPU µs / connection", "{:.1f}", "lower"),
    ("tls_new_rsa", "rps", "new TLS connection per request, RSA 2048", "connections/s", "{:,.0f}", "higher"),
    ("tls_new_rsa", "cpu_us", "new TLS connection per request, RSA 2048", "CPU µs / connection", "{:.1f}", "lower"),
    ("tls_ka", "rps", "keep-alive over TLS, 100 B", "requests/s", "{:,.0f}", "higher"),
    ("tls_ka", "p99_ms", "keep-alive over TLS, 100 B", "p99 latency, ms", "{:.2f}", "lower"),
    ("tls_ka", "cpu_us", "keep-alive over TLS, 100 B", "CPU µs / request", "{:.2f}", "lower"),
]


def tls_rows(cells):
    """Rows for the TLS runs, when they ran (TLS=1)."""
    return TLS_ROWS if any(k[1].startswith("tls_") for k in cells) else []


# The HTTP/2 runs (H2=1): h2load, many streams per connection. No "backend
# alone": the backend speaks HTTP/1.1 only.
H2_ROWS = [
    ("h2_tls", "rps", "HTTP/2 over TLS, 100 B", "requests/s", "{:,.0f}", "higher"),
    ("h2_tls", "p99_ms", "HTTP/2 over TLS, 100 B", "p99 latency, ms", "{:.2f}", "lower"),
    ("h2_tls", "cpu_us", "HTTP/2 over TLS, 100 B", "CPU µs / request", "{:.2f}", "lower"),
    ("h2c", "rps", "HTTP/2 cleartext (h2c), 100 B", "requests/s", "{:,.0f}", "higher"),
    ("h2c", "p99_ms", "HTTP/2 cleartext (h2c), 100 B", "p99 latency, ms", "{:.2f}", "lower"),
    ("h2c", "cpu_us", "HTTP/2 cleartext (h2c), 100 B", "CPU µs / request", "{:.2f}", "lower"),
]


def h2_rows(cells):
    """Rows for the HTTP/2 runs, when they ran (H2=1)."""
    return H2_ROWS if any(k[1] in ("h2_tls", "h2c") for k in cells) else []


# The balancing runs (LB=1): the keep-alive 100 B run through an upstream of
# three backends, one row group per method. No "backend alone" (the ceiling
# is the keep-alive row's); "-" where a proxy has no such method.
LB_METHODS = [
    ("lb_rr", "round robin"),
    ("lb_least_conn", "least_conn"),
    ("lb_ip_hash", "ip_hash"),
    ("lb_hash", "hash $request_uri consistent"),
    ("lb_random", "random two least_conn"),
    ("lb_least_time", "least_time header"),
]


def lb_rows(cells):
    """Rows for the balancing runs, when they ran (LB=1)."""
    if not any(k[1].startswith("lb_") for k in cells):
        return []
    rows = []
    for scenario, method in LB_METHODS:
        label = "balancing, 3 servers, %s" % method
        rows.append((scenario, "rps", label, "requests/s", "{:,.0f}", "higher"))
        rows.append((scenario, "cpu_us", label, "CPU µs / request", "{:.2f}", "lower"))
        if scenario != "lb_rr":
            rows.append((scenario, "cpu_delta_us", label, "CPU µs / request minus round robin",
                         "{:+.2f}", "lower"))
    return rows


# The compression runs (COMPRESS=1): GET of a 16 KiB HTML page, keep-alive,
# one coding accepted. HAProxy (libslz) has no levels: its one gzip run is
# shown in both gzip rows. No "backend alone": the backend does not compress.
COMP_SETTINGS = [
    ("comp_gzip1", "gzip level 1 (haproxy: slz)"),
    ("comp_gzip6", "gzip level 6 (haproxy: slz)"),
    ("comp_br", "brotli level 4"),
    ("comp_zstd", "zstd level 3"),
]
# (target, scenario) -> the scenario whose figures that cell shows
CELL_ALIAS = {("haproxy", "comp_gzip6"): "comp_gzip1"}


def comp_rows(cells, meta):
    """Rows for the compression runs, when they ran (COMPRESS=1)."""
    if not any(k[1].startswith("comp_") for k in cells):
        return []
    size = int(meta.get("comp_size") or 16384)
    rows = []
    for scenario, setting in COMP_SETTINGS:
        label = "%s KiB HTML, %s" % (size // 1024, setting)
        rows.append((scenario, "rps", label, "requests/s", "{:,.0f}", "higher"))
        rows.append((scenario, "cpu_us", label, "CPU µs / request", "{:.2f}", "lower"))
        rows.append((scenario, "body_bytes", label, "body bytes / response", "{:,.0f}", "lower"))
    return rows


def load(path):
    cells = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 4:
            continue
        cells.setdefault(tuple(parts[:3]), []).append(parts[3])
    return cells


def cell(cells, target, scenario, metric):
    """(median or None, text)."""
    scenario = CELL_ALIAS.get((target, scenario), scenario)
    vals = cells.get((target, scenario, metric))
    if not vals and metric in ("p99_ms", "cpu_us", "cpu_delta_us", "seconds", "body_bytes"):
        # a failed run is recorded once, under its first metric
        first = "rss_mib" if metric == "seconds" else "rps"
        vals = [v for v in cells.get((target, scenario, first), []) if v == "failed"]
    if not vals:
        return None, "-"
    nums = []
    for v in vals:
        try:
            nums.append(float(v))
        except ValueError:
            pass
    if not nums:
        return None, "failed"
    return statistics.median(nums), None


# Below this, a figure is measurement noise (page granularity, allocator
# slack) and a ratio of two such figures means nothing: "-" instead.
NOISE_FLOOR = {"rss_mib": 1.0}
# Differences around zero: a ratio of two of them means nothing.
NO_RATIO = {"cpu_delta_us"}


def ratio(a, b, floor=0.0):
    if a is None or b is None or b == 0 or max(a, b) < floor:
        return "-"
    return "{:.2f}".format(a / b)


def main(argv):
    if len(argv) != 4:
        raise SystemExit(__doc__)
    cells = load(argv[1])
    meta = {}
    for line in open(argv[2]):
        k, _, v = line.rstrip("\n").partition("=")
        meta[k] = v
    notes = [n.strip() for n in open(argv[3]) if n.strip()]

    out = []
    out.append("# rampart side-by-side benchmark")
    out.append("")
    out.append("%s; %s." % (meta.get("date", "?"), meta.get("host", "?")))
    out.append("rampart: `%s`; nginx %s; haproxy %s; wrk %s." % (
        meta.get("rampart", "?"), meta.get("nginx", "?"), meta.get("haproxy", "?"), meta.get("wrk", "?")))
    out.append("%s; %s. One worker per proxy, loopback, medians over rounds."
               % (meta.get("settings", ""), meta.get("pinning") or "no CPU pinning"))
    out.append("Method and caveats: docs/performance.md.")
    out.append("")
    out.append("| scenario | figure | " + " | ".join(HEAD) + " | rampart / nginx | rampart / haproxy |")
    out.append("|---|---|" + "---:|" * (len(HEAD) + 2))
    base = ROWS if any(k[1] in ("ka_small", "idle_silent") for k in cells) else []
    rows = (base + comp_rows(cells, meta) + tls_rows(cells) + h2_rows(cells) + lb_rows(cells)
            + stream_rows(cells, meta) + count_rows(cells))
    for scenario, metric, label, unit, fmt, better in rows:
        vals = {}
        texts = []
        for t in TARGETS:
            v, text = cell(cells, t, scenario, metric)
            vals[t] = v
            texts.append(text if v is None else fmt.format(v))
        arrow = "↑" if better == "higher" else "↓"
        if metric in NO_RATIO:
            ratios = ("-", "-")
        else:
            ratios = (ratio(vals["rampart"], vals["nginx"], NOISE_FLOOR.get(metric, 0.0)),
                      ratio(vals["rampart"], vals["haproxy"], NOISE_FLOOR.get(metric, 0.0)))
        out.append("| %s | %s %s | %s | %s | %s |" % (
            label, unit, arrow, " | ".join(texts), ratios[0], ratios[1]))
    out.append("")
    out.append("↑ higher is better, ↓ lower is better. A ratio is rampart's median divided by the "
               "other's: 0.85 for CPU µs / request means rampart uses 15 % less CPU per request; "
               "1.10 for requests/s means 10 % more throughput. \"backend alone\" is the ceiling: "
               "wrk straight at the backend, no proxy.")
    if comp_rows(cells, meta):
        size = int(meta.get("comp_size") or 16384)
        out.append("")
        out.append("Compression rows: wrk, %s keep-alive connections, GET of a %s-byte "
                   "`text/html; charset=utf-8` page of generated markup (bench/util.py html), "
                   "`-H 'Accept-Encoding: gzip'` (`br`, `zstd` in the brotli and zstd rows); "
                   "each proxy restarted with the row's configuration for each run. rampart "
                   "and nginx: `gzip on; gzip_comp_level 1;` (or 6) with `gzip_vary on;`, "
                   "`brotli on;` and `zstd on;` at their default levels. HAProxy: "
                   "`compression algo gzip`, `compression type text/html`; it is built with "
                   "libslz, which has no compression levels, so its one run is shown in both "
                   "gzip rows. Body bytes / response: the coded body of one response as the "
                   "client receives it (chunked framing removed), from one request per run "
                   "whose body must decode to the %s-byte page; every load run must also read "
                   "no more than that plus 1 KiB of headers per response, or it counts as "
                   "failed (not compressed under load)."
                   % (meta.get("conns") or "?", "{:,}".format(size), "{:,}".format(size)))
    if tls_rows(cells):
        out.append("")
        out.append("TLS rows: TLSv1.2 and TLSv1.3 enabled, each proxy's defaults otherwise "
                   "(tickets on). New connections: `openssl s_time -new`, %s clients, a full "
                   "handshake and one request per connection, no resumption; their rate is "
                   "capped by the clients' own handshake cost, CPU µs / connection is the "
                   "figure to compare (target: rampart / nginx ≤ 1.05). Keep-alive: wrk over "
                   "the ECDSA port." % (meta.get("tls_clients") or "?"))
    if h2_rows(cells):
        out.append("")
        out.append("HTTP/2 rows: h2load %s, %s connections with %s concurrent streams each, "
                   "GET of the 100-byte file; over TLS with ALPN h2 (ECDSA certificate) and "
                   "in cleartext with prior knowledge. p99 from h2load's per-request log. "
                   "The proxies speak HTTP/1.1 with keep-alive to the backend."
                   % (meta.get("h2load") or "?", meta.get("h2_conns") or "?",
                      meta.get("h2_streams") or "?"))
    if lb_rows(cells):
        out.append("")
        out.append("Balancing rows: the keep-alive 100 B run (wrk, %s connections) through an "
                   "upstream of three backends (three ports of the backend nginx, same file), "
                   "one upstream per method. HAProxy: `balance roundrobin`, `leastconn`, "
                   "`source`, `uri` with `hash-type consistent`, `random(2)`. `least_time` is "
                   "NGINX Plus only and HAProxy has no response-time method: \"-\" there. "
                   "With one client address and one URI, ip_hash and hash send every request "
                   "to one server. \"minus round robin\" is the median over rounds of a run's "
                   "CPU µs / request minus the same proxy's round-robin run in the same round "
                   "(target for rampart: within the noise of zero, and CPU µs / request at "
                   "or below both peers' for every method)."
                   % (meta.get("conns") or "?"))
    if stream_rows(cells, meta):
        out.append("")
        out.append("Peak RSS growth: highest 50 ms sample of the proxy's resident memory during "
                   "the transfer minus the same just before it; under 1 MiB on both sides the "
                   "memory is flat and no ratio is shown. Disk spooling (nginx's temporary "
                   "files) and the page cache are not in RSS.")
    if notes:
        out.append("")
        out.append("Failures during this run:")
        out.append("")
        for n in notes:
            out.append("- " + n)
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv)
