#!/usr/bin/env bash
# A bounded fuzz run: builds every cargo-fuzz target under fuzz/ once, then
# runs each for SECONDS and prints the executions per target.
#
#   fuzz/run.sh SECONDS [TARGET...]     (default: every target)
#
# Stable toolchain, no sanitizer (`-s none`): what CI runs (.ci/run). With
# SANITIZER=address (or another cargo-fuzz sanitizer) it uses the nightly
# toolchain instead (`cargo +nightly fuzz run -s address`). Seeds are the
# small valid samples in fuzz/seeds/TARGET (the known-answer vectors of
# docs/protocol.md, the documented config, the documented events); what a
# run finds new goes to fuzz/corpus/TARGET (not checked in), a crash to
# fuzz/artifacts/TARGET. Every run is bounded: libFuzzer stops itself at
# SECONDS (-max_total_time), one input may take at most 10 s (-timeout),
# and `timeout` ends a run that outlives SECONDS + 60 s anyway. Exits 1 if
# any target failed.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
case $seconds in '' | *[!0-9]*) echo "fuzz/run.sh: SECONDS must be a number" >&2; exit 2 ;; esac

sanitizer=${SANITIZER:-none}
cargo=(cargo)
flags=(-s "$sanitizer")
if [ "$sanitizer" != none ]; then
  # A target directory of its own: the stable build stays as it is.
  cargo=(cargo +nightly)
  target_dir="target/$sanitizer"
  flags+=(--target-dir "$target_dir")
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

start=$(date +%s)
# Every target at once (the runs below then find them built).
"${cargo[@]}" fuzz build "${flags[@]}"
built=$(date +%s)
host=$(rustc -vV | sed -n 's/^host: //p')
bin="$PWD/${target_dir:-target}/$host/release"
echo "fuzz: built in $((built - start)) s"

failed=()
report=()
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "seeds/$target" "artifacts/$target"
  log="corpus/$target.$sanitizer.log"
  set +e
  # The binary itself, not `cargo fuzz run`: nothing is built inside the
  # time bound (and a source changed meanwhile is not picked up).
  timeout --kill-after=10 $((seconds + 60)) \
    "$bin/$target" -artifact_prefix="$PWD/artifacts/$target/" \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    "corpus/$target" "seeds/$target" >"$log" 2>&1
  status=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
  line=$(printf '%-18s %10s executions  %s' "$target" "${execs:-?}" "$cov")
  if [ "$status" != 0 ]; then
    line="$line  FAILED (exit $status; log $PWD/$log)"
    failed+=("$target")
    tail -n 40 "$log" >&2
  fi
  echo "fuzz: $line"
  report+=("$line")
done

echo "fuzz: ${#targets[@]} targets, $seconds s each, sanitizer $sanitizer, $(($(date +%s) - start)) s in all"
printf '  %s\n' "${report[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
