#!/usr/bin/env bash
# Ctrl-C (SIGINT) or SIGTERM in the middle of `crash --target`, for each
# target: fsynclab ends by the signal, every program it started is killed
# and reaped, PostgreSQL's System V segment is freed (also the one initdb's
# bootstrap server holds), and the trial directories are removed, or kept
# and named with --keep.  Issue 19 item 4.  About 40 s here.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$(realpath "$build/fsynclab")
dir=$(realpath -m "${FSYNCLAB_DIR:-$build/scratch}")/e2e-targets-signals-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "st=$st $(head -c 400 "$dir/err")"; fi; }
left() { pgrep -f -- "$dir" >/dev/null; }
trials() { ls -d "$dir"/fsynclab-rec-* 2>/dev/null; }
# until CMD succeeds, at most 120 s (initdb on a loaded machine)
until_ok() { for _ in $(seq 2400); do eval "$1" && return 0; sleep 0.05; done; return 1; }
# shm_keyed INODE: a segment whose key PostgreSQL derives from that inode
shm_keyed() { awk -v i="$1" 'NR > 1 && $1 >= i && $1 < i + 8 { f = 1 } END { exit !f }' /proc/sysvipc/shm; }
shm_id() { awk -v i="$1" 'NR > 1 && $2 == i { f = 1 } END { exit !f }' /proc/sysvipc/shm; }

# start TARGET ARGS...: fsynclab in the background, pid in fpid
start() { "$bin" crash --dir "$dir" --trials 1 --seconds 120 --cuts 0 --target "$@" >/dev/null 2>"$dir/err" & fpid=$!; }
# the recorded program has written its first records
recording() { [ -s "$(trials)/t0/journal" ]; }
stop() { kill "-$1" "$fpid"; wait "$fpid"; st=$?; }

contract_run='i=0; while :; do i=$((i+1)); echo $i >> log; sync log; echo "ack $i"; done'
start contract --run "$contract_run" --check 'cat log'
until_ok recording
stop INT
check "contract: SIGINT ends fsynclab by it (130), nothing left running, no trial directory" \
    '[ $st = 130 ] && ! left && [ -z "$(trials)" ] && grep -q "trial directories removed" "$dir/err"'

start contract --run "$contract_run" --check 'cat log' --keep
until_ok recording
kept=$(trials)
stop TERM
check "contract --keep: SIGTERM (143) keeps the trial directories and says where" \
    '[ $st = 143 ] && ! left && [ -d "$kept/t0" ] && grep -qF "$kept" "$dir/err"'
rm -rf "$kept"

start sqlite
until_ok recording
stop INT
check "sqlite: SIGINT: the worker killed and reaped, no trial directory" '[ $st = 130 ] && ! left && [ -z "$(trials)" ]'

if command -v redis-server >/dev/null; then
    start redis --set appendfsync=always
    until_ok recording
    stop INT
    check "redis: SIGINT: redis-server killed and reaped, no trial directory" '[ $st = 130 ] && ! left && [ -z "$(trials)" ]'
else
    echo "skip redis: redis-server is not installed (apt-get install redis-server)"
fi

pg=/usr/lib/postgresql/15/bin/postgres
if [ -x $pg ]; then
    start postgres
    if until_ok '[ -n "$(trials)" ] && pgrep -f "initdb -D $(trials)" >/dev/null && [ -d "$(trials)/t0/data/global" ] || ! kill -0 $fpid 2>/dev/null'; then
        ino=$(stat -c %i "$(trials)/t0/data" 2>/dev/null || echo 0)
        stop INT
        if grep -q "cannot reach" "$dir/err"; then
            echo "skip postgres: $(head -1 "$dir/err")"
        else
            check "postgres: SIGINT during initdb: its bootstrap server's segment freed, nothing left" \
                '[ $st = 130 ] && ! left && [ -z "$(trials)" ] && ! shm_keyed "$ino"'
            start postgres
            until_ok recording
            until_ok '[ "$(sed -n 7p "$(trials)/t0/data/postmaster.pid" 2>/dev/null | wc -w)" = 2 ]'
            id=$(sed -n 7p "$(trials)/t0/data/postmaster.pid" | awk '{print $2}')
            stop INT
            check "postgres: SIGINT: postmaster and backends reaped, its segment $id freed, no trial directory" \
                '[ $st = 130 ] && ! left && [ -z "$(trials)" ] && ! shm_id "$id"'
        fi
    else
        stop KILL
        bad "postgres: initdb never started" "$(head -c 400 "$dir/err")"
    fi
else
    echo "skip postgres: $pg is not installed (apt-get install postgresql)"
fi

check "nothing left running, no trial directory left" '! left && [ -z "$(trials)" ]'
[ $fail = 0 ] && rm -rf "$dir"
echo "targets_signals: $pass passed, $fail failed"
[ $fail = 0 ]
