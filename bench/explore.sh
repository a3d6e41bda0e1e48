#!/usr/bin/env bash
# make bench: how fast `fsynclab explore` goes through every crash point of
# a run: SQLite journal_mode=DELETE synchronous=FULL, 200 commits, explored
# exhaustively (no --max-points or --max-states cut), under drop.  Three
# runs; each line gives the wall time, the points, states generated,
# distinct and checked, the dedup ratio (generated / distinct), states/s,
# the time in the checks and the load average it started under.  Figures:
# docs/performance.md#exploring-a-run.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
dir=${FSYNCLAB_DIR:-$build/scratch}
mkdir -p "$dir"
ops=${1:-200}
echo "== explore --target sqlite --set journal_mode=DELETE --set synchronous=FULL --ops $ops"
for run in 1 2 3; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$build/fsynclab" explore --json --no-fail --dir "$dir" --target sqlite --set journal_mode=DELETE \
      --set synchronous=FULL --ops "$ops" >"$dir/explore-bench.json"
  python3 - "$dir/explore-bench.json" "$run" "$load" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("run %s: %.1f s, %d points, %d states generated, %d distinct, %d checked, %d cut, dedup %.2f, "
      "%.0f states/s, %.1f s in the checks, %d vulnerabilit%s (load average %s)"
      % (sys.argv[2], r["seconds"], r["points"], r["states_generated"], r["states_distinct"],
         r["states_checked"], r["states_cut"], r["dedup_ratio"], r["states_per_s"], r["check_seconds"],
         len(r["vulnerabilities"]), "y" if len(r["vulnerabilities"]) == 1 else "ies", sys.argv[3]))
PY
done
rm -f "$dir/explore-bench.json"
