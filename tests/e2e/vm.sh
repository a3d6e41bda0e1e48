#!/usr/bin/env bash
# End-to-end test of the real-kernel crash trials (vm/, docs/ground-truth.md):
# a short run in QEMU, 2 trials a strategy.  always and group must lose no
# acknowledged entry on any image, and the negative control, none (which
# acknowledges without syncing), must lose: the detector is shown able to
# fire on the same machinery.  No QEMU and no scratch file may be left,
# also after a SIGTERM in the middle of a trial.
#
# Needs the guest kit ($BUILD/vm, `make vm`) and qemu-system-x86_64; without
# them it says why and skips.  `make check` never builds the kit (slow).
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin="$build/fsynclab crash --vm"
kit=${FSYNCLAB_VM_KIT:-$build/vm}
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-vm-$$
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "vm: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

skip=""
if ! command -v qemu-system-x86_64 >/dev/null; then
  skip="qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
elif [ ! -f "$kit/vmlinux" ] || [ ! -f "$kit/initramfs.cpio" ] || [ ! -f "$kit/base.img" ]; then
  skip="no guest kit in $kit (run \`make vm${BUILD:+ BUILD=$build}\` first)"
elif [ ! -x "$build/fsynclab" ]; then
  skip="$build/fsynclab is not built"
fi
if [ -n "$skip" ]; then
  echo "SKIP vm: $skip"
  finish
fi
mkdir -p "$dir"
export FSYNCLAB_VM_KIT=$kit FSYNCLAB_VM_ACCEL=tcg

# The field $2 of strategy $1's object in a one-line JSON body.
field() { sed 's/}, {/\n/g' <<<"$json" | grep "\"strategy\": \"$1\"" |
          grep -o "\"$2\": [^,}]*" | head -n1 | sed 's/.*: //'; }
leftovers() { pgrep -f "qemu-system-x86_64.*$dir" >/dev/null && echo qemu; ls "$dir" | grep -q . && echo files; }

start=$(date +%s)
json=$($bin --strategies always,group,none --writers 2 --trials 2 \
  --dir "$dir" --json 2>"$dir.err"); rc=$?
echo "   (2 trials a strategy in $(( $(date +%s) - start )) s)"
check "crash --vm runs and prints a crash_test_ok body" \
  '[ $rc -eq 0 ] && [[ "$json" == "{\"type\": \"crash_test_ok\""* ]] || { cat "$dir.err"; false; }'
check "the environment says which accelerator ran" 'grep -q "\"accel\": \"tcg\"" <<<"$json"'
for s in always group; do
  check "$s: 2 trials, at least 3 images, acks seen" \
    '[ "$(field $s trials)" = 2 ] && [ "$(field $s images)" -ge 3 ] && [ "$(field $s acked_total)" -gt 0 ]'
  check "$s: no acknowledged entry lost on any image" \
    '[ "$(field $s acked_lost_max)" = 0 ] && [ "$(field $s held)" = true ]'
  check "$s: every image passed e2fsck, the model was never optimistic" \
    '[ "$(field $s fsck_failed)" = 0 ] && [ "$(field $s model_optimistic)" = 0 ]'
done
check "none (acknowledges without syncing) loses acknowledged entries" \
  '[ "$(field none acked_lost_total)" -gt 0 ] && [ "$(field none held)" = null ]'
check "no QEMU and no scratch file left" '[ -z "$(leftovers)" ]'

# XFS and Btrfs (--fs): their images go to a check boot (the guest mounts
# each, replaying the log, then xfs_repair -n / btrfs check on the host).
for fs in xfs btrfs; do
  json=$($bin --fs $fs --strategies always,none --trials 1 --seed 11 --dir "$dir" --json \
    2>"$dir.err"); rc=$?
  check "$fs: crash --vm --fs $fs runs and the JSON names the file system" \
    '[ $rc -eq 0 ] && grep -q "\"fs\": \"$fs\"" <<<"$json" || { cat "$dir.err"; false; }'
  check "$fs: always loses nothing, every image mounted and passed the check" \
    '[ "$(field always acked_lost_max)" = 0 ] && [ "$(field always images)" -ge 2 ] &&
     [ "$(field always fsck_failed)" = 0 ] && [ "$(field always model_optimistic)" = 0 ]'
  check "$fs: none (no sync) loses acknowledged entries" '[ "$(field none acked_lost_total)" -gt 0 ]'
done
check "no QEMU and no scratch file left after the check boots" '[ -z "$(leftovers)" ]'
out=$($bin --fs xfs --mount-opts bogus_option --strategies always --trials 1 --dir "$dir" 2>&1); rc=$?
check "a mount option the kernel refuses: exit 1 naming the mount" \
  '[ $rc -eq 1 ] && grep -q "mount -t xfs -o bogus_option" <<<"$out"'
out=$($bin --fs zfs 2>&1); rc=$?
check "--fs zfs: exit 2 naming the file systems there are" '[ $rc -eq 2 ] && grep -q "ext4, xfs, btrfs" <<<"$out"'
out=$(build/fsynclab crash --fs xfs 2>&1); rc=$?
check "--fs without --vm: exit 2" '[ $rc -eq 2 ] && grep -q "need --vm" <<<"$out"'

# Programs in the guest, on ext4: the built-in --target sqlite (its worker
# from the host's build over virtio-9p), and --target contract with
# SQLite's own shell from the host's root.  synchronous=EXTRA must lose no
# acknowledged row on any image (FULL may: in DELETE mode the journal's
# deletion is not synced, docs/ground-truth.md); synchronous=OFF (no fsync
# at all), cut within 1.5 s, before ext4's 5 s commit, is the negative
# control.  The check finds nothing (and succeeds) when the table is not
# there yet; a damaged database still fails it.
sqlite_run() {
  echo "i=0; { echo \"PRAGMA journal_mode=DELETE; PRAGMA synchronous=$1; CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY);\"; while :; do i=\$((i+1)); echo \"INSERT INTO t VALUES('k\$i'); SELECT 'ack k\$i';\"; done; } | stdbuf -oL sqlite3 db"
}
sqlite_check='[ -s db ] || exit 0; names=$(sqlite3 db "SELECT name FROM sqlite_master") || exit 1
  echo "$names" | grep -qx t || exit 0; sqlite3 db "SELECT k FROM t"'
# The fields of a crash_vm_target_ok body: the top level, the recorder's,
# a model's.
one() { grep -o "\"$1\": [^,}]*" <<<"$json" | head -n1 | sed 's/.*: //'; }
rec() { grep -o "\"recorder\": {.*" <<<"$json" | grep -o "\"$1\": [^,}]*" | head -n1 | sed 's/.*: //'; }
model() { grep -o "\"$1\": {[^}]*}" <<<"$json" | grep -o "\"$2\": [^,}]*" | sed 's/.*: //'; }
if command -v sqlite3 >/dev/null && command -v stdbuf >/dev/null; then
  # The built-in target (--target sqlite): fsynclab-sqlite-worker from the
  # host's build, over virtio-9p, with crash --target's settings.
  start=$(date +%s)
  json=$($bin --target sqlite --set journal_mode=DELETE --set synchronous=EXTRA --trials 1 \
    --seed 5 --dir "$dir" --json 2>"$dir.err"); rc=$?
  echo "   (a SQLite trial and its check boot in $(( $(date +%s) - start )) s)"
  check "--target sqlite EXTRA in the guest: a crash_vm_target_ok body naming sqlite, the memory and the root" \
    '[ $rc -eq 0 ] && grep -q "\"type\": \"crash_vm_target_ok\", \"target\": \"sqlite\"" <<<"$json" &&
     grep -q "\"memory_mib\": 512" <<<"$json" && grep -q "virtio-9p" <<<"$json" || { cat "$dir.err"; false; }'
  check "--target sqlite EXTRA: rows acknowledged, none lost, every image passed e2fsck and the check" \
    '[ "$(one acked_total)" -gt 0 ] && [ "$(one acked_lost_max)" = 0 ] &&
     [ "$(one fsck_failed)" = 0 ] && [ "$(one check_failed)" = 0 ]'
  check "--target sqlite EXTRA: judged against FULL's promise of 0 ms, it held (no loss window)" \
    '[ "$(one promised_window_ms)" = 0.0 ] && [ "$(one held)" = true ] &&
     [ "$(one loss_window_ms_max)" = 0.0 ] && [ "$(one held_reason)" = null ] || { echo "$json"; false; }'
  check "--target sqlite EXTRA: recorded in the guest, the images at the kill judged by drop and ext4, neither optimistic" \
    '[ "$(rec images_compared)" -ge 1 ] && [ "$(model ext4 images_optimistic)" = 0 ] &&
     [ "$(model drop images_optimistic)" = 0 ] && [ "$(model ext4 check_failed)" = 0 ] || { echo "$json"; false; }'
  # The verdict's mutation: a contract promises 0 ms unless told, and
  # sqlite OFF breaks it; held false, exit 3 (the JSON still printed).
  json=$($bin --target contract --run "$(sqlite_run OFF)" --check "$sqlite_check" --trials 1 \
    --seed 5 --dir "$dir" --json 2>"$dir.err"); rc=$?
  check "sqlite OFF (never syncs) loses acknowledged rows on the real kernel" \
    '[ "$(one acked_lost_total)" -gt 0 ] || { cat "$dir.err"; false; }'
  check "sqlite OFF as a contract promising 0 ms: held false with the reason, exit 3" \
    '[ $rc -eq 3 ] && [ "$(one promised_window_ms)" = 0.0 ] && [ "$(one held)" = false ] &&
     grep -q "\"held_reason\": \"[0-9]* images* lost acknowledged keys" <<<"$json" || { echo "rc $rc $json"; false; }'
  check "sqlite OFF: the recorder's drop model predicts losses too, and is never optimistic" \
    '[ "$(model drop predicted_lost_total)" -gt 0 ] && [ "$(model drop images_optimistic)" = 0 ] || { echo "$json"; false; }'
  check "no QEMU and no scratch file left after the program trials" '[ -z "$(leftovers)" ]'
else
  echo "SKIP sqlite in the guest: sqlite3 or stdbuf is not installed (apt-get install sqlite3 coreutils)"
fi
# Redis (--target redis) with appendfsync always: nothing acknowledged lost.
# Its check starts a redis-server on each image (in the guest, and on the
# host for the models' images): none may be left behind.
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  start=$(date +%s)
  json=$($bin --target redis --set appendfsync=always --trials 1 --seed 5 --dir "$dir" --json \
    2>"$dir.err"); rc=$?
  echo "   (a Redis trial and its check boot in $(( $(date +%s) - start )) s)"
  check "--target redis always in the guest: keys acknowledged, none lost, every image checked" \
    '[ $rc -eq 0 ] && grep -q "\"target\": \"redis\"" <<<"$json" && [ "$(one acked_total)" -gt 0 ] &&
     [ "$(one acked_lost_max)" = 0 ] && [ "$(one fsck_failed)" = 0 ] && [ "$(one check_failed)" = 0 ] ||
     { cat "$dir.err"; echo "$json"; false; }'
  check "--target redis always: the ext4 model judged the images at the kill and was not optimistic" \
    '[ "$(rec images_compared)" -ge 1 ] && [ "$(model ext4 images_optimistic)" = 0 ] &&
     [ "$(model ext4 check_failed)" = 0 ] || { echo "$json"; false; }'
  check "--target redis always: promised 0 ms, held" \
    '[ "$(one promised_window_ms)" = 0.0 ] && [ "$(one held)" = true ] || { echo "$json"; false; }'
  # everysec: the kill 2.9 s after the first ack (seed 5 draws 0.98 of
  # FSYNCLAB_VM_KILL_WITHIN), so the images' acks reach back beyond the
  # promised second plus the longest sync: a loss older than that shows.
  json=$(FSYNCLAB_VM_KILL_WITHIN=3 $bin --target redis --set appendfsync=everysec --trials 1 \
    --seed 5 --dir "$dir" --json 2>"$dir.err"); rc=$?
  w() { one "$1" | awk '{ printf "%d", $1 * 1000 }'; }
  check "--target redis everysec in the guest: acknowledged keys lost, every image checked" \
    '[ $rc -eq 0 ] && [ "$(one acked_lost_max)" -gt 0 ] && [ "$(one check_failed)" = 0 ] ||
     { cat "$dir.err"; echo "$json"; false; }'
  check "--target redis everysec: the loss lies within the promised 1000 ms plus the longest sync; held" \
    '[ "$(one promised_window_ms)" = 1000.0 ] && [ "$(w loss_window_ms_max)" -gt 0 ] &&
     [ "$(w loss_window_ms_max)" -le "$(w allowance_ms)" ] &&
     [ "$(w reach_ms_max)" -gt "$(w allowance_ms)" ] && [ "$(one held)" = true ] || { echo "$json"; false; }'
  check "no redis-server of the checks left on the host" '! pgrep -f "fsl-redis-check" >/dev/null'
else
  echo "SKIP redis in the guest: redis-server or redis-cli is not installed (apt-get install redis-server)"
fi
out=$($bin --target mariadb 2>&1); rc=$?
check "--vm --target mariadb: exit 2, only contract, sqlite, redis and postgres run in the guest so far" \
  '[ $rc -eq 2 ] && grep -q "only contract (with --run and --check), sqlite, redis and postgres" <<<"$out"'
out=$($bin --target sqlite --set synchronous=SOMETIMES 2>&1); rc=$?
check "--vm --target sqlite with a bad --set: exit 2, checked as crash --target checks it" \
  '[ $rc -eq 2 ] && grep -q "FULL, NORMAL, OFF or EXTRA" <<<"$out"'
out=$($bin --target sqlite --set journal=WAL 2>&1); rc=$?
check "--vm --target sqlite with an unknown --set key: exit 2 naming the keys" \
  '[ $rc -eq 2 ] && grep -q "allowed: journal_mode, synchronous" <<<"$out"'
out=$($bin --target contract --run true --check true --set promised_window_ms=soon 2>&1); rc=$?
check "--vm --target contract with a bad promised_window_ms: exit 2, checked as crash --target checks it" \
  '[ $rc -eq 2 ] && grep -q "milliseconds from 0 to 3600000" <<<"$out"'
out=$($bin --target sqlite --run true 2>&1); rc=$?
check "--vm --target sqlite with --run: exit 2, its program is built in" \
  '[ $rc -eq 2 ] && grep -q "takes no --run or --check" <<<"$out"'

# SIGTERM and SIGINT (Ctrl-C) while the guest runs: wal's guard kills QEMU
# with its group and reaps it, removes the scratch directory and the run
# ends by the signal.
for sig in TERM INT; do
  $bin --strategies always --trials 5 --dir "$dir" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 600); do pgrep -f "qemu-system-x86_64.*$dir" >/dev/null && break; sleep 0.1; done
  check "a guest was running (SIG$sig)" 'pgrep -f "qemu-system-x86_64.*$dir" >/dev/null'
  kill -$sig $pid
  wait $pid; rc=$?
  want=$([ $sig = TERM ] && echo 143 || echo 130)
  check "SIG$sig ends the run by the signal" '[ $rc -eq $want ]'
  check "after SIG$sig no QEMU and no scratch file is left" '[ -z "$(leftovers)" ]'
done

[ $fail -eq 0 ] && rm -rf "$dir" "$dir.err"
finish
