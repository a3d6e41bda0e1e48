#!/usr/bin/env bash
# End-to-end test of `fsynclab curve`: a small sweep writes the CSV, the JSON,
# the gnuplot script, the SVG and the PNG and prints a terminal plot; without
# gnuplot it keeps the data and says how to render it; nothing is left in the
# data directory.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-curve-$$
out=$build/e2e-curve-out-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

small="--dir $dir --intervals 5,50 --entries 500 --trials 2 --seed 9"
if command -v gnuplot >/dev/null; then
  text=$($bin curve $small --out "$out/with" 2>&1); rc=$?
  check "curve exits 0" '[ $rc -eq 0 ]'
  check "it prints a row per point: always, each interval, none" \
    '[ "$(grep -cE "^(always|batch_5ms|batch_50ms|none) " <<<"$text")" -eq 4 ]'
  check "it prints gnuplot's terminal plot" 'grep -q "durability vs throughput" <<<"$text"'
  check "it writes csv, json, gp, svg and png" \
    '[ -s "$out/with/curve.csv" ] && [ -s "$out/with/curve.json" ] && [ -s "$out/with/curve.gp" ] && grep -q "<svg" "$out/with/curve.svg" && [ "$(head -c 4 "$out/with/curve.png" | tail -c 3)" = PNG ]'
  check "the csv has a header and one row a point" '[ "$(wc -l <"$out/with/curve.csv")" -eq 5 ]'
  check "the script renders again without fsynclab" \
    '(cd "$out/with" && gnuplot -e "set terminal dumb" curve.gp) | grep -q "durability vs throughput"'
else
  echo "skip: gnuplot is not installed (.ci/run installs gnuplot-nox)"
fi

text=$(FSYNCLAB_GNUPLOT=$build/no/such/gnuplot $bin curve $small --out "$out/without" 2>&1); rc=$?
check "without gnuplot: exit 0, the data kept, one line on how to render" \
  '[ $rc -eq 0 ] && [ -s "$out/without/curve.csv" ] && [ -s "$out/without/curve.gp" ] && [ ! -e "$out/without/curve.png" ] && grep -q "gnuplot is not installed" <<<"$text" && grep -q "To render:" <<<"$text"'

$bin curve --intervals 0 >/dev/null 2>&1; rc=$?
check "an interval of 0 is a usage error" '[ $rc -eq 2 ]'

rm -rf "$out"
check "nothing is left in the data directory" 'rmdir "$dir"'
echo "curve: $pass passed, $fail failed"
[ $fail -eq 0 ]
