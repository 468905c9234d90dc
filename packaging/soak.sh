#!/usr/bin/env bash
# Soak: MINUTES (default 15) of churn against a real release chatd on
# loopback, sampling its resident set (VmRSS) and open file descriptors
# each minute, then printing the growth. Not part of CI: run it by hand.
#
#   cargo build --release -p chatd -p chatctl -p chat-client
#   packaging/soak.sh 15
#
# Churn, in rounds until the time is up: 8 short-lived line clients join
# with the password, send messages, an action and a DM to a resident, and
# leave; a client joins and is kicked; an admin notice; every 3rd round a
# reload (SIGHUP path, through the API), every 5th a key rotation with a
# 30 s grace (the clients read the key file afresh each round), every 7th
# a password change. Two residents stay joined throughout and receive
# everything. Everything runs under temp dirs and stops by itself: the
# whole run is bounded by MINUTES plus a minute.
set -euo pipefail

minutes=${1:-15}
case $minutes in '' | *[!0-9]*) echo "usage: $0 [MINUTES]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
bin=${CHAT_BIN_DIR:-target/release}
for b in chatd chatctl chat; do
  [ -x "$bin/$b" ] || { echo "$0: $bin/$b is missing; run: cargo build --release -p chatd -p chatctl -p chat-client" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
chatd_pid=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$chatd_pid" ]; then kill "$chatd_pid" 2>/dev/null || true; wait "$chatd_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/chatd.toml" <<'EOF'
# Every client of the soak comes from loopback.
limit_exempt = ["127.0.0.0/8"]
EOF
"$bin/chatd" --listen 127.0.0.1:0 --state-dir "$tmp/state" --runtime-dir "$tmp/run" \
  --config "$tmp/chatd.toml" 2>"$tmp/chatd.log" &
chatd_pid=$!
for _ in $(seq 300); do
  grep -q 'listening on ws://127.0.0.1:' "$tmp/chatd.log" && [ -S "$tmp/run/admin.sock" ] && break
  sleep 0.1
done
port=$(sed -n 's|.*listening on ws://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/chatd.log" | head -1)
[ -n "$port" ] || { echo "$0: chatd did not start:" >&2; cat "$tmp/chatd.log" >&2; exit 1; }
url="ws://127.0.0.1:$port/"
ctl() { "$bin/chatctl" --socket "$tmp/run/admin.sock" "$@" >/dev/null; }
key() { head -1 "$tmp/state/key"; }
password=soak-0
printf '%s\n' "$password" | ctl passwd --stdin
printf '%s\n' "$password" >"$tmp/password"

# A resident: joined until the end, its input a pipe that stays open.
resident() {
  mkfifo "$tmp/in-$1"
  CHAT_KEY=$(key) timeout $((minutes * 60 + 60)) "$bin/chat" --plain --url "$url" \
    --username "$1" --password-file "$tmp/password" <"$tmp/in-$1" >/dev/null 2>&1 &
  pids+=($!)
  exec {fd}>"$tmp/in-$1"
}
resident resident1
resident resident2
# The rounds DM resident1: wait until both are in (at most 30 s).
for _ in $(seq 600); do
  [ "$("$bin/chatctl" --socket "$tmp/run/admin.sock" users 2>/dev/null | grep -c resident)" = 2 ] && break
  sleep 0.05
done

sample() {
  local rss fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$chatd_pid/status")
  fds=$(find "/proc/$chatd_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  echo "$1 $rss $fds"
}

start=$(date +%s)
end=$((start + minutes * 60))
echo "soak: ${minutes} min against $bin/chatd (pid $chatd_pid), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%FT%TZ)"
echo "minute rss_kib fds"
samples=("$(sample 0)")
echo "${samples[0]}"
next=$((start + 60))
round=0 joins=0 failed=0 kicks=0
while [ "$(date +%s)" -lt "$end" ]; do
  round=$((round + 1))
  k=$(key)
  # Short-lived clients: messages, an action, a DM, then leave.
  cpids=()
  for i in $(seq 8); do
    printf 'hello %s from c%s\n/me waves\n/msg resident1 psst %s\nbye\n' "$round" "$i" "$round" |
      CHAT_KEY=$k timeout 30 "$bin/chat" --plain --url "$url" --username "c$i" \
        --password-file "$tmp/password" >/dev/null 2>"$tmp/err-c$i" &
    cpids+=($!)
  done
  # One that is kicked.
  CHAT_KEY=$k timeout 30 "$bin/chat" --plain --url "$url" --username victim \
    --password-file "$tmp/password" < <(sleep 25) >/dev/null 2>&1 &
  victim=$!
  for _ in $(seq 100); do
    "$bin/chatctl" --socket "$tmp/run/admin.sock" users 2>/dev/null | grep -q victim && break
    sleep 0.05
  done
  ctl kick victim --reason soak && kicks=$((kicks + 1))
  ctl say "round $round"
  i=0
  for p in "${cpids[@]}"; do
    i=$((i + 1))
    joins=$((joins + 1))
    if ! wait "$p"; then
      failed=$((failed + 1))
      # Kept, so a failure can be explained: the round, the client, why.
      { echo "round $round c$i:"; cat "$tmp/err-c$i"; } >>"$tmp/failures"
    fi
  done
  wait "$victim" 2>/dev/null || true
  [ $((round % 3)) = 0 ] && ctl reload
  [ $((round % 5)) = 0 ] && ctl rotate-key --grace 30s
  if [ $((round % 7)) = 0 ]; then
    password=soak-$round
    printf '%s\n' "$password" | ctl passwd --stdin
    printf '%s\n' "$password" >"$tmp/password"
  fi
  if [ "$(date +%s)" -ge "$next" ]; then
    s=$(sample $(((next - start) / 60)))
    samples+=("$s")
    echo "$s"
    next=$((next + 60))
  fi
done
last=$(sample "$minutes")
[ "${samples[-1]%% *}" = "$minutes" ] || { samples+=("$last"); echo "$last"; }
read -r _ rss0 fds0 <<<"${samples[1]:-${samples[0]}}"
read -r _ rss1 fds1 <<<"${samples[-1]}"
echo "rounds $round, short-lived joins $joins (exited non-zero: $failed), kicks $kicks, chatd alive: $(kill -0 "$chatd_pid" && echo yes)"
[ -s "$tmp/failures" ] && { echo "failed clients (their stderr):"; cat "$tmp/failures"; }
echo "growth from minute 1 to the end: rss ${rss0} -> ${rss1} KiB ($((rss1 - rss0)) KiB), fds ${fds0} -> ${fds1} ($((fds1 - fds0)))"
echo "panics in the log: $(grep -c 'panicked' "$tmp/chatd.log" || true)"
