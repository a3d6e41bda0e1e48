#!/usr/bin/env bash
# End-to-end crash trials of real programs through the recorder: the
# contract on shell loops nobody wrote for fsynclab (dd conv=fsync against
# plain echo >>, with and without a synced directory), SQLite, Redis and
# PostgreSQL, each short, through `fsynclab crash --target`, `record`,
# `image` and `journal`; then that no server process is left.  A target whose
# program is not installed is skipped with a message.  About 25 s here,
# 70 s under ASan.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
dir=$(realpath -m "${FSYNCLAB_DIR:-$build/scratch}")/e2e-targets-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${out:0:700} $(head -c 300 "$dir/err")"; fi; }
# crash ARGS...: one JSON result in out.
crash() { out=$("$bin" crash --json --dir "$dir" --seed 7 "$@" 2>"$dir/err"); rc=$?; }
get() { sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p" <<<"$out"; }
left() { pgrep -f -- "$dir" >/dev/null; }

# ---- the contract: a shell loop --------------------------------------------------
check_cmd='cat "$FSYNCLAB_DATA/log" 2>/dev/null; true'
synced='cd "$FSYNCLAB_DATA"; : > log; sync .; i=0; while :; do i=$((i+1)); echo $i | dd of=log oflag=append conv=notrunc,fsync status=none; echo "ack $i"; done'
nodirsync='cd "$FSYNCLAB_DATA"; i=0; while :; do i=$((i+1)); echo $i | dd of=log oflag=append conv=notrunc,fsync status=none; echo "ack $i"; done'
unsynced='cd "$FSYNCLAB_DATA"; : > log; sync .; i=0; while :; do i=$((i+1)); echo $i >> log; echo "ack $i"; done'
c="--target contract --trials 2 --seconds 1 --cuts 2"

crash $c --run "$synced" --check "$check_cmd"
check "contract: synced writes lose nothing under drop" '[ $rc = 0 ] && [ "$(get acked_lost_max)" = 0 ] && [ "$(get held)" = true ] && [ "$(get images)" -ge 3 ]'
crash $c --run "$unsynced" --check "$check_cmd"
check "contract: unsynced writes lose under drop" '[ $rc = 3 ] && [ "$(get acked_lost_max)" -gt 0 ] && [ "$(get held)" = false ]'
crash $c --run "$nodirsync" --check "$check_cmd"
check "contract: a file whose directory was never synced is lost under drop" '{ [ $rc = 0 ] || [ $rc = 3 ]; } && [ "$(get acked_lost_max)" -gt 0 ]'
crash $c --model ext4 --run "$nodirsync" --check "$check_cmd"
check "contract: ... and kept under ext4" '[ $rc = 0 ] && [ "$(get acked_lost_max)" = 0 ] && [ "$(get held)" = true ]'
crash $c --run "$synced" --check 'exit 3'
check "contract: a check that fails is not recovered" '[ $rc = 3 ] && [ "$(get recovered_ok)" = 0 ] && [ "$(get held)" = false ]'
crash $c --run 'sleep 5' --check "$check_cmd"
check "contract: no ack, no verdict" '[ $rc = 0 ] && [ "$(get trials_valid)" = 0 ] && [ "$(get held)" = null ]'
check "contract: nothing left running" '! left'

# ---- record and image, by hand ------------------------------------------------------
mkdir -p "$dir/rec/root" "$dir/rec/snap"
"$bin" record --root "$dir/rec/root" --journal "$dir/rec/journal" -- sh -c 'cd "$1"; echo a > f; mkdir d; mv f d/g' sh "$dir/rec/root"
check "record: the journal holds the shell's calls" '"$bin" journal --journal "$dir/rec/journal" | grep -q "rename .*f -> d/g"'
"$bin" image --journal "$dir/rec/journal" --snapshot "$dir/rec/snap" --model ext4 --out "$dir/rec/img" >/dev/null
check "image: nothing synced, nothing kept under ext4" '[ -d "$dir/rec/img" ] && [ -z "$(ls -A "$dir/rec/img")" ]'

if command -v busybox >/dev/null && ! ldd "$(command -v busybox)" >/dev/null 2>&1; then
    mkdir -p "$dir/st/root"
    "$bin" record --root "$dir/st/root" --journal "$dir/st/journal" -- sh -c 'cd "$1" && busybox touch f' sh "$dir/st/root"
    check "record: an exec of a static binary is flagged" '"$bin" journal --journal "$dir/st/journal" | grep -q "flag .*static binary .*busybox"'
else
    echo "skip the static-binary flag: no static busybox (apt-get install busybox-static)"
fi

# ---- SQLite ----------------------------------------------------------------------------
s="--target sqlite --trials 2 --seconds 0.6 --cuts 2"
crash $s --set journal_mode=WAL --set synchronous=FULL
check "sqlite WAL FULL: nothing lost, integrity ok on every image" '[ $rc = 0 ] && [ "$(get acked_lost_max)" = 0 ] && [ "$(get recovered_ok)" = "$(get images)" ] && [ "$(get held)" = true ]'
crash $s --set journal_mode=WAL --set synchronous=NORMAL
check "sqlite WAL NORMAL: integrity ok on every image" '[ $rc = 0 ] && [ "$(get recovered_ok)" = "$(get images)" ] && [ "$(get held)" = true ]'
crash $s --set journal_mode=TRUNCATE --set synchronous=FULL
check "sqlite TRUNCATE FULL: nothing lost" '[ $rc = 0 ] && [ "$(get acked_lost_max)" = 0 ] && [ "$(get held)" = true ]'

# ---- Redis -----------------------------------------------------------------------------
if command -v redis-server >/dev/null; then
    crash --target redis --set appendfsync=always --trials 1 --seconds 1 --cuts 2
    check "redis always: nothing lost, every image recovers" '[ $rc = 0 ] && [ "$(get acked_lost_max)" = 0 ] && [ "$(get recovered_ok)" = "$(get images)" ] && [ "$(get held)" = true ]'
    crash --target redis --set appendfsync=everysec --trials 1 --seconds 1.5 --cuts 2
    check "redis everysec: within 1 s plus a sync" '[ $rc = 0 ] && [ "$(get held)" = true ]'
    deep="$dir/$(printf 'd%.0s' $(seq 60))/$(printf 'e%.0s' $(seq 60))"
    mkdir -p "$deep"
    crash --target redis --trials 1 --seconds 0.5 --cuts 0 --dir "$deep"
    check "redis: a --dir too deep for a Unix socket's 108 bytes still works" '[ $rc = 0 ] && [ "$(get trials_valid)" = 1 ]'
    check "redis: no redis-server left" '! left'
    # SIGTERM in the middle of a trial: the server goes with fsynclab.
    # Many trials: a kill instant drawn early must not end the run before the TERM.
    "$bin" crash --target redis --trials 1000 --seconds 60 --dir "$dir" >/dev/null 2>&1 &
    fpid=$!
    for _ in $(seq 200); do pgrep -f -- "$dir/.*redis.sock" >/dev/null && break; sleep 0.05; done
    sleep 0.3
    kill -TERM "$fpid"; wait "$fpid"; st=$?
    check "redis: SIGTERM ends fsynclab by the signal (143) and takes redis-server with it" '[ $st = 143 ] && ! left'
    rm -rf "$dir"/fsynclab-rec-*
else
    echo "skip redis: redis-server is not installed (apt-get install redis-server)"
fi

# ---- PostgreSQL ----------------------------------------------------------------------------
# As root it runs as nobody, who may not reach a checkout under a 0700
# directory: then fsynclab names the directory and the fix, and this part is
# skipped with that message.
if [ -x /usr/lib/postgresql/15/bin/postgres ]; then
    crash --target postgres --set synchronous_commit=on --trials 1 --seconds 1 --cuts 1
    if [ $rc != 0 ] && grep -q "nobody cannot reach" "$dir/err"; then
        echo "skip postgres: $(head -1 "$dir/err")"
    else
        check "postgres on: nothing lost, every image recovers" '[ $rc = 0 ] && [ "$(get acked_lost_max)" = 0 ] && [ "$(get recovered_ok)" = "$(get images)" ] && [ "$(get held)" = true ]'
        check "postgres: settings as SHOW reports them" '[ "$(get synchronous_commit)" = "\"on\"" ]'
        crash --target postgres --set synchronous_commit=off --set wal_writer_delay=100ms --trials 1 --seconds 1 --cuts 1
        check "postgres off: within 3 x wal_writer_delay plus a sync" '[ $rc = 0 ] && [ "$(get held)" = true ] && [ "$(get promised_window_ms)" = 300.0 ] && [ "$(get wal_writer_delay)" = "\"100ms\"" ]'
        crash --target postgres --set fsync=maybe --trials 1 --seconds 1
        check "postgres: a value the server refuses: exit 2 with its FATAL line" '[ $rc = 2 ] && grep -q "FATAL: .*parameter \"fsync\" requires a Boolean value" "$dir/err"'
        if [ "$(id -u)" = 0 ]; then
            mkdir -m 0700 "$dir/locked" && mkdir "$dir/locked/in"
            crash --target postgres --trials 1 --seconds 1 --dir "$dir/locked/in"
            check "postgres: nobody cannot reach --dir: the directory and the fix, before initdb" '[ $rc = 1 ] && grep -q "nobody cannot reach $dir/locked (mode 0700).*chmod o+x $dir/locked" "$dir/err" && [ -z "$(ls -A "$dir/locked/in")" ]'
            rmdir "$dir/locked/in" "$dir/locked"
        fi
        mkdir -p "$dir/fakebin" && printf '#!/bin/sh\necho "initdb: error: the disk is full (a fake)" >&2\nexit 1\n' >"$dir/fakebin/initdb" && chmod 755 "$dir/fakebin" "$dir/fakebin/initdb"
        crash --target postgres --set bindir="$dir/fakebin" --trials 1 --seconds 1
        check "postgres: initdb's own error ends the message" '[ $rc = 1 ] && grep -q "initdb -D .*: exit status 1: initdb: error: the disk is full (a fake)" "$dir/err"'
        # Only this test's servers: each works in a data directory under $dir
        # (another run's postgres on the machine is none of this test's business).
        ours_pg() { for p in $(pgrep -u nobody -x postgres); do readlink "/proc/$p/cwd"; done 2>/dev/null | grep -qF -- "$dir"; }
        check "postgres: no postgres process left" '! left && ! ours_pg'
    fi
else
    echo "skip postgres: /usr/lib/postgresql/15/bin/postgres is not installed (apt-get install postgresql)"
fi

check "no trial directory left" '[ -z "$(ls -d "$dir"/fsynclab-rec-* 2>/dev/null)" ]'
[ $fail = 0 ] && rm -rf "$dir"
echo "targets: $pass passed, $fail failed"
[ $fail = 0 ]
