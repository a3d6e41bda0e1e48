#!/usr/bin/env bash
# PostgreSQL in the crash --vm guest (issue 23): `crash --vm --target
# postgres` runs the server from the host's root as nobody on the guest's
# real ext4, drives INSERTs through psql on a Unix socket, cuts the power,
# and recovers every image with the server itself.  With
# synchronous_commit=on no acknowledged row may be lost on any image, and
# every image must recover (a server that will not start is a failed
# check); with off the run must still run and report (how much it may lose
# is judged elsewhere).  A bad setting is refused before any boot (exit 2).
# No server and no check directory may be left on the host.
#
# One trial a setting, on recorded in the guest (its journal on the 9p
# share, written by every server process: the models must agree with the
# kernel), off not (FSYNCLAB_VM_RECORD=0): a minute or two a trial under TCG.  Needs the guest kit ($BUILD/vm, `make vm`),
# qemu-system-x86_64 and PostgreSQL 15; without them it says why and skips.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin="$build/fsynclab"
kit=${FSYNCLAB_VM_KIT:-$build/vm}
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-vm-pg-$$
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "vm_targets_pg: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

skip=""
if ! command -v qemu-system-x86_64 >/dev/null; then
  skip="qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
elif [ ! -f "$kit/vmlinux" ] || [ ! -f "$kit/initramfs.cpio" ] || [ ! -f "$kit/base.img" ]; then
  skip="no guest kit in $kit (run \`make vm${BUILD:+ BUILD=$build}\` first)"
elif [ ! -x "$bin" ]; then
  skip="$bin is not built (make all)"
elif [ ! -x /usr/lib/postgresql/15/bin/postgres ] || ! command -v psql >/dev/null; then
  skip="PostgreSQL 15 is not installed (apt-get install postgresql)"
fi
if [ -n "$skip" ]; then
  echo "SKIP vm_targets_pg: $skip"
  finish
fi
mkdir -p "$dir"
export FSYNCLAB_VM_KIT=$kit FSYNCLAB_VM_ACCEL=tcg FSYNCLAB_VM_RECORD=0
one() { grep -o "\"$1\": [^,}]*" <<<"$json" | head -n1 | sed 's/.*: //'; }
before_pg=$(pgrep -u nobody -c -f "postgres --single" || true)
before_tmp=$(ls -d /tmp/fsl-pgcheck.* /tmp/fsynclab-pginit.* 2>/dev/null | wc -l)

"$bin" crash --vm --target postgres --set synchronous_commit=sometimes --dir "$dir" \
  >"$dir/usage.out" 2>&1
rc=$?
check "a bad synchronous_commit is refused before any boot (exit 2, names the setting)" \
  '[ $rc -eq 2 ] && grep -q synchronous_commit "$dir/usage.out"'

# pg SETTING SEED ENV: one trial (--no-fail); $json the body, $rc the status.
pg() {
  json=$(env $3 "$bin" crash --vm --target postgres --set synchronous_commit="$1" --trials 1 \
    --seed "$2" --dir "$dir" --no-fail --json 2>"$dir/$1.err"); rc=$?
  echo "$json" >"$dir/$1.json"
}

pg on 23 -uFSYNCLAB_VM_RECORD
check "synchronous_commit=on: the trial ran, its images were checked and acks were read" \
  '[ $rc -eq 0 ] && [ "$(one trials)" = 1 ] && [ "$(one images)" -ge 1 ] &&
   [ "$(one acked_total)" -gt 0 ] || { cat "$dir/on.err"; echo "$json"; false; }'
check "synchronous_commit=on: every image mounted, passed e2fsck and recovered (check 0)" \
  '[ "$(one fsck_failed)" = 0 ] && [ "$(one check_failed)" = 0 ]'
check "synchronous_commit=on loses no acknowledged row on any image" \
  '[ "$(one acked_lost_total)" = 0 ] || { echo "$json"; false; }'
check "the result names the target" 'grep -q "\"target\": \"postgres\"" <<<"$json"'
check "synchronous_commit=on: held true against its promise of no loss" \
  '[ "$(one held)" = true ] || { echo "$json"; false; }'
# rec KEY...: a field of the "recorder" object (dotted for drop. and ext4.)
rec() { python3 -c 'import json,sys; r=json.loads(sys.argv[1])["recorder"] or {}
for k in sys.argv[2].split("."): r=r.get(k, {}) if isinstance(r, dict) else {}
print(r)' "$json" "$1"; }
check "synchronous_commit=on recorded in the guest: a whole journal (no flag, no torn bytes)" \
  '[ "$(rec trials_recorded)" = 1 ] && [ "$(rec journal_flags)" = 0 ] || { echo "$json"; false; }'
agrees() { [ "$(rec $1.predicted_lost_total)" = 0 ] && [ "$(rec $1.images_optimistic)" = 0 ] &&
  [ "$(rec $1.images_pessimistic)" = 0 ]; }
check "... and drop and ext4 predict what the kernel kept: nothing lost, neither optimistic nor pessimistic" \
  'agrees drop && agrees ext4 || { echo "$json"; false; }'

pg off 24 FSYNCLAB_VM_RECORD=0
check "synchronous_commit=off: the trial runs and reports its images and acks" \
  '[ $rc -eq 0 ] && [ "$(one trials)" = 1 ] && [ "$(one images)" -ge 1 ] &&
   [ "$(one acked_total)" -gt 0 ] && [ -n "$(one acked_lost_total)" ] ||
   { cat "$dir/off.err"; echo "$json"; false; }'
check "synchronous_commit=off: every image still recovers (a lost commit, not a broken cluster)" \
  '[ "$(one check_failed)" = 0 ] && [ "$(one fsck_failed)" = 0 ]'

after_pg=$(pgrep -u nobody -c -f "postgres --single" || true)
after_tmp=$(ls -d /tmp/fsl-pgcheck.* /tmp/fsynclab-pginit.* 2>/dev/null | wc -l)
check "no QEMU, server or check directory is left" \
  '! pgrep -f "qemu-system-x86_64.*$dir" >/dev/null && [ "$after_pg" -le "$before_pg" ] &&
   [ "$after_tmp" -le "$before_tmp" ] && [ -z "$(ls -A "$dir" | grep -v "\.\(json\|err\|out\)$")" ]'
rm -rf "$dir"
finish
