#!/usr/bin/env bash
# DESIGN: runs the course grader's seed cases (copied into tests/seed-cases so
# the project needs no shared/ folder) against the built node.  Scratch logs
# land in $FSYNCLAB_DIR, which make check points at build/scratch.
set -u
cd "$(dirname "$0")/../.." || exit 2
node=build/fsynclab-node
[ -x "$node" ] || { echo "node_seed: $node not built (run make)"; echo "node_seed: 0 passed, 1 failed"; exit 1; }
export FSYNCLAB_DIR=${FSYNCLAB_DIR:-build/scratch}
mkdir -p "$FSYNCLAB_DIR"
CASES=tests/seed-cases bash tests/seed-cases/run "$node"
