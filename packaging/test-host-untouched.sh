#!/usr/bin/env bash
# The README's two commands, in order, as root (issue 22): first
# `cargo run --release -p chatd`, a chatd on root's defaults, which keeps
# its key in /var/lib/chatd and its socket in /run/chatd; then the package
# tests of `bash .ci/run` (packaging/test-deb.sh, packaging/test-systemd.sh).
# Both succeed, and the package tests leave this machine as they found it:
# /var/lib/chatd keeps its files (the key, the identity, and a file this
# script puts there), and the packages chatd and chat-client, the user
# chatd and the groups chatd and chat-admin are as they were.
#
# Without /var/lib/chatd, the first command runs for real: this checkout's
# release chatd on root's defaults (on a free port of 127.0.0.1, so that it
# meets no other chatd), stopped once it has made its key; what it made is
# removed at the end. A /var/lib/chatd already there (a chatd ran here) is
# used as it is; only the file this script adds is removed.
#
# Needs root, and what the two package tests need (.ci/run installs it).
# Usage: packaging/test-host-untouched.sh   (.ci/run runs it)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
fail() {
    printf 'test-host-untouched: FAIL: %s\n' "$*" >&2
    exit 1
}
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@"; do
        ((SECONDS < deadline)) || fail "gave up after ${limit}s waiting for: $what"
        sleep 0.1
    done
}

[ "$(id -u)" = 0 ] || fail "needs root: the README's commands are run as root here"

work=$(mktemp -d /tmp/chat-test-host.XXXXXX)
chatd_pid=
made=()
marker=/var/lib/chatd/.chat-test-host-untouched.$$
cleanup() {
    local rc=$?
    if [ -n "$chatd_pid" ] && kill -0 "$chatd_pid" 2>/dev/null; then
        kill -TERM "$chatd_pid" 2>/dev/null || true
        wait "$chatd_pid" 2>/dev/null || true
    fi
    rm -f "$marker"
    if [ "${#made[@]}" -gt 0 ]; then rm -rf "${made[@]}"; fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

say "1. cargo run --release -p chatd, as root"
if [ -e /var/lib/chatd ]; then
    echo "/var/lib/chatd exists already (a chatd ran here): used as it is"
else
    cargo build --release -p chatd --locked
    for dir in /var/lib/chatd /run/chatd; do [ -e "$dir" ] || made+=("$dir"); done
    # Root's defaults, as the README's command runs it: nothing set by
    # systemd or XDG.
    env -u STATE_DIRECTORY -u RUNTIME_DIRECTORY -u CONFIGURATION_DIRECTORY \
        -u XDG_STATE_HOME -u XDG_RUNTIME_DIR -u XDG_CONFIG_HOME \
        target/release/chatd --listen 127.0.0.1:0 2>"$work/chatd.log" &
    chatd_pid=$!
    keyed() {
        kill -0 "$chatd_pid" 2>/dev/null || fail "chatd exited: $(cat "$work/chatd.log")"
        [ -s /var/lib/chatd/key ] && [ -S /run/chatd/admin.sock ]
    }
    wait_for 30 "chatd's key in /var/lib/chatd and its socket in /run/chatd" keyed
    kill -TERM "$chatd_pid"
    rc=0
    wait "$chatd_pid" || rc=$?
    chatd_pid=
    [ "$rc" = 0 ] || fail "chatd exited $rc on SIGTERM: $(cat "$work/chatd.log")"
    echo "chatd made /var/lib/chatd/key"
fi
head -c 32 /dev/urandom | base64 >"$marker"

# What the package tests must not change.
host_state() {
    local f
    for f in /var/lib/chatd/key /var/lib/chatd/identity "$marker"; do
        [ -f "$f" ] && sha256sum "$f" || echo "missing $f"
    done
    echo "passwd chatd: $(getent passwd chatd || true)"
    echo "group chatd: $(getent group chatd || true)"
    echo "group chat-admin: $(getent group chat-admin || true)"
    echo "chatd: $(dpkg-query -W -f='${Status} ${Version}' chatd 2>/dev/null || true)"
    echo "chat-client: $(dpkg-query -W -f='${Status} ${Version}' chat-client 2>/dev/null || true)"
}
host_state >"$work/before"

say "2. the package tests of .ci/run"
packaging/test-deb.sh
packaging/test-systemd.sh

say "the host is as it was"
host_state >"$work/after"
if ! diff -u "$work/before" "$work/after" >&2; then
    fail "the package tests changed this machine (diff above: - before, + after)"
fi
cat "$work/after"
say "test-host-untouched: all passed"
