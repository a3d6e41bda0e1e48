#!/usr/bin/env bash
# End-to-end crash trials through the real fork-and-SIGKILL path, driven by
# tests/crash_rate.c (built here against $BUILD/libfsynclab.a) until the
# command line has `fsynclab crash`: the headline results per strategy and
# model, and that neither a scratch file nor a writer process is left behind,
# also when the run is killed with SIGTERM.
set -u
cd "$(dirname "$0")/../.."
# BUILD picks the tree (make check passes it).
build=${BUILD:-build}
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-crash-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
val() { sed -n "s/^$1=//p" <<<"$2"; }

drv=$build/crash_rate
cc=${CC:-cc} san=
if nm "$build/libfsynclab.a" 2>/dev/null | grep -q ' U __asan_'; then
    cc=clang san="-fsanitize=address,undefined"   # a sanitizer tree: link its runtime
fi
$cc -std=c11 -O2 -g $san -Wall -Wextra -I. -D_GNU_SOURCE -DFIU_ENABLE -o "$drv" tests/crash_rate.c \
    "$build/libfsynclab.a" $(pkg-config --libs libcjson libfiu zlib) -pthread -lm
check "the driver builds" '[ -x "$drv" ]'

out=$($drv none process 1000 50 1 "$dir"); rc=$?
check "none + process crash: nothing acknowledged is lost" \
    '[ $rc -eq 0 ] && [ "$(val acked_lost_max "$out")" = 0 ] && [ "$(val held "$out")" = null ]'

out=$($drv none drop 1000 50 2 "$dir"); rc=$?
check "none + power loss: acknowledged entries are lost" \
    '[ $rc -eq 0 ] && [ "$(val acked_lost_max "$out")" -gt 0 ] && [ "$(val promised_window_ms "$out")" = -1 ]'

out=$($drv always drop 20 50 3 "$dir"); rc=$?
check "always + power loss: nothing acknowledged is lost, held=true" \
    '[ $rc -eq 0 ] && [ "$(val acked_lost_max "$out")" = 0 ] && [ "$(val held "$out")" = true ]'

for m in torn reorder writeback; do
    out=$($drv batch_2ms $m 2000 40 4 "$dir"); rc=$?
    check "batch_2ms + $m: no corrupt entry handed back" \
        '[ $rc -eq 0 ] && [ "$(val corrupt_recovered "$out")" = 0 ] && [ "$(val trials "$out")" = 40 ]'
done

out=$(CRASH_WRITEBACK_EXPIRE_MS=0 CRASH_WRITEBACK_INTERVAL_MS=1 $drv none writeback 20000 20 5 "$dir"); rc=$?
check "writeback with a 0 ms expiry keeps most of what none wrote" \
    '[ $rc -eq 0 ] && awk -v m="$(val acked_lost_mean "$out")" "BEGIN { exit !(m < 5000) }"'

$drv none drop 1000 5 6 "$dir/missing" >/dev/null 2>"$dir/err"; rc=$?
check "a missing directory fails naming the call" '[ $rc -eq 1 ] && grep -q "open($dir/missing/fsynclab-crash-" "$dir/err"'

# SIGTERM mid-run: the scratch file and the writer go with the process.
tag=$((1000000 + $$))
$drv always drop 2000000 1000 $tag "$dir" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 500); do ls "$dir"/fsynclab-crash-*.wal >/dev/null 2>&1 && break; sleep 0.01; done
had=$(ls "$dir"/fsynclab-crash-*.wal 2>/dev/null | wc -l)
kill -TERM $pid; wait $pid; rc=$?
sleep 0.2   # the kernel reaps the SIGKILLed writer asynchronously
check "SIGTERM mid-run exits 143, removes the scratch file and the writer" \
    '[ $had -eq 1 ] && [ $rc -eq 143 ] && [ -z "$(ls "$dir"/fsynclab-crash-*.wal 2>/dev/null)" ] && ! pgrep -f "crash_rate always drop 2000000 1000 $tag" >/dev/null'

rm -f "$dir/err"
check "nothing is left in the data directory" 'rmdir "$dir"'
echo "crash_trials: $pass passed, $fail failed"
[ $fail -eq 0 ]
