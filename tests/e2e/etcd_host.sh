#!/usr/bin/env bash
# etcd under the LD_PRELOAD recorder (issue 23): Go makes its system calls
# without libc, so the recorder sees none of etcd's writes or fsyncs, even
# though Debian's etcd is linked dynamically.  `crash --target contract`
# with tests/etcd_contract.sh must say so (a flag naming the Go binary, held
# null with that reason), never report its figures as a verdict.  The
# detector is shown able to tell: a dynamic C program (sh running true) is
# recorded without the flag, etcd --version under the same recorder gets it.
# Needs etcd-server and etcd-client; without them it says why and skips.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin="$build/fsynclab"
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-etcd-host-$$
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "etcd_host: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
  echo "SKIP etcd_host: etcd or etcdctl is not installed (apt-get install etcd-server etcd-client)"
  finish
fi
if [ ! -x "$bin" ] || [ ! -f "$build/libfsynclab-rec.so" ]; then
  echo "SKIP etcd_host: $bin or the recorder is not built (make all)"
  finish
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# flags CMD: the flags `fsynclab image` counts in the journal of CMD run under sh.
flags() {
  rm -rf "$dir/r" && mkdir -p "$dir/r/root" "$dir/r/snap"
  "$bin" record --root "$dir/r/root" --journal "$dir/r/j" -- sh -c "$1" >/dev/null 2>&1
  "$bin" image --journal "$dir/r/j" --snapshot "$dir/r/snap" --out "$dir/r/img" 2>&1 |
    sed -n 's/.* \([0-9]*\) flags$/\1/p'
}
check "a dynamic C program under the recorder carries no flag" '[ "$(flags true)" = 0 ]'
check "etcd (Go, dynamically linked) under the recorder carries a flag" \
  '[ "$(flags "etcd --version >/dev/null")" = 1 ]'

json=$("$bin" crash --target contract --run "sh $PWD/tests/etcd_contract.sh run" \
  --check "sh $PWD/tests/etcd_contract.sh check" --trials 1 --seed 7 --dir "$dir" --json 2>"$dir/err")
rc=$?
check "crash --target contract runs etcd (exit 0)" '[ $rc -eq 0 ] || { cat "$dir/err"; false; }'
check "the verdict is held null, not a loss figure taken as a verdict" \
  'grep -q "\"held\": null" <<<"$json"'
check "the reason names the Go binary the recorder could not see" \
  'grep -o "\"held_reason\": \"[^\"]*\"" <<<"$json" | grep -q "Go binary"'
check "no etcd is left running on the trial's sockets" '! pgrep -f "etcd --name fsl --data-dir $dir" >/dev/null'
rm -rf "$dir"
finish
