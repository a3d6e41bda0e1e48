#!/bin/sh
# etcd (Debian's etcd-server, written in Go) as a crash contract (issue 23):
#
#   crash --vm --fs xfs --target contract --run "sh tests/etcd_contract.sh run" \
#     --check "sh tests/etcd_contract.sh check"
#
# run: a one-member etcd on $FSYNCLAB_DATA/etcd, listening on Unix sockets in
# a directory of its own under /tmp only (no TCP port), and `ack kN` after
# each `etcdctl put kN` that answered OK.  check: etcd started on what the
# image kept (its WAL replayed as at a restart), the keys listed, etcd
# stopped; an etcd that will not start or answer fails the check.
# etcd preallocates each WAL file to 64 MB (two at start): it needs a data
# disk larger than the ext4 base image's 64 MiB (XFS's is 320 MB).
# A single member never loses its leadership to a slow guest, so etcd's
# default heartbeat and election timeouts stand (a restart waits about one
# election timeout before it serves); fsync is never turned off.
set -u
data=${FSYNCLAB_DATA:-$PWD}
log=$data/.etcd.log
p=
trap '[ -z "$p" ] || { kill -KILL $p 2>/dev/null; wait $p 2>/dev/null; }' EXIT
# The guest's loopback is down until someone brings it up (etcd wants it).
ip link set lo up 2>/dev/null || true
# The sockets are in the data directory, by relative names: etcd's unix://
# URLs take no absolute path, and a run killed by the power cut leaves
# nothing behind in /tmp.  A socket file a killed run left is removed.
start() {
  rm -f "$data/.etcd-c.sock:0" "$data/.etcd-p.sock:0" "$log"
  (cd "$data" && exec etcd --name fsl --data-dir "$data/etcd" \
    --listen-client-urls unix://.etcd-c.sock:0 --advertise-client-urls unix://.etcd-c.sock:0 \
    --listen-peer-urls unix://.etcd-p.sock:0 --initial-advertise-peer-urls unix://.etcd-p.sock:0 \
    --initial-cluster fsl=unix://.etcd-p.sock:0 >"$log" 2>&1) &
  p=$!
}
ctl() { (cd "$data" && ETCDCTL_API=3 exec etcdctl --endpoints unix://.etcd-c.sock:0 --command-timeout 60s "$@"); }
up() {
  n=0
  until ctl endpoint health >/dev/null 2>&1; do
    kill -0 $p 2>/dev/null || return 3
    n=$((n + 1)); [ $n -lt 300 ] || return 4
    sleep 1
  done
}
case ${1:-} in
run)
  start
  up || { echo "Eetcd did not answer: $(grep -m1 -iE 'panic|fatal|no space|error' "$log" | cut -c1-300)"; exit 1; }
  i=0
  while :; do
    i=$((i + 1))
    r=$(ctl put "k$i" "$i" 2>&1)
    [ "$r" = OK ] || { echo "Eetcdctl put k$i: $(echo "$r" | tail -n 1 | cut -c1-200)"; exit 1; }
    echo "ack k$i"
  done ;;
check)
  [ -d "$data/etcd/member" ] || exit 0
  start
  # Each etcdctl costs seconds under TCG (a 20 MB Go binary over 9p): wait
  # for the socket, then one linearizable get, which waits for the
  # election itself (tried three times).
  n=0
  until [ -S "$data/.etcd-c.sock:0" ]; do
    kill -0 $p 2>/dev/null || exit 3
    n=$((n + 1)); [ $n -lt 1200 ] || exit 4
    sleep 0.25
  done
  t=0
  until k=$(ctl get --prefix k --keys-only); do
    t=$((t + 1)); [ $t -lt 3 ] && kill -0 $p 2>/dev/null || exit 1
    sleep 1
  done
  printf '%s\n' "$k" | sed '/^$/d'
  kill -TERM $p; wait $p; p= ;;
*)
  echo "usage: etcd_contract.sh run|check" >&2; exit 2 ;;
esac
