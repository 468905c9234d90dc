#!/usr/bin/env bash
# The chatd package under a real systemd (issue 14): boots a Debian 12 root
# in systemd-nspawn with a private network (packaging/container.sh: the
# root is debootstrapped once, from the Debian mirror, and cached under
# target/nspawn/, as packaging/test-deb.sh uses it), installs the two .debs
# there, and checks what an admin would do:
#
#   - dpkg -i starts and enables chatd.service (postinst, systemd running);
#   - chatctl status and chatctl key through /run/chatd/admin.sock as alice,
#     a member of the group chat-admin (not root, not chatd);
#   - bob joins with `chat` and stays; ace joins, says a line, leaves; bob
#     gets it;
#   - systemctl reload chatd: the same process reloads (SIGHUP), bob stays;
#   - systemctl stop chatd with bob online: bob is told (exit 4), the unit
#     stops cleanly (Result=success, exit 0: no SIGKILL after
#     TimeoutStopSec);
#   - journalctl -u chatd shows chatd's log;
#   - with metrics_listen = "127.0.0.1:9719" (issue 28) the hardened unit
#     starts as before, /metrics and /health answer on it, chatctl metrics
#     and chatctl health answer on the admin socket, and the numbers follow
#     bob; everything above then runs with the listener on;
#   - the watchdog: a drop-in shortens WatchdogSec= to 4 s (the packaged
#     30 s works the same, only slower); chatd answers it all along (no
#     restart until the end), and once stopped with SIGSTOP systemd finds
#     it silent and restarts it (a new MainPID that serves again).
#
# Needs root, systemd-nspawn (systemd-container) and debootstrap; with CI
# set it installs them. Everything it starts is stopped by PID (the
# container by `systemctl poweroff` inside, then its nspawn PID), and its
# copy of the root is removed. Nothing is installed on the host.
#
# Usage: packaging/test-systemd.sh [CHATD_DEB CHAT_CLIENT_DEB]
#   (default: target/debian/*_VERSION-1_ARCH.deb, made by packaging/test-deb.sh
#   or `cargo deb -p chatd` and `cargo deb -p chat-client`)
# Env:   CHAT_NSPAWN_BASE=DIR  copy this debootstrapped root instead of
#        the cached one
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=packaging/container.sh
. packaging/container.sh

say() { printf '\n== %s\n' "$*"; }
fail() {
    printf 'test-systemd: FAIL: %s\n' "$*" >&2
    container_journal
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

[ "$(id -u)" = 0 ] || {
    echo "test-systemd: needs root (systemd-nspawn, debootstrap)" >&2
    exit 1
}
container_tools

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
chatd_deb=${1:-target/debian/chatd_${version}-1_${arch}.deb}
client_deb=${2:-target/debian/chat-client_${version}-1_${arch}.deb}
[ -f "$chatd_deb" ] && [ -f "$client_deb" ] ||
    fail "no $chatd_deb or $client_deb: build them first (cargo deb -p chatd; cargo deb -p chat-client)"

work=$(mktemp -d /var/tmp/chat-test-systemd.XXXXXX)
bob_pid=
cleanup() {
    local rc=$?
    if [ -n "$bob_pid" ] && kill -0 "$bob_pid" 2>/dev/null; then
        kill -TERM "$bob_pid" 2>/dev/null || true
    fi
    container_stop
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

say "a Debian 12 system, booted"
container_boot
cp "$chatd_deb" "$work/root/root/chatd.deb"
cp "$client_deb" "$work/root/root/chat-client.deb"

# As alice, with a clean environment (nothing of the host's leaks in).
as_alice() {
    nsenter -t "$container_pid" -a setpriv --reuid alice --regid alice --init-groups \
        env -i PATH=/usr/bin:/bin HOME=/home/alice "$@"
}
say "install"
inside dpkg -i /root/chatd.deb /root/chat-client.deb
[ "$(inside systemctl is-enabled chatd.service)" = enabled ] || fail "chatd.service is not enabled"
[ "$(inside systemctl is-enabled chatd.socket 2>/dev/null || true)" = disabled ] || fail "chatd.socket should be left disabled"
active() { [ "$(inside systemctl is-active chatd.service 2>/dev/null || true)" = active ]; }
wait_for 20 "chatd.service active after dpkg -i" active
inside systemctl status chatd --no-pager --lines=0 | sed -n '1,6p'

say "the metrics listener under the hardened unit"
# Appended to the packaged file, as an admin would; a shorter watchdog in a
# drop-in, so that the SIGSTOP below is seen within seconds.
inside sh -c 'printf "\nmetrics_listen = \"127.0.0.1:9719\"\n" >>/etc/chatd/chatd.toml'
inside chatd --check-config >/dev/null || fail "chatd --check-config refuses metrics_listen"
inside mkdir -p /etc/systemd/system/chatd.service.d
inside sh -c 'printf "[Service]\nWatchdogSec=4s\n" >/etc/systemd/system/chatd.service.d/watchdog.conf'
inside systemctl daemon-reload
inside systemctl restart chatd
wait_for 20 "chatd.service active with metrics_listen" active
# A plain HTTP GET with bash alone (the minimal root has no curl).
http_get() {
    inside bash -c 'exec 3<>/dev/tcp/127.0.0.1/9719 &&
        printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$1" >&3 && cat <&3' _ "$1"
}
listening() { http_get /health >"$work/health" 2>/dev/null; }
wait_for 20 "the metrics listener on 127.0.0.1:9719" listening
grep -q '^HTTP/1.1 200' "$work/health" || fail "/health: $(cat "$work/health")"
grep -qF '{"status":"serving"}' "$work/health" || fail "/health: $(cat "$work/health")"
http_get /metrics >"$work/metrics" || fail "GET /metrics"
grep -q '^HTTP/1.1 200' "$work/metrics" || fail "/metrics: $(head -n 5 "$work/metrics")"
grep -q "^chatd_build_info{version=\"$version\",protocol=\"1\"} 1" "$work/metrics" ||
    fail "/metrics has no chatd_build_info for $version: $(grep build "$work/metrics")"
grep -q '^chatd_users_online 0$' "$work/metrics" || fail "/metrics: $(grep users_online "$work/metrics")"
# journald takes in a service's lines on its own time: each journal check
# waits for its line.
journal_says() {
    inside journalctl -u chatd --no-pager -o cat | grep -qF "$1"
}
wait_for 20 "chatd's log of its metrics listener in the journal" \
    journal_says "metrics on http://127.0.0.1:9719/metrics"
watchdog_pid=$(inside systemctl show -p MainPID --value chatd)
echo "serving /metrics and /health on 127.0.0.1:9719 (pid $watchdog_pid, WatchdogSec=4s)"

say "chatctl as a member of chat-admin"
inside useradd --create-home --groups chat-admin alice
as_alice chatctl status >"$work/status" || fail "chatctl status as alice: $(cat "$work/status")"
cat "$work/status"
grep -q "$version" "$work/status" || fail "chatctl status does not show version $version"
token=$(as_alice chatctl key) || fail "chatctl key as alice"
case "$token" in chat1_*) ;; *) fail "chatctl key gave no token" ;; esac
[ "$token" = "$(inside head -n1 /var/lib/chatd/key)" ] || fail "chatctl key differs from /var/lib/chatd/key"
# Not a member: refused (77).
inside useradd --create-home mallory
rc=0
inside setpriv --reuid mallory --regid mallory --init-groups env -i PATH=/usr/bin:/bin chatctl status >/dev/null 2>&1 || rc=$?
[ "$rc" = 77 ] || fail "chatctl as a non-member exited $rc, not 77"

say "a client joins and talks"
# The token reaches chat through its environment (CHAT_KEY), never argv.
mkfifo "$work/bob.in"
(
    export CHAT_KEY="$token"
    # alice's own HOME (chat reads its configuration file from there);
    # CHAT_KEY comes through the environment, as exported above.
    exec nsenter -t "$container_pid" -a setpriv --reuid alice --regid alice --init-groups \
        env HOME=/home/alice XDG_CONFIG_HOME=/home/alice/.config \
        chat --json --url ws://127.0.0.1:1719/ --username bob <"$work/bob.in" >"$work/bob.out" 2>"$work/bob.err"
) &
bob_pid=$!
exec {bob_in}>"$work/bob.in"
online() { as_alice chatctl users 2>/dev/null | grep -qw "$1"; }
bob_online() {
    kill -0 "$bob_pid" 2>/dev/null || fail "bob's chat ended: $(cat "$work/bob.err" "$work/bob.out")"
    online bob
}
wait_for 20 "bob online" bob_online
(
    export CHAT_KEY="$token"
    printf 'hello from ace\n' | nsenter -t "$container_pid" -a setpriv --reuid alice --regid alice --init-groups \
        env HOME=/home/alice XDG_CONFIG_HOME=/home/alice/.config chat --json --url ws://127.0.0.1:1719/ --username ace >"$work/ace.out" 2>"$work/ace.err"
) || fail "ace's chat failed: $(cat "$work/ace.err")"
grep -q '"from":"ace".*"text":"hello from ace"\|"text":"hello from ace".*"from":"ace"' "$work/ace.out" ||
    fail "ace's line was not echoed: $(cat "$work/ace.out")"
bob_got() { grep -q '"text":"hello from ace"' "$work/bob.out"; }
wait_for 20 "bob to get ace's line" bob_got
echo "bob got ace's line"
# ace's leave reaches chatd a moment after ace's chat has exited.
bob_alone() {
    as_alice chatctl metrics >"$work/metrics" || fail "chatctl metrics as alice: $(cat "$work/metrics")"
    grep -q '^chatd_users_online 1$' "$work/metrics"
}
wait_for 20 "chatctl metrics to count bob alone online" bob_alone
grep -q '^chatd_messages_total{kind="say"} 1$' "$work/metrics" ||
    fail "chatctl metrics: $(grep messages_total "$work/metrics")"
http_get /metrics | grep -q '^chatd_users_online 1' || fail "/metrics does not count bob"
as_alice chatctl health >"$work/health" || fail "chatctl health as alice: $(cat "$work/health")"
echo "chatctl metrics, chatctl health and /metrics count bob"

say "systemctl reload"
pid_before=$(inside systemctl show -p MainPID --value chatd)
inside systemctl reload chatd
reloaded() { inside journalctl -u chatd --no-pager 2>/dev/null | grep -q 'reloaded the configuration'; }
wait_for 20 "chatd's reload in the journal" reloaded
[ "$(inside systemctl show -p MainPID --value chatd)" = "$pid_before" ] || fail "reload restarted chatd"
active || fail "chatd is not active after the reload"
online bob || fail "bob is not online after the reload: $(as_alice chatctl users 2>&1)"
echo "reloaded in place (pid $pid_before), bob still online"

# Over the 4 s watchdog many times by now (the boot, the joins, the
# reload): chatd answered it each time.
[ "$(inside systemctl show -p NRestarts --value chatd)" = 0 ] ||
    fail "chatd was restarted: $(inside journalctl -u chatd --no-pager | grep -i watchdog)"
[ "$(inside systemctl show -p MainPID --value chatd)" = "$watchdog_pid" ] || fail "chatd's PID changed"

say "systemctl stop with a client online"
t0=$(date +%s%N)
inside systemctl stop chatd
t1=$(date +%s%N)
echo "stopped in $(((t1 - t0) / 1000000)) ms (TimeoutStopSec=$(inside systemctl show -p TimeoutStopUSec --value chatd))"
[ "$(inside systemctl show -p Result --value chatd)" = success ] ||
    fail "stop result: $(inside systemctl show -p Result --value chatd) (timeout means systemd had to kill it)"
[ "$(inside systemctl show -p ExecMainStatus --value chatd)" = 0 ] || fail "chatd did not exit 0"
exec {bob_in}>&-
bob_done() { ! kill -0 "$bob_pid" 2>/dev/null; }
wait_for 20 "bob's chat to end" bob_done
rc=0
wait "$bob_pid" || rc=$?
bob_pid=
[ "$rc" = 4 ] || fail "bob's chat exited $rc, not 4 (disconnected by the server): $(cat "$work/bob.err")"
grep -qi 'shutdown\|shutting down' "$work/bob.out" "$work/bob.err" || fail "bob was not told of the shutdown"

say "journalctl -u chatd"
for line in "listening on ws://127.0.0.1:1719/" "admin API on /run/chatd/admin.sock" "joined name=bob" \
    "SIGHUP: reloading" "shutting down" "stopped"; do
    wait_for 20 "the journal to hold: $line" journal_says "$line"
done
inside journalctl -u chatd --no-pager -o cat >"$work/journal"
cat "$work/journal"
if grep -qF "$token" "$work/journal"; then fail "the journal holds the key token"; fi

say "the watchdog restarts a chatd stopped with SIGSTOP"
inside systemctl start chatd
wait_for 20 "chatd.service active again" active
stopped_pid=$(inside systemctl show -p MainPID --value chatd)
inside kill -STOP "$stopped_pid"
t0=$SECONDS
restarted() {
    local pid
    pid=$(inside systemctl show -p MainPID --value chatd)
    [ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != "$stopped_pid" ] && active
}
wait_for 90 "systemd to restart the stopped chatd" restarted
echo "restarted after $((SECONDS - t0)) s: pid $stopped_pid -> $(inside systemctl show -p MainPID --value chatd)"
# systemd's line too: the restart may be seen before it is in the journal.
wait_for 20 "the journal to say the watchdog fired" journal_says "Watchdog timeout"
[ "$(inside systemctl show -p NRestarts --value chatd)" -ge 1 ] || fail "NRestarts is 0"
wait_for 20 "/health to answer after the restart" listening
grep -qF '{"status":"serving"}' "$work/health" || fail "/health after the restart: $(cat "$work/health")"
as_alice chatctl status >/dev/null || fail "chatctl status after the restart"
echo "the restarted chatd serves again"

say "test-systemd: all passed"
