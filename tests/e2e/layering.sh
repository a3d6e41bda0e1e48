#!/usr/bin/env bash
# Arrows point down only: a module may include the modules before it in the
# Makefile's MODULES (docs/design.md draws the same order), never one after
# it.  Every #include "x/..." of every .c and .h under a module is checked;
# a file belongs to the longest module its path starts with (recorder/targets
# before recorder), and a folder that is no module (vm/guest) to its parent's.
# cli/ is the top: it may include any module.  The checker is proven by a
# mutation first: a copy of the tree where hist/ includes node/ must fail.
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }

modules=$(sed -n 's/^MODULES *:= *//p' Makefile)

# check ROOT: prints each include that points up; exits 1 if there is one.
check() {
  (cd "$1" && awk -v mods="$modules" '
    BEGIN { n = split(mods, m, " "); for (i = 1; i <= n; i++) rank[m[i]] = i; rank["cli"] = n + 1 }
    function owner(path,   best, k) {
      best = ""
      for (k in rank) if (index(path, k "/") == 1 && length(k) > length(best)) best = k
      return best
    }
    /^[ \t]*#[ \t]*include[ \t]*"[a-z_]+\// {
      inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
      from = owner(FILENAME); to = owner(inc)
      if (to == "" && index(inc, "tests/") != 1) { printf "%s:%d: %s is in no module\n", FILENAME, FNR, inc; bad = 1; next }
      if (to != "" && rank[to] > rank[from]) {
        printf "%s:%d: %s (%s) includes %s (%s), above it\n", FILENAME, FNR, from, rank[from], to, rank[to]; bad = 1
      }
    }
    END { exit bad }' $(for d in $modules cli; do ls "$d"/*.c "$d"/*.h 2>/dev/null; done; ls vm/guest/*.c 2>/dev/null))
}

# The mutation: the checker must see one include pointing up.
mut=$(mktemp -d "${FSYNCLAB_DIR:-build/scratch}/layering.XXXXXX")
trap 'rm -rf "$mut"' EXIT
for d in $modules cli; do mkdir -p "$mut/$d"; cp "$d"/*.[ch] "$mut/$d/" 2>/dev/null; done
mkdir -p "$mut/vm/guest" && cp vm/guest/*.c "$mut/vm/guest/" 2>/dev/null
printf '#include "node/node.h"\n' >> "$mut/hist/hist.c"
out=$(check "$mut"); rc=$?
if [ $rc -ne 0 ] && grep -q 'hist/hist.c:.*includes node' <<<"$out"; then ok "the checker fails on hist/ including node/ (a mutation)"
else bad "the checker missed hist/ including node/: $out"; fi

out=$(check .); rc=$?
if [ $rc -eq 0 ]; then ok "no module includes one above it in MODULES ($modules)"
else bad "includes pointing up:"; echo "$out"; fi

echo "layering: $pass passed, $fail failed"
[ $fail -eq 0 ]
