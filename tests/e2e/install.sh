#!/usr/bin/env bash
# DESIGN: `make install DESTDIR=D PREFIX=/usr` into a scratch root puts the two
# binaries, both man pages, the bash completion, and the recorder library and
# the sqlite target's worker (in lib/fsynclab/, only when built) where a
# Debian system looks for them; the
# installed fsynclab reports debian/changelog's version and the installed node
# answers; `make uninstall` takes all of it away again.  make runs with -o all
# so that nothing is rebuilt: the test installs the tree make check built.
set -u
cd "$(dirname "$0")/../.." || exit 2
build=${BUILD:-build}
work=${FSYNCLAB_DIR:-$build/scratch}/e2e-install-$$
mkdir -p "$work" || exit 2
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# The make of this tree, without the calling make's flags and jobserver.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -o all "$@"; }

root=$work/root
export LC_ALL=C
files=$(printf '%s\n' usr/bin/fsynclab usr/bin/fsynclab-node usr/share/man/man1/fsynclab.1 \
    usr/share/man/man1/fsynclab-node.1 usr/share/bash-completion/completions/fsynclab \
    usr/lib/fsynclab/libfsynclab-rec.so usr/lib/fsynclab/fsynclab-sqlite-worker \
    usr/lib/fsynclab/fsynclab-rocksdb-worker usr/lib/fsynclab/fsynclab-lmdb-worker | sort)
mk install BUILD="$build" DESTDIR="$root" PREFIX=/usr >"$work/log" 2>&1; rc=$?
check "make install DESTDIR PREFIX=/usr succeeds" '[ $rc -eq 0 ] || { cat "$work/log"; false; }'
got=$(cd "$root" 2>/dev/null && find . -type f | sed 's|^\./||' | sort)
check "it installs exactly the binaries, man pages, completion and the recorder's library and workers" '[ "$got" = "$files" ]'
[ "$got" = "$files" ] || { echo "  got:"; sed 's/^/    /' <<<"$got"; }
check "the binaries are executable, the rest is not" \
    '[ -x "$root/usr/bin/fsynclab" ] && [ -x "$root/usr/bin/fsynclab-node" ] && [ -x "$root/usr/lib/fsynclab/fsynclab-sqlite-worker" ] && ! [ -x "$root/usr/share/man/man1/fsynclab.1" ] && ! [ -x "$root/usr/lib/fsynclab/libfsynclab-rec.so" ]'
want=$(sed -n '1{s/.*(//;s/).*//;p;}' debian/changelog)
got=$("$root/usr/bin/fsynclab" --version 2>&1)
check "installed fsynclab --version is debian/changelog's: fsynclab $want" '[ -n "$want" ] && [ "$got" = "fsynclab $want" ]'
[ "$got" = "fsynclab $want" ] || echo "  got: $got"
reply=$(FSYNCLAB_DIR=$work "$root/usr/bin/fsynclab-node" <<<'{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1"}}')
check "the installed node answers init" '[ "$reply" = "{\"src\": \"n1\", \"dest\": \"c0\", \"body\": {\"type\": \"init_ok\", \"in_reply_to\": 1, \"msg_id\": 0}}" ]'
check "the installed man pages render" 'mandoc -T markdown "$root/usr/share/man/man1/fsynclab.1" 2>/dev/null | grep -q "^# EXIT STATUS"'

mk uninstall BUILD="$build" DESTDIR="$root" PREFIX=/usr >"$work/log" 2>&1; rc=$?
left=$(find "$root" -type f 2>/dev/null)
check "make uninstall removes every file" '[ $rc -eq 0 ] && [ -z "$left" ]'

# A build without the recorder's files installs no usr/lib.  A copy of the
# tree's binaries stands in for the build, so build/ is not touched.
fake=$work/build
mkdir -p "$fake" && cp "$build/fsynclab" "$build/fsynclab-node" "$fake/"
mk install BUILD="$fake" DESTDIR="$work/root2" PREFIX=/usr >"$work/log" 2>&1; rc=$?
check "without a recorder library, no usr/lib is made" '[ $rc -eq 0 ] && ! [ -e "$work/root2/usr/lib" ]'

echo "install: $pass passed, $fail failed"
[ $fail -eq 0 ]
