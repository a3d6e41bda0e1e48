#!/usr/bin/env bash
# DESIGN: keeps docs/man/fsynclab.1 in step with `fsynclab --help`.  Every
# subcommand listed under "commands:" and every --option anywhere in --help
# (and in `fsynclab CMD --help` when a subcommand has its own) must have an
# entry of its own in the man page: `.It Cm NAME` for a subcommand,
# `.It Fl \-NAME` for an option.  Each one missing is named with the line to
# add.  Both pages must pass `mandoc -T lint -W warning` and have the sections
# a user looks for.  The check is proven by mutation: a --help with an option
# and a command added, and a page with an entry taken out, must be caught.
set -u
cd "$(dirname "$0")/../.." || exit 2
build=${BUILD:-build}
bin=$build/fsynclab
page=docs/man/fsynclab.1 node_page=docs/man/fsynclab-node.1
work=${FSYNCLAB_DIR:-$build/scratch}/e2e-manpage-$$
mkdir -p "$work" || exit 2
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }

# The subcommands: indented names under "commands:", up to the blank line.
help_commands() { awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
                       on && /^  [a-z][a-z0-9-]*  / { print $1 }' "$1"; }
help_options() { grep -o -- '--[a-z][a-z0-9-]*' "$1" | sort -u; }
# Prints one line for each command or option of help file $1 that page $2
# lacks an entry for.  The page escapes its hyphens (\-), read here as -.
missing_from_page() {
    local help=$1 entries c o
    entries=$(sed -n 's/\\-/-/g; s/^\.It \(Cm\|Fl\) \([^ ]*\).*/\1 \2/p' "$2")
    for c in $(help_commands "$help"); do
        grep -qx "Cm $c" <<<"$entries" ||
            echo "subcommand $c (add \`.It Cm $c\` to the list of subcommands in DESCRIPTION)"
    done
    for o in $(help_options "$help"); do
        grep -qx "Fl ${o#-}" <<<"$entries" ||
            { o=${o#-}; echo "option -$o (add \`.It Fl ${o//-/\\-} Ar ...\` under its subcommand's options)"; }
    done
}

"$bin" --help >"$work/help" 2>&1; rc=$?
if [ $rc -ne 0 ] || ! [ -s "$work/help" ]; then
    bad "fsynclab --help exits 0 and prints the usage (status $rc)"
    echo "manpage: $pass passed, $fail failed"; exit 1
fi
# A subcommand's own --help, when it has one, adds its options.
for c in $(help_commands "$work/help"); do
    "$bin" "$c" --help >>"$work/help.all" 2>/dev/null || true
done
cat "$work/help" >>"$work/help.all"
ncmd=$(help_commands "$work/help" | wc -l) nopt=$(help_options "$work/help.all" | wc -l)
if [ "$ncmd" -ge 4 ] && [ "$nopt" -ge 18 ]; then ok "--help lists $ncmd subcommands and $nopt options"
else bad "--help parsed to only $ncmd subcommands and $nopt options: has its layout changed? (this script reads 'commands:' and every --word)"; fi

missing=$(missing_from_page "$work/help.all" "$page")
if [ -z "$missing" ]; then ok "$page has an entry for every subcommand and option of --help"
else
    bad "$page lacks what --help lists:"
    sed 's/^/       /' <<<"$missing"
fi

for p in "$page" "$node_page"; do
    lint=$(mandoc -T lint -W warning "$p" 2>&1); rc=$?
    if [ $rc -eq 0 ] && [ -z "$lint" ]; then ok "mandoc -T lint -W warning $p is clean"
    else bad "mandoc -T lint -W warning $p (status $rc):"; sed 's/^/       /' <<<"$lint"; fi
    absent=""
    for s in NAME SYNOPSIS DESCRIPTION ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
        grep -q "^\.Sh $s$" "$p" || absent="$absent, $s"
    done
    grep -q "^\.It Ev FSYNCLAB_DIR$" "$p" || absent="$absent, FSYNCLAB_DIR in ENVIRONMENT"
    for x in fio pg_test_fsync; do grep -q "^\.Xr $x 1" "$p" || absent="$absent, $x(1) in SEE ALSO"; done
    if [ -z "$absent" ]; then ok "$p has every section, FSYNCLAB_DIR and fio, pg_test_fsync"
    else bad "$p lacks ${absent#, }"; fi
done

# The page describes the exit statuses --help gives.
codes=$(sed -n 's/^exit status: //p' "$work/help" | grep -o '[0-9]\+ [a-z]' | cut -d' ' -f1)
absent=""
for s in $codes; do grep -q "^\.It $s$" "$page" || absent="$absent $s"; done
if [ -n "$codes" ] && [ -z "$absent" ]; then ok "$page's EXIT STATUS has every status --help gives: $(echo $codes)"
else bad "$page's EXIT STATUS lacks status${absent:- (none parsed from --help)}"; fi

# Mutations: the check must name what is added to --help or taken from the page.
sed 's/^  --prealloc /  --mutant-option N  an option no page documents\n&/;
     s/^  node    /  mutantcmd  a command no page documents\n&/' "$work/help" >"$work/help.more"
got=$(missing_from_page "$work/help.more" "$page")
if grep -q "^option --mutant-option " <<<"$got" && grep -q "^subcommand mutantcmd " <<<"$got" &&
   [ "$(grep -c . <<<"$got")" -eq $((2 + $(grep -c . <<<"$missing"))) ]; then ok "mutation: a new option and a new command in --help are both named"
else bad "mutation: a new option and command in --help were not both named, got: $got"; fi
grep -v '^\.It Fl \\-writeback\\-interval\\-ms\|^\.It Cm curve$' "$page" >"$work/page.less"
got=$(missing_from_page "$work/help" "$work/page.less")
if grep -q "^option --writeback-interval-ms " <<<"$got" && grep -q "^subcommand curve " <<<"$got" &&
   [ "$(grep -c . <<<"$got")" -eq $((2 + $(grep -c . <<<"$missing"))) ]; then ok "mutation: entries taken from the page are named"
else bad "mutation: entries taken from the page were not named, got: $got"; fi
printf '.Sh NAME\n.Nm x\n.Bl -tag\n' >"$work/bad.1"
if mandoc -T lint -W warning "$work/bad.1" >/dev/null 2>&1; then bad "mutation: mandoc lint passed a broken page"
else ok "mutation: mandoc lint fails a broken page"; fi

echo "manpage: $pass passed, $fail failed"
[ $fail -eq 0 ]
