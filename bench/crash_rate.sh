#!/usr/bin/env bash
# make bench: how many crash trials a second `crash` runs (the harness's own
# cost: the writer's start, its appends, the kill, the model, the verifier).
# Three runs of 1,000 trials of `none`; each line gives the run's wall time,
# its rate, the CPU time it took per trial (user + system, the writers and
# the fork server included) and the load average it ran under: on a shared
# machine the rate moves with the load, the CPU time much less.
# BEFORE=path/to/an/older/fsynclab alternates the two binaries, run by run.
# Last, the floor the machine sets (bench/model/crash_floor.c): the same
# trials' processes, files and appends with libc alone, one at a time and
# overlapped, in the same run, so that the rate has a yardstick.
# Figures: docs/performance.md#crash-harness-speed.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
dir=${FSYNCLAB_DIR:-$build/scratch}
mkdir -p "$dir"
trials=${1:-1000}
# children's CPU: `times` in this shell (not in a command substitution's)
# gives the user and system time of its reaped children, theirs included
cpu_file=$(mktemp)
trap 'rm -f "$cpu_file"' EXIT
cpu_seconds() { tail -1 "$cpu_file" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } printf "%.3f", n }'; }
echo "== crash --strategies none --trials $trials"
for run in 1 2 3; do
  for bin in ${BEFORE:+"$BEFORE"} "$build/fsynclab"; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    times >"$cpu_file"; c0=$(cpu_seconds)
    t0=$(date +%s%N)
    "$bin" crash --dir "$dir" --strategies none --trials "$trials" --seed "$run" --json >/dev/null
    t1=$(date +%s%N)
    times >"$cpu_file"; c1=$(cpu_seconds)
    awk -v n="$trials" -v ns=$((t1 - t0)) -v la="$load" -v run="$run" -v c0="$c0" -v c1="$c1" -v bin="$bin" \
      'BEGIN { printf "run %d %s: %.2f s, %.0f trials/s, %.2f ms CPU a trial (load average %s)\n", run, bin, ns / 1e9, n / (ns / 1e9), (c1 - c0) * 1000 / n, la }'
  done
done
"$build/bench/model/crash_floor" "$dir" "$trials" 1000
