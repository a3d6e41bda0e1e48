#!/usr/bin/env bash
# End-to-end crash trials of the database targets: RocksDB and LMDB through
# their workers, MariaDB through its server, each short, through `fsynclab
# crash --target`; their settings refused with exit 2 when wrong; the
# detectors of what the recorder cannot see (InnoDB's native AIO, LMDB's
# mapping) proven by running the case they catch; and that no server or
# worker is left, SIGTERM included.  A target whose program or library is
# not installed is skipped with a message.  About 45 s here, most of it
# mariadb-install-db.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/db.sh e2e-targets-db
# crash ARGS...: one JSON result in out.
crash() { out=$("$bin" crash --json --dir "$dir" --seed 7 "$@" 2>"$dir/err"); rc=$?; }
get() { sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p" <<<"$out"; }
note() { sed -n 's/.*"note": "\([^"]*\)".*/\1/p' <<<"$out"; }
# Only this test's processes: their command line or working directory is
# under $dir (other runs on the machine are none of this test's business).
ours() { for p in $(pgrep -f -- "$1"); do { readlink "/proc/$p/cwd"; tr '\0' ' ' <"/proc/$p/cmdline"; echo; } 2>/dev/null; done | grep -qF -- "$dir"; }
left() { pgrep -f -- "$dir" >/dev/null || ours 'fsynclab-(rocksdb|lmdb)-worker'; }
usage() { "$bin" crash --dir "$dir" --trials 1 --seconds 1 "$@" >/dev/null 2>"$dir/err"; rc=$?; }

# ---- RocksDB ---------------------------------------------------------------------------
if worker rocksdb librocksdb-dev; then
    r="--target rocksdb --trials 2 --seconds 0.8 --cuts 2"
    crash $r --set sync=true
    check "rocksdb sync=true: nothing lost on any image, every image reopens" '[ $rc = 0 ] && [ "$(get acked_lost_max)" = 0 ] && [ "$(get recovered_ok)" = "$(get images)" ] && [ "$(get held)" = true ]'
    crash $r --set sync=false
    check "rocksdb sync=false: a power cut loses acknowledged Puts, no number promised" '[ $rc = 0 ] && [ "$(get acked_lost_max)" -gt 0 ] && [ "$(get held)" = null ]'
    check "rocksdb sync=false: a process crash loses nothing" '[[ "$(note)" == *": 0 of "* ]]'
    crash $r --set disable_wal=true
    check "rocksdb disable_wal=true: even a process crash loses the memtable" '[ $rc = 0 ] && [[ "$(note)" =~ ": "[1-9][0-9]*" of " ]]'
    usage --target rocksdb --set sync=yes
    check "rocksdb: sync=yes is refused naming true, false" '[ $rc = 2 ] && grep -q "allowed values true, false" "$dir/err"'
    usage --target rocksdb --set synk=true
    check "rocksdb: an unknown key is refused naming the keys" '[ $rc = 2 ] && grep -q "set synk: rocksdb has no such setting (did you mean sync?); allowed: sync, disable_wal, manual_wal_flush" "$dir/err"'
    usage --target rocksdb --set sync=true --set sync=false
    check "rocksdb: a key given twice is refused" '[ $rc = 2 ] && grep -q "given twice" "$dir/err"'
    usage --target rocksdb --set disable_wal=true --set manual_wal_flush=true
    check "rocksdb: manual_wal_flush without a WAL is refused" '[ $rc = 2 ] && grep -q "manual_wal_flush=true applies to the WAL" "$dir/err"'
fi

# ---- LMDB ------------------------------------------------------------------------------
if worker lmdb liblmdb-dev; then
    l="--target lmdb --trials 2 --seconds 0.8 --cuts 2"
    crash $l
    check "lmdb default: nothing lost, every image opens" '[ $rc = 0 ] && [ "$(get acked_lost_max)" = 0 ] && [ "$(get recovered_ok)" = "$(get images)" ] && [ "$(get held)" = true ]'
    crash $l --set flags=MDB_NOMETASYNC
    check "lmdb MDB_NOMETASYNC: every image opens, at most the last transaction undone" '[ $rc = 0 ] && [ "$(get recovered_ok)" = "$(get images)" ] && [ "$(get acked_lost_max)" -le 1 ] && [ "$(get held)" = true ]'
    crash $l --set flags=MDB_NOSYNC
    check "lmdb MDB_NOSYNC: a power cut loses commits, no number promised" '[ $rc = 0 ] && [ "$(get acked_lost_max)" -gt 0 ] && [ "$(get held)" = null ]'
    crash $l --set flags=MDB_WRITEMAP
    # The recorder sees a mapping only as its copy at msync: either the
    # journal holds those copies and there is a verdict, or it says it saw
    # none and there is no verdict.  Never a loss that is the recorder's.
    check "lmdb MDB_WRITEMAP: a verdict only when stores through the mapping were captured" '[ $rc = 0 ] && { { [[ "$(note)" =~ "msync calls, "[1-9][0-9]*" writes" ]] && [ "$(get held)" = true ] && [ "$(get acked_lost_max)" = 0 ]; } || { [[ "$(note)" == *"did not see the stores"* ]] && [ "$(get held)" = null ]; }; }'
    # The detector's mutation test: a worker whose mmap and msync bypass the
    # recorder (built here, beside a copy of the preload library) makes
    # stores nobody saw; without the detector they would count as 'lost'.
    hid=$dir/hidden
    mkdir -p "$hid" && cp "$build/libfsynclab-rec.so" "$hid/"
    if cc -O2 -std=c11 -D_GNU_SOURCE -DFSYNCLAB_TEST_HIDDEN_MAP -o "$hid/fsynclab-lmdb-worker" \
          recorder/targets/lmdb_worker.c $(pkg-config --cflags --libs lmdb) 2>"$dir/err"; then
        out=$(FSYNCLAB_REC_LIB=$hid/libfsynclab-rec.so "$bin" crash --json --dir "$dir" --seed 7 $l --set flags=MDB_WRITEMAP 2>"$dir/err"); rc=$?
        check "lmdb MDB_WRITEMAP, stores hidden from the recorder: no verdict, and the note says why" '[ $rc = 0 ] && [ "$(get held)" = null ] && [[ "$(note)" == *"0 writes (0 bytes) captured from the mapping: the recorder did not see the stores"* ]]'
    else
        bad "lmdb: building the hidden-mapping worker" "$(head -c 300 "$dir/err")"
    fi
    usage --target lmdb --set flags=NOSYNC
    check "lmdb: flags=NOSYNC is refused naming the four" '[ $rc = 2 ] && grep -q "allowed values none, MDB_NOSYNC, MDB_NOMETASYNC, MDB_WRITEMAP" "$dir/err"'
fi
check "rocksdb, lmdb: no worker left" '! left'

# ---- MariaDB ---------------------------------------------------------------------------
# As root the server runs as nobody, which must reach the scratch directory.
maria_skip=
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    maria_skip="mariadbd is not installed (apt-get install mariadb-server)"
elif [ "$(id -u)" = 0 ] && ! su -s /bin/sh nobody -c "test -x '$dir'" 2>/dev/null; then
    maria_skip="the server runs as nobody, which cannot reach $dir (a 0700 ancestor); run with FSYNCLAB_DIR under /var/tmp"
    crash --target mariadb --trials 1 --seconds 0.5 --cuts 0
    check "mariadb: an unreachable directory is named with the fix" '[ $rc = 1 ] && grep -q "cannot reach .*--dir /var/tmp" "$dir/err"'
fi
usage --target mariadb --set innodb_flush_log_at_trx_commit=3
check "mariadb: innodb_flush_log_at_trx_commit=3 is refused naming 0, 1, 2" '[ $rc = 2 ] && grep -q "allowed values 0, 1, 2" "$dir/err"'
usage --target mariadb --set datadir=/tmp
check "mariadb: a setting fsynclab owns is refused" '[ $rc = 2 ] && grep -q "set datadir: mariadb has no such setting" "$dir/err"'
if [ -z "$maria_skip" ]; then
    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$dir/closed/in" && chmod 0700 "$dir/closed"
        crash --target mariadb --trials 1 --seconds 0.5 --cuts 0 --dir "$dir/closed/in"
        check "mariadb as root: a 0700 ancestor is named with the fix" '[ $rc = 1 ] && grep -q "cannot reach $dir/closed (mode 0700).*--dir /var/tmp" "$dir/err"'
    fi
    crash --target mariadb --set innodb_flush_log_at_trx_commit=1 --set sync_binlog=1 --trials 1 --seconds 1 --cuts 1
    check "mariadb 1 + sync_binlog 1: nothing lost, every image recovers and CHECK TABLE is OK" '[ $rc = 0 ] && [ "$(get acked_lost_max)" = 0 ] && [ "$(get recovered_ok)" = "$(get images)" ] && [ "$(get held)" = true ]'
    check "mariadb: the settings as the server reports them, native AIO off and none open" '[[ "$(note)" == *"innodb_flush_log_at_trx_commit=1 "*"sync_binlog=1"*"innodb_use_native_aio=OFF"* || "$(note)" == *"innodb_use_native_aio=OFF"*"innodb_flush_log_at_trx_commit=1"* ]] && [[ "$(note)" == *"no io_uring or AIO ring was open"* ]]'
    # The detector's mutation test: native AIO left on, InnoDB opens an
    # io_uring (or a libaio ring), and the result must not judge.
    crash --target mariadb --set innodb_use_native_aio=1 --trials 1 --seconds 0.5 --cuts 0
    if [[ "$(note)" == *"innodb_use_native_aio=ON"* ]]; then
        check "mariadb native AIO on: the io_uring/AIO ring is found, no verdict" '[ $rc = 0 ] && [[ "$(note)" == *"escape the recorder, no verdict"* ]] && [ "$(get held)" = null ]'
    else
        echo "skip the native AIO detector: the server turned native AIO off by itself here ($(note | head -c 200))"
    fi
    check "mariadb: no mariadbd left" '! left && ! ours mariadbd'
    # SIGTERM in the middle of a trial: the server goes with fsynclab.
    "$bin" crash --target mariadb --trials 1 --seconds 120 --dir "$dir" >/dev/null 2>&1 &
    fpid=$!
    for _ in $(seq 1200); do pgrep -f -- "datadir=$dir/.*/t0/data" >/dev/null && break; sleep 0.1; done
    up=$(pgrep -f -- "datadir=$dir/.*/t0/data" | head -1)
    kill -TERM "$fpid"; wait "$fpid"; st=$?
    check "mariadb: SIGTERM ends fsynclab by the signal (143) and takes mariadbd with it" '[ -n "$up" ] && [ $st = 143 ] && ! left'
    rm -rf "$dir"/fsynclab-rec-*
else
    echo "skip mariadb: $maria_skip"
fi

check "no trial directory left" '[ -z "$(ls -d "$dir"/fsynclab-rec-* 2>/dev/null)" ]'
[ $fail = 0 ] && { chmod -R u+rwx "$dir" 2>/dev/null; rm -rf "$dir"; }
echo "targets_db: $pass passed, $fail failed"
[ $fail = 0 ]
