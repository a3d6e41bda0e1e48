#!/usr/bin/env bash
# End-to-end: the recorder is honest.  Small programs (tests/rec_honest.c)
# run under `fsynclab record`; each syncs every byte and every name it makes,
# so the drop image at the end must equal the real tree byte for byte (names,
# contents, modes, link counts), or the image must carry a flag naming what
# the recorder could not see.  Threads and forked processes appending to one
# descriptor run 20 times.  Then `record` and `journal` on bad input: each
# fails with a message, never silently.  About 20 s here.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
prog=$(realpath "$build/rec_honest")
dir=$(realpath -m "${FSYNCLAB_DIR:-$build/scratch}")/e2e-recorder-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "$(head -c 600 "$dir/log" 2>/dev/null)"; fi; }

# run NAME SCENARIO ARGS...: record into $dir/NAME, then its drop image; $flags
# is the image's flag count, $same 1 when the image equals the tree.
run() {
    local name=$1 d=$dir/$1
    shift
    rm -rf "$d"
    mkdir -p "$d/root" "$d/snap"
    same=0 flags=-1
    "$bin" record --root "$d/root" --journal "$d/journal" -- "$prog" "$d/root" "$@" >"$dir/log" 2>&1 || return 1
    "$bin" image --journal "$d/journal" --snapshot "$d/snap" --out "$d/img" --model drop >"$d/image.out" 2>>"$dir/log" || return 1
    flags=$(sed -n 's/.* \([0-9]*\) flags$/\1/p' "$d/image.out")
    (cd "$d/root" && find . -printf '%P %y %m %n %s\n' | sort) >"$d/tree.list"
    (cd "$d/img" && find . -printf '%P %y %m %n %s\n' | sort) >"$d/img.list"
    if diff -r --no-dereference "$d/root" "$d/img" >>"$dir/log" 2>&1 && diff "$d/tree.list" "$d/img.list" >>"$dir/log"; then
        same=1
    fi
    return 0
}
content() { cat "$dir/$1/img/$2" 2>/dev/null; }

# ---- findings 1, 2, 5: shared O_APPEND offsets, pwrite/RWF_APPEND, mappings ----------
good=0
for i in $(seq 1 20); do
    run append append 2 2 150 && [ "$same" = 1 ] && [ "$flags" = 0 ] && good=$((good+1))
done
check "threads and forked processes appending, pwrite on O_APPEND, RWF_APPEND, stores unmapped before another fd syncs: image = tree in $good of 20 runs" '[ $good = 20 ]'

# The contract of finding 1: two threads append, fdatasync, acknowledge: correct, so held.
py=$(command -v /usr/bin/python3 || command -v python3)   # Debian's, not a slow version-manager shim
if [ -n "$py" ]; then
    out=$("$bin" crash --json --dir "$dir" --seed 3 --target contract --trials 2 --seconds 2 --cuts 2 \
        --run "$py $(realpath tests/helpers/two_appenders.py)" --check 'cat "$FSYNCLAB_DATA/log"' 2>"$dir/log")
    rc=$?
    get() { sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p" <<<"$out"; }
    echo "$out" >"$dir/log"
    check "a contract whose two threads append, fdatasync and acknowledge holds under drop" \
        '[ $rc = 0 ] && [ "$(get acked_lost_max)" = 0 ] && [ "$(get held)" = true ]'
else
    echo "skip the two-thread contract: no python3"
fi

# ---- finding 4: a mapping larger than its file ----------------------------------------
run mapbig mapbig
check "a 64 KiB mapping of a 4 KiB file, synced: the journal stays whole, image = tree" \
    '[ "$same" = 1 ] && [ "$flags" = 0 ] && [ "$(content mapbig after.txt)" = "made after the mapping" ]'

# ---- finding 6: syncfs of another file system is no sync of the root --------------------
run syncfs syncfs
check "syncfs() of /proc does not make the root's unsynced write durable" \
    '[ "$(content syncfs f)" = synced ] && [ "$(cat "$dir/syncfs/root/f")" = "synced and not" ]'

# ---- finding 7: close_range / closefrom spare the journal -------------------------------
run closerange closerange
check "close_range and closefrom: calls after them are still journaled" \
    '[ "$same" = 1 ] && [ "$(content closerange after.txt)" = "written after close_range" ]'

# ---- finding 8: an fd closed by closedir, reused by memfd_create -----------------------
run stale stale
check "a directory fd closed by closedir and reused: its fsync is not the directory's" \
    '[ -f "$dir/stale/root/x" ] && [ ! -e "$dir/stale/img/x" ]'

# ---- finding 9: dprintf, sendfile, splice, copy_file_range, mkstemp are recorded ----------
run escape escape
check "dprintf, sendfile, splice, copy_file_range and mkstemp: image = tree" '[ "$same" = 1 ] && [ "$flags" = 0 ]'
run rawcalls rawcalls
check "syscall(SYS_pwritev2) and syscall(SYS_openat2): flagged, not silently lost" \
    '[ "$same" = 0 ] && [ "$flags" -ge 2 ] && "$bin" journal --journal "$dir/rawcalls/journal" | grep -q "raw syscall"'

# ---- finding 3: fallocate modes ---------------------------------------------------------
run fallocate fallocate
check "fallocate ZERO_RANGE, PUNCH_HOLE, COLLAPSE_RANGE, INSERT_RANGE: image = tree" '[ "$same" = 1 ]'

# ---- finding 15: modes, hard links, O_TMPFILE --------------------------------------------
run names names
check "modes, chmod, fchmod, a hard link, a symbolic link, printf into a redirected stdout: image = tree" '[ "$same" = 1 ]'
check "O_TMPFILE's flag names its directory" \
    '"$bin" journal --journal "$dir/names/journal" | grep -q "O_TMPFILE in the root directory"'

# ---- issue 19 item 5: record and journal fail loudly -------------------------------------
"$bin" record --root /nonexistent --journal "$dir/j1" -- true >"$dir/log" 2>&1
rc=$?
check "record --root /nonexistent: exit 2 naming it" '[ $rc = 2 ] && grep -q "/nonexistent" "$dir/log"'

mkdir -p "$dir/ro"
if unshare -m true 2>/dev/null; then
    unshare -m sh -c 'mount --bind -o ro "$1" "$1" && exec "$2" record --root "$3" --journal "$1/j" -- true' \
        sh "$dir/ro" "$bin" "$dir" >"$dir/log" 2>&1
    rc=$?
    check "record --journal on a read-only file system: an error, not exit 0" \
        '[ $rc = 1 ] && grep -q "Read-only file system" "$dir/log"'
else
    echo "skip record --journal on a read-only file system: unshare -m is not permitted here"
fi
"$bin" record --root "$dir" --journal /proc/version/j -- true >"$dir/log" 2>&1
rc=$?
check "record --journal that cannot be created: an error" '[ $rc = 1 ] && grep -q "/proc/version/j" "$dir/log"'

if [ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static; then
    "$bin" record --root "$dir" --journal "$dir/jb" -- /bin/busybox true >"$dir/log" 2>&1
    rc=$?
    check "record of a static binary: a warning, and a journal with the flag" \
        '[ $rc = 0 ] && grep -q "static binary" "$dir/log" && "$bin" journal --journal "$dir/jb" | grep -q "flag .*static binary"'
else
    echo "skip record of a static binary: no static /bin/busybox here"
fi

printf '#!/bin/sh\necho hello\n' >"$dir/script.sh"
"$bin" journal --journal "$dir/script.sh" >"$dir/log" 2>&1
rc=$?
check "journal on a shell script: not a journal" '[ $rc = 1 ] && grep -q "is not a journal" "$dir/log"'
"$bin" journal --journal "$dir" >"$dir/log" 2>&1
rc=$?
check "journal on a directory: not a journal" '[ $rc = 1 ] && grep -q "not a regular file" "$dir/log"'
"$bin" record --root "$dir" --journal "$dir/script.sh" -- true >"$dir/log" 2>&1
rc=$?
check "record --journal onto a file that is not a journal: refused, file kept" \
    '[ $rc = 2 ] && grep -q "not a journal" "$dir/log" && grep -q hello "$dir/script.sh"'

echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && rm -rf "$dir"
[ "$fail" = 0 ]
