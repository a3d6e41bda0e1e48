#!/usr/bin/env bash
# DESIGN: keeps docs/completion/fsynclab.bash in step with `fsynclab --help`.
# The script is sourced and its function called as bash would call it, with
# COMP_WORDS and COMP_CWORD set.  Every subcommand under "commands:" must be
# offered after `fsynclab`; every option of a "<cmd> options" section of
# --help (its "(and --x, --y)" header included) after `fsynclab <cmd>`; every
# --option of --help after some subcommand; and the values of --model and
# --sync-method as --help lists them.  A mutation (an option added to a
# section of --help) proves the check names what is missing.
set -u
cd "$(dirname "$0")/../.." || exit 2
build=${BUILD:-build}
bin=$build/fsynclab
script=docs/completion/fsynclab.bash
work=${FSYNCLAB_DIR:-$build/scratch}/e2e-completion-$$
mkdir -p "$work" || exit 2
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }

# shellcheck source=../../docs/completion/fsynclab.bash
source "$script" || { bad "sourcing $script"; echo "completion: $pass passed, $fail failed"; exit 1; }
# What the completion offers for the words given, the last being completed.
offers() {
    COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMPREPLY=()
    _fsynclab 2>/dev/null
    printf '%s\n' "${COMPREPLY[@]}"
}
help_commands() { awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
                       on && /^  [a-z][a-z0-9-]*  / { print $1 }' "$1"; }
# "cmd --opt" for each option of each "<cmd> options" section, to its blank line.
help_sections() { awk '/^[a-z]+ options/ { cmd = $1 } cmd && /^$/ { cmd = "" }
                       cmd { while (match($0, /--[a-z][a-z0-9-]*/)) {
                                 print cmd, substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH) } }' "$1"; }
# Prints one line for each option or command of help file $1 not offered.
missing_from_completion() {
    local c o cmd all=" "
    for c in $(help_commands "$1"); do
        offers fsynclab "" | grep -qx "$c" || echo "subcommand $c not offered after fsynclab"
        all="$all$(offers fsynclab "$c" -- | tr '\n' ' ') "
    done
    all="$all$(offers fsynclab -- | tr '\n' ' ')"
    while read -r cmd o; do
        offers fsynclab "$cmd" -- | grep -qx -- "$o" ||
            echo "option $o not offered after fsynclab $cmd (add it to _fsynclab_$cmd)"
    done < <(help_sections "$1" | sort -u)
    for o in $(grep -o -- '--[a-z][a-z0-9-]*' "$1" | sort -u); do
        [[ $all == *" $o "* ]] || echo "option $o not offered after any subcommand"
    done
}

"$bin" --help >"$work/help" 2>&1 || { bad "fsynclab --help exits 0"; echo "completion: $pass passed, $fail failed"; exit 1; }
n=$(help_sections "$work/help" | wc -l)
if [ "$n" -ge 30 ]; then ok "--help has $n options in subcommand sections"
else bad "--help parsed to only $n options in '<cmd> options' sections: has its layout changed?"; fi
missing=$(missing_from_completion "$work/help")
if [ -z "$missing" ]; then ok "$script offers every subcommand and option of --help where it belongs"
else bad "$script lacks what --help lists:"; sed 's/^/       /' <<<"$missing"; fi

# Values, as --help lists them.
for o in --model --sync-method; do
    want=$(grep -- "^  $o " "$work/help" | head -1 | sed 's/^  --[a-z-]* [A-Z]* *//; s/ *(default.*//; s/, */\n/g' | sort)
    got=$(offers fsynclab crash "$o" "" | sort)
    if [ -n "$want" ] && [ "$got" = "$want" ]; then ok "$o completes to what --help lists: $(echo $got)"
    else bad "$o completes to '$(echo $got)', --help lists '$(echo $want)'"; fi
done
got=$(offers fsynclab bench --strategies "always,g")
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }
check_eq "--strategies completes the last item of a list" "$got" "always,group"
check_eq "--strategies=VALUE completes too" "$(offers fsynclab bench --strategies = "no")" "none"
check_eq "--model after = completes" "$(offers fsynclab crash --model = "to")" "torn"
check_eq "a number is not completed" "$(offers fsynclab bench --entries "")" ""
check_eq "node takes nothing" "$(offers fsynclab node --)" ""
: >"$work/a.json" && : >"$work/b.txt"
check_eq "diff completes JSON files" "$(offers fsynclab diff "$work/" | grep -v '/d[12]$')" "$work/a.json"
check_eq "diff takes two files, no third" "$(offers fsynclab diff "$work/a.json" "$work/a.json" "$work/")" ""
check_eq "bench's options are not offered before a subcommand" "$(offers fsynclab --e)" ""
mkdir -p "$work/d1" && : >"$work/d2"
check_eq "--dir completes directories, not files" "$(offers fsynclab bench --dir "$work/d")" "$work/d1"

# Mutation: an option added to bench's section, and a command, must be named.
sed 's/^  --prealloc /  --mutant-option N  an option no completion offers\n&/;
     s/^  node    /  mutantcmd  a command no completion offers\n&/' "$work/help" >"$work/help.more"
got=$(missing_from_completion "$work/help.more")
if grep -q "^option --mutant-option not offered after fsynclab bench" <<<"$got" &&
   grep -q "^subcommand mutantcmd not offered" <<<"$got"; then ok "mutation: an option and a command added to --help are named"
else bad "mutation: an option and a command added to --help were not named, got: $got"; fi

echo "completion: $pass passed, $fail failed"
[ $fail -eq 0 ]
