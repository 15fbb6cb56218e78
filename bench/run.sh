#!/usr/bin/env bash
# Side-by-side benchmark: rampart, nginx and haproxy, one worker each, in
# front of the same nginx backend, on loopback. Method: docs/performance.md.
#
#   bench/run.sh                      ROUNDS=3 DURATION=5 (about 10 minutes)
#   QUICK=1 bench/run.sh              1 round of 2 s, smaller counts (smoke test)
#   RAMPART_BIN=/usr/sbin/nginx ...   stand-in while rampart cannot run yet
#   BASE=0 TLS=0 H2=0 LB=0 STREAM=0 COUNTS=0 bench/run.sh
#                                     the compression runs alone (about 2.5 minutes)
#
# Environment: ROUNDS DURATION CONNS IDLE_CONNS COUNT_N COUNT_CONNS
# COUNTS(0 skips the callgrind/strace counts) STREAM(0 skips the large-body
# runs) STREAM_MIB(body size) STREAM_RATE(slow reader, MiB/s) TLS(0 skips the
# TLS runs) TLS_CLIENTS(parallel handshaking clients) H2(0 skips the HTTP/2
# runs) H2_CONNS H2_STREAMS(h2load connections, concurrent streams each)
# LB(0 skips the balancing runs: three backends, one upstream per method)
# COMPRESS(0 skips the compression runs: a 16 KiB HTML page compressed by
# each proxy, gzip level 1 and 6, rampart also brotli and zstd) BASE(0 skips
# the idle-connection test and the plain keep-alive/new-connection runs)
# PIN(auto|0) RAMPART_BIN NGINX_BIN HAPROXY_BIN OUT(markdown file)
# KEEP_WORK(1 keeps the scratch directory).
#
# Every process this script starts is tracked by PID and stopped on exit;
# a target that fails is reported as "failed" in its column, the run goes on.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3
UTIL="$PY $HERE/util.py"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-1}; DURATION=${DURATION:-2}; COUNT_N=${COUNT_N:-500}
    STREAM_MIB=${STREAM_MIB:-256}
else
    ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-5}; COUNT_N=${COUNT_N:-2000}
    STREAM_MIB=${STREAM_MIB:-1024}
fi
DURATION=${DURATION%s}
CONNS=${CONNS:-50}
IDLE_CONNS=${IDLE_CONNS:-5000}
COUNTS=${COUNTS:-1}
COUNT_CONNS=${COUNT_CONNS:-1 10}
STREAM=${STREAM:-1}
STREAM_RATE=${STREAM_RATE:-256}
TLS=${TLS:-1}
TLS_CLIENTS=${TLS_CLIENTS:-8}
H2=${H2:-1}
H2_CONNS=${H2_CONNS:-10}
H2_STREAMS=${H2_STREAMS:-100}
LB=${LB:-1}
COMPRESS=${COMPRESS:-1}
BASE=${BASE:-1}
PIN=${PIN:-auto}
RAMPART_BIN=${RAMPART_BIN:-$ROOT/rampart}
NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
HAPROXY_BIN=${HAPROXY_BIN:-$(command -v haproxy || echo /usr/sbin/haproxy)}
OUT=${OUT:-$HERE/results/latest.md}
KEEP_WORK=${KEEP_WORK:-0}

PROXIES="rampart nginx haproxy"
TARGETS="backend $PROXIES"

# Progress goes to the script's stderr even from inside a redirected call.
exec {LOGFD}>&2
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&"$LOGFD"; }
die() { log "error: $*"; exit 1; }

for tool in wrk h2load curl "$NGINX_BIN" "$HAPROXY_BIN"; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh bench installs it)"
done
if [ "$TLS" = 1 ] || [ "$H2" = 1 ]; then
    command -v openssl >/dev/null || die "openssl not found (or set TLS=0 H2=0)"
fi
if [ "$COMPRESS" = 1 ]; then
    $PY -c 'import brotli, zstandard' 2>/dev/null ||
        die "$PY lacks the brotli or zstandard module (python3-brotli python3-zstandard; or set COMPRESS=0)"
fi
if [ "$COUNTS" = 1 ]; then
    for tool in valgrind strace; do
        command -v "$tool" >/dev/null || die "$tool not found (or set COUNTS=0)"
    done
fi

# ---------------------------------------------------------------------------
# Process tracking. PIDS holds every live process we started; cleanup stops
# each one and its descendants (nginx's worker), by PID only.
PIDS=""
W=""
FAILED=0

tree_pids() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { p[NR] = $1; pp[NR] = $2 }
        END {
            in_tree[root] = 1; print root
            for (changed = 1; changed; ) {
                changed = 0
                for (i = 1; i <= NR; i++)
                    if (!(p[i] in in_tree) && (pp[i] in in_tree)) {
                        in_tree[p[i]] = 1; print p[i]; changed = 1
                    }
            }
        }'
}

# running PID: exists and is not a zombie.
running() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# ours PID: a child of this shell. bash reaps finished background jobs by
# itself, so a PID we kept could by now belong to some other process.
ours() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    [ "$(echo "$s" | awk '{print $2}')" = "$$" ]
}
# alive PID: one of our children, still running.
alive() { ours "$1" && running "$1"; }

track() { PIDS="$PIDS $1"; }
untrack() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /g"); }

# run_bg CMD...: runs CMD tracked, waits for it. A foreground command would
# hold off the cleanup trap until it finished; "wait" returns on a signal.
run_bg() {
    local p rc
    "$@" </dev/null &
    p=$!
    track "$p"
    wait "$p"; rc=$?
    untrack "$p"
    return $rc
}

# stop ROOT [SIGNAL_PID [TIMEOUT]]: SIGTERM to SIGNAL_PID (default ROOT), wait
# for ROOT to exit, then SIGKILL whatever of the tree is left. Returns 1 when
# it had to kill.
stop_pid() {
    local root=$1 sigpid=${2:-$1} timeout=${3:-10} tree i rc=0
    if ! alive "$root"; then
        wait "$root" 2>/dev/null
        untrack "$root"
        return 0
    fi
    tree=$(tree_pids "$root")
    kill -TERM "$sigpid" 2>/dev/null
    for ((i = 0; i < timeout * 10; i++)); do
        alive "$root" || break
        sleep 0.1
    done
    if [ "$sigpid" != "$root" ] && alive "$root"; then
        # A wrapper (strace) still running after its child got the signal:
        # SIGTERM makes strace detach and still write its summary.
        kill -TERM "$root" 2>/dev/null
        for ((i = 0; i < 50; i++)); do
            alive "$root" || break
            sleep 0.1
        done
    fi
    for p in $tree; do
        if running "$p"; then
            kill -KILL "$p" 2>/dev/null && rc=1
        fi
    done
    wait "$root" 2>/dev/null
    untrack "$root"
    return $rc
}

stop_proxies() {  # stops the proxies started for the runs just done
    local t pid
    for t in $PROXIES; do
        pid=$(eval echo "\${PID_$t:-}")
        [ -n "$pid" ] && stop_pid "$pid" "$pid" 10 >/dev/null
    done
    return 0
}

cleanup() {
    local p
    trap - EXIT INT TERM
    for p in $PIDS; do stop_pid "$p" "$p" 3 || true; done
    if [ -n "$W" ] && [ -d "$W" ]; then
        if [ "$KEEP_WORK" = 1 ] || [ "$FAILED" = 1 ]; then
            log "scratch directory kept: $W (logs of failed targets)"
        else
            rm -rf "$W"
        fi
    fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------------------
# /proc readers, summed over a process tree (nginx: master + worker; the
# master is idle, so the sum is the worker's cost).

cpu_ticks() {
    local p s t=0
    for p in $(tree_pids "$1"); do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        s=${s##*) }  # fields after "pid (comm) ": state=1 ... utime=12 stime=13
        t=$((t + $(echo "$s" | awk '{print $12 + $13}')))
    done
    echo "$t"
}

rss_kb() {
    local p t=0 v
    for p in $(tree_pids "$1"); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

fd_count() {
    local p t=0
    for p in $(tree_pids "$1"); do
        t=$((t + $(ls "/proc/$p/fd" 2>/dev/null | wc -l)))
    done
    echo "$t"
}


record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$W/results.tsv"; }
note() { printf '%s\n' "$*" >>"$W/notes.txt"; log "$*"; FAILED=1; }

# ---------------------------------------------------------------------------
# Set-up: limits, CPUs, ports, scratch directory, configurations.

# 5,000 idle client sockets in one client process and as many in the proxy.
ulimit -Hn 65536 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -Sn)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((IDLE_CONNS + 1000)) ]; then
    IDLE_CONNS=$((nofile - 1000))
    log "ulimit -n is $nofile: idle test lowered to $IDLE_CONNS connections"
fi
# haproxy refuses to start when 2 * maxconn (+ a few) exceeds the fd limit.
HAPROXY_MAXCONN=20000
if [ "$nofile" != unlimited ] && [ $((2 * HAPROXY_MAXCONN + 100)) -gt "$nofile" ]; then
    HAPROXY_MAXCONN=$(((nofile - 100) / 2))
fi

NCPU=$(nproc)
CPU_PROXY="" CPU_LOAD="" CPU_BACKEND=""
if [ "$PIN" = auto ] && [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
    # The proxy under test gets a core of its own; load generator and
    # backend share the rest (one core each from 3 CPUs on).
    CPU_PROXY=$((NCPU - 1)); CPU_LOAD=0; CPU_BACKEND=$((NCPU >= 3 ? 1 : 0))
fi
pin() { [ -n "$1" ] && echo "taskset -c $1"; }

W=$(mktemp -d /tmp/rampart-bench.XXXXXX) || die "mktemp"
chmod 755 "$W"  # nginx workers may run as nobody when we are root
: >"$W/results.tsv"; : >"$W/notes.txt"

read -r PORT_backend PORT_rampart PORT_nginx PORT_haproxy PORT_sink \
    PORT_rampart_ec PORT_nginx_ec PORT_haproxy_ec \
    PORT_rampart_rsa PORT_nginx_rsa PORT_haproxy_rsa \
    PORT_rampart_h2 PORT_nginx_h2 PORT_haproxy_h2 \
    PORT_rampart_h2c PORT_nginx_h2c PORT_haproxy_h2c PORTS_LB <<<"$($UTIL freeports 38)" ||
    die "no free ports in 20000-32000"

# The balancing runs: three more backend ports, and one port per balancing
# method and proxy, so that each upstream has a server block of its own.
LB_METHODS="rr least_conn ip_hash hash random least_time"
read -r PORT_backend_lb1 PORT_backend_lb2 PORT_backend_lb3 PORTS_LB <<<"$PORTS_LB"
for t in $PROXIES; do
    for m in $LB_METHODS; do
        read -r p PORTS_LB <<<"$PORTS_LB"
        eval "PORT_${t}_lb_$m=$p"
    done
done

mkdir -p "$W/backend/logs" "$W/backend/www" "$W/rampart/logs" "$W/nginx/logs" "$W/haproxy"
head -c 100 /dev/zero | tr '\0' 'a' >"$W/backend/www/small"
head -c 16384 /dev/zero | tr '\0' 'b' >"$W/backend/www/16k"
# The compression runs' page: 16 KiB of generated, deterministic markup
# that compresses like a real page (bench/util.py html).
COMP_SIZE=16384
if [ "$COMPRESS" = 1 ]; then
    $UTIL html "$COMP_SIZE" "$W/backend/www/page.html" >/dev/null ||
        die "cannot write the compression runs' page"
fi
# The large response: a sparse file, so it costs no disk and the backend
# serves it from the page cache at memory speed.
if [ "$STREAM" = 1 ]; then truncate -s "${STREAM_MIB}M" "$W/backend/www/big"; fi
# TLS: one self-signed certificate per key type, made here so that every run
# uses fresh keys of exactly this kind; haproxy takes certificate and key in
# one PEM file. The HTTP/2 runs use the ECDSA one.
if [ "$TLS" = 1 ] || [ "$H2" = 1 ]; then
    mkdir -p "$W/tls"
    for kind in ec rsa; do
        case $kind in
        ec) keyopt="-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
        rsa) keyopt="-newkey rsa:2048" ;;
        esac
        # shellcheck disable=SC2086
        openssl req -x509 $keyopt -nodes -days 30 -subj /CN=localhost \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -keyout "$W/tls/$kind.key" -out "$W/tls/$kind.crt" >"$W/tls/openssl-$kind.log" 2>&1 ||
            die "openssl cannot make the $kind certificate (see $W/tls/openssl-$kind.log)"
        cat "$W/tls/$kind.crt" "$W/tls/$kind.key" >"$W/tls/$kind.pem"
    done
fi
chmod -R a+rX "$W"

cat >"$W/backend/backend.conf" <<EOF
# Backend for every proxy and the ceiling run: static files, keep-alive.
worker_processes 1;
daemon off;
pid logs/backend.pid;
error_log logs/error.log warn;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    sendfile on;
    open_file_cache max=16 inactive=600s;
    open_file_cache_valid 600s;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$PORT_backend backlog=4096;
        root $W/backend/www;
        # Content-Type: text/html; charset=utf-8, as pages usually have.
        location = /page.html { charset utf-8; }
    }
EOF
# The balancing runs' three backends: server blocks of the same worker,
# same files; X-Backend tells the start-up check which one answered.
for i in 1 2 3; do
    cat >>"$W/backend/backend.conf" <<EOF
    server {
        listen 127.0.0.1:$(eval echo "\$PORT_backend_lb$i") backlog=4096;
        root $W/backend/www;
        add_header X-Backend $i;
    }
EOF
done
echo "}" >>"$W/backend/backend.conf"

# rampart and nginx read the same nginx-syntax configuration. proxy_conf
# PORT NAME stream: the same plus /upload to the sink (bench/sink.py), for
# the large-body runs only, so the other scenarios keep a single location.
# proxy_conf PORT NAME tls: the same plus two TLS servers, ECDSA and RSA, on
# their own ports, for the TLS runs only. proxy_conf PORT NAME h2: the same
# plus an HTTP/2 server over TLS (ECDSA, ALPN h2) and a cleartext HTTP/2 one
# (prior knowledge), for the HTTP/2 runs only; there the upstream keeps as
# many idle connections as there can be streams in flight, so that a burst
# of H2_CONNS x H2_STREAMS requests does not end in closing and reopening
# backend connections (HAProxy's idle pool has no limit by default).
# proxy_conf PORT NAME lb: the same plus, per balancing method, an upstream
# of the three backends with that method and a server on a port of its own
# (lb_method, below).
proxy_conf() {
    local ka=32
    [ "${3:-}" = h2 ] && ka=$((H2_CONNS * H2_STREAMS))
    cat <<EOF
worker_processes 1;
daemon off;
pid logs/proxy.pid;
error_log logs/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    keepalive_timeout 75s;
    keepalive_requests 100000000;
    upstream backend {
        server 127.0.0.1:$PORT_backend;
        keepalive $ka;
        keepalive_requests 100000000;
    }
    server {
        listen 127.0.0.1:$1;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
EOF
    if [ "${3:-}" = stream ]; then
        cat <<EOF
        # Defaults kept: request and response buffering on,
        # proxy_max_temp_file_size 1024m; temporary files in the scratch dir.
        client_body_temp_path $W/$2/client_body_temp;
        proxy_temp_path $W/$2/proxy_temp;
        location /upload {
            client_max_body_size 0;
            proxy_pass http://sink;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    upstream sink {
        server 127.0.0.1:$PORT_sink;
        keepalive 8;
    }
}
EOF
    elif [ "${3:-}" = tls ]; then
        printf '    }\n'
        for kind in ec rsa; do
            # ssl_protocols spelled out: nginx 1.22's default lacks TLSv1.3
            # (rampart's default is this list). Everything else default:
            # session tickets on, no session cache, ECDH curves X25519 first.
            cat <<EOF
    server {
        listen 127.0.0.1:$(eval echo "\$PORT_$2_$kind") ssl;
        ssl_certificate $W/tls/$kind.crt;
        ssl_certificate_key $W/tls/$kind.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
EOF
        done
        printf '}\n'
    elif [ "${3:-}" = h2 ]; then
        printf '    }\n'
        # keepalive_requests (http level, above) also bounds the streams of
        # one HTTP/2 connection in both: set high, no GOAWAY during a run.
        cat <<EOF
    server {
        listen 127.0.0.1:$(eval echo "\$PORT_$2_h2") ssl http2;
        ssl_certificate $W/tls/ec.crt;
        ssl_certificate_key $W/tls/ec.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        listen 127.0.0.1:$(eval echo "\$PORT_$2_h2c") http2;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
    elif [ "${3:-}" = lb ]; then
        printf '    }\n'
        for m in $LB_METHODS; do
            lb_method "$2" "$m" >/dev/null || continue
            # keepalive: rampart counts it per backend address, nginx per
            # upstream block. 3 x CONNS lets each keep every connection it
            # can have open (at most CONNS to each server), so neither
            # closes and reopens backend connections during a run, like
            # HAProxy, whose idle pool has no limit.
            cat <<EOF
    upstream lb_$m {
        $(lb_method "$2" "$m")
        server 127.0.0.1:$PORT_backend_lb1;
        server 127.0.0.1:$PORT_backend_lb2;
        server 127.0.0.1:$PORT_backend_lb3;
        keepalive $((3 * CONNS));
        keepalive_requests 100000000;
    }
    server {
        listen 127.0.0.1:$(eval echo "\$PORT_$2_lb_$m");
        location / {
            proxy_pass http://lb_$m;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
EOF
        done
        printf '}\n'
    else
        printf '    }\n}\n'
    fi
}

# lb_method TARGET METHOD: the balancing directive(s) TARGET's configuration
# uses for METHOD; 1 (nothing printed) when TARGET has no such method.
# least_time is an NGINX Plus directive: open-source nginx rejects it, and
# HAProxy has no method that balances by response time.
lb_method() {
    case $1:$2 in
    haproxy:rr) echo "balance roundrobin" ;;
    *:rr) echo "# round robin, the default" ;;
    rampart:least_conn | nginx:least_conn) echo "least_conn;" ;;
    rampart:ip_hash | nginx:ip_hash) echo "ip_hash;" ;;
    rampart:hash | nginx:hash) echo 'hash $request_uri consistent;' ;;
    rampart:random | nginx:random) echo "random two least_conn;" ;;
    rampart:least_time) echo "least_time header;" ;;
    haproxy:least_conn) echo "balance leastconn" ;;
    haproxy:ip_hash) echo "balance source" ;;
    haproxy:hash) printf 'balance uri\n    hash-type consistent\n' ;;
    haproxy:random) echo "balance random(2)" ;;
    *) return 1 ;;
    esac
}
proxy_conf "$PORT_rampart" rampart >"$W/rampart/proxy.conf"
proxy_conf "$PORT_nginx" nginx >"$W/nginx/proxy.conf"
proxy_conf "$PORT_rampart" rampart stream >"$W/rampart/stream.conf"
proxy_conf "$PORT_nginx" nginx stream >"$W/nginx/stream.conf"
if [ "$TLS" = 1 ]; then
    proxy_conf "$PORT_rampart" rampart tls >"$W/rampart/tls.conf"
    proxy_conf "$PORT_nginx" nginx tls >"$W/nginx/tls.conf"
fi
if [ "$H2" = 1 ]; then
    proxy_conf "$PORT_rampart" rampart h2 >"$W/rampart/h2.conf"
    proxy_conf "$PORT_nginx" nginx h2 >"$W/nginx/h2.conf"
fi
if [ "$LB" = 1 ]; then
    proxy_conf "$PORT_rampart" rampart lb >"$W/rampart/lb.conf"
    proxy_conf "$PORT_nginx" nginx lb >"$W/nginx/lb.conf"
fi
# rampart opens its unlinked body files there; nginx creates its own.
mkdir -p "$W/rampart/client_body_temp"

cat >"$W/haproxy/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $HAPROXY_MAXCONN
defaults
    mode http
    maxconn $HAPROXY_MAXCONN
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 75s
    timeout server 60s
    timeout http-request 60s
    timeout http-keep-alive 75s
frontend fe
    bind 127.0.0.1:$PORT_haproxy
    default_backend be
backend be
    server s1 127.0.0.1:$PORT_backend
EOF
# The large-body runs: the same plus /upload to the sink.
sed -e "s|^    default_backend be|    use_backend sink if { path_beg /upload }\n&|" \
    "$W/haproxy/haproxy.cfg" >"$W/haproxy/stream.cfg"
printf 'backend sink\n    server s1 127.0.0.1:%s\n' "$PORT_sink" >>"$W/haproxy/stream.cfg"
# The TLS runs: the same plus one TLS frontend per certificate, defaults
# otherwise (TLSv1.2 and TLSv1.3, tickets on, its built-in session cache).
if [ "$TLS" = 1 ]; then
    sed -n '/^backend be/q;p' "$W/haproxy/haproxy.cfg" >"$W/haproxy/tls.cfg"
    for kind in ec rsa; do
        printf 'frontend fe_%s\n    bind 127.0.0.1:%s ssl crt %s\n    default_backend be\n' \
            "$kind" "$(eval echo "\$PORT_haproxy_$kind")" "$W/tls/$kind.pem" >>"$W/haproxy/tls.cfg"
    done
    sed -n '/^backend be/,$p' "$W/haproxy/haproxy.cfg" >>"$W/haproxy/tls.cfg"
fi
# The HTTP/2 runs: the same plus a TLS frontend offering h2 by ALPN (ECDSA
# certificate) and a cleartext one that speaks HTTP/2 only (prior
# knowledge). HAProxy has no per-connection request limit to raise.
if [ "$H2" = 1 ]; then
    {
        sed -n '/^backend be/q;p' "$W/haproxy/haproxy.cfg"
        printf 'frontend fe_h2\n    bind 127.0.0.1:%s ssl crt %s alpn h2,http/1.1\n' \
            "$PORT_haproxy_h2" "$W/tls/ec.pem"
        printf '    default_backend be\n'
        printf 'frontend fe_h2c\n    bind 127.0.0.1:%s proto h2\n' "$PORT_haproxy_h2c"
        printf '    default_backend be\n'
        sed -n '/^backend be/,$p' "$W/haproxy/haproxy.cfg"
    } >"$W/haproxy/h2.cfg"
fi
# The balancing runs: the same plus, per method HAProxy has, a frontend on
# a port of its own and a backend of the three servers balanced that way.
if [ "$LB" = 1 ]; then
    {
        cat "$W/haproxy/haproxy.cfg"
        for m in $LB_METHODS; do
            lb_method haproxy "$m" >/dev/null || continue
            printf 'frontend fe_lb_%s\n    bind 127.0.0.1:%s\n    default_backend lb_%s\n' \
                "$m" "$(eval echo "\$PORT_haproxy_lb_$m")" "$m"
            printf 'backend lb_%s\n' "$m"
            printf '    %s\n' "$(lb_method haproxy "$m")"
            for i in 1 2 3; do
                printf '    server s%s 127.0.0.1:%s\n' "$i" "$(eval echo "\$PORT_backend_lb$i")"
            done
        done
    } >"$W/haproxy/lb.cfg"
fi

# The compression runs: one configuration per proxy and setting, named after
# its scenario, so that a setting a proxy rejects fails that row alone.
# COMP_RUNS lists the "proxy:scenario" runs of a round. HAProxy's libslz
# has no levels: one run, shown in both gzip rows (report.py).
COMP_RUNS="rampart:comp_gzip1 nginx:comp_gzip1 haproxy:comp_gzip1"
COMP_RUNS="$COMP_RUNS rampart:comp_gzip6 nginx:comp_gzip6 rampart:comp_br rampart:comp_zstd"
comp_coding() {  # SCENARIO: the coding its client asks for and expects
    case $1 in
    comp_gzip*) echo gzip ;;
    comp_br) echo br ;;
    comp_zstd) echo zstd ;;
    esac
}
# comp_directives SCENARIO: http-level directives, rampart and nginx alike.
# gzip_vary on in both (rampart's default, not nginx's): the same headers.
# brotli and zstd at their default levels, 4 and 3.
comp_directives() {
    case $1 in
    comp_gzip1) echo "gzip on; gzip_comp_level 1; gzip_vary on;" ;;
    comp_gzip6) echo "gzip on; gzip_comp_level 6; gzip_vary on;" ;;
    comp_br) echo "brotli on;" ;;
    comp_zstd) echo "zstd on;" ;;
    esac
}
if [ "$COMPRESS" = 1 ]; then
    for run in $COMP_RUNS; do
        t=${run%%:*} s=${run#*:}
        case $t in
        haproxy)
            {
                cat "$W/haproxy/haproxy.cfg"  # ends in "backend be"
                printf '    compression algo gzip\n    compression type text/html\n'
            } >"$W/haproxy/$s.cfg"
            ;;
        *)
            proxy_conf "$(eval echo "\$PORT_$t")" "$t" |
                awk -v d="    $(comp_directives "$s")" '{ print } /^http \{$/ { print d }' \
                    >"$W/$t/$s.conf"
            ;;
        esac
    done
fi

# cmd_of TARGET: the command line that runs TARGET in the foreground, with
# the configuration for the large-body runs when VARIANT=stream, for the TLS
# runs when VARIANT=tls, for the HTTP/2 runs when VARIANT=h2.
VARIANT=""
cmd_of() {
    local pc=proxy.conf hc=haproxy.cfg
    if [ -n "$VARIANT" ]; then pc=$VARIANT.conf hc=$VARIANT.cfg; fi
    case $1 in
    backend) echo "$NGINX_BIN -p $W/backend/ -c $W/backend/backend.conf" ;;
    rampart) echo "$RAMPART_BIN -p $W/rampart/ -c $W/rampart/$pc" ;;
    nginx) echo "$NGINX_BIN -p $W/nginx/ -c $W/nginx/$pc" ;;
    haproxy) echo "$HAPROXY_BIN -db -f $W/haproxy/$hc" ;;
    esac
}
port_of() { eval echo "\$PORT_$1"; }
logdir_of() { echo "$W/$1"; }

wait_ready() {  # PORT PID TIMEOUT_S
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        alive "$2" || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# check_http PORT: the two bodies come back whole through the target.
check_http() {
    local a b
    a=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$1/small")
    b=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$1/16k")
    [ "$a" = "200 100" ] && [ "$b" = "200 16384" ]
}

# start TARGET: runs it pinned, sets PID_<target>; 1 if it does not answer.
start() {
    local t=$1 cpu pid
    cpu=$CPU_PROXY; [ "$t" = backend ] && cpu=$CPU_BACKEND
    if [ "$t" = rampart ] && [ ! -x "$RAMPART_BIN" ]; then
        note "rampart: $RAMPART_BIN is not an executable"
        return 1
    fi
    # Expand everything before "&": a $(...) left for the background child
    # would run in a subshell of it, and $! would not be the target alone.
    local cmd logf
    cmd="$(pin "$cpu") $(cmd_of "$t")"
    logf="$(logdir_of "$t")/stderr.log"
    $cmd >>"$logf" 2>&1 </dev/null &
    pid=$!
    track "$pid"
    eval "PID_$t=$pid"
    if ! wait_ready "$(port_of "$t")" "$pid" 15; then
        note "$t: did not start listening (see $(logdir_of "$t")/stderr.log)"
        stop_pid "$pid" >/dev/null
        return 1
    fi
    if ! check_http "$(port_of "$t")"; then
        note "$t: wrong answers to GET /small or /16k"
        stop_pid "$pid" >/dev/null
        return 1
    fi
    return 0
}

# shellcheck disable=SC2034 # set and read through eval "PID_$t"
PID_backend="" PID_rampart="" PID_nginx="" PID_haproxy=""
DOWN=""
is_down() { case " $DOWN " in *" $1 "*) return 0 ;; esac; return 1; }
mark_down() { is_down "$1" || DOWN="$DOWN $1"; }

# ---------------------------------------------------------------------------
# Scenario (4): idle connections, on freshly started proxies.

# tell FD: one line to the idle client. Coprocess descriptors do not exist in
# subshells, so the write happens here, with SIGPIPE ignored for the moment
# in case the client has exited.
tell() {
    trap '' PIPE
    { echo go 1>&"$1"; } 2>/dev/null
    trap - PIPE
}

idle_test() {
    local t=$1 pid port line rss0 rss1 rss2 fd0 k bad i
    pid=$(eval echo "\$PID_$t"); port=$(port_of "$t")
    coproc IDLE { exec $PY "$HERE/idle_client.py" --port "$port" --conns "$IDLE_CONNS" --deadline 180 2>&1; }
    local cpid=$IDLE_PID rd=${IDLE[0]} wr=${IDLE[1]}
    track "$cpid"
    if read -r -t 60 line <&"$rd" && [ "$line" = warm ]; then
        sleep 0.5
        rss0=$(rss_kb "$pid"); fd0=$(fd_count "$pid")
        tell "$wr"
        if read -r -t 120 line <&"$rd" && [ "${line%% *}" = open ]; then
            k=${line#open }
            # connected != accepted: wait until the proxy holds the sockets
            local held=0
            for ((i = 0; i < 100; i++)); do
                held=$(($(fd_count "$pid") - fd0))
                [ "$held" -ge $((k * 99 / 100)) ] && break
                sleep 0.1
            done
            sleep 0.5
            rss1=$(rss_kb "$pid")
            if [ "$held" -ge $((k * 99 / 100)) ]; then
                record "$t" idle_silent bytes_per_conn $(((rss1 - rss0) * 1024 / k))
            else
                note "$t: idle test: the proxy holds $held of $k silent connections after 10 s"
                record "$t" idle_silent bytes_per_conn failed
            fi
            tell "$wr"
            if read -r -t 150 line <&"$rd" && [ "${line%% *}" = "done" ]; then
                read -r _ _ bad <<<"$line"
                sleep 0.5
                rss2=$(rss_kb "$pid")
                if [ $((bad * 100)) -le "$k" ]; then
                    record "$t" idle_ka bytes_per_conn $(((rss2 - rss0) * 1024 / k))
                else
                    note "$t: idle test: $bad of $k requests failed"
                    record "$t" idle_ka bytes_per_conn failed
                fi
                log "$t: idle $k conns: RSS $rss0 -> $rss1 -> $rss2 kB"
            else
                note "$t: idle test: requests on idle connections: ${line:-timeout}"
                record "$t" idle_ka bytes_per_conn failed
            fi
        else
            note "$t: idle test: opening connections: ${line:-timeout}"
            record "$t" idle_silent bytes_per_conn failed
            record "$t" idle_ka bytes_per_conn failed
        fi
    else
        note "$t: idle test: warm-up: ${line:-timeout}"
        record "$t" idle_silent bytes_per_conn failed
        record "$t" idle_ka bytes_per_conn failed
    fi
    tell "$wr"
    { exec {wr}>&-; } 2>/dev/null  # EOF tells the client to quit
    stop_pid "$cpid" "$cpid" 10 >/dev/null
    if ! alive "$pid"; then
        note "$t: died during the idle test"
        mark_down "$t"
    fi
}

# ---------------------------------------------------------------------------
# Scenarios (1)-(3) and (5): wrk runs, CPU from /proc/PID/stat.

SCENARIOS="ka_small close_small ka_16k"
CLK_TCK=$(getconf CLK_TCK)

# wrk_run TARGET SCENARIO ROUND: also sets WRK_CPU to the run's CPU µs per
# request, empty when the run failed.
wrk_run() {  # TARGET SCENARIO ROUND
    local t=$1 s=$2 r=$3 pid port path hdr out c0 c1 parsed req rps p99 bad scheme=http
    pid=$(eval echo "\$PID_$t"); port=$(port_of "$t")
    WRK_CPU=""
    case $s in
    ka_small) path=/small; hdr="" ;;
    close_small) path=/small; hdr="Connection: close" ;;
    ka_16k) path=/16k; hdr="" ;;
    tls_ka) path=/small; hdr=""; scheme=https; port=$(eval echo "\$PORT_${t}_ec") ;;
    lb_*) path=/small; hdr=""; port=$(eval echo "\$PORT_${t}_$s") ;;
    comp_*) path=/page.html; hdr="Accept-Encoding: $(comp_coding "$s")" ;;
    esac
    out="$W/wrk-$t-$s-$r.txt"
    c0=$(cpu_ticks "$pid")
    # shellcheck disable=SC2046
    run_bg timeout $((DURATION + 30)) $(pin "$CPU_LOAD") wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
        ${hdr:+-H "$hdr"} "$scheme://127.0.0.1:$port$path" >"$out" 2>&1
    c1=$(cpu_ticks "$pid")
    if ! alive "$pid"; then
        note "$t: died during $s round $r"
        mark_down "$t"
        record "$t" "$s" rps failed
        return
    fi
    if ! parsed=$($UTIL wrk "$out"); then
        note "$t: $s round $r: wrk output unreadable ($out)"
        record "$t" "$s" rps failed
        return
    fi
    read -r req rps p99 bad <<<"$parsed"
    if [ "$req" -eq 0 ] || [ $((bad * 100)) -gt "$req" ]; then
        note "$t: $s round $r: $bad errors in $req requests"
        record "$t" "$s" rps failed
        return
    fi
    if [ "${s#comp_}" != "$s" ] && ! comp_load_check "$t" "$s" "$r" "$out"; then
        record "$t" "$s" rps failed
        return
    fi
    WRK_CPU=$(awk -v c=$((c1 - c0)) -v n="$req" -v hz="$CLK_TCK" \
        'BEGIN { printf "%.3f", c * 1e6 / hz / n }')
    record "$t" "$s" rps "$rps"
    record "$t" "$s" p99_ms "$p99"
    record "$t" "$s" cpu_us "$WRK_CPU"
}

# ---------------------------------------------------------------------------
# Compression runs: GET /page.html (16 KiB of HTML) with keep-alive, as in
# ka_16k, the client accepting one coding (gzip, or br, zstd for rampart's
# extra rows). Each run starts the proxy with that setting's configuration
# (VARIANT=scenario) and stops it after. Before the load, one request checks
# the answer (that coding, the body decodes to the page) and records the
# coded body's size; after it, wrk's bytes read per response must fit that
# size, or the proxy sent identity under load and the run does not count.

COMP_DOWN=""  # "proxy:scenario" runs that failed their check or died
comp_is_down() { case " $COMP_DOWN " in *" $1 "*) return 0 ;; esac; return 1; }

# comp_conftest TARGET SCENARIO: the proxy's own configuration test, so that
# a rejected directive shows as one note with the proxy's message.
comp_conftest() {
    local t=$1 s=$2 logf="$W/$1/conftest-$2.log"
    case $t in
    rampart) "$RAMPART_BIN" -t -q -p "$W/rampart/" -c "$W/rampart/$s.conf" >"$logf" 2>&1 ;;
    nginx) "$NGINX_BIN" -t -q -p "$W/nginx/" -c "$W/nginx/$s.conf" >"$logf" 2>&1 ;;
    haproxy) "$HAPROXY_BIN" -c -q -f "$W/haproxy/$s.cfg" >"$logf" 2>&1 ;;
    esac </dev/null && return 0
    note "$t: $s: configuration rejected: $(grep -v '^$' "$logf" | head -1 | cut -c1-200)"
    return 1
}

# comp_check TARGET SCENARIO: one request through the running proxy; sets
# COMP_BODY to the coded body's size and records it.
comp_check() {
    local t=$1 s=$2 coding got st ce n plain same
    COMP_BODY=""
    coding=$(comp_coding "$s")
    if ! got=$($UTIL fetch "$(port_of "$t")" /page.html "$coding" "$W/backend/www/page.html"); then
        note "$t: $s: GET /page.html (Accept-Encoding: $coding) failed"
        return 1
    fi
    read -r st ce n plain same <<<"$got"
    if [ "$st" != 200 ] || [ "$ce" != "$coding" ] || [ "$same" != 1 ]; then
        note "$t: $s: GET /page.html (Accept-Encoding: $coding): status $st, Content-Encoding $ce," \
            "$n body bytes decoding to $plain bytes, $([ "$same" = 1 ] || echo "not ")the page"
        return 1
    fi
    COMP_BODY=$n
    record "$t" "$s" body_bytes "$n"
}

# comp_load_check TARGET SCENARIO ROUND WRK_OUTPUT: bytes read per response
# at most the coded body plus 1 KiB of headers and chunk framing.
comp_load_check() {
    local t=$1 s=$2 r=$3 per
    per=$($UTIL wrkread "$4") || per=""
    if [ -z "$per" ] || [ -z "$COMP_BODY" ] || [ "$per" -gt $((COMP_BODY + 1024)) ]; then
        note "$t: $s round $r: ${per:-?} bytes read per response, coded body ${COMP_BODY:-?}:" \
            "responses not compressed under load ($4)"
        return 1
    fi
    log "$t: $s round $r: $per bytes read per response (body $COMP_BODY)"
}

# comp_run TARGET SCENARIO ROUND: 1 when this run should not be tried again.
comp_run() {
    local t=$1 s=$2 r=$3 pid rc=0
    VARIANT=$s
    if ! start "$t"; then
        VARIANT=""
        record "$t" "$s" rps failed
        return 1
    fi
    pid=$(eval echo "\$PID_$t")
    if comp_check "$t" "$s"; then
        # shellcheck disable=SC2046
        run_bg timeout 30 $(pin "$CPU_LOAD") wrk -t1 -c"$CONNS" -d1s \
            -H "Accept-Encoding: $(comp_coding "$s")" "http://127.0.0.1:$(port_of "$t")/page.html" \
            >/dev/null 2>&1
        wrk_run "$t" "$s" "$r"
        alive "$pid" || rc=1
    else
        record "$t" "$s" rps failed
        rc=1
    fi
    stop_pid "$pid" "$pid" 10 >/dev/null
    VARIANT=""
    return $rc
}

# ---------------------------------------------------------------------------
# Balancing runs, on proxies restarted with the lb configuration: the
# keep-alive 100 B run through an upstream of three backends (server blocks
# of the backend nginx), once per balancing method, each method on a port of
# its own. Besides requests/s and CPU µs per request, each run records its
# CPU µs per request minus that of the same proxy's round-robin run of the
# same round (lb_rr comes first in every round): what choosing the server
# costs over round robin, paired within a round so that drift between
# rounds cancels.

LB_SCENARIOS=""
for m in $LB_METHODS; do LB_SCENARIOS="$LB_SCENARIOS lb_$m"; done
LB_DOWN=""  # "TARGET:METHOD" pairs that failed the check or died
lb_is_down() { case " $LB_DOWN " in *" $1:$2 "* | *" $1:* "*) return 0 ;; esac; return 1; }
LB_CHECK_N=12

# lb_check TARGET METHOD: LB_CHECK_N requests one after another through the
# method's port, each a 200 with the 100-byte body; and which backends
# answered (X-Backend) fits the method. With one request at a time every
# server has none in flight, so round robin and least_conn (ties go round
# robin) must reach all three; the same client address and URI must stay on
# one server with ip_hash and hash; random must reach at least two (all
# twelve on one: chance 3 in 3^12). least_time is only checked for 200s.
lb_check() {
    local t=$1 m=$2 port i got seen="" n want
    port=$(eval echo "\$PORT_${t}_lb_$m")
    for ((i = 0; i < LB_CHECK_N; i++)); do
        got=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{size_download} %header{x-backend}' \
            "http://127.0.0.1:$port/small")
        case $got in
        "200 100 "[123]) seen="$seen ${got##* }" ;;
        *)
            note "$t: balancing $m: GET /small gave '$got' (status, bytes, X-Backend)"
            return 1
            ;;
        esac
    done
    n=$(echo "$seen" | tr ' ' '\n' | sort -u | grep -c .)
    case $m in
    rr | least_conn) want="[ $n -eq 3 ]" ;;
    ip_hash | hash) want="[ $n -eq 1 ]" ;;
    random) want="[ $n -ge 2 ]" ;;
    *) want=true ;;
    esac
    if ! eval "$want"; then
        note "$t: balancing $m: $LB_CHECK_N requests one at a time went to backends$seen"
        return 1
    fi
    log "$t: balancing $m: backends$seen"
}

# ---------------------------------------------------------------------------
# TLS runs, on proxies restarted with the tls configuration: a full
# handshake per connection (ECDSA, RSA), and keep-alive requests over TLS
# (wrk_run tls_ka). wrk and h2load resume sessions when they reconnect (a
# TLS 1.3 ticket, or the TLS 1.2 session kept by SSL_clear), so new
# connections come from `openssl s_time -new` instead: a fresh SSL object
# without a session for every connection, one HTTP/1.0 request each,
# TLS_CLIENTS processes in parallel. docs/performance.md has the check.

TLS_SCENARIOS="tls_new_ec tls_new_rsa tls_ka"
TLS_DOWN=""

# tls_check TARGET: both TLS ports answer s_time's request with 200 and the
# 100-byte body; sets REF_<target>_<kind> to the response's size in bytes,
# which every s_time connection must then read.
tls_check() {
    local t=$1 kind port resp
    for kind in ec rsa; do
        port=$(eval echo "\$PORT_${t}_$kind")
        resp="$W/tls/ref-$t-$kind.txt"
        printf 'GET /small HTTP/1.0\r\n\r\n' |
            timeout 10 openssl s_client -quiet -connect "127.0.0.1:$port" >"$resp" 2>/dev/null
        if ! head -1 "$resp" | grep -q '^HTTP/1\.[01] 200 ' ||
            [ "$(tail -c 100 "$resp")" != "$(head -c 100 "$W/backend/www/small")" ]; then
            note "$t: TLS $kind port $port: wrong answer to GET /small (see $resp)"
            return 1
        fi
        eval "REF_${t}_$kind=$(wc -c <"$resp")"
        log "$t: TLS $kind: $(timeout 10 openssl s_client -brief -connect "127.0.0.1:$port" </dev/null 2>&1 |
            awk -F': ' '/^(Protocol version|Ciphersuite|Server Temp Key|Peer signature type):/ {printf "%s ", $2}')"
    done
}

stime_run() {  # TARGET ec|rsa ROUND
    local t=$1 kind=$2 r=$3 s=tls_new_$2 pid port i p ps="" ok=1 c0 c1 t0 t1 parsed conns bytes ref
    pid=$(eval echo "\$PID_$t"); port=$(eval echo "\$PORT_${t}_$kind")
    ref=$(eval echo "\$REF_${t}_$kind")
    c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
    for ((i = 1; i <= TLS_CLIENTS; i++)); do
        # shellcheck disable=SC2046
        timeout $((DURATION + 30)) $(pin "$CPU_LOAD") openssl s_time -connect "127.0.0.1:$port" \
            -new -www /small -time "$DURATION" >"$W/stime-$t-$kind-$r-$i.txt" 2>&1 </dev/null &
        p=$!; track "$p"; ps="$ps $p"
    done
    for p in $ps; do
        wait "$p" || ok=0
        untrack "$p"
    done
    t1=$(date +%s.%N); c1=$(cpu_ticks "$pid")
    if ! alive "$pid"; then
        note "$t: died during $s round $r"
        TLS_DOWN="$TLS_DOWN $t"
        record "$t" "$s" rps failed
        return
    fi
    if [ "$ok" = 0 ] || ! parsed=$($UTIL stime "$W/stime-$t-$kind-$r"-*.txt); then
        note "$t: $s round $r: openssl s_time failed (see $W/stime-$t-$kind-$r-*.txt)"
        record "$t" "$s" rps failed
        return
    fi
    read -r conns bytes <<<"$parsed"
    # Every connection read the whole 200 response: a proxy that answered
    # some with an error page or cut them short would change the average.
    if [ "$conns" -eq 0 ] || [ $((bytes > conns * ref ? bytes - conns * ref : conns * ref - bytes)) -gt $((conns * ref / 100)) ]; then
        note "$t: $s round $r: $conns connections read $bytes bytes, expected $ref each"
        record "$t" "$s" rps failed
        return
    fi
    record "$t" "$s" rps "$(awk -v n="$conns" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')"
    record "$t" "$s" cpu_us "$(awk -v c=$((c1 - c0)) -v n="$conns" -v hz="$CLK_TCK" \
        'BEGIN { printf "%.3f", c * 1e6 / hz / n }')"
}

tls_is_down() { case " $TLS_DOWN " in *" $1 "*) return 0 ;; esac; return 1; }

# ---------------------------------------------------------------------------
# HTTP/2 runs, on proxies restarted with the h2 configuration: h2load with
# H2_CONNS connections of H2_STREAMS concurrent streams each, GET /small,
# over TLS with ALPN h2 (h2_tls) and in cleartext with prior knowledge (h2c).
# The proxies speak HTTP/1.1 with keep-alive to the backend, as elsewhere.

H2_SCENARIOS="h2_tls h2c"
H2_DOWN=""
h2_is_down() { case " $H2_DOWN " in *" $1 "*) return 0 ;; esac; return 1; }

h2_url() {  # TARGET SCENARIO
    case $2 in
    h2_tls) echo "https://127.0.0.1:$(eval echo "\$PORT_$1_h2")/small" ;;
    h2c) echo "http://127.0.0.1:$(eval echo "\$PORT_$1_h2c")/small" ;;
    esac
}

# h2_check TARGET: both HTTP/2 ports answer GET /small over HTTP/2 with 200
# and the 100-byte body (curl: ALPN on the TLS port, prior knowledge on the
# cleartext one).
h2_check() {
    local t=$1 got
    got=$(curl -s -k -m 5 --http2 -o /dev/null -w '%{http_version} %{http_code} %{size_download}' \
        "$(h2_url "$t" h2_tls)")
    if [ "$got" != "2 200 100" ]; then
        note "$t: HTTP/2 over TLS: GET /small gave '$got' (HTTP version, status, bytes)"
        return 1
    fi
    got=$(curl -s -m 5 --http2-prior-knowledge -o /dev/null \
        -w '%{http_version} %{http_code} %{size_download}' "$(h2_url "$t" h2c)")
    if [ "$got" != "2 200 100" ]; then
        note "$t: HTTP/2 cleartext: GET /small gave '$got' (HTTP version, status, bytes)"
        return 1
    fi
}

h2_run() {  # TARGET SCENARIO ROUND
    local t=$1 s=$2 r=$3 pid out lg c0 c1 parsed req rps p99 bad proto want=h2
    pid=$(eval echo "\$PID_$t")
    [ "$s" = h2c ] && want=h2c
    out="$W/h2load-$t-$s-$r.txt"; lg="$W/h2load-$t-$s-$r.log"
    c0=$(cpu_ticks "$pid")
    # shellcheck disable=SC2046
    run_bg timeout $((DURATION + 30)) $(pin "$CPU_LOAD") h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" \
        -D"$DURATION" --log-file="$lg" "$(h2_url "$t" "$s")" >"$out" 2>&1
    c1=$(cpu_ticks "$pid")
    if ! alive "$pid"; then
        note "$t: died during $s round $r"
        H2_DOWN="$H2_DOWN $t"
        record "$t" "$s" rps failed
        return
    fi
    if ! parsed=$($UTIL h2run "$out" "$lg"); then
        note "$t: $s round $r: h2load output unreadable ($out)"
        record "$t" "$s" rps failed
        return
    fi
    read -r req rps p99 bad proto <<<"$parsed"
    if [ "$proto" != "$want" ]; then
        note "$t: $s round $r: h2load used '$proto', not $want ($out)"
        record "$t" "$s" rps failed
        return
    fi
    # No tolerance: h2load does not count the streams in flight when -D
    # ends, so a sound proxy shows no failed stream at all, and a connection
    # the proxy drops (or GOAWAYs) fails its streams in flight.
    if [ "$req" -eq 0 ] || [ "$bad" -gt 0 ]; then
        note "$t: $s round $r: h2load: $(grep -E '^(requests|status codes):' "$out" | tr '\n' ' ')($out)"
        record "$t" "$s" rps failed
        return
    fi
    rm -f "$lg"  # one line per request: tens of MB over a full run
    record "$t" "$s" rps "$rps"
    record "$t" "$s" p99_ms "$p99"
    record "$t" "$s" cpu_us "$(awk -v c=$((c1 - c0)) -v n="$req" -v hz="$CLK_TCK" \
        'BEGIN { printf "%.3f", c * 1e6 / hz / n }')"
}

# ---------------------------------------------------------------------------
# Scenario (6): one large body each way, on a freshly started proxy, its
# memory sampled every 50 ms by the client (bench/stream_client.py). get: the
# backend's sparse file /big read by a slow client; post: an upload of the
# same size to the sink (bench/sink.py), which answers with the byte count.

PID_sink=""
STREAM_DEADLINE=120

start_sink() {
    local cmd
    cmd="$(pin "$CPU_BACKEND") $PY $HERE/sink.py --port $PORT_sink --lifetime 3600"
    $cmd >>"$W/sink.log" 2>&1 </dev/null &
    PID_sink=$!
    track "$PID_sink"
    if ! wait_ready "$PORT_sink" "$PID_sink" 15; then
        note "sink: did not start listening (see $W/sink.log)"
        stop_pid "$PID_sink" >/dev/null
        PID_sink=""
        return 1
    fi
}

stream_test() {  # TARGET get|post: on the running PID_<target>
    local t=$1 mode=$2 s=stream_$2 pid port path out pids line n secs base peak hwm
    pid=$(eval echo "\$PID_$t"); port=$(port_of "$t")
    path=/big; [ "$mode" = post ] && path=/upload
    out="$W/stream-$t-$mode.txt"
    pids=$(tree_pids "$pid" | tr '\n' ' ')
    # shellcheck disable=SC2046
    run_bg timeout $((STREAM_DEADLINE + 15)) $(pin "$CPU_LOAD") $PY "$HERE/stream_client.py" "$mode" \
        --port "$port" --path "$path" --size $((STREAM_MIB * 1024 * 1024)) --rate "$STREAM_RATE" \
        --pids "$pids" --deadline "$STREAM_DEADLINE" >"$out" 2>&1
    line=$(head -1 "$out")
    hwm=0
    for p in $pids; do
        hwm=$((hwm + $(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    if ! alive "$pid"; then
        note "$t: died during the $STREAM_MIB MiB $mode"
        record "$t" "$s" rss_mib failed
        return
    fi
    read -r line n secs base peak <<<"$line"
    if [ "$line" != ok ]; then
        note "$t: $STREAM_MIB MiB $mode: $(head -1 "$out" | cut -c1-200)"
        record "$t" "$s" rss_mib failed
        return
    fi
    record "$t" "$s" rss_mib "$(awk -v a="$base" -v b="$peak" 'BEGIN { printf "%.1f", (b - a) / 1024 }')"
    record "$t" "$s" seconds "$secs"
    log "$t: $STREAM_MIB MiB $mode: ${secs}s, RSS $base -> peak $peak kB (VmHWM $hwm kB)"
}

# ---------------------------------------------------------------------------
# Load-independent counts: instructions (callgrind) and system calls
# (strace -c) for a fixed number of requests, measured at N and 2N so that
# start-up and shutdown cancel out: per request = (count(2N) - count(N)) / N.

# count_once TARGET TOOL N: sets COUNT to the tool's total, or "failed". Not
# run in $(...) so that the started PID is tracked by this shell.
count_once() {  # TARGET TOOL N CONNS
    local t=$1 tool=$2 n=$3 c=$4 d cmd pid sig got
    COUNT=failed
    d="$W/count/$t-$tool-c$c-$n"; mkdir -p "$d"
    chmod 777 "$d"  # nginx's worker, forked under valgrind, may run as nobody
    cmd=$(cmd_of "$t")
    case $tool in
    callgrind)
        # valgrind runs the program in its own process: $! is the proxy.
        valgrind -q --tool=callgrind --callgrind-out-file="$d/cg.%p" $cmd \
            >"$d/stderr.log" 2>&1 </dev/null &
        ;;
    strace)
        strace -f -c -qq -o "$d/strace.txt" $cmd >"$d/stderr.log" 2>&1 </dev/null &
        ;;
    esac
    pid=$!
    track "$pid"
    if ! wait_ready "$(port_of "$t")" "$pid" 60; then
        stop_pid "$pid" "$pid" 5 >/dev/null
        return
    fi
    sig=$pid
    if [ "$tool" = strace ]; then
        # listening, so strace's only child is the proxy itself by now
        sig=$(ps -o pid= --ppid "$pid" | head -1 | tr -d ' ')
        [ -n "$sig" ] || sig=$pid
    fi
    run_bg timeout 600 h2load --h1 -n "$n" -c "$c" -t 1 \
        "http://127.0.0.1:$(port_of "$t")/small" >"$d/h2load.txt" 2>&1
    got=$($UTIL h2load "$d/h2load.txt")
    stop_pid "$pid" "$sig" 60 || return
    [ "$got" = "$n" ] || return
    case $tool in
    callgrind) COUNT=$($UTIL callgrind "$d"/cg.*) ;;
    strace) COUNT=$($UTIL strace "$d/strace.txt") ;;
    esac
}

count_target() {  # TARGET TOOL METRIC CONNS
    local t=$1 tool=$2 m=$3 c=$4 a b
    count_once "$t" "$tool" "$COUNT_N" "$c"; a=$COUNT
    count_once "$t" "$tool" $((2 * COUNT_N)) "$c"; b=$COUNT
    if [ "$a" = failed ] || [ "$b" = failed ]; then
        note "$t: $tool count with $c connections failed (see $W/count/$t-$tool-c$c-*)"
        record "$t" "count_c$c" "$m" failed
        return
    fi
    record "$t" "count_c$c" "$m" "$(awk -v a="$a" -v b="$b" -v n="$COUNT_N" 'BEGIN { printf "%.2f", (b - a) / n }')"
    log "$t: $tool, h2load -c $c: $a at $COUNT_N requests, $b at $((2 * COUNT_N))"
}

# ---------------------------------------------------------------------------
# Run.

log "work dir $W; ports backend=$PORT_backend rampart=$PORT_rampart nginx=$PORT_nginx haproxy=$PORT_haproxy"
[ "$H2" = 1 ] && log "HTTP/2 ports TLS/cleartext: rampart=$PORT_rampart_h2/$PORT_rampart_h2c nginx=$PORT_nginx_h2/$PORT_nginx_h2c haproxy=$PORT_haproxy_h2/$PORT_haproxy_h2c"
if [ "$LB" = 1 ]; then
    log "balancing: backends $PORT_backend_lb1 $PORT_backend_lb2 $PORT_backend_lb3;" \
        "ports per method ($LB_METHODS):"
    for t in $PROXIES; do
        log "  $t: $(for m in $LB_METHODS; do eval printf "'%s '" "\$PORT_${t}_lb_$m"; done)"
    done
fi
[ "$TLS" = 1 ] && log "TLS ports ECDSA/RSA: rampart=$PORT_rampart_ec/$PORT_rampart_rsa nginx=$PORT_nginx_ec/$PORT_nginx_rsa haproxy=$PORT_haproxy_ec/$PORT_haproxy_rsa"
log "rounds=$ROUNDS duration=${DURATION}s conns=$CONNS idle=$IDLE_CONNS count_n=$COUNT_N count_conns='$COUNT_CONNS' tls=$TLS tls_clients=$TLS_CLIENTS h2=$H2 h2_conns=$H2_CONNS h2_streams=$H2_STREAMS lb=$LB pin=${CPU_PROXY:+proxy:$CPU_PROXY,load:$CPU_LOAD,backend:$CPU_BACKEND}"

start backend || die "the nginx backend does not start (see $W/backend/stderr.log)"

for t in $PROXIES; do
    start "$t" || mark_down "$t"
done

[ "$BASE" = 1 ] || SCENARIOS=""
for t in $PROXIES; do
    [ "$BASE" = 1 ] || break
    if is_down "$t"; then
        record "$t" idle_silent bytes_per_conn failed
        record "$t" idle_ka bytes_per_conn failed
        continue
    fi
    log "$t: idle connections"
    idle_test "$t"
done

for t in $TARGETS; do
    [ "$BASE" = 1 ] || break
    is_down "$t" && continue
    # shellcheck disable=SC2046
    run_bg timeout 30 $(pin "$CPU_LOAD") wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$(port_of "$t")/small" >/dev/null 2>&1
done

# Rounds interleave targets (and rotate their order) so that drift in the
# machine's speed spreads over all columns instead of favouring one.
read -ra order <<<"$TARGETS"
for ((r = 1; r <= ROUNDS; r++)); do
    for s in $SCENARIOS; do
        for ((i = 0; i < ${#order[@]}; i++)); do
            t=${order[$(((i + r - 1) % ${#order[@]}))]}
            if is_down "$t"; then
                record "$t" "$s" rps failed
                continue
            fi
            log "round $r/$ROUNDS $s $t"
            wrk_run "$t" "$s" "$r"
        done
    done
done

stop_proxies

if [ "$COMPRESS" = 1 ]; then
    for run in $COMP_RUNS; do
        t=${run%%:*} s=${run#*:}
        if is_down "$t" || ! comp_conftest "$t" "$s"; then
            COMP_DOWN="$COMP_DOWN $run"
        fi
    done
    read -ra order <<<"$COMP_RUNS"
    for ((r = 1; r <= ROUNDS; r++)); do
        for ((i = 0; i < ${#order[@]}; i++)); do
            run=${order[$(((i + r - 1) % ${#order[@]}))]}
            t=${run%%:*} s=${run#*:}
            if comp_is_down "$run" || is_down "$t"; then
                record "$t" "$s" rps failed
                continue
            fi
            log "round $r/$ROUNDS $s $t"
            comp_run "$t" "$s" "$r" || COMP_DOWN="$COMP_DOWN $run"
        done
    done
fi

if [ "$TLS" = 1 ]; then
    VARIANT=tls
    for t in $PROXIES; do
        if is_down "$t" || ! start "$t" || ! tls_check "$t"; then
            TLS_DOWN="$TLS_DOWN $t"
            continue
        fi
        # shellcheck disable=SC2046
        run_bg timeout 30 $(pin "$CPU_LOAD") wrk -t1 -c"$CONNS" -d1s \
            "https://127.0.0.1:$(eval echo "\$PORT_${t}_ec")/small" >/dev/null 2>&1
    done
    read -ra order <<<"$PROXIES"
    for ((r = 1; r <= ROUNDS; r++)); do
        for s in $TLS_SCENARIOS; do
            for ((i = 0; i < ${#order[@]}; i++)); do
                t=${order[$(((i + r - 1) % ${#order[@]}))]}
                if tls_is_down "$t"; then
                    record "$t" "$s" rps failed
                    continue
                fi
                log "round $r/$ROUNDS $s $t"
                case $s in
                tls_new_*) stime_run "$t" "${s#tls_new_}" "$r" ;;
                *) wrk_run "$t" "$s" "$r" ;;
                esac
            done
        done
    done
    stop_proxies
    VARIANT=""
fi

if [ "$H2" = 1 ]; then
    VARIANT=h2
    for t in $PROXIES; do
        if is_down "$t" || ! start "$t" || ! h2_check "$t"; then
            H2_DOWN="$H2_DOWN $t"
            continue
        fi
        # shellcheck disable=SC2046
        run_bg timeout 30 $(pin "$CPU_LOAD") h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" -D1 \
            "$(h2_url "$t" h2_tls)" >/dev/null 2>&1
    done
    read -ra order <<<"$PROXIES"
    for ((r = 1; r <= ROUNDS; r++)); do
        for s in $H2_SCENARIOS; do
            for ((i = 0; i < ${#order[@]}; i++)); do
                t=${order[$(((i + r - 1) % ${#order[@]}))]}
                if h2_is_down "$t"; then
                    record "$t" "$s" rps failed
                    continue
                fi
                log "round $r/$ROUNDS $s $t"
                h2_run "$t" "$s" "$r"
            done
        done
    done
    stop_proxies
    VARIANT=""
fi

if [ "$LB" = 1 ]; then
    VARIANT=lb
    for t in $PROXIES; do
        if is_down "$t" || ! start "$t"; then
            LB_DOWN="$LB_DOWN $t:*"
            continue
        fi
        for m in $LB_METHODS; do
            lb_method "$t" "$m" >/dev/null || continue
            lb_check "$t" "$m" || LB_DOWN="$LB_DOWN $t:$m"
        done
        # shellcheck disable=SC2046
        run_bg timeout 30 $(pin "$CPU_LOAD") wrk -t1 -c"$CONNS" -d1s \
            "http://127.0.0.1:$(eval echo "\$PORT_${t}_lb_rr")/small" >/dev/null 2>&1
    done
    read -ra order <<<"$PROXIES"
    for ((r = 1; r <= ROUNDS; r++)); do
        for t in $PROXIES; do eval "LB_RR_$t="; done
        for s in $LB_SCENARIOS; do
            m=${s#lb_}
            for ((i = 0; i < ${#order[@]}; i++)); do
                t=${order[$(((i + r - 1) % ${#order[@]}))]}
                lb_method "$t" "$m" >/dev/null || continue  # no such method: "-"
                if lb_is_down "$t" "$m"; then
                    record "$t" "$s" rps failed
                    continue
                fi
                log "round $r/$ROUNDS $s $t"
                wrk_run "$t" "$s" "$r"
                if ! alive "$(eval echo "\$PID_$t")"; then
                    LB_DOWN="$LB_DOWN $t:*"
                    continue
                fi
                if [ "$m" = rr ]; then
                    eval "LB_RR_$t=\$WRK_CPU"
                else
                    rr=$(eval echo "\$LB_RR_$t")
                    if [ -n "$WRK_CPU" ] && [ -n "$rr" ]; then
                        record "$t" "$s" cpu_delta_us \
                            "$(awk -v a="$WRK_CPU" -v b="$rr" 'BEGIN { printf "%.3f", a - b }')"
                    fi
                fi
            done
        done
    done
    stop_proxies
    VARIANT=""
fi

if [ "$STREAM" = 1 ]; then
    start_sink
    VARIANT=stream
    for t in $PROXIES; do
        for mode in get post; do
            if is_down "$t" || [ -z "$PID_sink" ]; then
                record "$t" "stream_$mode" rss_mib failed
                continue
            fi
            log "$t: $STREAM_MIB MiB $mode"
            if start "$t"; then
                stream_test "$t" "$mode"
                stop_pid "$(eval echo "\$PID_$t")" "" 10 >/dev/null
            else
                record "$t" "stream_$mode" rss_mib failed
            fi
        done
    done
    VARIANT=""
    [ -n "$PID_sink" ] && stop_pid "$PID_sink" "$PID_sink" 10 >/dev/null
fi

if [ "$COUNTS" = 1 ]; then
    for t in $PROXIES; do
        for c in $COUNT_CONNS; do
            if is_down "$t"; then
                record "$t" "count_c$c" instr failed
                record "$t" "count_c$c" syscalls failed
                continue
            fi
            log "$t: callgrind and strace counts, h2load -c $c"
            count_target "$t" callgrind instr "$c"
            count_target "$t" strace syscalls "$c"
        done
    done
fi

stop_pid "$PID_backend" "$PID_backend" 10 >/dev/null

stream_set=" STREAM=0"
tls_set=" TLS=0"
h2_set=" H2=0"
lb_set=" LB=0"
comp_set=" COMPRESS=0"
base_set=""
[ "$LB" = 1 ] && lb_set=""
[ "$COMPRESS" = 1 ] && comp_set=""
[ "$BASE" = 1 ] || base_set=" BASE=0"
[ "$TLS" = 1 ] && tls_set=" TLS_CLIENTS=$TLS_CLIENTS"
[ "$H2" = 1 ] && h2_set=" H2_CONNS=$H2_CONNS H2_STREAMS=$H2_STREAMS"
[ "$STREAM" = 1 ] && stream_set=" STREAM_MIB=$STREAM_MIB STREAM_RATE=$STREAM_RATE"
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "host=$(uname -sr), $NCPU CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
    echo "rampart=$RAMPART_BIN"
    echo "nginx=$($NGINX_BIN -v 2>&1 | sed 's/^nginx version: //')"
    echo "haproxy=$($HAPROXY_BIN -v 2>&1 | awk 'NR == 1 {print $3}')"
    echo "wrk=$(wrk -v 2>&1 | awk 'NR == 1 {print $2}')"
    echo "openssl=$(openssl version 2>/dev/null | awk '{print $2}')"
    echo "h2load=$(h2load --version 2>&1 | awk 'NR == 1 {print $2}')"
    echo "settings=ROUNDS=$ROUNDS DURATION=${DURATION}s CONNS=$CONNS IDLE_CONNS=$IDLE_CONNS COUNT_N=$COUNT_N COUNT_CONNS=\"$COUNT_CONNS\"$base_set$stream_set$tls_set$h2_set$lb_set$comp_set"
    echo "stream_mib=$STREAM_MIB"
    echo "comp_size=$COMP_SIZE"
    echo "tls_clients=$TLS_CLIENTS"
    echo "conns=$CONNS"
    echo "h2_conns=$H2_CONNS"
    echo "h2_streams=$H2_STREAMS"
    echo "pinning=${CPU_PROXY:+proxy on CPU $CPU_PROXY, wrk on CPU $CPU_LOAD, backend on CPU $CPU_BACKEND}"
} >"$W/meta.txt"

mkdir -p "$(dirname "$OUT")"
$PY "$HERE/report.py" "$W/results.tsv" "$W/meta.txt" "$W/notes.txt" >"$OUT.tmp" || die "report.py failed"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
log "written to $OUT"
