#!/usr/bin/env bash
# What the recorder costs, side by side in one run (docs/real-programs.md):
#   - Redis SET rate with redis-benchmark (50 clients, appendfsync everysec),
#     redis-server plain against redis-server under libfsynclab-rec.so;
#   - SQLite WAL synchronous=NORMAL commits a second (fsynclab-sqlite-worker
#     for SECONDS s), plain against recorded;
#   - the journal's bytes beyond the data written, a record;
#   - the longest image build of a 3-second Redis and SQLite crash run.
# ROUNDS alternating rounds (default 3).  bash bench/recorder_cost.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
rounds=${1:-3} seconds=3
lib=$(realpath "$build/libfsynclab-rec.so")
base=$(realpath -m "${FSYNCLAB_DIR:-$build/scratch}")/recorder-cost-$$
mkdir -p "$base"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$base"; }
trap cleanup EXIT

# redis_rate MODE: SET/s of one redis-benchmark run; MODE plain|recorded.
redis_rate() {
    local d=$base/redis-$1 sock=$base/redis-$1.sock
    rm -rf "$d" "$base/j-redis"; mkdir -p "$d"
    if [ "$1" = recorded ]; then
        LD_PRELOAD=$lib FSYNCLAB_REC_ROOT=$d FSYNCLAB_REC_JOURNAL=$base/j-redis \
            redis-server --port 0 --unixsocket "$sock" --dir "$d" --appendonly yes --appendfsync everysec --save '' --logfile '' >/dev/null &
    else
        redis-server --port 0 --unixsocket "$sock" --dir "$d" --appendonly yes --appendfsync everysec --save '' --logfile '' >/dev/null &
    fi
    local pid=$!; pids+=("$pid")
    for _ in $(seq 100); do redis-cli -s "$sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
    redis-benchmark -s "$sock" -t set -n 300000 -c 50 -r 10000000 -q 2>/dev/null | tr '\r' '\n' |
        sed -n 's/^SET: \([0-9.]*\) requests per second.*/\1/p' | tail -1
    if [ "$1" = recorded ]; then "$build/fsynclab" journal --journal "$base/j-redis" --summary >"$base/redis-journal"; fi
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
}

# sqlite_rate MODE: commits a second over SECONDS s.
sqlite_rate() {
    local d=$base/sqlite-$1
    rm -rf "$d" "$base/j-sqlite"; mkdir -p "$d"
    local n
    if [ "$1" = recorded ]; then
        n=$(FSYNCLAB_DATA=$d LD_PRELOAD=$lib FSYNCLAB_REC_ROOT=$d FSYNCLAB_REC_JOURNAL=$base/j-sqlite \
            timeout -s KILL $seconds "$build/fsynclab-sqlite-worker" WAL NORMAL | wc -l)
        "$build/fsynclab" journal --journal "$base/j-sqlite" --summary >"$base/sqlite-journal"
    else
        n=$(FSYNCLAB_DATA=$d timeout -s KILL $seconds "$build/fsynclab-sqlite-worker" WAL NORMAL | wc -l)
    fi
    echo $((n / seconds))
}

command -v redis-benchmark >/dev/null || { echo "recorder_cost: skipped, redis-server (redis-benchmark) is not installed"; exit 0; }
printf "%-28s %12s %12s %8s\n" "run" "plain" "recorded" "cost"
for r in $(seq "$rounds"); do
    p=$(redis_rate plain); q=$(redis_rate recorded)
    printf "%-28s %12.0f %12.0f %7.1f%%\n" "redis SET/s everysec c=50 #$r" "$p" "$q" "$(awk -v p="$p" -v q="$q" 'BEGIN { print (1 - q / p) * 100 }')"
    p=$(sqlite_rate plain); q=$(sqlite_rate recorded)
    printf "%-28s %12.0f %12.0f %7.1f%%\n" "sqlite WAL NORMAL tx/s #$r" "$p" "$q" "$(awk -v p="$p" -v q="$q" 'BEGIN { print (1 - q / p) * 100 }')"
done
echo "redis journal:  $(tail -1 "$base/redis-journal")"
echo "sqlite journal: $(tail -1 "$base/sqlite-journal")"
for t in "redis --set appendfsync=everysec" "sqlite --set journal_mode=WAL --set synchronous=NORMAL"; do
    out=$("$build/fsynclab" crash --json --dir "$base" --trials 1 --seconds 3 --cuts 3 --target $t)
    echo "image build, 3 s run of $t: $(sed -n 's/.*"image_ms_max": \([0-9.]*\).*/\1/p' <<<"$out") ms at most (4 images)"
done
