#!/usr/bin/env bash
# make bench: how many crash trials a second `crash` runs (the harness's own
# cost: fork, the writer's appends, the kill, the model, the verifier).
# Three runs of 1,000 trials of `none`; each line gives the run's wall time,
# its rate and the load average it ran under (a shared machine's figures
# move with it).  Figures: docs/performance.md#crash-harness-speed.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
dir=${FSYNCLAB_DIR:-$build/scratch}
mkdir -p "$dir"
trials=${1:-1000}
echo "== crash --strategies none --trials $trials"
for run in 1 2 3; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s%N)
  "$build/fsynclab" crash --dir "$dir" --strategies none --trials "$trials" --seed "$run" --json >/dev/null
  t1=$(date +%s%N)
  awk -v n="$trials" -v ns=$((t1 - t0)) -v la="$load" -v run="$run" \
    'BEGIN { printf "run %d: %.2f s, %.0f trials/s (load average %s)\n", run, ns / 1e9, n / (ns / 1e9), la }'
done
