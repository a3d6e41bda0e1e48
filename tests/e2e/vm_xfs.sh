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
# truncation with g's fsync, Btrfs does not).  Then `old-g` on Btrfs: the
# same steps by a shell contract with a syncfs between the setup and the
# truncation, so that g is older than Btrfs's running transaction and its
# fsync logs g alone: the rename is not durable, and the btrfs model must
# say so where xfs (a log force carries everything) must not.
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
bin=$(cd "$build" && pwd)/fsynclab   # old-g records from inside its root

. tests/e2e/lib/vm_models.sh   # facts, model_facts, agree_facts

# old-g: rec_ext4's run with a syncfs after the setup (coreutils, which the
# recorder sees), no h and no k step.  WAIT=1: sleep until the kill.
cat >"$dir/old_g.sh" <<'SCRIPT'
fill() { head -c $3 /dev/zero | tr '\0' $2 >$1 && sync $1; }
fill f F 4096 && fill g G 16 && fill k K 4096 && fill old O 4096 && sync . && sync -f . || exit 1
truncate -s 0 f && printf a >>g && sync g || exit 1
head -c 8192 /dev/zero | tr '\0' N >new && mv new old && printf b >>g && sync g || exit 1
echo "ack 10:f-old"; echo "ack rename:intact"
[ -z "${WAIT:-}" ] || sleep 1000
SCRIPT

# real FS [SCENARIO]: a guest trial of `run` (or old-g); $dir/FS[.SCENARIO].real
# gets one line of facts per image cut after the acknowledgements; $json the body.
real() {
  local cmd="$prog . run --wait" out=$1
  [ -n "${2:-}" ] && cmd="WAIT=1 sh $dir/old_g.sh" out=$1.$2
  json=$(FSYNCLAB_VM_TRACE=1 "$bin" crash --vm --fs "$1" --target contract --run "$cmd" \
    --check "$prog . check" --trials 1 --seed 2026120731 --dir "$dir" --no-fail --json 2>"$dir/$out.trace"); rc=$?
  sed -n "s/^vm: $1 image [0-9]* (kind [0-9]*, entries [0-9]*) acked \([0-9]*\) .* keys: \(.*\)\$/\1 \2/p" \
    "$dir/$out.trace" | while read -r acked keys; do
      [ "$acked" -gt 0 ] && tr ' ' '\n' <<<"$keys" | facts
    done >"$dir/$out.real"
}
one() { grep -o "\"$1\": [^,}]*" <<<"$json" | head -n1 | sed 's/.*: //'; }
model_field() { grep -o "\"$1\": {[^}]*}" <<<"$json" | grep -o "\"$2\": [^,}]*" | sed 's/.*: //'; }

# model MODEL [old-g]: `run` (or old-g) under the recorder on the host (once),
# the image a cut at the end leaves under MODEL, its facts in $dir/MODEL[.old-g].
model() {
  local d=$dir/host${2:+-$2} out=$1${2:+.$2}
  if [ ! -f "$d/journal" ]; then
    rm -rf "$d" && mkdir -p "$d/root" "$d/snap"
    if [ -n "${2:-}" ]; then
      (cd "$d/root" && "$bin" record --root . --journal "$d/journal" -- sh "$dir/old_g.sh")
    else
      "$bin" record --root "$d/root" --journal "$d/journal" -- "$prog" "$d/root" run
    fi >"$d/record.out" 2>&1 || { cat "$d/record.out"; return 1; }
  fi
  model_facts "$d" "$1" "$dir/$out"
}

# agree FS MODEL: every real image of FS after the acks shows MODEL's facts.
agree() { agree_facts "$dir/$1.real" "$dir/$2" "$1" "$2"; }

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
# old-g on Btrfs: g is older than the running transaction.
start=$(date +%s)
real btrfs old-g
echo "   (btrfs old-g: a guest trial and its check boot in $(( $(date +%s) - start )) s)"
check "btrfs old-g: the guest ran it, every image passed btrfs check and the check" \
  '[ $rc -eq 0 ] && [ "$(one fsck_failed)" = 0 ] && [ "$(one check_failed)" = 0 ] &&
   [ "$(wc -l <"$dir/btrfs.old-g.real")" -ge 2 ] || { cat "$dir/btrfs.old-g.trace"; false; }'
check "btrfs old-g: recorded on the host, imaged under btrfs and xfs" \
  'model btrfs old-g && model xfs old-g'
check "btrfs old-g: every real image agrees with the btrfs model's ($(cat "$dir/btrfs.old-g" 2>/dev/null))" \
  'agree btrfs.old-g btrfs.old-g && grep -q "rename:old-data" "$dir/btrfs.old-g"'
check "btrfs old-g: crash --vm's btrfs model agrees on every image at the kill" \
  '[ "$(model_field btrfs images_optimistic)" = 0 ] && [ "$(model_field btrfs images_pessimistic)" = 0 ] &&
   [ "$(one images_compared)" -ge 2 ] || { echo "$json"; false; }'
check "btrfs old-g: the comparison can fail: the xfs model (the rename committed, old empty) disagrees" \
  '! agree btrfs.old-g xfs.old-g >/dev/null && grep -q "rename:empty" "$dir/xfs.old-g"'
check "the models differ where the kernels did: old empty under xfs and btrfs, f truncated only under xfs" \
  'grep -q "rename:empty" "$dir/xfs" && grep -q "rename:empty" "$dir/btrfs" &&
   grep -q "10:f-empty" "$dir/xfs" && grep -q "10:f-old" "$dir/btrfs" && grep -q "rename:new-data" "$dir/ext4"'
check "no QEMU and no scratch file of the guest left" \
  '! pgrep -f "qemu-system-x86_64.*$dir" >/dev/null && [ -z "$(ls -d "$dir"/fsynclab-vm-* 2>/dev/null)" ]'

[ $fail -eq 0 ] && rm -rf "$dir"
finish
