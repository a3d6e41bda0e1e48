#!/usr/bin/env bash
# DESIGN: fsynclab as a CI step (issue 25).  Each check runs the real crash
# path (fork, SIGKILL, a power-loss model, recovery) and asserts what a CI
# system sees:
#   - the exit status: 3 when a promise broke (model lie: a disk that
#     acknowledges flushes it never made), 0 with --no-fail, 0 for always
#     on this disk under drop, where nothing acknowledged can be lost;
#   - the JUnit report, read back with a real JUnit reader (Debian's
#     python3-junitparser): counts, the failure's figures, the replay;
#   - the replay: the command a failure stores runs that one trial again,
#     with the seed it had;
#   - crash --target: 3 on a broken promise, --junit, and --keep naming the
#     directory it left in the JSON;
#   - the usage errors of --shard and an unwritable --junit.
# The verdict rules are not relaxed here: always under drop may be held
# true, or null when the syncs cannot be trusted (tmpfs, eatmydata), never
# false; the status follows the verdict, whatever the machine's load.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-exit-$$
py=/usr/bin/python3
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "rc=$rc $(head -c 600 "$dir/err" 2>/dev/null)"; fi; }
# jq-like: j FILE EXPR: the Python expression EXPR over the JSON d.
j() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# junit FILE: "tests failures skipped" of its one testsuite, then each case.
junit() {
    "$py" - "$1" <<'PY'
import sys
from junitparser import JUnitXml, Failure, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
suites = list(xml)
print(len(suites), suites[0].tests, suites[0].failures, suites[0].skipped)
for case in suites[0]:
    kind = "pass"
    for r in case.result:
        kind = "failure" if isinstance(r, Failure) else "skipped" if isinstance(r, Skipped) else "other"
        print(case.name, "|", kind, "|", r.message, "|", (r.text or "").replace("\n", " / "))
    if kind == "pass":
        print(case.name, "| pass")
PY
}
if ! "$py" -c 'import junitparser' 2>/dev/null; then
    bad "python3-junitparser is not installed (apt-get install python3-junitparser): the JUnit checks cannot run"
    echo "exit_status: $pass passed, $fail failed"; exit 1
fi

# 1. A lying disk: always loses acknowledged entries; exit 3, the table says
#    FAILED with the replay, the JUnit report has one failure.
"$bin" crash --dir "$dir" --model lie --strategies always --trials 6 --seed 21 \
    --junit "$dir/lie.xml" >"$dir/out" 2>"$dir/err"; rc=$?
check "crash --model lie --strategies always exits 3" '[ $rc -eq 3 ]'
check "... and prints FAILED with a command that replays one trial" \
    'grep -q "^FAILED        always: replay one failing trial: fsynclab crash --strategies always --model lie --seed 21 --trials 6 .* --shard [0-5]/6$" "$dir/out"'
junit "$dir/lie.xml" >"$dir/lie.txt" 2>"$dir/err"; rc=$?
check "the JUnit report reads back: one suite, 1 test, 1 failure, 0 skipped" \
    '[ $rc -eq 0 ] && [ "$(head -n1 "$dir/lie.txt")" = "1 1 1 0" ]'
check "its failure names always under lie, the broken promise and its figures" \
    'grep -q "^always (lie) | failure | held: false: [1-6] of [1-6] valid trials lost acknowledged entries" "$dir/lie.txt" &&
     grep -q "acked_lost_max [1-9]" "$dir/lie.txt"'
check "its failure text carries the run seed and the replay command" \
    'grep -q "run seed 21, failing trial [0-5] (seed [0-9]*) / replay: fsynclab crash --strategies always --model lie --seed 21 .*--shard [0-5]/6" "$dir/lie.txt"'

# 2. The same with --no-fail and --json: exit 0, the verdict still false;
#    none (no promise) is a skipped testcase, not a pass.
"$bin" crash --dir "$dir" --model lie --strategies always,none --trials 6 --seed 21 --json \
    --no-fail --junit "$dir/nofail.xml" >"$dir/lie.json" 2>"$dir/err"; rc=$?
check "--no-fail exits 0 with held: false in the JSON" \
    '[ $rc -eq 0 ] && [ "$(j "$dir/lie.json" "d[\"results\"][0][\"held\"]")" = False ]'
check "the JSON stores the replay of always, and null for none" \
    '[[ "$(j "$dir/lie.json" "d[\"results\"][0][\"replay\"]")" == "fsynclab crash --strategies always --model lie --seed 21 --trials 6 "*"--shard "* ]] &&
     [ "$(j "$dir/lie.json" "d[\"results\"][1][\"replay\"]")" = None ]'
junit "$dir/nofail.xml" >"$dir/nofail.txt" 2>"$dir/err"; rc=$?
check "JUnit: 2 tests, 1 failure, 1 skipped (none promises nothing)" \
    '[ $rc -eq 0 ] && [ "$(head -n1 "$dir/nofail.txt")" = "1 2 1 1" ] &&
     grep -q "^none (lie) | skipped | held: null: the strategy promises nothing" "$dir/nofail.txt"'

# 3. The replay runs exactly the failing trial, with the seed it had.
replay=$(j "$dir/lie.json" 'd["results"][0]["replay"]')
index=$(sed 's|.*--shard \([0-9]*\)/.*|\1|' <<<"$replay")
want=$(j "$dir/lie.json" "[r[1] for r in d['per_trial']['results'][0] if r[0] == $index][0]")
# shellcheck disable=SC2086
"$bin" ${replay#fsynclab } --dir "$dir" --json --no-fail >"$dir/replay.json" 2>"$dir/err"; rc=$?
check "the replay command runs one trial: index $index, seed $want" \
    '[ $rc -eq 0 ] && [ "$(j "$dir/replay.json" "d[\"results\"][0][\"trials\"]")" = 1 ] &&
     [ "$(j "$dir/replay.json" "d[\"per_trial\"][\"results\"][0][0][0]")" = "$index" ] &&
     [ "$(j "$dir/replay.json" "d[\"per_trial\"][\"results\"][0][0][1]")" = "$want" ]'

# 4. always under drop on this disk keeps its promise, or cannot be judged:
#    exit 0 either way, and the JSON agrees.
"$bin" crash --dir "$dir" --strategies always --trials 5 --seed 22 --json \
    --junit "$dir/always.xml" >"$dir/always.json" 2>"$dir/err"; rc=$?
held=$(j "$dir/always.json" 'd["results"][0]["held"]' 2>/dev/null)
check "crash --strategies always on the real disk exits 0 (held: $held, never False)" \
    '[ $rc -eq 0 ] && { [ "$held" = True ] || [ "$held" = None ]; } &&
     [ "$(j "$dir/always.json" "d[\"results\"][0][\"corrupt_recovered\"]")" = 0 ]'
junit "$dir/always.xml" >"$dir/always.txt" 2>"$dir/err"; rc=$?
check "... and its JUnit report has no failure" \
    '[ $rc -eq 0 ] && [[ "$(head -n1 "$dir/always.txt")" == "1 1 0 "[01] ]]'

# 5. crash --target: a contract whose writes are never synced breaks its
#    promise under drop; --keep names the directory it left.
lib_ok=1; [ -e "$build/libfsynclab-rec.so" ] || lib_ok=0
if [ $lib_ok -eq 1 ]; then
    unsynced='cd "$FSYNCLAB_DATA"; : > log; sync .; i=0; while :; do i=$((i+1)); echo $i >> log; echo "ack $i"; done'
    "$bin" crash --target contract --run "$unsynced" --check 'cat "$FSYNCLAB_DATA/log"' \
        --trials 1 --seconds 1 --cuts 1 --seed 23 --dir "$dir" --json --keep \
        --junit "$dir/target.xml" >"$dir/target.json" 2>"$dir/err"; rc=$?
    kept=$(j "$dir/target.json" 'd["kept"]' 2>/dev/null)
    check "crash --target with a broken promise exits 3" \
        '[ $rc -eq 3 ] && [ "$(j "$dir/target.json" "d[\"held\"]")" = False ]'
    check "its replay reruns the run with its seed and commands, quoted for sh" \
        '[[ "$(j "$dir/target.json" "d[\"replay\"]")" == "fsynclab crash --target contract --run '"'"'cd "* ]] &&
         [[ "$(j "$dir/target.json" "d[\"replay\"]")" == *" --seed 23" ]]'
    check "--keep: the JSON names the directory, which holds the trial's journal and snapshot" \
        '[ -n "$kept" ] && [ -s "$kept/t0/journal" ] && [ -d "$kept/t0/snap" ]'
    junit "$dir/target.xml" >"$dir/target.txt" 2>"$dir/err"; rc=$?
    check "JUnit of the target: 1 test, 1 failure with the replay" \
        '[ $rc -eq 0 ] && [ "$(head -n1 "$dir/target.txt")" = "1 1 1 0" ] &&
         grep -q "^contract (drop) | failure | held: false" "$dir/target.txt" &&
         grep -qF "replay: fsynclab crash --target contract --run '"'"'cd \"\$FSYNCLAB_DATA\"; : > log;" "$dir/target.txt"'
    [ -n "$kept" ] && rm -rf "$kept"
else
    bad "$build/libfsynclab-rec.so is missing (make all): crash --target was not checked"
fi

# 6. Usage errors, and a report that cannot be written.
"$bin" crash --dir "$dir" --strategies always --shard 1/4 >/dev/null 2>"$dir/err"; rc=$?
check "--shard without --seed is a usage error (2) saying why" '[ $rc -eq 2 ] && grep -q "needs --seed" "$dir/err"'
"$bin" crash --dir "$dir" --seed 1 --shard 4/4 >/dev/null 2>"$dir/err"; rc=$?
check "--shard 4/4 is a usage error naming the range" '[ $rc -eq 2 ] && grep -q "I from 0 to N-1" "$dir/err"'
"$bin" crash --target contract --seed 1 --shard 0/2 >/dev/null 2>"$dir/err"; rc=$?
check "--shard with --target is refused (2)" '[ $rc -eq 2 ] && grep -q "not with --target or --vm" "$dir/err"'
"$bin" crash --dir "$dir" --strategies none --trials 1 --seed 3 --junit "$dir/no/such/r.xml" >/dev/null 2>"$dir/err"; rc=$?
check "an unwritable --junit fails with 1, naming the call" '[ $rc -eq 1 ] && grep -q "fopen($dir/no/such/r.xml.tmp)" "$dir/err"'
"$bin" bench --dir "$dir" --entries 20 --strategies none --no-fail >/dev/null 2>"$dir/err"; rc=$?
check "bench takes no --no-fail: it never fails on a verdict" '[ $rc -eq 2 ]'
check "nothing left in the scratch directory" '[ -z "$(ls "$dir" | grep -v -e "\.xml$" -e "\.json$" -e "\.txt$" -e "^out$" -e "^err$")" ]'

echo "exit_status: $pass passed, $fail failed"
[ $fail -eq 0 ]
