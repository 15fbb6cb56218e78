#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only those missing.
# usage: scripts/deps.sh build|test|bench ...
set -euo pipefail

build_pkgs="gcc make pkg-config libpcre2-dev libssl-dev libnghttp2-dev zlib1g-dev libbrotli-dev libzstd-dev curl"
test_pkgs="$build_pkgs clang-format libcmocka-dev python3-pytest python3-requests python3-websockets python3-h2 python3-brotli python3-zstandard clang libclang-rt-14-dev openssl testssl.sh"
bench_pkgs="$build_pkgs openssl nginx-light haproxy wrk nghttp2-client valgrind strace python3-brotli python3-zstandard"

want=""
for group in "$@"; do
    case "$group" in
    build) want="$want $build_pkgs" ;;
    test) want="$want $test_pkgs" ;;
    bench) want="$want $bench_pkgs" ;;
    *) echo "deps.sh: unknown group $group" >&2; exit 2 ;;
    esac
done

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
    fi
done

if [ -n "$missing" ]; then
    echo "deps.sh: installing:$missing"
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
