#!/usr/bin/env bash
# The MariaDB, RocksDB and LMDB tables of docs/real-programs.md: every
# setting the docs list, under the drop model and (for the relaxed ones)
# ext4, TRIALS trials of up to SECONDS s each, the kill instant plus CUTS
# earlier cut points per trial.  Prints each run's table row and note.
# About 15 minutes with the defaults on a 2-core VM (MariaDB's checks are
# a server start each).
#   bash bench/db_targets.sh [TRIALS] [SECONDS] [CUTS]
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
trials=${1:-4} seconds=${2:-3} cuts=${3:-3}
dir=${FSYNCLAB_DIR:-/var/tmp}   # MariaDB runs as nobody when root: a directory it can reach
run() {
    "$build/fsynclab" crash --dir "$dir" --trials "$trials" --seconds "$seconds" --cuts "$cuts" "$@" |
        grep -v '^target\|^seed'
}
for model in drop ext4; do
    for s in "1 1" "1 0" "2 1" "2 0" "0 1"; do
        set -- $s
        run --target mariadb --model $model --set innodb_flush_log_at_trx_commit=$1 --set sync_binlog=$2
    done
    run --target rocksdb --model $model --set sync=true
    run --target rocksdb --model $model --set sync=false
    run --target rocksdb --model $model --set sync=false --set manual_wal_flush=true
    run --target rocksdb --model $model --set sync=true --set manual_wal_flush=true
    run --target rocksdb --model $model --set disable_wal=true
    for f in none MDB_NOSYNC MDB_NOMETASYNC MDB_WRITEMAP; do run --target lmdb --model $model --set flags=$f; done
done
