#!/usr/bin/env bash
# DESIGN: runs the course grader's seed cases (copied into tests/seed-cases so
# the project needs no shared/ folder) against the built node.  Scratch logs
# land in $FSYNCLAB_DIR, which make check points at build/scratch.
set -u
cd "$(dirname "$0")/../.." || exit 2
# BUILD picks the tree (make check passes it); NODE_WRAPPER (e.g. valgrind)
# is put in front of the node, and then the cases get more time.
build=${BUILD:-build}
node=$build/fsynclab-node
[ -x "$node" ] || { echo "node_seed: $node not built (run make)"; echo "node_seed: 0 passed, 1 failed"; exit 1; }
export FSYNCLAB_DIR=${FSYNCLAB_DIR:-$build/scratch}
mkdir -p "$FSYNCLAB_DIR"
[ -n "${NODE_WRAPPER:-}" ] && export CASE_TIMEOUT_MS=${CASE_TIMEOUT_MS:-60000}
# TMPDIR: the runner's mktemp scratch lands under the data directory, not /tmp.
# shellcheck disable=SC2086  # the wrapper is a command with its options
TMPDIR=$FSYNCLAB_DIR CASES=tests/seed-cases bash tests/seed-cases/run ${NODE_WRAPPER:-} "$node"
