#!/usr/bin/env bash
# End-to-end `fsynclab explore` on tests/rec_seeded.c, a store with three
# seeded durability bugs (no fsync of the file; no fsync of the directory
# after creating a file; a rename over the old file before the new file's
# data is synced) and its correct version: each bug found on every run under
# drop with the right operation, path and call site named and nothing else;
# the correct program clean; the directory bug clean under ext4 (a file's
# fsync commits its name there).  Each seeded bug is the correct program
# with one sync removed: the mutation that proves the detector.  Then the
# bounds (--max-points, --max-states) named in the output, the usage errors,
# a run that does not end by itself, and that nothing is left running.
# About 40 s here.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
seeded=$(realpath "$build/rec_seeded")
dir=$(realpath -m "${FSYNCLAB_DIR:-$build/scratch}")/e2e-explore-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${out:0:900} $(head -c 400 "$dir/err")"; fi; }
# explore BUG ARGS...: one JSON result of the seeded store in out, the status in rc.
explore() {
    local bug=$1
    shift
    out=$("$bin" explore --json --dir "$dir" --ops 4 --run "$seeded run $bug \$FSYNCLAB_OPS" \
          --check "$seeded check" "$@" 2>"$dir/err")
    rc=$?
}
# The vulnerabilities as "kind|operation|path|call site" lines, and a field.
vulns() { python3 -c 'import json,sys
for v in json.load(sys.stdin)["vulnerabilities"]:
    print("|".join([v["kind"], v["operation"], v["path"], v["call_site"]]))' <<<"$out" 2>/dev/null; }
field() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[sys.argv[1]]))' "$1" <<<"$out" 2>/dev/null; }
# one_vuln KIND OP PATH FUNCTION: exactly that vulnerability, named in rec_seeded.c.
one_vuln() {
    local v
    v=$(vulns)
    [ "$(wc -l <<<"$v")" = 1 ] && [[ $v == "$1|$2|$3|$4 (rec_seeded.c:"[0-9]*")" ]]
}
left() { pgrep -f -- "$dir" >/dev/null; }

for round in 1 2; do
    explore file-fsync
    check "drop, run $round: no fsync of the file: write(log) in log_append named, held false, exit 3" \
        '[ $rc = 3 ] && [ "$(field held)" = false ] && one_vuln file-fsync write log log_append'
    explore dir-fsync
    check "drop, run $round: no fsync of the directory: create(k*) in file_create named" \
        '[ $rc = 3 ] && [ "$(field held)" = false ] && one_vuln dir-fsync create "k*" file_create'
    explore rename-data
    check "drop, run $round: rename before the data is synced: write(state.tmp) in state_replace named" \
        '[ $rc = 3 ] && [ "$(field held)" = false ] && one_vuln rename-data write state.tmp state_replace'
    explore none
    check "drop, run $round: the correct program: no vulnerability, held true, exit 0" \
        '[ $rc = 0 ] && [ "$(field held)" = true ] && [ -z "$(vulns)" ] && [ "$(field states_checked)" -gt 0 ]'
done
check "--json: each key once (version, command_line and timestamp not repeated)" \
    'python3 -c "import json,sys
def once(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)
json.loads(sys.stdin.read(), object_pairs_hook=once)" <<<"$out"'
check "every ack placed where the program gave it (its journaled ack line), none where fsynclab read it" \
    '[ "$(field acks)" = 4 ] && [ "$(field acks_journaled)" = 4 ]'
check "the counts: points, states generated >= distinct = checked" \
    '[ "$(field points)" -gt 4 ] && [ "$(field points)" = "$(field points_total)" ] &&
     [ "$(field states_generated)" -ge "$(field states_distinct)" ] &&
     [ "$(field states_distinct)" = "$(field states_checked)" ] && [ "$(field states_cut)" = 0 ]'
explore dir-fsync --model ext4
check "ext4: the directory bug is clean (a file's fsync commits its name)" \
    '[ $rc = 0 ] && [ "$(field held)" = true ] && [ -z "$(vulns)" ]'
explore none --model ext4
check "ext4: the correct program clean" '[ $rc = 0 ] && [ -z "$(vulns)" ]'
explore file-fsync --no-fail
check "--no-fail: exit 0 with held false" '[ $rc = 0 ] && [ "$(field held)" = false ]'

# ---- SQLite: the journal modes' documented behaviour -------------------------------------
# sq MODE SYNC: one explore of the sqlite target, 6 commits.
sq() { out=$("$bin" explore --json --dir "$dir" --target sqlite --set journal_mode=$1 --set synchronous=$2 --ops 6 \
             2>"$dir/err"); rc=$?; }
sq DELETE FULL
check "sqlite DELETE+FULL: exactly the journal unlink without a directory sync" \
    '[ $rc = 3 ] && [ "$(field held)" = false ] && [ "$(vulns | cut -d"|" -f1-3)" = "dir-fsync|unlink|db.sqlite-journal" ] &&
     [[ "$(vulns | cut -d"|" -f4)" == *libsqlite3* ]]'
sq DELETE EXTRA
check "sqlite DELETE+EXTRA (the directory synced after the unlink): none" \
    '[ $rc = 0 ] && [ "$(field held)" = true ] && [ -z "$(vulns)" ] && [ "$(field states_unrecovered)" = 0 ]'
sq WAL FULL
check "sqlite WAL+FULL: none" '[ $rc = 0 ] && [ "$(field held)" = true ] && [ -z "$(vulns)" ]'
sq WAL NORMAL
check "sqlite WAL+NORMAL: the commit acknowledged before the WAL is synced, allowed; integrity ok on every state" \
    '[ $rc = 0 ] && [ "$(field held)" = true ] && [ "$(vulns | cut -d"|" -f1-3)" = "file-fsync|write|db.sqlite-wal" ] &&
     [ "$(field states_unrecovered)" = 0 ] && grep -q "\"breaks_promise\": *false" <<<"$out"'

# ---- Redis: always none, everysec the write acknowledged before its fdatasync -----------
if command -v redis-server >/dev/null; then
    out=$("$bin" explore --json --dir "$dir" --target redis --set appendfsync=always --ops 8 2>"$dir/err"); rc=$?
    check "redis appendfsync=always: none" '[ $rc = 0 ] && [ "$(field held)" = true ] && [ -z "$(vulns)" ]'
    out=$("$bin" explore --json --dir "$dir" --target redis --set appendfsync=everysec --ops 8 2>"$dir/err"); rc=$?
    # The vulnerability is Redis's; whether its window stays within the
    # promised second is the machine's (under load the AOF's fdatasync lags,
    # and Redis lets it, up to 2 s): held true (exit 0) only with the loss
    # within the promise, held false (exit 3) only with it broken.  In a
    # few runs in a hundred, Redis's first write schedules a background
    # fsync and the next SETs are acknowledged while their AOF write waits
    # behind it: then even the state with every operation kept lacks them,
    # and explore says process-crash, with that state as its example.
    check "redis everysec: the AOF write acknowledged before its fdatasync (or before the write itself); the verdict agrees with its window" \
        '[ "$(field states_unrecovered)" = 0 ] &&
         { [[ "$(vulns)" == "file-fsync|write|appendonlydir/appendonly.aof.*.incr.aof|"* ]] ||
           { [[ "$(vulns)" == "process-crash|-|-|-"* ]] &&
             grep -q "\"example\": \"point [0-9]* of [0-9]*, after [0-9]* acks\?: the state with every operation kept lost" <<<"$out"; }; } &&
         { { [ $rc = 0 ] && [ "$(field held)" = true ] && grep -q "\"breaks_promise\": *false" <<<"$out"; } ||
           { [ $rc = 3 ] && [ "$(field held)" = false ] && grep -q "\"breaks_promise\": *true" <<<"$out"; }; }'
else
    echo "skip redis: no redis-server (apt-get install redis-server)"
fi

# ---- the bounds are named, never silent -------------------------------------------------
explore file-fsync --max-points 3
check "--max-points 3: 3 points of more, the choice said" \
    '[ "$(field points)" = 3 ] && [ "$(field points_total)" -gt 3 ] && [ "$(field points_choice)" != null ]'
explore none --max-states 5
check "--max-states 5: the states not generated are counted and warned about" \
    '[ "$(field states_cut)" -gt 0 ] && [ "$(field states_generated)" -le 5 ] && grep -q "not generated" "$dir/err"'
out=$("$bin" explore --dir "$dir" --ops 4 --run "$seeded run file-fsync \$FSYNCLAB_OPS" --check "$seeded check" 2>"$dir/err")
check "the table names the vulnerability, its call site and the fix" \
    'grep -q "^file-fsync .*log .*log_append (rec_seeded.c:" <<<"$out" && grep -q "fix: fsync or fdatasync" <<<"$out" &&
     grep -q "^held          false" <<<"$out"'

# ---- refusals ------------------------------------------------------------------------------
explore none --model torn
check "--model torn: exit 2, drop or ext4 named" '[ $rc = 2 ] && grep -q "drop or ext4" "$dir/err"'
out=$("$bin" explore --dir "$dir" --target postgres 2>"$dir/err"); rc=$?
check "--target postgres: exit 2, the targets explore takes named" '[ $rc = 2 ] && grep -q "explore takes contract, sqlite, redis, rocksdb and lmdb" "$dir/err"'
out=$("$bin" explore --dir "$dir" --ops 0 --run true --check true 2>"$dir/err"); rc=$?
check "--ops 0: exit 2 naming the range" '[ $rc = 2 ] && grep -q -- "--ops must be a whole number from 1" "$dir/err"'
out=$("$bin" explore --dir "$dir" --ops 2 --seconds 1 --run 'echo ack 1; exec sleep 30' --check true 2>"$dir/err"); rc=$?
check "a run that does not end by itself: exit 1, said, and killed" \
    '[ $rc = 1 ] && grep -q "did not end by itself" "$dir/err" && ! left'
out=$("$bin" explore --dir "$dir" --ops 2 --run 'exit 4' --check true 2>"$dir/err"); rc=$?
check "a run that fails: exit 1 with its status" '[ $rc = 1 ] && grep -q "exit status 4" "$dir/err"'
out=$("$bin" explore --json --dir "$dir" --ops 3 --run 'for i in $(seq $FSYNCLAB_OPS); do echo "ack $i"; done' \
      --check true 2>"$dir/err"); rc=$?
check "a run that writes nothing: held null with the reason, no vulnerability" \
    '[ $rc = 0 ] && [ "$(field held)" = null ] && grep -q "wrote and synced nothing" <<<"$out" && [ -z "$(vulns)" ]'
check "nothing left running, no run directory left" '! left && [ -z "$(ls -A "$dir" | grep fsynclab-rec)" ]'

rm -rf "$dir"
echo "explore: $pass passed, $fail failed"
[ "$fail" = 0 ]
