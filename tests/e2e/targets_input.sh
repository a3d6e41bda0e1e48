#!/usr/bin/env bash
# crash --target never prints a wrong result without a word: a --set a
# target cannot apply is refused (exit 2, the allowed keys, the nearest one);
# settings are printed as the program reports them; a contract run that
# fails at once says why; a check that prints no keys, or hangs, is caught;
# held is null with its reason when the trials could not judge; the
# allowance is fixed before the trials; buffered acks are warned about.
# Issue 19 items 1 and 3, issue 20 items 12 to 14.  About 30 s here.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$(realpath "$build/fsynclab")
dir=$(realpath -m "${FSYNCLAB_DIR:-$build/scratch}")/e2e-targets-input-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "rc=$rc ${out:0:700} $(head -c 400 "$dir/err")"; fi; }
crash() { out=$("$bin" crash --dir "$dir" --seed 7 --no-fail "$@" 2>"$dir/err"); rc=$?; }
get() { sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p" <<<"$out" | head -1; }
err_has() { grep -qF -- "$1" "$dir/err"; }
left() { pgrep -f -- "$dir" >/dev/null; }

# ---- --set: only what the target can apply ---------------------------------------------
crash --target redis --set appendfsyn=always --trials 1 --seconds 1 --cuts 0
check "redis: a misspelt key is refused with the nearest one" \
    '[ $rc = 2 ] && err_has "appendfsyn" && err_has "did you mean appendfsync?" && err_has "allowed: appendfsync, fresh"'
crash --target sqlite --set foo=bar
check "sqlite: an unknown key is refused, naming the allowed ones" '[ $rc = 2 ] && err_has "allowed: journal_mode, synchronous"'
crash --target redis --set promised_window_ms=5
check "redis: promised_window_ms is the contract's, not a setting of redis" '[ $rc = 2 ] && err_has "redis has no such setting"'
crash --target postgres --set synchronous_comit=off
check "postgres: a misspelt key is refused before initdb" '[ $rc = 2 ] && err_has "did you mean synchronous_commit?"'
crash --target redis --set appendfsync=always --set appendfsync=no
check "a repeated key is refused" '[ $rc = 2 ] && err_has "given twice (always and no)"'
for w in abc 5x -1 inf nan ''; do
    crash --target contract --run true --check true --set "promised_window_ms=$w"
    check "contract: promised_window_ms=\"$w\" is refused" '[ $rc = 2 ] && err_has "milliseconds from 0 to 3600000"'
done
crash --target sqlite --set journal_mode=MEMORY
check "sqlite: a journal mode it does not accept is refused" '[ $rc = 2 ] && err_has "WAL, DELETE, TRUNCATE or PERSIST"'
crash --target redis --set fresh=maybe
check "redis: fresh is yes or no" '[ $rc = 2 ] && err_has "fresh: yes or no"'
out=$("$bin" --help 2>&1)
check "help lists the sqlite modes the target accepts" \
    'grep -q "journal_mode=WAL|DELETE|TRUNCATE|PERSIST" <<<"$out" && grep -q "synchronous=FULL|NORMAL|OFF|EXTRA" <<<"$out"'
crash --target contract --run true --check true --check-timeout abc
check "--check-timeout takes seconds" '[ $rc = 2 ] && err_has "--check-timeout"'

# ---- the program's own report of its settings ----------------------------------------------
crash --json --target sqlite --set journal_mode=TRUNCATE --trials 1 --seconds 0.5 --cuts 0
check "sqlite: settings as PRAGMA reports them" \
    '[ $rc = 0 ] && [ "$(get journal_mode)" = "\"truncate\"" ] && [ "$(get synchronous)" = "\"FULL\"" ]'
check "target JSON: max_sync_ms (crash's name), environment" \
    '[ -n "$(get max_sync_ms)" ] && ! grep -q sync_ms_max <<<"$out" && [ -n "$(get fs_type)" ]'
if command -v redis-server >/dev/null; then
    crash --json --target redis --trials 1 --seconds 0.5 --cuts 0
    check "redis: the default appendfsync as CONFIG GET reports it" '[ $rc = 0 ] && [ "$(get appendfsync)" = "\"everysec\"" ]'
    crash --target redis --trials 1 --seconds 0.5 --check-timeout 0.001
    check "redis: a server start longer than --check-timeout stops with a message" \
        '[ $rc = 1 ] && err_has "did not answer within 1 ms (--check-timeout S)" && ! left && [ -z "$(ls -d "$dir"/fsynclab-rec-* 2>/dev/null)" ]'
else
    echo "skip redis: redis-server is not installed (apt-get install redis-server)"
fi

# ---- a contract run that fails at once ---------------------------------------------------------
c="--target contract --trials 2 --seconds 1 --cuts 1"
crash --json $c --run 'echo boom >&2; exit 3' --check true
check "contract: a run that exits at once: its status and stderr in invalid_reasons" \
    '[ $rc = 0 ] && [ "$(get exited)" = 2 ] && [ "$(get held)" = null ] && grep -q "exit status 3.*boom" <<<"$out"'
crash $c --run /nonexistent/prog --check true
check "contract: ... and in the table" '[ $rc = 0 ] && grep -q "^invalid .*exit status 127.*not found" <<<"$out"'
synced='i=0; : > log; sync .; while :; do i=$((i+1)); echo $i | dd of=log oflag=append conv=notrunc,fsync status=none; echo "ack $i"; done'
crash --json $c --run "$synced" --check 'ls /; ls /usr'
check "contract: a check that prints lines that are no key of the run: held null, reported" \
    '[ $rc = 0 ] && [ "$(get held)" = null ] && [ "$(get check_foreign_max)" -gt 16 ] && grep -q "no key of the run" <<<"$out"'
crash $c --run "$synced" --check 'sleep 100' --check-timeout 1
check "contract: a check that hangs times out with a message" \
    '[ $rc = 1 ] && err_has "--check did not finish within 1000 ms" && ! left && [ -z "$(ls -d "$dir"/fsynclab-rec-* 2>/dev/null)" ]'

# ---- held null when the run could not be judged (issue 20, 13) ---------------------------------
mkdir -p "$dir/cwd"
out=$(cd "$dir/cwd" && "$bin" crash --json --dir "$dir" --seed 7 $c --run "$synced" --check 'cat log' 2>"$dir/err"); rc=$?
check "contract: run and check start in the data directory (nothing in ours)" \
    '[ $rc = 0 ] && [ "$(get held)" = true ] && [ "$(get acked_lost_max)" = 0 ] && [ -z "$(ls -A "$dir/cwd")" ]'
crash --json $c --run 'i=0; while :; do i=$((i+1)); echo $i > /dev/null; echo "ack $i"; sleep 0.01; done' --check true
check "contract: a run that writes nothing under the data directory: held null with the reason" \
    '[ $rc = 0 ] && [ "$(get held)" = null ] && grep -q "held_reason\": \"[0-9]* runs* wrote and synced nothing" <<<"$out"'
if command -v busybox >/dev/null && ! ldd "$(command -v busybox)" >/dev/null 2>&1; then
    crash --json $c --run "i=0; : > log; sync .; while :; do i=\$((i+1)); busybox sh -c 'echo \$0 >> log; sync log' \$i; echo \"ack \$i\"; done" --check 'cat log'
    check "contract: calls the recorder could not see: held null with the reason" \
        '[ $rc = 0 ] && [ "$(get held)" = null ] && grep -q "held_reason\": \"the recorder could not see" <<<"$out"'
else
    echo "skip the unseen-call verdict: no static busybox (apt-get install busybox-static)"
fi

# ---- the allowance is fixed before the trials (issue 20, 12) -----------------------------------
unsynced='i=0; : > log; sync .; while :; do i=$((i+1)); echo $i >> log; echo "ack $i"; [ $((i % 200)) = 0 ] && sync log; done'
crash --json $c --set promised_window_ms=100 --run "$unsynced" --check 'cat log'
allow=$(get allowance_ms) p99=$(get calibration_sync_p99_us) win=$(get loss_window_ms_max) held=$(get held)
check "contract: allowance = promise + the sync measured before the trials, and held is judged by it" \
    '[ $rc = 0 ] && awk -v a="$allow" -v p="$p99" -v w="$win" -v h="$held" '"'"'BEGIN {
        if (a == "" || p == "" || (a - (100 + p / 1000))^2 > 1e-4) exit 1;
        if (h != "null" && (h == "true") != (w <= a)) exit 1 }'"'"''

# ---- acks the program buffers (issue 20, 14) ---------------------------------------------------
crash $c --run 'i=0; while :; do i=$((i+1)); echo $i >> log; echo "ack $i"; done | sed ""' --check 'cat log'
check "contract: acks that arrive in bursts (a buffered stdout) are warned about" \
    '[ $rc = 0 ] && grep -q "^WARNING .*buffer its stdout" <<<"$out"'
crash --json $c --run "$synced" --check 'cat log'
check "contract: acks written line by line are not" '[ $rc = 0 ] && [ "$(get acks_bursty)" = false ]'

check "nothing left running, no trial directory left" '! left && [ -z "$(ls -d "$dir"/fsynclab-rec-* 2>/dev/null)" ]'
[ $fail = 0 ] && rm -rf "$dir"
echo "targets_input: $pass passed, $fail failed"
[ $fail = 0 ]
