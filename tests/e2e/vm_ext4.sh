#!/usr/bin/env bash
# The ext4 model against the real kernel (issue 20, points 10, 11 and a
# rename over an existing file; docs/real-programs.md).  tests/rec_ext4.c
# runs twice: in the crash --vm guest on a real ext4, killed (a power cut)
# while it sleeps after its last sync returned, each image the block log
# gives checked by the guest's kernel; and on the host under `fsynclab
# record`, its journal turned into the image `fsynclab image --model ext4`
# says a cut at the end leaves.  Each real image cut after the program's
# acknowledgements must show, point by point, what the model's image
# shows.  The comparison is shown able to fail: against `--model drop`
# (which keeps f's old bytes and old's old name) it must find a difference.
#
# Scenarios: `run` (ftruncate(f, 0) then fsync(g); new written and renamed
# over old without a sync, then fsync(g); h created, then an fdatasync of a
# pure overwrite of k) and `rename-cut` (the rename, and no sync at all).
#
# Needs the guest kit ($BUILD/vm, `make vm`) and qemu-system-x86_64, as
# tests/e2e/vm.sh; without them it says why and skips.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin="$build/fsynclab"
kit=${FSYNCLAB_VM_KIT:-$build/vm}
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-vm-ext4-$$
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "vm_ext4: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

skip=""
if ! command -v qemu-system-x86_64 >/dev/null; then
  skip="qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
elif [ ! -f "$kit/vmlinux" ] || [ ! -f "$kit/initramfs.cpio" ] || [ ! -f "$kit/base.img" ]; then
  skip="no guest kit in $kit (run \`make vm${BUILD:+ BUILD=$build}\` first)"
elif [ ! -x "$bin" ] || [ ! -x "$build/rec_ext4" ] || [ ! -f "$build/libfsynclab-rec.so" ]; then
  skip="$bin, $build/rec_ext4 or the recorder is not built (make all)"
fi
if [ -n "$skip" ]; then
  echo "SKIP vm_ext4: $skip"
  finish
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
export FSYNCLAB_VM_KIT=$kit FSYNCLAB_VM_ACCEL=tcg
# The guest sees the host's root read-only at the same paths.
prog=$(cd "$build" && pwd)/rec_ext4

. tests/e2e/lib/vm_models.sh   # facts, model_facts, agree_facts

# real SCENARIO: a guest trial; $dir/SCENARIO.real gets one line of facts
# per image cut after the acknowledgements; $json the body.
real() {
  json=$(FSYNCLAB_VM_TRACE=1 "$bin" crash --vm --target contract --run "$prog . $1 --wait" \
    --check "$prog . check" --trials 1 --seed 5 --dir "$dir" --json 2>"$dir/$1.trace"); rc=$?
  sed -n 's/^vm: ext4 image [0-9]* (kind [0-9]*, entries [0-9]*) acked \([0-9]*\) .* keys: \(.*\)$/\1 \2/p' \
    "$dir/$1.trace" | while read -r acked keys; do
      [ "$acked" -gt 0 ] && tr ' ' '\n' <<<"$keys" | facts
    done >"$dir/$1.real"
}
one() { grep -o "\"$1\": [^,}]*" <<<"$json" | head -n1 | sed 's/.*: //'; }
recorder_field() { grep -o "\"recorder\": {.*" <<<"$json" | grep -o "\"$1\": [^,}]*" | head -n1 | sed 's/.*: //'; }
model_field() { grep -o "\"$1\": {[^}]*}" <<<"$json" | grep -o "\"$2\": [^,}]*" | sed 's/.*: //'; }

# model SCENARIO MODEL: the same program under the recorder on the host,
# the image a cut at the end leaves under MODEL, its facts in
# $dir/SCENARIO.MODEL.
model() {
  local d=$dir/host-$1
  if [ ! -f "$d/journal" ]; then
    rm -rf "$d" && mkdir -p "$d/root" "$d/snap"
    "$bin" record --root "$d/root" --journal "$d/journal" -- "$prog" "$d/root" "$1" \
      >"$d/record.out" 2>&1 || { cat "$d/record.out"; return 1; }
  fi
  model_facts "$d" "$2" "$dir/$1.$2"
}

# agree SCENARIO MODEL: every real image after the acks shows the model's
# facts; prints the first difference.
agree() { agree_facts "$dir/$1.real" "$dir/$1.$2" kernel "$2"; }

for scen in run rename-cut; do
  start=$(date +%s)
  real $scen
  echo "   ($scen: a guest trial and its check boot in $(( $(date +%s) - start )) s)"
  check "$scen: the guest ran it, every image passed e2fsck -fn and the check" \
    '[ $rc -eq 0 ] && [ "$(one fsck_failed)" = 0 ] && [ "$(one check_failed)" = 0 ] ||
     { cat "$dir/$scen.trace"; false; }'
  check "$scen: at least 2 real images were cut after the last sync returned" \
    '[ "$(wc -l <"$dir/$scen.real")" -ge 2 ] || { cat "$dir/$scen.trace"; false; }'
  check "$scen: the real kernel left what the program expected (nothing acknowledged lost)" \
    '[ "$(one acked_lost_total)" = 0 ] || { cat "$dir/$scen.trace"; false; }'
  check "$scen: recorded on the host, imaged under ext4 and drop" \
    'model $scen ext4 && model $scen drop'
  check "$scen: every real image agrees with the ext4 model's, point by point ($(cat "$dir/$scen.ext4" 2>/dev/null))" \
    'agree $scen ext4'
  # The same run judged both ways by crash --vm itself: the recorder ran in
  # the guest, and its ext4 model was neither optimistic nor pessimistic.
  check "$scen: crash --vm recorded the run in the guest; its ext4 model agrees on every image at the kill" \
    '[ "$(model_field ext4 images_optimistic)" = 0 ] && [ "$(model_field ext4 images_pessimistic)" = 0 ] &&
     [ "$(model_field ext4 check_failed)" = 0 ] && [ "$(recorder_field images_compared)" -ge 2 ] &&
     [ "$(recorder_field journal_flags)" = 0 ] || { echo "$json"; false; }'
  if [ $scen = run ]; then
    check "run: and its drop model is pessimistic there (f and old differ), so the built-in comparison can fail" \
      '[ "$(model_field drop images_pessimistic)" -ge 2 ] && [ "$(model_field drop predicted_lost_total)" -gt 0 ]'
  fi
done
# The mutation: the drop model keeps f's old bytes (10) and old's old data
# (the rename was never made durable by a directory sync): the same
# comparison must see it.
check "the comparison can fail: the drop model's image disagrees with the real kernel's on run" \
  '! agree run drop >/dev/null && grep -q "10:f-old" "$dir/run.drop" && grep -q "rename:old-data" "$dir/run.drop"'
check "no QEMU and no scratch file of the guest left" \
  '! pgrep -f "qemu-system-x86_64.*$dir" >/dev/null && [ -z "$(ls -d "$dir"/fsynclab-vm-* 2>/dev/null)" ]'

[ $fail -eq 0 ] && rm -rf "$dir"
finish
