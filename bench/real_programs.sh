#!/usr/bin/env bash
# The tables of docs/real-programs.md: every setting of every built-in
# target under the drop and ext4 models, TRIALS trials of up to SECONDS s
# each, the kill instant plus CUTS earlier cut points per trial.  Prints one
# table row per run (the stand-in CLI's text output).  About 8 minutes with
# the defaults on a 2-core VM.
#   bash bench/real_programs.sh [TRIALS] [SECONDS] [CUTS]
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
trials=${1:-3} seconds=${2:-3} cuts=${3:-3}
dir=${FSYNCLAB_DIR:-$build/scratch}
mkdir -p "$dir"
run() { "$build/fsynclab" crash --dir "$dir" --trials "$trials" --seconds "$seconds" --cuts "$cuts" "$@" | tail -1; }
"$build/fsynclab" crash --target contract --run true --check true --trials 1 --seconds 0.1 --cuts 0 --dir "$dir" | head -1
for model in drop ext4; do
    for s in always everysec no; do run --target redis --model $model --set appendfsync=$s; done
    for jm in WAL DELETE TRUNCATE; do
        for s in FULL NORMAL OFF; do run --target sqlite --model $model --set journal_mode=$jm --set synchronous=$s; done
    done
    for s in on off; do run --target postgres --model $model --set synchronous_commit=$s; done
done
