#!/usr/bin/env bash
# Puts promtool, Prometheus's checker of rule files and scrapes, at
# target/tools/promtool for daemon/tests/monitoring.rs (`promtool check
# rules`, `promtool test rules`, `promtool check metrics`). It is taken
# from Debian's prometheus package without installing that package: no
# Prometheus server, no user, nothing outside target/ (`apt-get download`
# and `dpkg-deb`, about 19 MB from the Debian mirror). .ci/run calls it;
# run it once by hand before `cargo nextest run -p chatd --test monitoring`.
#
# Usage: packaging/get-promtool.sh        (from anywhere in the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/tools/promtool
if [ -x "$out" ] && "$out" --version >/dev/null 2>&1; then
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt's download sandbox (user _apt) must be able to write there.
chmod 0755 "$tmp"
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chown _apt "$tmp"
fi
download() { (cd "$tmp" && apt-get download prometheus) >"$tmp/log" 2>&1; }
if ! download; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        download || { cat "$tmp/log" >&2; exit 1; }
    else
        cat "$tmp/log" >&2
        echo "get-promtool: apt-get download prometheus failed; as root, run apt-get update first" >&2
        exit 1
    fi
fi
dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool
mkdir -p target/tools
install -m 0755 "$tmp/usr/bin/promtool" "$out"
"$out" --version | head -n1
