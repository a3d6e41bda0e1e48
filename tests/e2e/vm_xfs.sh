#!/usr/bin/env bash
# The xfs and btrfs models against the real kernels (issue 23: a model
# found optimistic is fixed).  tests/rec_ext4.c's `run` (f truncated, then
# fsync(g); new written and renamed over old without a sync of its data,
# then fsync(g); h created, then an fdatasync of a pure overwrite of k)
# runs in the crash --vm guest on a real XFS and a real Btrfs, killed while
# it sleeps after its last sync returned, and on the host under `fsynclab
# record`, its journal turned into the image `fsynclab image --model xfs`
# (btrfs) says a cut at the end leaves.  Every real image cut after the
# acknowledgements must show, point by point, what the file system's model
# shows; and crash --vm's own comparison (its third model on these file
# systems) must find that model neither optimistic nor pessimistic.
# The comparison is shown able to fail: ext4 (which keeps old's new data,
# auto_da_alloc) and drop (which keeps old's old data) must disagree with
# the kernel, and so must the other file system's model (XFS commits f's
# truncation with g's fsync, Btrfs does not).
#
# Needs the guest kit ($BUILD/vm with base-xfs.img and base-btrfs.img) and
# qemu-system-x86_64; without them it says why and skips.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin="$build/fsynclab"
kit=${FSYNCLAB_VM_KIT:-$build/vm}
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-vm-xfs-$$
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "vm_xfs: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

skip=""
if ! command -v qemu-system-x86_64 >/dev/null; then
  skip="qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
elif [ ! -f "$kit/vmlinux" ] || [ ! -f "$kit/initramfs.cpio" ] || [ ! -f "$kit/base-xfs.img" ] ||
     [ ! -f "$kit/base-btrfs.img" ]; then
  skip="no guest kit with XFS and Btrfs images in $kit (run \`make vm${BUILD:+ BUILD=$build}\` first)"
elif [ ! -x "$bin" ] || [ ! -x "$build/rec_ext4" ] || [ ! -f "$build/libfsynclab-rec.so" ]; then
  skip="$bin, $build/rec_ext4 or the recorder is not built (make all)"
fi
if [ -n "$skip" ]; then
  echo "SKIP vm_xfs: $skip"
  finish
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
export FSYNCLAB_VM_KIT=$kit FSYNCLAB_VM_ACCEL=tcg
# The guest sees the host's root read-only at the same paths.
prog=$(cd "$build" && pwd)/rec_ext4

facts() { sort | paste -sd' '; }

# real FS: a guest trial of `run`; $dir/FS.real gets one line of facts per
# image cut after the acknowledgements; $json the body.
real() {
  json=$(FSYNCLAB_VM_TRACE=1 "$bin" crash --vm --fs "$1" --target contract --run "$prog . run --wait" \
    --check "$prog . check" --trials 1 --seed 2026120731 --dir "$dir" --json 2>"$dir/$1.trace"); rc=$?
  sed -n "s/^vm: $1 image [0-9]* (kind [0-9]*, entries [0-9]*) acked \([0-9]*\) .* keys: \(.*\)\$/\1 \2/p" \
    "$dir/$1.trace" | while read -r acked keys; do
      [ "$acked" -gt 0 ] && tr ' ' '\n' <<<"$keys" | facts
    done >"$dir/$1.real"
}
one() { grep -o "\"$1\": [^,}]*" <<<"$json" | head -n1 | sed 's/.*: //'; }
model_field() { grep -o "\"$1\": {[^}]*}" <<<"$json" | grep -o "\"$2\": [^,}]*" | sed 's/.*: //'; }

# model MODEL: `run` under the recorder on the host (once), the image a cut
# at the end leaves under MODEL, its facts in $dir/MODEL.
model() {
  local d=$dir/host
  if [ ! -f "$d/journal" ]; then
    rm -rf "$d" && mkdir -p "$d/root" "$d/snap"
    "$bin" record --root "$d/root" --journal "$d/journal" -- "$prog" "$d/root" run \
      >"$d/record.out" 2>&1 || { cat "$d/record.out"; return 1; }
  fi
  rm -rf "$d/img"
  "$bin" image --journal "$d/journal" --snapshot "$d/snap" --out "$d/img" --model "$1" \
    >"$d/image.out" 2>&1 || { cat "$d/image.out"; return 1; }
  "$prog" "$d/img" check | facts >"$dir/$1"
}

# agree FS MODEL: every real image of FS after the acks shows MODEL's facts.
agree() {
  local want line
  want=$(cat "$dir/$2")
  while read -r line; do
    if [ "$line" != "$want" ]; then
      echo "     real $1: $line"
      echo "     model $2: $want"
      return 1
    fi
  done <"$dir/$1.real"
}

check "recorded on the host, imaged under xfs, btrfs, ext4 and drop" \
  'model xfs && model btrfs && model ext4 && model drop'
for fs in xfs btrfs; do
  other=$([ $fs = xfs ] && echo btrfs || echo xfs)
  start=$(date +%s)
  real $fs
  echo "   ($fs: a guest trial and its check boot in $(( $(date +%s) - start )) s)"
  check "$fs: the guest ran it, every image passed the file system's checker and the check" \
    '[ $rc -eq 0 ] && [ "$(one fsck_failed)" = 0 ] && [ "$(one check_failed)" = 0 ] ||
     { cat "$dir/$fs.trace"; false; }'
  check "$fs: at least 2 real images were cut after the last sync returned" \
    '[ "$(wc -l <"$dir/$fs.real")" -ge 2 ] || { cat "$dir/$fs.trace"; false; }'
  check "$fs: every real image agrees with the $fs model's, point by point ($(cat "$dir/$fs"))" \
    'agree $fs $fs'
  check "$fs: crash --vm recorded the run in the guest; its $fs model agrees on every image at the kill" \
    '[ "$(model_field $fs images_optimistic)" = 0 ] && [ "$(model_field $fs images_pessimistic)" = 0 ] &&
     [ "$(model_field $fs check_failed)" = 0 ] && [ "$(one images_compared)" -ge 2 ] || { echo "$json"; false; }'
  # The mutations: ext4 keeps old's new data, drop its old data, and the
  # other file system's model is wrong about f.
  check "$fs: the comparison can fail: the ext4, drop and $other models disagree with the kernel" \
    '! agree $fs ext4 >/dev/null && ! agree $fs drop >/dev/null && ! agree $fs $other >/dev/null'
  check "$fs: and crash --vm finds ext4 and drop optimistic there (the finding the $fs model fixes)" \
    '[ "$(model_field ext4 images_optimistic)" -ge 2 ] && [ "$(model_field drop images_optimistic)" -ge 2 ] ||
     { echo "$json"; false; }'
done
check "the models differ where the kernels did: old empty under xfs and btrfs, f truncated only under xfs" \
  'grep -q "rename:empty" "$dir/xfs" && grep -q "rename:empty" "$dir/btrfs" &&
   grep -q "10:f-empty" "$dir/xfs" && grep -q "10:f-old" "$dir/btrfs" && grep -q "rename:new-data" "$dir/ext4"'
check "no QEMU and no scratch file of the guest left" \
  '! pgrep -f "qemu-system-x86_64.*$dir" >/dev/null && [ -z "$(ls -d "$dir"/fsynclab-vm-* 2>/dev/null)" ]'

[ $fail -eq 0 ] && rm -rf "$dir"
finish
