#!/usr/bin/env bash
# End-to-end tests of the fsynclab command line: the table, --json against the
# node's reply, usage errors and exit codes, and that no scratch file is left.
set -u
cd "$(dirname "$0")/../.."
# BUILD picks the tree (make check passes it); NODE_WRAPPER (e.g. valgrind)
# goes in front of the node only.
build=${BUILD:-build}
bin=$build/fsynclab node="${NODE_WRAPPER:+$NODE_WRAPPER }$build/fsynclab-node"
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-cli-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
keys() { grep -o '"[a-z_0-9]*": ' | tr -d '": ' | tr '\n' ' '; }

out=$($bin bench --dir "$dir" --entries 50 --strategies always,batch_5ms,none 2>&1); rc=$?
check "bench prints a table and exits 0" '[ $rc -eq 0 ] && grep -q "^always " <<<"$out" && grep -q "^batch_5ms " <<<"$out" && grep -q "^none " <<<"$out"'
check "bench names the file system" 'grep -q "^file system " <<<"$out"'

json=$($bin bench --dir "$dir" --entries 50 --strategies always,none --json); rc=$?
req='{"src":"c1","dest":"n1","body":{"type":"fsync_benchmark","msg_id":7,"entries":50,"strategies":["always","none"]}}'
reply=$(FSYNCLAB_DIR=$dir $node <<<"$req")
body=$(sed 's/^{"src": "n1", "dest": "c1", "body": //; s/}$//' <<<"$reply")
node_keys=$(sed 's/"in_reply_to": 7, "msg_id": 0, //' <<<"$body" | keys)
check "--json has exactly the keys of the node's reply body, in order, then version, command_line, timestamp" '[ $rc -eq 0 ] && [ -n "$node_keys" ] && [ "$(keys <<<"$json")" = "${node_keys}version command_line timestamp " ]'
check "the node's reply carries none of the command line's fields" '! grep -qE "\"(version|command_line|timestamp)\"" <<<"$reply"'
check "--json carries the version, the command line as a list and a UTC time" '[[ "$json" == *"\"version\": \"$($bin --version | cut -d" " -f2)\", \"command_line\": [\"$bin\", \"bench\", \"--dir\""* ]] && grep -qE "\"timestamp\": \"20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\"}$" <<<"$json"'
check "--json is one line starting with the reply type" '[ "$(wc -l <<<"$json")" -eq 1 ] && [[ "$json" == "{\"type\": \"fsync_benchmark_ok\", \"results\": ["* ]]'

$bin bench --dir "$dir" --strategies Always >/dev/null 2>"$dir/err"; rc=$?
check "an unknown strategy is a usage error (2) naming it" '[ $rc -eq 2 ] && grep -q "unknown strategy \"Always\"" "$dir/err"'
$bin bench --dir "$dir" --entries 0 >/dev/null 2>"$dir/err"; rc=$?
check "--entries 0 is a usage error naming the range" '[ $rc -eq 2 ] && grep -q "from 1 to 10000000" "$dir/err"'
$bin bench --dir "$dir/missing" --entries 5 >/dev/null 2>"$dir/err"; rc=$?
check "a missing directory fails with 1 naming the call" '[ $rc -eq 1 ] && grep -q "statfs($dir/missing)" "$dir/err"'
$bin frobnicate >/dev/null 2>&1; rc=$?
check "an unknown command exits 2" '[ $rc -eq 2 ]'
check "--version prints the version" '$bin --version | grep -q "^fsynclab [0-9]"'
check "--help lists the commands" '$bin --help | grep -q "bench" && $bin --help | grep -q "node"'

# SIGTERM in the middle of a long run: the scratch file goes with the process.
$bin bench --dir "$dir" --entries 2000000 --entry-size 16 --strategies always --max-seconds 60 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 500); do ls "$dir"/fsynclab-bench-*.wal >/dev/null 2>&1 && break; sleep 0.01; done
had=$(ls "$dir"/fsynclab-bench-*.wal 2>/dev/null | wc -l)
kill -TERM $pid; wait $pid; rc=$?
check "SIGTERM mid-run exits 143 and removes the scratch file" '[ $had -eq 1 ] && [ $rc -eq 143 ] && [ -z "$(ls "$dir"/fsynclab-bench-*.wal 2>/dev/null)" ]'

$bin bench --dir "$dir" --entries 2000000 --entry-size 16 --strategies none --max-seconds 60 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 500); do ls "$dir"/fsynclab-bench-*.wal >/dev/null 2>&1 && break; sleep 0.01; done
kill -INT $pid; wait $pid; rc=$?
check "SIGINT mid-run exits 130 and removes the scratch file" '[ $rc -eq 130 ] && [ -z "$(ls "$dir"/fsynclab-bench-*.wal 2>/dev/null)" ]'

rm -f "$dir/err"
check "nothing is left in the data directory" 'rmdir "$dir"'
echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
