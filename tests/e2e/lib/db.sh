# Sourced (not run: it is outside tests/e2e/*.sh, which `make check` runs)
# by the end-to-end scripts of the database targets, explore_db.sh and
# targets_db.sh, from the top of the tree: `. tests/e2e/lib/db.sh NAME`.
# Sets build, bin and dir (NAME-<pid> under the scratch directory, made),
# the pass/fail counters with ok, bad and check, and worker.

build=${BUILD:-build}
bin=$build/fsynclab
dir=$(realpath -m "${FSYNCLAB_DIR:-$build/scratch}")/$1-$$
mkdir -p "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
# check NAME CONDITION: CONDITION is eval'd; a failure shows out and the command's stderr.
check() { if eval "$2"; then ok "$1"; else bad "$1" "${out:0:900} $(head -c 400 "$dir/err")"; fi; }
# worker STORE PACKAGE: whether fsynclab-STORE-worker was built; if not, says
# the store is skipped and what to install.
worker() {
    [ -x "$build/fsynclab-$1-worker" ] && return 0
    echo "skip $1: $build/fsynclab-$1-worker was not built (apt-get install $2)"
    return 1
}
