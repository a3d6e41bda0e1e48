#!/usr/bin/env bash
# The Makefile asks pkg-config only when a compile or link needs the flags:
# `make deps` (which installs the packages pkg-config would look for) and
# `make clean` parse the Makefile without a word about a missing package.
# The mutation is a package that does not exist: a build names it.
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
missing="libcjson fsynclab-no-such-package"

out=$(make -n deps PKGS="$missing" 2>&1)
check "make deps says nothing of pkg-config before it installs" '! grep -q "fsynclab-no-such-package" <<<"$out" && grep -q "\.ci/run deps" <<<"$out"'
out=$(make -n clean PKGS="$missing" BUILD=build/no-such-tree 2>&1)
check "make clean says nothing of pkg-config" '! grep -q "fsynclab-no-such-package" <<<"$out"'
out=$(make -n BUILD=build/e2e-makefile-$$ PKGS="$missing" build/e2e-makefile-$$/hist/hist.o 2>&1)
check "a compile asks pkg-config, which names the missing package" 'grep -q "fsynclab-no-such-package" <<<"$out"'
check "make bench's fio is in the one package list make deps installs" 'grep -qE "^pkgs\+=\(.*\bfio\b" .ci/run'
echo "makefile: $pass passed, $fail failed"
[ $fail -eq 0 ]
