#!/usr/bin/env bash
# End-to-end tests of the command line's usage: each command's own --help
# (and -h), an unknown option named with the nearest real one, lists with a
# repeated or an empty item refused, record's command taken without --, and
# the fields every --json adds to the node's body.  Each check fails on the
# parser before issue 19.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-usage-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
run() { out=$("$@" 2>"$dir/err"); rc=$?; err=$(cat "$dir/err"); }

run "$bin" crash --help
check "crash --help prints crash's options and --target's, not bench's or curve's" \
  '[ $rc -eq 0 ] && grep -q "^usage: fsynclab crash" <<<"$out" && grep -q "^  --trials T" <<<"$out" && grep -q "^  --target NAME" <<<"$out" && ! grep -q "^bench options" <<<"$out" && ! grep -q "^curve options" <<<"$out" && [ "$(wc -l <<<"$out")" -lt "$($bin --help | wc -l)" ]'
check "bench -h prints what bench --help prints" \
  '[ "$($bin bench -h)" = "$($bin bench --help)" ] && $bin bench -h | grep -q "^bench options"'
check "curve --help prints curve's options" \
  '$bin curve --help | grep -q "^  --intervals LIST" && ! $bin curve --help | grep -q "^  --target"'
check "fsynclab --help still prints every command's options" \
  '$bin --help | grep -q "^bench options" && $bin --help | grep -q "^crash options" && $bin --help | grep -q "^curve options"'

run "$bin" crash --vm --model torn --dir "$dir"
check "crash --vm refuses a model other than drop, naming it, exit 2 (before looking for a guest kit)" \
  '[ $rc -eq 2 ] && grep -q "crash --vm: --model torn does not apply: the guest.s kernel is the model" <<<"$err"'

run "$bin" crash --dir "$dir" --model ext4 --trials 1
check "crash --model ext4 (fsynclab's own log) says it does not apply there and where it does, exit 2" \
  '[ $rc -eq 2 ] && grep -q "model ext4 does not apply to crash of fsynclab.s own log .*apply to crash --target and image" <<<"$err"'
run "$bin" curve --dir "$dir" --model ext4 --out "$dir/never"
check "curve --model ext4 is refused, not run as drop, exit 2" \
  '[ $rc -eq 2 ] && grep -q "model ext4 does not apply to curve" <<<"$err" && ! [ -e "$dir/never" ]'
run "$bin" image --journal "$dir/j" --snapshot "$dir" --out "$dir/o" --model fast
check "image --model fast names the engine's models, exit 2" \
  '[ $rc -eq 2 ] && grep -q "model fast: unknown model; use one of drop, ext4, torn, reorder, writeback, process, lie" <<<"$err"'
run "$bin" image --journal "$dir/j" --snapshot "$dir" --out "$dir/o" --model torn+reorder
check "image --model torn+reorder: two tails refused, exit 2" '[ $rc -eq 2 ] && grep -q "two tails" <<<"$err"'
run "$bin" image --journal "$dir/j" --snapshot "$dir" --out "$dir/o" --model torn --sector-size 1000
check "--sector-size 1000 is refused, naming 512 and 4096, exit 2" \
  '[ $rc -eq 2 ] && grep -q "sector-size 1000: use 512 or 4096" <<<"$err"'
run "$bin" crash --dir "$dir" --strategies none --model torn --sector-size 4096 --trials 2 --json --no-fail
check "crash of fsynclab's own log takes --sector-size 4096 and names it in the JSON" \
  '[ $rc -eq 0 ] && grep -q "\"sector_size\": 4096" <<<"$out"'
run "$bin" crash --dir "$dir" --strategies none --model torn --trials 2 --json --no-fail
check "without --sector-size the crash JSON has no sector_size (the node's bytes stay)" \
  '[ $rc -eq 0 ] && ! grep -q "sector_size" <<<"$out"'

run "$bin" bench --dir "$dir" --entreis 5
check "an unknown option is named, with the nearest one, exit 2" \
  '[ $rc -eq 2 ] && grep -q "unknown option \"--entreis\"; did you mean --entries?" <<<"$err"'
run "$bin" bench --dir "$dir" --cuts 3
check "an option of another command says whose it is not" '[ $rc -eq 2 ] && grep -q "\-\-cuts is not an option of bench" <<<"$err"'
run "$bin" bench --dir "$dir" --entries
check "an option without its value is named" '[ $rc -eq 2 ] && grep -q "\-\-entries needs a value" <<<"$err"'
run "$bin" bench --dir "$dir" --ent 5
check "an ambiguous abbreviation names the candidates" '[ $rc -eq 2 ] && grep -q "\"--ent\" is ambiguous: --entries or --entry-size?" <<<"$err"'

run "$bin" crahs
check "an unknown command is named, with the nearest command" '[ $rc -eq 2 ] && grep -q "unknown command \"crahs\"; did you mean crash?" <<<"$err"'
check "diff -h and node --help print their own usage" '$bin diff -h | grep -q "^usage: fsynclab diff A.json B.json" && $bin node --help | grep -q "^usage: fsynclab node"'

run "$bin" crash --dir "$dir" --strategies always,always --trials 1
check "--strategies always,always is refused, naming the repeat" '[ $rc -eq 2 ] && grep -q "\"always\" is given twice" <<<"$err" && [ -z "$out" ]'
run "$bin" bench --dir "$dir" --strategies always,,none
check "--strategies always,,none is refused: an empty name" '[ $rc -eq 2 ] && grep -q "\"always,,none\": an empty name" <<<"$err"'
run "$bin" bench --dir "$dir" --strategies none,
check "a trailing comma in --strategies is refused" '[ $rc -eq 2 ] && grep -q "an empty name" <<<"$err"'
run "$bin" curve --dir "$dir" --intervals 1,,2 --out "$dir/never"
check "--intervals 1,,2 is refused: an empty interval" '[ $rc -eq 2 ] && grep -q "\"1,,2\": an empty interval" <<<"$err" && [ ! -e "$dir/never" ]'
run "$bin" curve --dir "$dir" --intervals 5,5 --out "$dir/never"
check "--intervals 5,5 is refused: a repeated interval" '[ $rc -eq 2 ] && grep -q "5 is given twice" <<<"$err"'

mkdir -p "$dir/root"
run "$bin" record --root "$dir/root" --journal "$dir/j" ls -a "$dir/root"
check "record runs a command with options of its own without --" '[ $rc -eq 0 ] && grep -qx "\.\." <<<"$out"'
rm -rf "$dir/root" "$dir/j"

run "$bin" crash --dir "$dir" --strategies none --trials 1 --seed 5 --json
check "crash --json ends with seed_replays, version, command_line and timestamp" \
  '[ $rc -eq 0 ] && grep -qE "\"seed\": 5, .*\"seed_replays\": \"the choices .*, not the outcomes.*\", \"version\": \"[0-9][^\"]*\", \"command_line\": \[\"[^\"]*fsynclab\", \"crash\", .*\"--json\"\], \"timestamp\": \"[0-9T:-]+Z\"\}$" <<<"$out"'

# The command line a result quotes is the one given: --set KEY=VALUE whole
# (the parser once cut argv at the '=').
run "$bin" crash --target contract --run 'echo ack 1; sleep 5' --check 'echo 1' --set promised_window_ms=100 \
    --trials 1 --seconds 0.3 --cuts 0 --dir "$dir" --json --no-fail
check "the JSON's command_line keeps --set promised_window_ms=100 whole" \
  '[ $rc -eq 0 ] && grep -q "\"promised_window_ms=100\"" <<<"$out"'

rm -f "$dir/err"
check "nothing is left in the data directory" 'rmdir "$dir"'
echo "cli_usage: $pass passed, $fail failed"
[ $fail -eq 0 ]
