#!/usr/bin/env bash
# End-to-end `fsynclab explore` on the rocksdb and lmdb targets, whose
# workers end by themselves after --ops acknowledgements: the durable
# settings (rocksdb sync=true, lmdb default) explored at every point with no
# vulnerability; the unsynced ones (rocksdb sync=false, lmdb MDB_NOSYNC and
# MDB_NOMETASYNC) show the write acknowledged before its sync, laid on the
# WAL or data file, as their promise allows.  The unsynced settings are the
# mutation that proves the durable ones' "none" could have failed.  A store
# whose worker was not built is skipped with the reason.  About 15 s here.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/db.sh e2e-explore-db
# xp TARGET ARGS...: one JSON result in out, the status in rc.
xp() { local t=$1; shift; out=$("$bin" explore --json --dir "$dir" --target "$t" "$@" 2>"$dir/err"); rc=$?; }
# The vulnerabilities as "kind|operation|path|breaks_promise" lines, and a field.
vulns() { python3 -c 'import json,sys
for v in json.load(sys.stdin)["vulnerabilities"]:
    print("|".join([v["kind"], v["operation"], v["path"], str(v["breaks_promise"]).lower()]))' <<<"$out" 2>/dev/null; }
field() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[sys.argv[1]]))' "$1" <<<"$out" 2>/dev/null; }
left() { pgrep -f -- "$dir" >/dev/null; }

if worker rocksdb librocksdb-dev; then
    xp rocksdb --set sync=true --ops 6
    check "rocksdb sync=true: every point explored, no vulnerability, held true, exit 0" \
        '[ $rc = 0 ] && [ "$(field held)" = true ] && [ -z "$(vulns)" ] && [ "$(field acks)" = 6 ] &&
         [ "$(field states_checked)" -gt 6 ] && [ "$(field states_unrecovered)" = 0 ]'
    xp rocksdb --set sync=false --ops 6
    check "rocksdb sync=false: the WAL write acknowledged before its sync, allowed by the promise, every state recovers" \
        '[ $rc = 0 ] && [ "$(vulns)" = "file-fsync|write|db/******.log|false" ] && [ "$(field states_unrecovered)" = 0 ]'
fi

if worker lmdb liblmdb-dev; then
    xp lmdb --ops 6
    check "lmdb default: every point explored, no vulnerability, held true, exit 0" \
        '[ $rc = 0 ] && [ "$(field held)" = true ] && [ -z "$(vulns)" ] && [ "$(field acks)" = 6 ] &&
         [ "$(field states_checked)" -gt 6 ] && [ "$(field states_unrecovered)" = 0 ]'
    xp lmdb --set flags=MDB_NOMETASYNC --ops 6
    check "lmdb MDB_NOMETASYNC: the last commit undone, allowed (integrity kept), held true" \
        '[ $rc = 0 ] && [ "$(field held)" = true ] && [ "$(vulns)" = "file-fsync|write|db/data.mdb|false" ] &&
         [ "$(field states_unrecovered)" = 0 ]'
    xp lmdb --set flags=MDB_NOSYNC --ops 6
    # MDB_NOSYNC: "a system crash can corrupt the database or lose the last
    # transactions": losses allowed; states that do not open are counted
    # (exit 3, as for any state that fails to recover) and no verdict.
    check "lmdb MDB_NOSYNC: the lost commits allowed, the states that do not open named, held null, exit 3" \
        '[ $rc = 3 ] && [ "$(field held)" = null ] && grep -qx "file-fsync|write|db/data.mdb|false" <<<"$(vulns)" &&
         [ "$(field states_unrecovered)" -gt 0 ]'
fi
check "nothing left running, no run directory left" '! left && [ -z "$(ls -A "$dir" | grep fsynclab-rec)" ]'

rm -rf "$dir"
echo "explore_db: $pass passed, $fail failed"
[ "$fail" = 0 ]
