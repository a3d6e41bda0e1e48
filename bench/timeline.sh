#!/usr/bin/env bash
# make bench: how long --timeline takes to draw.  First a synthetic trial of
# 100,000 acknowledgements (bench/tools/timeline_draw: filling and drawing,
# PNG and SVG), then a real `crash` run of `none` whose worst trial holds
# tens of thousands of entries, timed from the captured trial to the file
# (FSYNCLAB_TIMELINE_TIME).  Figures: docs/performance.md.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
dir=${FSYNCLAB_DIR:-$build/scratch}
mkdir -p "$dir"
echo "== timeline: synthetic, 100,000 acknowledgements"
"$build/bench/timeline_draw" "$dir" 100000
echo "== timeline: crash --strategies none --entries 300000, the worst of 3 trials"
# With GNU time, the run's peak memory too (the capture keeps one trial).
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f "peak RSS %M KiB (the whole crash run)")
FSYNCLAB_TIMELINE_TIME=1 "${timer[@]}" "$build/fsynclab" crash --dir "$dir" --strategies none --entries 300000 \
  --trials 3 --seed 1 --timeline "$dir/timeline-bench-none.png" --json 2>&1 >/dev/null | grep -E '^(timeline|peak)'
rm -f "$dir/timeline-bench.png" "$dir/timeline-bench.svg" "$dir/timeline-bench-none.png"
