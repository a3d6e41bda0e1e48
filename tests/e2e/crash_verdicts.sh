#!/usr/bin/env bash
# DESIGN: every verdict can fail.  Each check below runs the real command
# line (fork, SIGKILL, a power-loss model, recovery) in a situation where a
# careless verifier would say "held: true" or "corrupt: 0" without having
# been able to see otherwise, and asserts that it does not:
#   - trials too short to show a batch interval are invalid: held null;
#   - syncs that never reach a disk (eatmydata) are named in a WARNING, and
#     crash trials give no verdict;
#   - syncs that stall for 2 s (an LD_PRELOAD) never let batch_10ms hold;
#   - a disk that lies about flushes (model lie) makes always and group lose;
#   - the mutation test: with recovery's CRC check switched off (a libfiu
#     point), torn trials hand back damaged records and the verifier counts
#     them; with it on, none come back;
#   - O_DSYNC: every strategy is durable at every write, exposure 0;
#   - the log's directory is synced after the log is created (strace);
#   - each result carries its kill delay, under a millisecond at the median.
# JSON is read with grep and sed (CI has neither python nor jq).
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-verdicts-$$
mkdir -p "$dir"
pass=0 fail=0 skip=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
skipped() { skip=$((skip+1)); echo "SKIP $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${out:0:700}"; fi; }
# get STRATEGY KEY: KEY's value in STRATEGY's result of $out.
get() {
    sed -e 's/.*"results": \[{//' -e 's/}\], "model".*//' -e 's/}\], "environment".*//' \
        -e 's/}, {"strategy"/\n{"strategy"/g' <<<"$out" |
        grep -F "\"strategy\": \"$1\"" | sed -n "s/.*\"$2\": \([^,}]*\).*/\1/p" | head -n 1
}
crash() { out=$("$@" 2>"$dir/err"); rc=$?; }
# In a sanitizer build, LSan would report libfiu's own allocation at exit.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# 1. A writer of 1,000 entries is done in milliseconds: no 10 s interval
#    can show, so no trial is valid and nothing is judged.
crash "$bin" crash --json --dir "$dir" --strategies batch_10000ms --trials 3 --seed 11
check "batch_10000ms: 3 trials, none valid, held null" \
    '[ $rc -eq 0 ] && [ "$(get batch_10000ms trials)" = 3 ] && [ "$(get batch_10000ms trials_valid)" = 0 ] && [ "$(get batch_10000ms held)" = null ]'
check "batch_10000ms: the reasons are counted" \
    '[[ "$out" == *"\"invalid_reasons\": {\"no_ack\": "* ]] && [ "$(get batch_10000ms trials_invalid)" = 3 ]'

# 2. eatmydata: fsync returns at once.
if command -v eatmydata >/dev/null 2>&1; then
    crash eatmydata "$bin" bench --json --dir "$dir" --strategies always,none --entries 300
    check "eatmydata: bench warns in environment.warning that syncs are too fast" \
        '[ $rc -eq 0 ] && [[ "$out" == *"\"warning\": \"syncs returned in "*"faster than any device"* ]]'
    crash eatmydata "$bin" crash --json --dir "$dir" --strategies always,batch_10ms --trials 4 --seed 12
    check "eatmydata: crash warns too and judges nothing: held null, syncs_trusted false" \
        '[ $rc -eq 0 ] && [[ "$out" == *"faster than any device"* ]] && [ "$(get always held)" = null ] && [ "$(get batch_10ms held)" = null ] && [ "$(get always syncs_trusted)" = false ]'
    out=$(eatmydata "$bin" crash --dir "$dir" --strategies always --trials 2 --seed 13 2>&1)
    check "eatmydata: the table says WARNING and why there is no verdict" \
        '[[ "$out" == *"WARNING"* ]] && [[ "$out" == *"too fast to have reached a disk"* ]]'
else
    skipped "eatmydata is not installed (apt-get install eatmydata): 3 checks not run"
fi

# 3. Every fsync stalls for 2 s: the writer is killed while appending, long
#    before a sync completes; batch_10ms must not be judged to hold.
crash env LD_PRELOAD="$PWD/$build/tests/slow_sync.so" FSYNCLAB_TEST_SYNC_DELAY_MS=2000 \
    "$bin" crash --json --dir "$dir" --strategies batch_10ms --trials 3 --seed 14
check "2 s syncs: batch_10ms is not held: true" \
    '[ $rc -eq "$([ "$(get batch_10ms held)" = false ] && echo 3 || echo 0)" ] && [ "$(get batch_10ms trials)" = 3 ] && [ "$(get batch_10ms held)" != true ]'
check "2 s syncs: the calibration measured them" \
    '[ "$(get batch_10ms calibration_sync_p50_us | cut -d. -f1)" -ge 1900000 ]'

# 4. A disk that acknowledges flushes from a volatile cache.
crash "$bin" crash --json --dir "$dir" --model lie --strategies always,group --writers 4 \
    --trials 6 --seed 15
check "lie: always loses acknowledged entries and is held: false" \
    '[ $rc -eq 3 ] && [ "$(get always held)" = false ] && [ "$(get always acked_lost_max)" -gt 0 ]'
check "lie: group with 4 writers loses too, held: false" \
    '[ "$(get group held)" = false ] && [ "$(get group acked_lost_max)" -gt 0 ]'

# 5. The mutation test of the corruption detector.
crash "$bin" crash --json --dir "$dir" --model torn --strategies none --trials 60 --seed 16
check "torn, CRC on: no corrupt record comes back" '[ $rc -eq 0 ] && [ "$(get none corrupt_recovered)" = 0 ]'
if command -v fiu-run >/dev/null 2>&1; then
    crash fiu-run -c "enable name=wal/recover/skip_crc" \
        "$bin" crash --json --dir "$dir" --model torn --strategies none --trials 60 --seed 16
    check "torn, CRC check switched off: the verifier counts corrupt records (> 0)" \
        '[ $rc -eq 3 ] && [ "$(get none corrupt_recovered)" -gt 0 ]'
else
    skipped "fiu-run is not installed (apt-get install fiu-utils): the mutation test did not run"
fi

# 6. O_DSYNC: every write is durable when it returns.
crash "$bin" bench --json --dir "$dir" --strategies batch_10ms,none --entries 200 --sync-method o_dsync
check "o_dsync: batch and none report every_write, 0ms and exposure 0" \
    '[ $rc -eq 0 ] && [ "$(get batch_10ms durability)" = "\"every_write\"" ] && [ "$(get none durability)" = "\"every_write\"" ] && [ "$(get none data_loss_window)" = "\"0ms\"" ] && [ "$(get batch_10ms exposure_ms)" = 0.0 ] && [ "$(get none exposure_ms)" = 0.0 ]'
crash "$bin" bench --json --dir "$dir" --strategies batch_10ms,none --entries 200
check "fsync (the default): the labels stay every_10ms and os_dependent" \
    '[ "$(get batch_10ms durability)" = "\"every_10ms\"" ] && [ "$(get none durability)" = "\"os_dependent\"" ]'

# 7. The log's directory is synced after the log is created.
if command -v strace >/dev/null 2>&1 && [[ "$build" != *asan* ]]; then
    strace -f -qq -e trace=openat,fsync -o "$dir/trace" "$bin" bench --dir "$dir" \
        --strategies always --entries 5 >/dev/null 2>&1
    created=$(grep -n "openat(.*fsynclab-bench-.*O_CREAT" "$dir/trace" | head -n 1 | cut -d: -f1)
    dfd=$(awk -v from="${created:-999999}" 'NR > from && /O_DIRECTORY/ { sub(/.*= /, ""); print; exit }' "$dir/trace")
    synced=$(awk -v from="${created:-999999}" -v fd="$dfd" 'NR > from && $0 ~ "fsync\\(" fd "\\) += 0" { print NR; exit }' "$dir/trace")
    check "strace: the directory is opened and fsynced after the log is created" \
        '[ -n "$created" ] && [ -n "$dfd" ] && [ -n "$synced" ]' 
    rm -f "$dir/trace"
else
    skipped "strace missing or a sanitizer build: the directory-sync check did not run"
fi

# 8. Kill delay in every result.
crash "$bin" crash --json --dir "$dir" --strategies always,none --trials 20 --seed 17
check "kill_delay_us_p50 and _max in every result, p50 under 1 ms" \
    '[ -n "$(get always kill_delay_us_max)" ] && [ -n "$(get none kill_delay_us_max)" ] && [ "$(get always kill_delay_us_p50 | cut -d. -f1)" -lt 1000 ] && [ "$(get none kill_delay_us_p50 | cut -d. -f1)" -lt 1000 ]'

rm -f "$dir/err"
check "nothing is left in the data directory" 'rmdir "$dir"'
echo "crash_verdicts: $pass passed, $fail failed${skip:+, $skip skipped}"
[ $fail -eq 0 ]
