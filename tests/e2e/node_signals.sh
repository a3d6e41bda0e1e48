#!/usr/bin/env bash
# SIGTERM and SIGINT reaching the node in the middle of a benchmark or a
# crash test: the node ends by that signal (status 143 / 130) and leaves no
# scratch log and no crash writer behind.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
node=$build/fsynclab-node
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-signals-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

# Starts the node on one request in the background; waits (bounded) until
# its scratch file (fsynclab-$2-*.wal, any when not given) exists, so that
# the signal lands mid-run.
start() {
  printf '%s\n' "$1" | FSYNCLAB_DIR=$dir "$node" >"$dir/out" 2>"$dir/err" &
  pid=$!
  had=0
  for _ in $(seq 1 1000); do
    if ls "$dir"/fsynclab-${2:-*}-*.wal >/dev/null 2>&1; then had=1; break; fi
    sleep 0.01
  done
}

bench='{"src":"c1","dest":"n1","body":{"type":"fsync_benchmark","msg_id":1,"entries":2000000,"entry_size":16,"strategies":["always"],"max_seconds":60}}'
start "$bench"
kill -TERM $pid; wait $pid; rc=$?
check "SIGTERM during fsync_benchmark: status 143, no scratch file, no reply" \
  '[ $had -eq 1 ] && [ $rc -eq 143 ] && [ -z "$(ls "$dir"/fsynclab-*.wal 2>/dev/null)" ] && [ ! -s "$dir/out" ]'

start "$bench"
kill -INT $pid; wait $pid; rc=$?
check "SIGINT during fsync_benchmark: status 130, no scratch file" \
  '[ $had -eq 1 ] && [ $rc -eq 130 ] && [ -z "$(ls "$dir"/fsynclab-*.wal 2>/dev/null)" ]'

crash='{"src":"c1","dest":"n1","body":{"type":"crash_test","msg_id":1,"entries":1000000,"entry_size":16,"trials":10000,"strategies":["always"],"max_seconds":60,"seed":1}}'
start "$crash" crash   # the trial's log, not the calibration's before it
writers=$(pgrep -P $pid | tr '\n' ' ')
kill -TERM $pid; wait $pid; rc=$?
alive=0
for w in $writers; do kill -0 "$w" 2>/dev/null && alive=1; done
check "SIGTERM during crash_test: status 143, no scratch file, no writer left" \
  '[ $had -eq 1 ] && [ -n "$writers" ] && [ $rc -eq 143 ] && [ -z "$(ls "$dir"/fsynclab-*.wal 2>/dev/null)" ] && [ $alive -eq 0 ]'

# Under none the next trial's writer runs while the last is checked, and
# two spares wait ahead: four files and several writers at any moment.
crash='{"src":"c1","dest":"n1","body":{"type":"crash_test","msg_id":1,"entries":1000,"entry_size":16,"trials":10000,"strategies":["none"],"max_seconds":60,"seed":1}}'
start "$crash" crash
kids=$(pgrep -P $pid | tr '\n' ' ')
own=$(ps -o pgid= -p $$ | tr -d ' ')
groups=$(for k in $kids; do ps -o pgid= -p "$k"; done | tr -d ' ' | sort -u | grep -vx "$own" | tr '\n' ' ')
kill -INT $pid; wait $pid; rc=$?
left=""
for g in $groups; do pgrep -g "$g" >/dev/null && left="$left $g"; done
check "SIGINT during a crash_test of none (trials overlapping): status 130, no scratch file, no writer or spare left" \
  '[ $had -eq 1 ] && [ -n "$groups" ] && [ $rc -eq 130 ] && [ -z "$(ls "$dir"/fsynclab-*.wal 2>/dev/null)" ] && [ -z "$left" ]'

rm -f "$dir/out" "$dir/err"
check "nothing is left in the data directory" 'rmdir "$dir"'
echo "node_signals: $pass passed, $fail failed"
[ $fail -eq 0 ]
