# Sourced (not run: it is outside tests/e2e/*.sh, which `make check` runs)
# by vm_ext4.sh and vm_xfs.sh, which hold a model's image to the real
# kernel's on the same program (tests/rec_ext4.c).  Needs bin, prog and dir.

# One line of sorted facts: the lines of stdin.
facts() { sort | paste -sd' '; }

# model_facts D MODEL OUT: the journal recorded in D (D/journal, D/snap)
# imaged under MODEL as a cut at its end leaves it; its facts in OUT.
model_facts() {
  rm -rf "$1/img"
  "$bin" image --journal "$1/journal" --snapshot "$1/snap" --out "$1/img" --model "$2" \
    >"$1/image.out" 2>&1 || { cat "$1/image.out"; return 1; }
  "$prog" "$1/img" check | facts >"$3"
}

# agree_facts REAL WANT LABEL MODEL: every line of REAL (a real image's
# facts) is WANT's one line; prints the first difference, labelled.
agree_facts() {
  local want line
  want=$(cat "$2")
  while read -r line; do
    if [ "$line" != "$want" ]; then
      echo "     real $3: $line"
      echo "     model $4: $want"
      return 1
    fi
  done <"$1"
}
