#!/usr/bin/env bash
# docs/lab.md's innodb_flush_log_at_trx_commit experiment, throughput side:
# one unrecorded mariadbd on a Unix socket (skip-networking), N autocommit
# INSERTs fed through one `mariadb` client session, for each setting
# (TRX:SYNC_BINLOG pairs in $SETTINGS, default 1:0 2:0 0:0 1:1), ROUNDS
# times in turn.  Prints inserts/s per run.  The server is stopped and the
# scratch removed whatever happens.  Run as root, the server as nobody.
#   bash bench/mariadb_trx.sh [N] [ROUNDS]
set -eu
n=${1:-3000} rounds=${2:-3}
dir=$(mktemp -d /var/tmp/fsynclab-trx.XXXXXX)
chmod 755 "$dir"
pid=
stop() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; wait 2>/dev/null; pid=; }
trap 'stop; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
as=(); [ "$(id -u)" = 0 ] && { as=(setpriv --reuid=nobody --regid=nogroup --clear-groups); chown nobody: "$dir"; }
opts=(--no-defaults --innodb-log-file-size=8M --innodb-buffer-pool-size=32M --innodb-use-native-aio=0
      --innodb-flush-method=fsync --innodb-log-file-buffering=ON --skip-name-resolve)
"${as[@]}" mariadb-install-db "${opts[@]}" --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db >/dev/null 2>&1
seq 1 "$n" | sed 's/.*/INSERT INTO lab.t VALUES (&);/' > "$dir/inserts.sql"
echo "fs: $(stat -f -c %T "$dir")  $(nproc) cores  load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
    for pair in ${SETTINGS:-1:0 2:0 0:0 1:1}; do
        v=${pair%:*} sb=${pair#*:}
        "${as[@]}" mariadbd "${opts[@]}" --datadir="$dir/data" --socket="$dir/s" --skip-networking \
            --log-bin=binlog --server-id=1 --sync-binlog=$sb --innodb-flush-log-at-trx-commit=$v \
            --log-error="$dir/err" --pid-file="$dir/pid" 2>>"$dir/err" &
        pid=$!
        for _ in $(seq 600); do mariadb -S "$dir/s" -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
        mariadb -S "$dir/s" -uroot -e 'DROP DATABASE IF EXISTS lab; CREATE DATABASE lab;
            CREATE TABLE lab.t(k BIGINT PRIMARY KEY) ENGINE=InnoDB'
        t0=$(date +%s.%N)
        mariadb -S "$dir/s" -uroot < "$dir/inserts.sql"
        t1=$(date +%s.%N)
        echo "round $r innodb_flush_log_at_trx_commit=$v sync_binlog=$sb: $(echo "$n / ($t1 - $t0)" | bc -l | xargs printf %.0f) inserts/s"
        stop
    done
done
