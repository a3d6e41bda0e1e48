#!/usr/bin/env bash
# End-to-end tests of repeated and time-based runs and of `fsynclab diff`:
# five runs each with the median inside its interval and the interval inside
# the runs' range, a time-based run that lasts its seconds and counts its
# entries, the default --json without a single new key, and diff's verdicts,
# proven both ways on hand-made files and on real runs.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-stats-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

# One line per result: ops_per_sec, the runs, the interval (space-separated).
per_result() {
  sed 's/}, {"strategy"/\n/g' "$1" | while read -r line; do
    ops=$(grep -o '"ops_per_sec": [0-9]*' <<<"$line" | grep -o '[0-9]*$')
    runs=$(grep -o '"ops_per_sec_runs": \[[0-9, ]*\]' <<<"$line" | grep -o '\[.*\]' | tr -d '[],')
    ci=$(grep -o '"ops_per_sec_ci95": \[[0-9, ]*\]' <<<"$line" | grep -o '\[.*\]' | tr -d '[],')
    echo "$ops|$runs|$ci"
  done
}
# median inside [lo, hi], and min(runs) <= lo, hi <= max(runs), five runs
sound() {
  local ok=1 n=0
  while IFS='|' read -r ops runs ci; do
    n=$((n+1))
    read -r lo hi <<<"$ci"
    set -- $runs
    [ $# -eq 5 ] || ok=0
    min=$(tr ' ' '\n' <<<"$runs" | sort -n | head -n 1); max=$(tr ' ' '\n' <<<"$runs" | sort -n | tail -n 1)
    [ -n "$lo" ] && [ "$lo" -le "$ops" ] && [ "$ops" -le "$hi" ] && [ "$min" -le "$lo" ] && [ "$hi" -le "$max" ] || ok=0
  done < <(per_result "$1")
  [ $ok -eq 1 ] && [ $n -eq 2 ]
}

$bin bench --dir "$dir" --strategies always,none --entries 200 --repeat 5 --json >"$dir/both.json"; rc=$?
check "--repeat 5 --json: five runs each, median in its interval, interval in the runs' range" '[ $rc -eq 0 ] && sound "$dir/both.json"'
check "--repeat 5 says a warm-up ran" '[ "$(grep -o "\"warmup\": true" "$dir/both.json" | wc -l)" -eq 2 ]'

$bin bench --dir "$dir" --strategies always,none --entries 50 --json >"$dir/plain.json"
check "without --repeat, --json has none of the new keys" '! grep -qE "runs|ci95|spread|warmup" "$dir/plain.json"'

start=$(date +%s%N)
out=$($bin bench --dir "$dir" --strategies none --seconds 0.5 2>&1); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "--seconds 0.5 runs about half a second ($ms ms)" '[ $rc -eq 0 ] && [ $ms -ge 500 ] && [ $ms -lt 3000 ]'
check "--seconds reports how many entries that was" 'grep -qE "^  \([0-9]+ entries in 0\.5[0-9]* s\)$" <<<"$out"'
out=$($bin bench --dir "$dir" --strategies none --entries 100 2>&1)
check "a run under 100 ms says so" 'grep -q "lasted under 100 ms" <<<"$out"'
$bin bench --dir "$dir" --repeat 0 >/dev/null 2>"$dir/err"; rc=$?
check "--repeat 0 is a usage error naming the range" '[ $rc -eq 2 ] && grep -q -- "--repeat must be a whole number from 1 to 100" "$dir/err"'
$bin bench --dir "$dir" --seconds 0 >/dev/null 2>"$dir/err"; rc=$?
check "--seconds 0 is a usage error" '[ $rc -eq 2 ] && grep -q -- "--seconds must be a number greater than 0" "$dir/err"'

# diff on hand-made files: apart, overlapping, single runs
mk() { echo "{\"type\": \"fsync_benchmark_ok\", \"results\": [{\"strategy\": \"$1\", \"ops_per_sec\": $2, \"ops_per_sec_runs\": [$3]}]}" >"$dir/$4"; }
mk always 102 "100, 101, 102, 103, 104" a.json
mk always 202 "200, 201, 202, 203, 204" far.json
mk always 103 "101, 102, 103, 104, 105" near.json
echo '{"type": "fsync_benchmark_ok", "results": [{"strategy": "always", "ops_per_sec": 3000}]}' >"$dir/one.json"
out=$($bin diff "$dir/a.json" "$dir/a.json"); rc=$?
check "diff of a file against itself: no difference proven, exit 0" '[ $rc -eq 0 ] && grep -qE "^always .* no difference proven$" <<<"$out"'
out=$($bin diff "$dir/a.json" "$dir/far.json"); rc=$?
check "diff of sets far apart: a proven difference, exit 0" '[ $rc -eq 0 ] && grep -q "+100 (+98.0%) .* +97 .. +103  difference proven: B higher" <<<"$out"'
out=$($bin diff "$dir/a.json" "$dir/near.json")
check "diff of overlapping sets: no difference proven" 'grep -q "  no difference proven$" <<<"$out"'
out=$($bin diff "$dir/one.json" "$dir/one.json")
check "diff of single runs: too few runs, not a difference" 'grep -q "too few runs for 95%" <<<"$out"'
$bin diff "$dir/a.json" >/dev/null 2>&1; rc=$?
check "diff with one file is a usage error (2)" '[ $rc -eq 2 ]'
echo 'not json' >"$dir/bad.json"
$bin diff "$dir/a.json" "$dir/bad.json" >/dev/null 2>"$dir/err"; rc=$?
check "diff of a file that is not bench output fails with 1 naming it" '[ $rc -eq 1 ] && grep -q "bad.json is not the output of fsynclab bench --json" "$dir/err"'

# diff on real runs: always against none
$bin bench --dir "$dir" --strategies always --entries 200 --repeat 5 --json >"$dir/always.json"
$bin bench --dir "$dir" --strategies none --entries 200 --repeat 5 --json >"$dir/none.json"
out=$($bin diff "$dir/always.json" "$dir/none.json"); rc=$?
check "diff always against none: B higher, proven" '[ $rc -eq 0 ] && grep -q "^always -> none .*difference proven: B higher$" <<<"$out"'
out=$($bin diff "$dir/both.json" "$dir/both.json")
check "diff of real runs against themselves: no difference proven for both" '[ "$(grep -c "  no difference proven$" <<<"$out")" -eq 2 ]'

rm -f "$dir"/*.json "$dir/err"
check "nothing is left in the data directory" 'rmdir "$dir"'
echo "stats: $pass passed, $fail failed"
[ $fail -eq 0 ]
