#!/usr/bin/env bash
# DESIGN: replies must equal Python's json.dumps byte for byte even when the
# strings the node echoes are odd: a src (echoed as dest) or node_id (echoed
# as src) holding quotes, backslashes, control characters, DEL, raw
# non-ASCII UTF-8 (two-, three- and four-byte, U+2028), escaped surrogate
# pairs, "\/" and the empty string.  The expected lines were generated once
# with Python 3's json.dumps and pasted here; the input is written with
# bash $'...' escapes so no invisible byte hides in this file.
set -u
cd "$(dirname "$0")/../.." || exit 2
# BUILD picks the tree (make check passes it); NODE_WRAPPER (e.g. valgrind)
# is put in front of the node.
build=${BUILD:-build}
node=$build/fsynclab-node
[ -x "$node" ] || { echo "node_odd_src: $node not built (run make)"; echo "node_odd_src: 0 passed, 1 failed"; exit 1; }
export FSYNCLAB_DIR=${FSYNCLAB_DIR:-$build/scratch}
mkdir -p "$FSYNCLAB_DIR"
work=$(mktemp -d "$FSYNCLAB_DIR/e2e-odd-src.XXXXXX"); trap 'rm -rf "$work"' EXIT

printf '%s\n' \
  '{"src":"c\"1\\","dest":"n1","body":{"type":"x","msg_id":1}}' \
  $'{"src":"\\u0001\\b\\f\\n\\r\\t\\u001f\x7f","dest":"n1","body":{"type":"x","msg_id":2}}' \
  $'{"src":"c\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x80\xa8","dest":"n1","body":{"type":"x","msg_id":3}}' \
  '{"src":"","dest":"n1","body":{"type":"x","msg_id":4}}' \
  '{"src":"a/b</script>","dest":"n1","body":{"type":"x","msg_id":5}}' \
  '{"src":"\ud83d\ude00\/","dest":"n1","body":{"type":"x","msg_id":10}}' \
  $'{"src":"c0","dest":"n1","body":{"type":"init","msg_id":11,"node_id":"n\\"\xc3\xa9\\u0007"}}' \
  '{"src":"c\"2","body":{"type":"x","msg_id":12}}' >"$work/in"

cat >"$work/expected" <<'EXPECTED'
{"src": "n1", "dest": "c\"1\\", "body": {"type": "error", "in_reply_to": 1, "msg_id": 0, "code": 10, "text": "unsupported message type \"x\""}}
{"src": "n1", "dest": "\u0001\b\f\n\r\t\u001f\u007f", "body": {"type": "error", "in_reply_to": 2, "msg_id": 1, "code": 10, "text": "unsupported message type \"x\""}}
{"src": "n1", "dest": "c\u00e9\u20ac\ud83d\ude00\u2028", "body": {"type": "error", "in_reply_to": 3, "msg_id": 2, "code": 10, "text": "unsupported message type \"x\""}}
{"src": "n1", "dest": "", "body": {"type": "error", "in_reply_to": 4, "msg_id": 3, "code": 10, "text": "unsupported message type \"x\""}}
{"src": "n1", "dest": "a/b</script>", "body": {"type": "error", "in_reply_to": 5, "msg_id": 4, "code": 10, "text": "unsupported message type \"x\""}}
{"src": "n1", "dest": "\ud83d\ude00/", "body": {"type": "error", "in_reply_to": 10, "msg_id": 5, "code": 10, "text": "unsupported message type \"x\""}}
{"src": "n\"\u00e9\u0007", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 11, "msg_id": 6}}
{"src": "n\"\u00e9\u0007", "dest": "c\"2", "body": {"type": "error", "in_reply_to": 12, "msg_id": 7, "code": 10, "text": "unsupported message type \"x\""}}
EXPECTED

pass=0 fail=0
check() {   # check NAME CONDITION-STATUS [detail]
  if [ "$2" -eq 0 ]; then pass=$((pass+1)); echo "ok   $1"
  else fail=$((fail+1)); echo "FAIL $1${3:+: $3}"; fi
}
# shellcheck disable=SC2086  # the wrapper is a command with its options
limit=10; [ -n "${NODE_WRAPPER:-}" ] && limit=120   # seconds; valgrind is slow
# shellcheck disable=SC2086  # the wrapper is a command with its options
timeout -k 1 "$limit" ${NODE_WRAPPER:-} "$node" <"$work/in" >"$work/out" 2>"$work/err"
rc=$?
check "exits 0" "$([ $rc -eq 0 ]; echo $?)" "status $rc"
cmp -s "$work/expected" "$work/out"
check "odd src and node_id values come back exactly as json.dumps prints them" $? \
  "$(diff "$work/expected" "$work/out" | head -c 2000)"
check "nothing is logged: every line was answerable" "$([ ! -s "$work/err" ]; echo $?)" "$(head -c 500 "$work/err")"
echo "node_odd_src: $pass passed, $fail failed"
[ $fail -eq 0 ]
