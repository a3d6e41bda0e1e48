#!/usr/bin/env bash
# End-to-end test of --timeline: a crash run draws the chosen or worst
# trial of each strategy as PNG or SVG; the lost acknowledged entries are
# red on the picture of a strategy that loses them (none) and absent from
# one that cannot (always), which proves the red is the loss and not
# decoration; crash --target draws a trial of a real program the same way
# (and --html puts it on the page), crash --vm the guest's when the kit is
# there; bad file names and trial numbers are usage errors; no scratch file
# is left.  Speed is measured by `make bench`, not here.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
dir=$(realpath -m "${FSYNCLAB_DIR:-$build/scratch}")/e2e-timeline-$$
out=$build/e2e-timeline-out-$$
mkdir -p "$dir" "$out"
pass=0 fail=0
# Under ASan: fontconfig's configuration, kept for the life of the process.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "$(head -c 400 "$out/err" 2>/dev/null)"; fi; }
ispng() { [ "$(head -c 4 "$1" | tail -c 3)" = PNG ]; }
# The picture's pixels: width height nonwhite red colours.
red() { python3 tests/helpers/png_pixels.py "$1" | cut -d' ' -f4; }

"$bin" crash --dir "$dir" --strategies always,none --trials 3 --entries 2000 --seed 5 \
  --timeline "$out/t.png" >/dev/null 2>"$out/err"; rc=$?
check "crash --timeline exits 0 and writes one PNG a strategy" \
  '[ $rc -eq 0 ] && ispng "$out/t-always.png" && ispng "$out/t-none.png" && [ ! -e "$out/t.png" ]'
if command -v python3 >/dev/null; then
  check "none's picture shows its lost entries in red" '[ "$(red "$out/t-none.png")" -gt 60 ]'
  check "always's picture has no lost red beyond the legend's swatch" '[ "$(red "$out/t-always.png")" -le 40 ]'
else
  echo "skip: python3 is not installed: the pixel checks need it"
fi

"$bin" crash --dir "$dir" --strategies batch_10ms --trials 3 --timeline-trial 2 --seed 5 \
  --writers 2 --no-fail --timeline "$out/one.svg" >/dev/null 2>"$out/err"; rc=$?
check "one strategy: the file itself, SVG by its extension, a chosen trial" \
  '[ $rc -eq 0 ] && grep -q "<svg" "$out/one.svg"'

"$bin" crash --dir "$dir" --trials 2 --timeline "$out/t.jpg" >/dev/null 2>"$out/err"; rc=$?
check "a .jpg is a usage error naming the extensions" '[ $rc -eq 2 ] && grep -q "png or .svg" "$out/err"'
"$bin" crash --dir "$dir" --trials 2 --timeline-trial 0 --timeline "$out/x.png" >/dev/null 2>"$out/err"; rc=$?
check "--timeline-trial 0 is a usage error" '[ $rc -eq 2 ] && grep -q "timeline-trial" "$out/err"'
"$bin" crash --dir "$dir" --trials 2 --timeline-trial 3 --timeline "$out/x.png" >/dev/null 2>"$out/err"; rc=$?
check "--timeline-trial past --trials is a usage error" '[ $rc -eq 2 ] && grep -q "fewer trials" "$out/err"'
"$bin" crash --dir "$dir" --trials 2 --timeline-trial 1 >/dev/null 2>"$out/err"; rc=$?
check "--timeline-trial alone is a usage error" '[ $rc -eq 2 ] && grep -q "needs --timeline" "$out/err"'
"$bin" crash --dir "$dir" --strategies none --trials 1 --timeline "$build/no/such/dir/t.png" >/dev/null 2>"$out/err"; rc=$?
check "an unwritable picture fails the run naming the file" '[ $rc -eq 1 ] && grep -q "no/such/dir/t.png" "$out/err"'

# A real program: the contract on a shell loop that never syncs loses keys.
unsynced='cd "$FSYNCLAB_DATA"; : > log; sync .; i=0; while :; do i=$((i+1)); echo $i >> log; echo "ack $i"; done'
synced='cd "$FSYNCLAB_DATA"; : > log; sync .; i=0; while :; do i=$((i+1)); echo $i | dd of=log oflag=append conv=notrunc,fsync status=none; echo "ack $i"; done'
check_cmd='cat "$FSYNCLAB_DATA/log" 2>/dev/null; true'
"$bin" crash --dir "$dir" --target contract --trials 2 --seconds 1 --cuts 2 --seed 7 --no-fail \
  --run "$unsynced" --check "$check_cmd" --timeline "$out/target.png" --html "$out/target.html" \
  >/dev/null 2>"$out/err"; rc=$?
check "crash --target --timeline draws a PNG, and --html puts it on the page" \
  '[ $rc -eq 0 ] && ispng "$out/target.png" && grep -q "data:image/png;base64," "$out/target.html"'
"$bin" crash --dir "$dir" --target contract --trials 1 --seconds 1 --cuts 1 --seed 7 \
  --run "$synced" --check "$check_cmd" --timeline "$out/target-synced.png" >/dev/null 2>"$out/err"; rc=$?
check "... and one of synced writes" '[ $rc -eq 0 ] && ispng "$out/target-synced.png"'
if command -v python3 >/dev/null; then
  check "the unsynced program's lost keys are red, the synced one's picture has none" \
    '[ "$(red "$out/target.png")" -gt 100 ] && [ "$(red "$out/target-synced.png")" -le 40 ]'
fi

# A real kernel, when the guest kit is there (make vm; slow under TCG).
kit=${FSYNCLAB_VM_KIT:-$build/vm}
if [ -f "$kit/vmlinux" ] && [ -f "$kit/base.img" ] && command -v qemu-system-x86_64 >/dev/null; then
  FSYNCLAB_VM_KIT=$kit FSYNCLAB_VM_ACCEL=${FSYNCLAB_VM_ACCEL:-tcg} "$bin" crash --vm --dir "$dir" \
    --strategies none --trials 1 --seed 3 --timeline "$out/vm.png" >/dev/null 2>"$out/err"; rc=$?
  check "crash --vm --timeline draws the guest's trial" '[ $rc -eq 0 ] && ispng "$out/vm.png"'
  if command -v python3 >/dev/null; then
    check "... with none's lost acknowledgements in red" '[ "$(red "$out/vm.png")" -gt 40 ]'
  fi
else
  echo "skip: no guest kit in $kit (make vm): crash --vm --timeline is not drawn"
fi

check "no scratch file is left" '[ -z "$(ls -A "$dir")" ]'
rm -rf "$dir" "$out"
echo "timeline: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
