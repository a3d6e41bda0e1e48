#!/usr/bin/env bash
# fsynclab side by side with fio and pg_test_fsync, in one run, alternating.
#
# Each round runs every tool once, in the same directory, one after another,
# so that a disk that drifts during the run (a VM's burst credits, another
# tenant) moves all of them alike.  The table shows each tool's median rate
# and, as the ratio, the median of the per-round ratios: two runs a second
# apart share the machine's state, two medians over minutes need not.  On
# the VM of docs/performance.md buffered writes switch between two speeds
# about 30% apart for several seconds at a time, for fio and fsynclab alike,
# so the buffered trio runs three times as many short rounds, its order
# turning each round.  Pairs compare like with like:
#   always (preallocated)  vs fio --fsync=1 (fio lays its file out first)
#   always (growing file)  vs fio --fsync=1 --fallocate=none
#   none                   vs fio buffered writes
#   batch_10ms             vs none
#   group, 16 writers      vs always
#   always, 8 KiB fdatasync, preallocated  vs pg_test_fsync's "one 8kB write, fdatasync"
# and it measures peak memory at 1,000 and 1,000,000 entries, and the node's
# own cost per request.  Each pair is then handed to `fsynclab diff` with
# the rounds as runs (the same statistics as bench --repeat): the
# difference, its 95% interval, and whether one is proven at all.
#
#   usage: bench/compare.sh [ROUNDS]       (default 5; `make bench` runs it)
#   env:   FSYNCLAB_DIR  where the scratch files go (default build/scratch)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-5}
dir=${FSYNCLAB_DIR:-build/scratch}
mkdir -p "$dir"
fsynclab=build/fsynclab
node=build/fsynclab-node
pg_test_fsync=$(ls /usr/lib/postgresql/*/bin/pg_test_fsync 2>/dev/null | tail -n 1 || true)
sync_n=5000          # synced writes per run
buffered_n=250000    # buffered writes per run
for tool in fio "$pg_test_fsync" /usr/bin/time; do
  if [ -z "$tool" ] || ! command -v "$tool" >/dev/null; then
    echo "compare: needs fio, pg_test_fsync and GNU time:" >&2
    echo "  sudo apt-get install -y fio postgresql-15 time" >&2
    exit 1
  fi
done
[ -x $fsynclab ] || make -s all

work=$(mktemp -d "$dir/compare.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ops/sec of the first result of `fsynclab bench --json`
fl() { $fsynclab bench --dir "$work" --max-seconds 300 --json "$@" | grep -o '"ops_per_sec": [0-9]*' | head -n 1 | grep -o '[0-9]*$'; }
# write IOPS of a fio job
fio_iops() {
  (cd "$work" && fio --name=w --rw=write --bs=128 --ioengine=sync --filename=fio.tmp \
      --output-format=json "$@" | grep '"iops"' | sed -n 2p | grep -o '[0-9.]*' | head -n 1 | cut -d. -f1
   rm -f fio.tmp)
}
# pg_test_fsync's fdatasync rate for one 8kB write
pg_fdatasync() {
  "$pg_test_fsync" -s 1 -f "$work/pg.tmp" 2>/dev/null |
    awk '/one 8kB write/ { on = 1 } on && $1 == "fdatasync" { print int($2); exit }'
  rm -f "$work/pg.tmp"
}

declare -A runs
add() { runs[$1]="${runs[$1]:-} $2"; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "compare: $rounds rounds in $dir ($(stat -f -c %T "$dir"), kernel $(uname -r))"
for r in $(seq 1 "$rounds"); do
  add fio_fsync_prealloc "$(fio_iops --fsync=1 --size=$((sync_n * 128)))"
  add always_prealloc "$(fl --strategies always --entries $sync_n --prealloc)"
  add fio_fsync_grow "$(fio_iops --fsync=1 --fallocate=none --size=$((sync_n * 128)))"
  add always "$(fl --strategies always --entries $sync_n)"
  add group16 "$(fl --strategies group --writers 16 --entries $((sync_n * 4)))"
  add pg_fdatasync_8k "$(pg_fdatasync)"
  add always_8k "$(fl --strategies always --entries $sync_n --entry-size 8192 --sync-method fdatasync --prealloc)"
  echo "  round $r of $rounds done (synced)"
done
buffered_rounds=$((rounds * 3))
for r in $(seq 1 "$buffered_rounds"); do
  trio=(fio_buffered none batch_10ms)
  for i in 0 1 2; do
    case ${trio[$(( (i + r) % 3 ))]} in
      fio_buffered) add fio_buffered "$(fio_iops --size=$((buffered_n * 128)))" ;;
      none) add none "$(fl --strategies none --entries $buffered_n)" ;;
      batch_10ms) add batch_10ms "$(fl --strategies batch_10ms --entries $buffered_n)" ;;
    esac
  done
done
echo "  $buffered_rounds rounds done (buffered)"

# the median of the per-round ratios a/b, and their range
ratios() {
  paste -d ' ' <(tr ' ' '\n' <<<"$1" | grep .) <(tr ' ' '\n' <<<"$2" | grep .) |
    awk '$2 > 0 { print $1 / $2 }' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a n/a"; exit }
           m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
           printf "%.2f %.2f-%.2f\n", m, v[1], v[NR] }'
}
# the runs of one label as the JSON `fsynclab diff` reads
as_json() {
  local list
  list=$(tr ' ' '\n' <<<"${runs[$1]}" | grep . | paste -sd, - | sed 's/,/, /g')
  echo "{\"results\": [{\"strategy\": \"$1\", \"ops_per_sec\": $(median "${runs[$1]}"), \"ops_per_sec_runs\": [$list]}]}"
}
# fsynclab diff's row for B ($1, fsynclab) against A ($2, the yardstick);
# the first call prints the header too
lines=4,5
verdict() {
  as_json "$2" >"$work/a.json"; as_json "$1" >"$work/b.json"
  $fsynclab diff "$work/a.json" "$work/b.json" | sed -n "${lines}p"
  lines=5
}
row() {
  local a b r
  a=$(median "${runs[$1]}"); b=$(median "${runs[$2]}")
  read -r r range < <(ratios "${runs[$1]}" "${runs[$2]}")
  printf '| %-38s | %9s | %-34s | %9s | %5s | %-9s | %s |\n' "$3" "$a" "$4" "$b" "$r" "$range" "$5"
}
echo
echo "| fsynclab | ops/s | yardstick | ops/s | ratio | range | target |"
echo "|---|---:|---|---:|---:|---|---|"
row always_prealloc fio_fsync_prealloc "always, 128 B, preallocated" "fio --fsync=1 (laid out)" ">= 0.95"
row always fio_fsync_grow "always, 128 B, growing file" "fio --fsync=1 --fallocate=none" ">= 0.95"
row none fio_buffered "none, 128 B" "fio buffered" ">= 0.9"
row batch_10ms none "batch_10ms, 128 B" "fsynclab none" ">= 0.9"
row group16 always "group, 16 writers" "fsynclab always, 1 writer" ">= 8"
row always_8k pg_fdatasync_8k "always, 8 KiB, fdatasync, preallocated" "pg_test_fsync fdatasync 8kB" "(reference)"
echo
echo "fsynclab diff: A the yardstick, B fsynclab, each round one run:"
verdict always_prealloc fio_fsync_prealloc
verdict always fio_fsync_grow
verdict none fio_buffered
verdict batch_10ms none
verdict group16 always
verdict always_8k pg_fdatasync_8k
echo
for n in 1000 1000000; do
  kb=$(/usr/bin/time -f %M $fsynclab bench --dir "$work" --strategies batch_10ms --entries $n --max-seconds 300 --json 2>&1 >/dev/null | tail -n 1)
  echo "peak RSS, batch_10ms, $n entries: $kb KiB"
done

# The node's own cost: 10000 requests that fail validation do no disk work,
# so their time is parse + validate + reply.
reqs=$work/requests.jsonl
for i in $(seq 1 10000); do
  echo '{"src":"c1","dest":"n1","body":{"type":"fsync_benchmark","msg_id":'$i',"entries":0,"strategies":["none"]}}'
done >"$reqs"
start=$(date +%s%N)
$node <"$reqs" >/dev/null
end=$(date +%s%N)
echo "node: $(( (end - start) / 10000 )) ns per request (parse, validate, reply; 10000 requests)"
