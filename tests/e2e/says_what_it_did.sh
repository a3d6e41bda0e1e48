#!/usr/bin/env bash
# End-to-end tests that crash and curve say what they did not do (issue 19):
#   6. a seed is said to replay the choices, not the outcomes (table, JSON,
#      man page, README);
#   7. crash that ran fewer trials than asked, its budget spent, says so
#      (table, and in --json on stderr beside trials < trials_requested);
#   8. a curve point without a valid crash trial is missing, not 0 ms, in the
#      table, CSV, JSON, gnuplot script, PNG and terminal plot, whose legend
#      is whole;
#   9. curve --out on a path that cannot be written fails before the sweep.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-said-$$
out=$build/e2e-said-out-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
run() { text=$("$@" 2>"$dir/err"); rc=$?; err=$(cat "$dir/err"); }

# 6. What a seed replays.
run "$bin" crash --dir "$dir" --strategies always,none --trials 2 --seed 42
check "6: crash's table says the seed replays the choices, not the outcomes" \
  '[ $rc -eq 0 ] && grep -q "^seed 42 replays the choices (the kill schedule" <<<"$text" && grep -q "^not the outcomes: what a kill catches" <<<"$text" && ! grep -q "replays this run\.$" <<<"$text"'
run "$bin" crash --dir "$dir" --strategies none --trials 1 --seed 42 --json
check "6: crash --json carries seed_replays beside the seed" \
  '[ $rc -eq 0 ] && grep -q "\"seed_replays\": \"the choices (the kill schedule, the cut points of crash --target, the model.s damage), not the outcomes" <<<"$text"'
check "6: the man page says what --seed replays and what not" \
  'grep -A9 "^\.It Fl \\\\-seed Ar S" docs/man/fsynclab.1 | grep -q "not the outcomes"'
check "6: the README says what --seed replays and what not" 'grep -q "seed.*replays the choices" README.md && grep -q "not the outcomes" README.md'

# 7. Fewer trials than asked: ten thousand cannot run in half a second.
run "$bin" crash --dir "$dir" --strategies always,none --trials 10000 --max-seconds 0.5 --seed 7
check "7: the table says each strategy ran out of time, with how many trials ran" \
  '[ $rc -eq 0 ] && [ "$(grep -cE "^  \(out of time: ran [0-9]+ of 10000 trials; the budget, 0.5 s for all strategies, ran out: raise --max-seconds\)$" <<<"$text")" -eq 2 ]'
run "$bin" crash --dir "$dir" --strategies none --trials 10000 --max-seconds 0.5 --seed 7 --json
ran=$(grep -o '"trials": [0-9]*' <<<"$text" | head -1 | grep -o '[0-9]*$')
check "7: --json: trials below trials_requested, and a warning on stderr" \
  '[ $rc -eq 0 ] && [ -n "$ran" ] && [ "$ran" -lt 10000 ] && grep -q "\"trials_requested\": 10000" <<<"$text" && grep -q "^fsynclab: warning: none ran $ran of 10000 trials: the budget (--max-seconds 0.5, for all strategies) ran out$" <<<"$err"'
run "$bin" crash --dir "$dir" --strategies none --trials 2 --seed 7
check "7: a run that finished says nothing of the kind" '[ $rc -eq 0 ] && ! grep -q "out of time" <<<"$text"'

# 8, in crash's table too: no valid trial is no loss seen, not a loss of 0.
run "$bin" crash --dir "$dir" --strategies batch_10000ms --entries 1000 --trials 2 --seed 11
row=$(grep "^batch_10000ms  *drop " <<<"$text")
check "8: crash shows - for the loss and windows of a strategy without a valid trial" \
  '[ $rc -eq 0 ] && [ "$(awk "{print \$4, \$5, \$6, \$7, \$8}" <<<"$row")" = "0 - - - -" ] && grep -q "^batch_10000ms under drop: nothing measured, in no valid trial (2 invalid: " <<<"$text"'

# 9. An --out that cannot be written: exit 1 at once, nothing measured.
touch "$dir/file"
run "$bin" curve --dir "$dir" --intervals 5 --entries 200 --trials 1 --out "$dir/file/sub"
check "9: curve --out under a file fails before the sweep, naming the call and the fix" \
  '[ $rc -eq 1 ] && [ -z "$text" ] && grep -q "mkdir($dir/file/sub): Not a directory: give --out a directory that can be written" <<<"$err"'
run "$bin" curve --dir "$dir" --intervals 5 --entries 200 --trials 1 --out "$dir/a'b"
check "9: an --out gnuplot cannot be given fails before the sweep too" \
  '[ $rc -eq 1 ] && [ -z "$text" ] && grep -q "its name holds a quote" <<<"$err" && [ ! -e "$dir/a'"'"'b" ]'
rm -f "$dir/file"

# 8. batch_10000ms: a trial writer of at most a million entries is done long
#    before two 10 s intervals, so no trial can be valid (crash_verdicts.sh).
run env FSYNCLAB_GNUPLOT="$build/no/such/gnuplot" "$bin" curve --dir "$dir" --intervals 10000 \
  --entries 300 --entry-size 32 --repeat 1 --trials 1 --seed 3 --out "$out"
row=$(grep "^batch_10000ms " <<<"$text")
check "8: the table shows the point's window and loss as -, with a note" \
  '[ $rc -eq 0 ] && [[ "$row" == *" 0/1 "* ]] && [ "$(awk "{print \$4, \$5, \$6}" <<<"$row")" = "- - -" ] && grep -q "^-: no valid crash trial, so no window was seen (not 0 ms)" <<<"$text"'
check "8: the CSV leaves its loss columns empty" \
  'grep -qE "^batch_10000ms,10000,[0-9]+,,,,,1,10000,,[0-9]+,[0-9]+,[0-9]+,1,,,0," "$out/curve.csv"'
check "8: the JSON has null for its window and loss" \
  'grep -q "\"strategy\": \"batch_10000ms\", \"interval_ms\": 10000, \"ops_per_sec\": [0-9]*, \"loss_window_ms_max\": null, \"loss_window_ms_p50\": null, \"acked_lost_max\": null, \"acked_lost_mean\": null, " "$out/curve.json" && grep -q "\"loss_window_ms_p10\": null, \"loss_window_ms_p90\": null, \"trials_valid\": 0" "$out/curve.json"'
check "8: the gnuplot data marks it not valid and every plot leaves such points out" \
  'grep -qE "^\"10000 ms\" .* 0$" "$out/curve.gp" && [ "$(grep -c "\$points using (x(\$10))" "$out/curve.gp")" -eq 9 ] && grep -q "not drawn (no valid crash trial): batch_10000ms" "$out/curve.gp"'
if command -v gnuplot >/dev/null; then
  plot=$(cd "$out" && gnuplot -e "fsynclab_text = 1; set terminal dumb size 110,32" curve.gp 2>&1)
  check "8: the terminal plot draws always and none but not the point without a window" \
    'grep -q "always" <<<"$plot" && grep -q "none" <<<"$plot" && ! grep -q "10000 ms" <<<"$plot" && grep -q "not drawn (no valid crash trial): batch_10000ms" <<<"$plot"'
  check "8: the terminal plot's legend is whole, below the frame" \
    '[ "$(grep -c "batch_<N>ms, labelled by N .*the seed.s three: always, batch_10ms, none *$" <<<"$plot")" -eq 1 ] && ! grep -q "?" <<<"$plot"'
  (cd "$out" && gnuplot -e "set terminal pngcairo size 960,640; set output 'curve.png'" curve.gp) 2>"$dir/err"
  check "8: the PNG renders from the same script" '[ "$(head -c 4 "$out/curve.png" | tail -c 3)" = PNG ] && [ ! -s "$dir/err" ]'
else
  echo "skip: gnuplot is not installed (.ci/run installs gnuplot-nox): 3 checks not run"
fi

rm -rf "$out"
rm -f "$dir/err"
check "nothing is left in the data directory" 'rmdir "$dir"'
echo "says_what_it_did: $pass passed, $fail failed"
[ $fail -eq 0 ]
