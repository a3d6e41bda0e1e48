#!/usr/bin/env bash
# End-to-end crash trials through the real command line, `fsynclab crash
# --json`: a few hundred random trials per strategy through the real
# fork-and-SIGKILL path, the headline result of each strategy and model, and
# that neither a scratch file nor a writer process is left behind, also when
# the run is killed with SIGTERM.  The JSON is read with grep and sed (CI has
# neither python nor jq).  About 15 s here (20 s with the --writers runs),
# 30 to 35 s under ASan, where a fork costs about 10 ms.
set -u
cd "$(dirname "$0")/../.."
# BUILD picks the tree (make check passes it), e.g. build/asan.
build=${BUILD:-build}
bin=$build/fsynclab
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-crash-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
# check NAME EXPR: EXPR is evaluated; on failure the last reply is shown.
check() { if eval "$2"; then ok "$1"; else bad "$1" "${out:0:600}"; fi; }

# Every run gets a seed of its own that only this script uses, so that pgrep
# can tell whether a process of the run (the parent, its fork server or a
# writer, which keep the parent's command line) is still there.
base_seed=$((($$ % 100000) * 1000))
runs=0
# crash ARGS...: runs fsynclab crash --json in $dir; sets out, rc, seed.
# fdatasync is the cheaper sync here (about 0.4 ms against 0.8 for fsync).
crash() {
    runs=$((runs+1))
    seed=$((base_seed + runs))
    # --no-fail: these checks are about the trials; exit_status.sh checks 3.
    out=$("$bin" crash --json --dir "$dir" --seed "$seed" --max-seconds 300 \
        --sync-method fdatasync --no-fail "$@" 2>"$dir/err")
    rc=$?
}
# get STRATEGY KEY: KEY's value in STRATEGY's result of the last reply.
get() {
    sed -e 's/.*"results": \[{//' -e 's/}\], "model".*//' -e 's/}, {/\n/g' <<<"$out" |
        grep -F "\"strategy\": \"$1\"" | sed -n "s/.*\"$2\": \([^,]*\).*/\1/p"
}
# The run of the last seed left nothing behind: no scratch file, no process.
clean() {
    [ -z "$(ls "$dir"/fsynclab-*.wal 2>/dev/null)" ] &&
        ! pgrep -f -- "--seed $seed( |\$)" >/dev/null
}
# strategy STRATEGY TRIALS: the run ran them all and none handed back a
# corrupt entry.
complete() { [ "$(get "$1" trials)" = "$2" ] && [ "$(get "$1" corrupt_recovered)" = 0 ]; }
# kept STRATEGY: the promise of always or group: nothing acknowledged lost.
kept() {
    [ "$(get "$1" acked_lost_max)" = 0 ] && [ "$(get "$1" held)" = true ] &&
        [ "$(get "$1" acked_total)" -gt 0 ]
}

t0=$(date +%s%N)

# The headline: 300 random trials per strategy under power loss.  Entries
# are few so that always (one sync per entry; the kill comes after half of
# them on average) takes seconds, not minutes.
crash --strategies always,group,batch_10ms,none --model drop --trials 300 --entries 64
check "300 trials per strategy under drop ran (exit 0), nothing left behind" \
    '[ $rc -eq 0 ] && clean'
for s in always group batch_10ms none; do
    check "$s + drop: 300 trials, no corrupt entry recovered" 'complete $s 300'
done
check "always + drop: no acknowledged entry lost, held=true" 'kept always'
check "group + drop: no acknowledged entry lost, held=true" 'kept group'
# 64 entries take microseconds: a trial shows a 10 ms interval only if the
# writer was held up for 20 ms (a loaded machine), so most are invalid.
check "batch_10ms + drop, 64 entries: most trials too short to show 10 ms; held null without a valid one" \
    '[ "$(get batch_10ms promised_window_ms)" = 10 ] && [ "$(get batch_10ms too_short)" -gt 150 ] && { [ "$(get batch_10ms trials_valid)" -gt 0 ] || [ "$(get batch_10ms held)" = null ]; }'
check "none + drop: acknowledged entries are lost, no promise" \
    '[ "$(get none acked_lost_max)" -gt 0 ] && [ "$(get none held)" = null ] && [ "$(get none promised_window_ms)" = null ]'

# Left to the run, the entries of a batch trial cover eight intervals at
# this disk's rate: most trials can show the promise kept or broken.
crash --strategies batch_10ms --model drop --trials 10
check "batch_10ms + drop, trials sized by the run: valid trials, held is true or false" \
    '[ $rc -eq 0 ] && clean && complete batch_10ms 10 && [ "$(get batch_10ms trials_valid)" -gt 0 ] && grep -Eq "^(true|false)$" <<<"$(get batch_10ms held)" && [ "$(get batch_10ms entries_per_trial)" -gt 1000 ]'

crash --strategies none --model process --trials 100 --entries 1000
check "none + process crash: nothing acknowledged is lost" \
    '[ $rc -eq 0 ] && clean && complete none 100 && [ "$(get none acked_lost_max)" = 0 ] && [ "$(get none acked_total)" -gt 0 ]'

for m in torn reorder; do
    crash --strategies batch_2ms,none --model $m --trials 30 --entries 2000
    check "$m: no corrupt entry handed back by batch_2ms and none" \
        '[ $rc -eq 0 ] && clean && complete batch_2ms 30 && complete none 30'
    crash --strategies always,group --model $m --trials 30 --entries 20
    check "$m: always and group keep every acknowledged entry, none corrupt" \
        '[ $rc -eq 0 ] && clean && complete always 30 && complete group 30 && kept always && kept group'
done

crash --strategies none --model writeback --writeback-expire-ms 0 --writeback-interval-ms 1 \
    --trials 10 --entries 20000
check "writeback with a 0 ms expiry keeps most of what none wrote" \
    '[ $rc -eq 0 ] && clean && complete none 10 && awk -v m="$(get none acked_lost_mean)" "BEGIN { exit !(m < 5000) }"'

# Several writers per log, once the command line takes --writers for crash.
if "$bin" --help | sed -n '/^crash options/,/^$/p' | grep -q -- '--writers'; then
    crash --strategies group --model drop --trials 100 --entries 160 --writers 16
    check "group + 16 writers: 100 trials, nothing acknowledged lost, held=true" \
        '[ $rc -eq 0 ] && clean && complete group 100 && kept group'
    # the most writers allowed: batches of up to 256 records, one pwrite each
    crash --strategies group --model torn --trials 30 --entries 1024 --writers 256
    check "group + 256 writers + torn: 30 trials, nothing acknowledged lost, held=true" \
        '[ $rc -eq 0 ] && clean && complete group 30 && kept group'
    crash --strategies always --model drop --trials 30 --entries 40 --writers 4
    check "always + 4 writers: nothing acknowledged lost, held=true" \
        '[ $rc -eq 0 ] && clean && complete always 30 && kept always'
    crash --strategies batch_2ms --model drop --trials 10 --entries 20000 --writers 4
    check "batch_2ms + 4 writers: loses some acknowledged entries, none corrupt" \
        '[ $rc -eq 0 ] && clean && complete batch_2ms 10 && [ "$(get batch_2ms acked_lost_total)" -gt 0 ]'
else
    echo "skip crash --writers: not in '$bin --help' yet (tests/test_crashsim.c covers several writers)"
fi

"$bin" crash --json --strategies none --trials 5 --dir "$dir/missing" >/dev/null 2>"$dir/err"; rc=$?
check "a missing directory fails with exit 1, naming it" '[ $rc -eq 1 ] && grep -qF "$dir/missing" "$dir/err"'

# SIGTERM mid-run: the scratch file and the writer go with the process, and
# the writer is gone by the time the process is (it reaps it first).  The
# run would take hours: always, a million entries per trial.
runs=$((runs+1)); seed=$((base_seed + runs))
"$bin" crash --json --dir "$dir" --seed "$seed" --max-seconds 600 --strategies always \
    --model drop --trials 10000 --entries 1000000 >/dev/null 2>"$dir/err" &
pid=$!
had=0
for _ in $(seq 1 1000); do    # until the first trial's scratch file exists (10 s at most)
    ls "$dir"/fsynclab-crash-*.wal >/dev/null 2>&1 && { had=1; break; }
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
done
# the parent, its fork server and the writer; and, once the writer is
# released, the spare made (with its own scratch file) for the next trial
writers=$(pgrep -f -- "--seed $seed( |\$)" | wc -l)
kill -TERM $pid; wait $pid; rc=$?
check "SIGTERM mid-run exits 143, removes the scratch files and the writers" \
    '[ $had -eq 1 ] && [ $writers -ge 3 ] && [ $writers -le 4 ] && [ $rc -eq 143 ] && clean'

echo "crash_trials: $(( ($(date +%s%N) - t0) / 1000000 )) ms of trials"
rm -f "$dir/err"
check "nothing is left in the data directory" 'rmdir "$dir"'
echo "crash_trials: $pass passed, $fail failed"
[ $fail -eq 0 ]
