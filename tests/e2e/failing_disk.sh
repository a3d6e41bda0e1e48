#!/usr/bin/env bash
# DESIGN: a failing disk, simulated with libfiu's POSIX preload (fiu-run -x):
# each call the log makes (open, pwrite, fsync, fdatasync, close) fails in
# turn with EIO, ENOSPC, EDQUOT, EFBIG and EINTR while the node serves an
# fsync_benchmark request followed by an init.  What must hold:
#   - EINTR (once, on the first call) and short writes are completed: the
#     reply is fsync_benchmark_ok with every entry acknowledged;
#   - any other errno gives error 14 whose text names the call, the scratch
#     file and the errno text, never a result;
#   - no scratch file is left in the data directory;
#   - the node serves on: the init after it is answered, and it exits 0.
# The same holds for a sync that fails in the batch flusher thread (the
# writer is still appending when the flusher's first tick comes) and for a
# group commit leader's sync, with several writers, and while preallocating.
# The command line gets a few of the same faults.
#
# First, without libfiu, a real short write: under `ulimit -f 1` (1024
# bytes) the 11th 100-byte record straddles the limit, so the kernel writes
# 24 of its bytes and the completing write fails with EFBIG.  Counting the
# short write as done would acknowledge all 11 and reply with a result; and
# SIGXFSZ must not kill the process.
#
# failinfo is the errno the failed call sets (Linux numbers below); a point
# enabled with `onetime` fails its first call only.  The EIO run of each
# point proves the point is reached, so its EINTR run really was interrupted.
# NODE_WRAPPER is not used here: valgrind and LD_PRELOAD do not mix.
set -u
cd "$(dirname "$0")/../.." || exit 2
build=${BUILD:-build}
node=$build/fsynclab-node bin=$build/fsynclab
if ! command -v fiu-run >/dev/null 2>&1; then
  echo "failing_disk: SKIP: fiu-run not found (apt-get install fiu-utils); nothing was tested"
  exit 0
fi
[ -x "$node" ] && [ -x "$bin" ] || { echo "failing_disk: $node or $bin not built (run make)"; exit 1; }
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-disk-$$
# In a sanitizer build, LSan would report libfiu's own allocation at exit.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
mkdir -p "$dir"
out=$dir/out err=$dir/err
pass=0 fail=0
check() {   # check NAME CONDITION [detail]
  if eval "$2"; then pass=$((pass+1)); echo "ok   $1"
  else fail=$((fail+1)); echo "FAIL $1"; [ -n "${3:-}" ] && echo "     $3"; fi
}
no_scratch() {   # nothing in the data directory but this script's out and err
  local f
  for f in "$dir"/*; do
    case ${f##*/} in out|err) ;; *) [ -e "$f" ] && return 1 ;; esac
  done
  return 0
}

init='{"src":"c0","dest":"n1","body":{"type":"init","msg_id":9,"node_id":"n1","node_ids":["n1"]}}'
init_ok='{"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 9, "msg_id": 1}}'
bench() { echo '{"src":"c1","dest":"n1","body":{"type":"fsync_benchmark","msg_id":2,'"$1"'}}'; }

printf '%s\n%s\n' "$(bench '"entries":11,"entry_size":100,"strategies":["none"]')" "$init" |
  (ulimit -f 1 && FSYNCLAB_DIR=$dir timeout -k 1 60 "$node") >"$out" 2>"$err"
rc=$?
check "a real short write at the file size limit: error 14 EFBIG naming pwrite, no result" \
  '[ $rc -eq 0 ] && [[ "$(sed -n 1p "$out")" == *"\"code\": 14, \"text\": \"pwrite($dir/fsynclab-bench-"*"-0.wal): File too large\"}}" ]]' \
  "status $rc: $(head -c 300 "$out")"
check "the file size limit: no scratch file left, next request answered" \
  'no_scratch && [ "$(sed -n 2p "$out")" = "$init_ok" ]' "$(ls "$dir")"
(ulimit -f 1 && exec "$bin" bench --dir "$dir" --entries 11 --entry-size 100 --strategies none) >"$out" 2>"$err"
rc=$?
check "CLI at the file size limit: exits 1 naming pwrite and EFBIG, no scratch file" \
  '[ $rc -eq 1 ] && grep -q "^fsynclab: pwrite($dir/fsynclab-bench-[0-9]*-0.wal): File too large$" "$err" && no_scratch' \
  "status $rc: $(cat "$err")"

# serve FIU_COMMAND REQUEST: the request then the init, through the node
# under fiu-run (no control FIFO: nothing is written outside build/).
serve() {
  printf '%s\n%s\n' "$2" "$init" |
    FSYNCLAB_DIR=$dir timeout -k 1 60 fiu-run -x -f "" -c "$1" "$node" >"$out" 2>"$err"
  rc=$?
  reply=$(sed -n 1p "$out")
}

# expect_error NAME FIU_COMMAND REQUEST CALL ERRNO_TEXT
expect_error() {
  serve "$2" "$3"
  local want="\"code\": 14, \"text\": \"$4($dir/fsynclab-bench-[0-9]*-0.wal): $5\"}}"
  check "$1: error 14 naming $4, the file and \"$5\"" \
    '[ $rc -eq 0 ] && [[ "$reply" == *"\"type\": \"error\", \"in_reply_to\": 2, "* ]] && [[ "$reply" == *$want ]]' \
    "status $rc, reply: $reply"
  check "$1: no scratch file left, next request answered" \
    'no_scratch && [ "$(sed -n 2p "$out")" = "$init_ok" ] && [ "$(wc -l <"$out")" -eq 2 ]' \
    "$(ls "$dir"); $(sed -n 2,3p "$out")"
}

# expect_ok NAME FIU_COMMAND REQUEST ENTRIES
expect_ok() {
  local n=$4   # check evals its condition in its own frame: no $4 there
  serve "$2" "$3"
  check "$1: completed, fsync_benchmark_ok with all $n entries" \
    '[ $rc -eq 0 ] && [[ "$reply" == *"\"type\": \"fsync_benchmark_ok\""* ]] &&
     [[ "$reply" == *"\"entries\": $n, \"entries_requested\": $n, \"complete\": true"* ]]' \
    "status $rc, reply: ${reply:0:300}"
  check "$1: no scratch file left, next request answered" \
    'no_scratch && [ "$(sed -n 2p "$out")" = "$init_ok" ]' "$(ls "$dir")"
}

errnos=("5:Input/output error" "28:No space left on device" "122:Disk quota exceeded" "27:File too large")
points=(
  "open|posix/io/oc/open|fsync|open"
  "pwrite|posix/io/rw/pwrite|fsync|pwrite"
  "fsync|posix/io/sync/fsync|fsync|fsync"
  "fdatasync|posix/io/sync/fdatasync|fdatasync|fdatasync"
  "close|posix/io/oc/close|fsync|close"
)
for p in "${points[@]}"; do
  IFS='|' read -r label point method call <<<"$p"
  req=$(bench '"entries":20,"strategies":["always"],"sync_method":"'"$method"'"')
  for e in "${errnos[@]}"; do
    num=${e%%:*} text=${e#*:}
    expect_error "$label fails with errno $num" "enable name=$point,failinfo=$num" "$req" "$call" "$text"
  done
  expect_ok "$label interrupted once (EINTR)" "enable name=$point,failinfo=4,onetime" "$req" 20
done

expect_ok "every pwrite short" "enable name=posix/io/rw/pwrite/reduce" \
  "$(bench '"entries":200,"strategies":["always","batch_1ms","group","none"]')" 200

# batch_1ms: the writer has a million appends to make within 2 s, so the
# flusher's 1 ms tick runs the first sync, long before the writer is done.
# Only that one sync fails: if the flusher dropped its error, the final
# sync at close would succeed and a result would come back.
expect_error "batch_1ms flusher sync fails once" "enable name=posix/io/sync/fsync,failinfo=5,onetime" \
  "$(bench '"entries":1000000,"entry_size":16,"strategies":["batch_1ms"],"max_seconds":2')" fsync "Input/output error"
expect_error "batch_1ms flusher fdatasync always fails" "enable name=posix/io/sync/fdatasync,failinfo=28" \
  "$(bench '"entries":1000000,"entry_size":16,"strategies":["batch_1ms"],"sync_method":"fdatasync","max_seconds":2')" \
  fdatasync "No space left on device"
expect_error "group leader sync fails once" "enable name=posix/io/sync/fsync,failinfo=5,onetime" \
  "$(bench '"entries":50,"strategies":["group"]')" fsync "Input/output error"
# Several writers: the one whose call failed and the ones waiting on it all
# stop; the reply names the call once.
expect_error "group, 4 writers, leader sync fails once" "enable name=posix/io/sync/fsync,failinfo=5,onetime" \
  "$(bench '"entries":400,"strategies":["group"],"writers":4')" fsync "Input/output error"
expect_error "always, 4 writers, pwrite fails" "enable name=posix/io/rw/pwrite,failinfo=28" \
  "$(bench '"entries":400,"strategies":["always"],"writers":4')" pwrite "No space left on device"
# Preallocation zero-fills with pwrite and ends with an fdatasync.
expect_error "prealloc, its fdatasync fails" "enable name=posix/io/sync/fdatasync,failinfo=5" \
  "$(bench '"entries":20,"strategies":["none"],"prealloc":true')" fdatasync "Input/output error"
expect_ok "prealloc, its fdatasync interrupted once (EINTR)" "enable name=posix/io/sync/fdatasync,failinfo=4,onetime" \
  "$(bench '"entries":20,"strategies":["none"],"prealloc":true')" 20
# o_dsync: the error comes from the write itself.
expect_error "o_dsync pwrite fails" "enable name=posix/io/rw/pwrite,failinfo=5" \
  "$(bench '"entries":20,"strategies":["always"],"sync_method":"o_dsync"')" "pwrite(O_DSYNC)" "Input/output error"

# The command line: exit status 1 and the same text on stderr.
cli() {   # cli FIU_COMMAND ARGS...
  local c=$1; shift
  timeout -k 1 60 fiu-run -x -f "" -c "$c" "$bin" bench --dir "$dir" "$@" >"$out" 2>"$err"
  rc=$?
}
cli "enable name=posix/io/sync/fsync,failinfo=5" --entries 20 --strategies always
check "CLI: a failing fsync exits 1 naming the call and file" \
  '[ $rc -eq 1 ] && grep -q "^fsynclab: fsync($dir/fsynclab-bench-[0-9]*-0.wal): Input/output error$" "$err" && no_scratch' \
  "status $rc: $(cat "$err")"
cli "enable name=posix/io/sync/fdatasync,failinfo=5" --entries 20 --strategies none --prealloc
check "CLI: a failing fdatasync while preallocating exits 1 naming the call and file" \
  '[ $rc -eq 1 ] && grep -q "^fsynclab: fdatasync($dir/fsynclab-bench-[0-9]*-0.wal): Input/output error$" "$err" && no_scratch' \
  "status $rc: $(cat "$err")"
cli "enable name=posix/io/rw/pwrite,failinfo=28" --entries 20 --strategies none --prealloc
check "CLI: a failing pwrite while preallocating exits 1 naming the call and file" \
  '[ $rc -eq 1 ] && grep -q "^fsynclab: pwrite($dir/fsynclab-bench-[0-9]*-0.wal): No space left on device$" "$err" && no_scratch' \
  "status $rc: $(cat "$err")"
cli "enable name=posix/io/sync/fdatasync,failinfo=4,onetime" --entries 20 --strategies none --prealloc
check "CLI: an interrupted fdatasync while preallocating is completed" \
  '[ $rc -eq 0 ] && grep -q "^none " "$out" && no_scratch' "status $rc: $(cat "$err")"

rm -f "$out" "$err"
check "nothing is left in the data directory" 'rmdir "$dir"'
echo "failing_disk: $pass passed, $fail failed"
[ $fail -eq 0 ]
