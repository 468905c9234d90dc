#!/usr/bin/env bash
# Makes every table of docs/performance.md on this machine, in one command:
#
#   testkit/bench/all.sh                  every scenario (15-20 minutes)
#   testkit/bench/all.sh cpu latency      some of them, in that order
#   testkit/bench/all.sh --runs 5 joins   options go to `chat-bench suite`
#   testkit/bench/all.sh --help           the scenarios and options
#
# Scenarios: cpu, latency, memory, joins, scale (docs/performance.md,
# "Making the tables"). It builds chatd and chat-bench in release mode,
# raises the open-file limit as far as the hard limit allows, and runs
# `chat-bench suite`: each case as its own chat-bench process, chatd then
# the floor, the median of 3 runs, server and load pinned to CPUs 0 and 1
# when there are two or more. Markdown on stdout (date, commit and each
# command above each table), progress on stderr, every run's JSON in
# target/bench/DATE-COMMIT/. Every run has a time limit.
#
# Exit status: 0 all clean; 1 a run found a violation; 3 a run was
# incomplete; 2 a run could not run (or a case was skipped).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
    sed -n '2,/^set -euo/{/^set -euo/d; s/^# \{0,1\}//; p}' "$0"
    echo "Options of chat-bench suite: target/release/chat-bench suite --help"
    exit 0
fi

cargo build --release --locked -p chatd -p testkit --bin chatd --bin chat-bench >&2
bench=target/release/chat-bench

# Every client is an open file in the bench and one in the server.
hard=$(ulimit -Hn)
before=$(ulimit -Sn)
if [ "$hard" = unlimited ]; then
    ulimit -Sn 1048576 2>/dev/null || true
else
    ulimit -Sn "$hard"
fi
echo "all.sh: open-file limit raised from $before to $(ulimit -Sn) (hard limit $hard);" \
    "a case needing more is skipped, and says so" >&2

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit + uncommitted changes"
fi
save="target/bench/$(date -u +%Y-%m-%dT%H%M%SZ)-${commit%% *}"
mkdir -p "$save"
echo "all.sh: each run's JSON goes to $save/" >&2

exec "$bench" suite --commit "$commit" --save "$save" \
    --command "testkit/bench/all.sh${*:+ $*}" "$@"
