#!/usr/bin/env bash
# DESIGN: feeds tests/malformed.jsonl to the node, with its @@TWO_MIB_LINE@@
# line replaced by a well-formed 2 MiB message (so answering it would prove
# the cap broken).  The node must exit 0, print exactly the replies to the
# answerable lines and nothing else on stdout, and log each skipped line
# (one stderr line each).
set -u
cd "$(dirname "$0")/../.." || exit 2
# BUILD picks the tree (make check passes it); NODE_WRAPPER (e.g. valgrind)
# is put in front of the node.
build=${BUILD:-build}
node=$build/fsynclab-node
run_node() { ${NODE_WRAPPER:-} "$node"; }
input_file=tests/malformed.jsonl
marker='@@TWO_MIB_LINE@@'
skipped_lines=16   # lines of the input that are not answerable (blank lines excluded)
export FSYNCLAB_DIR=${FSYNCLAB_DIR:-$build/scratch}
mkdir -p "$FSYNCLAB_DIR"

work=$(mktemp -d "$FSYNCLAB_DIR/e2e-malformed.XXXXXX"); trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() {   # check NAME CONDITION-STATUS [detail]
  if [ "$2" -eq 0 ]; then pass=$((pass+1)); echo "ok   $1"
  else fail=$((fail+1)); echo "FAIL $1${3:+: $3}"; fi
}

[ -x "$node" ] || { echo "node_malformed: $node not built (run make)"; echo "node_malformed: 0 passed, 1 failed"; exit 1; }
n=$(LC_ALL=C grep -n -x -F "$marker" "$input_file" | cut -d: -f1)
[ -n "$n" ] || { echo "node_malformed: no $marker line in $input_file"; exit 2; }
{
  head -n $((n - 1)) "$input_file"
  printf '{"src":"c0","dest":"n1","body":{"type":"big","msg_id":9,"pad":"'
  head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' a
  printf '"}}\n'
  tail -n +$((n + 1)) "$input_file"
} >"$work/input"

cat >"$work/expected" <<'EXPECTED'
{"src": "n1", "dest": "c0", "body": {"type": "error", "in_reply_to": 3, "msg_id": 0, "code": 10, "text": "unsupported message type \"nope\""}}
{"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 1}}
{"src": "n1", "dest": "c1", "body": {"type": "error", "in_reply_to": 2, "msg_id": 2, "code": 12, "text": "entries must be a whole number from 1 to 10000000"}}
EXPECTED

limit=10; [ -n "${NODE_WRAPPER:-}" ] && limit=120   # seconds; valgrind is slow
# shellcheck disable=SC2086  # the wrapper is a command with its options
timeout -k 1 "$limit" ${NODE_WRAPPER:-} "$node" <"$work/input" >"$work/out" 2>"$work/err"
rc=$?
check "exits 0 at end of input" "$([ $rc -eq 0 ]; echo $?)" "status $rc"
cmp -s "$work/expected" "$work/out"
check "stdout is exactly the replies to the answerable lines" $? \
  "$(diff "$work/expected" "$work/out" | head -c 2000)"
logged=$(grep -c 'skipped' "$work/err")
check "each of the $skipped_lines unanswerable lines is logged on stderr" \
  "$([ "$logged" -eq $skipped_lines ]; echo $?)" "$logged logged"
grep -q 'line 16: skipped: longer than 1048576 bytes' "$work/err"
check "the 2 MiB line is skipped as too long" $?

# A reader that has gone away: the write fails with EPIPE (SIGPIPE is
# ignored) and the node ends quietly with status 0.  The reader closes its
# end and only then, through a FIFO, lets the input flow, so the node's
# first reply surely meets a closed pipe.
mkfifo "$work/gone"
{ read -r _ <"$work/gone"; tail -n 2 "$input_file"; } | run_node 2>"$work/pipe_err" |
  { exec 0<&-; echo >"$work/gone"; }
rc=${PIPESTATUS[1]}
check "a closed stdout ends the node with status 0" "$([ "$rc" -eq 0 ]; echo $?)" "status $rc"

echo "node_malformed: $pass passed, $fail failed"
[ $fail -eq 0 ]
