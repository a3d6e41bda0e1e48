#!/usr/bin/env bash
# End-to-end test of the HTML report: `crash --html` and `report RESULT.json
# --html` write one page that needs nothing from elsewhere (no script, no
# link, no remote URL; the timelines inlined), with the replay command, the
# settings, the table and the verdicts; the replay command runs; headless
# Chromium renders the page to a PNG that is not blank.  Without chromium
# that check is skipped with the reason; bad input is a clear error.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$build/fsynclab
dir=$(realpath -m "${FSYNCLAB_DIR:-$build/scratch}")/e2e-html-$$
out=$(realpath -m "$build/e2e-html-out-$$")
mkdir -p "$dir" "$out"
pass=0 fail=0
# Under ASan: fontconfig's configuration, kept for the life of the process.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "$(head -c 400 "$out/err" 2>/dev/null)"; fi; }
# Self-contained: nothing fetched, two timelines inlined.
alone() { ! grep -qiE '<script|<link|src="http|https?://|url\(' "$1"; }

"$bin" crash --dir "$dir" --strategies always,none --trials 3 --seed 5 --json \
  --html "$out/page.html" >"$out/result.json" 2>"$out/err"; rc=$?
check "crash --html exits 0 and still prints its JSON" \
  '[ $rc -eq 0 ] && grep -q "\"type\": \"crash_test_ok\"" "$out/result.json"'
check "the page inlines a timeline a strategy and loads nothing" \
  '[ "$(grep -o "data:image/png;base64," "$out/page.html" | wc -l)" -eq 2 ] && alone "$out/page.html"'
check "the page has the replay command, settings, table and verdicts" \
  'grep -q "fsynclab crash --strategies always,none --trials 3 .*--seed 5" "$out/page.html" &&
   grep -q "environment.fs_type" "$out/page.html" && grep -q "<th>acked_lost_max</th>" "$out/page.html" &&
   grep -q "Verdicts" "$out/page.html" && grep -q "promised_window_ms" "$out/page.html"'
check "the pictures drawn for the page alone are not left beside it" \
  '[ -z "$(ls "$out" | grep timeline)" ]'

"$bin" report "$out/result.json" --html "$out/again.html" 2>"$out/err"; rc=$?
check "report RESULT.json --html writes the page from a saved result" \
  '[ $rc -eq 0 ] && alone "$out/again.html" && grep -q -- "--seed 5" "$out/again.html"'
replay=$(sed -n '/<h2>Replay/{n;s/<pre>//;s/<\/pre>//;p}' "$out/again.html" | sed 's/--trials 3/--trials 1/')
"$bin" crash --timeline "$out/t.png" ${replay#fsynclab crash} >/dev/null 2>"$out/err"; rc=$?
check "the replay command runs (with its timelines)" \
  '[ $rc -eq 0 ] && [ -s "$out/t-always.png" ] && [ -s "$out/t-none.png" ]'
"$bin" report "$out/result.json" "$out/t-none.png" --html "$out/with.html" 2>"$out/err"; rc=$?
check "report inlines the timelines it is given" \
  '[ $rc -eq 0 ] && [ "$(grep -o "data:image/png;base64," "$out/with.html" | wc -l)" -eq 1 ]'

"$bin" report "$out/nothing.json" --html "$out/x.html" 2>"$out/err"; rc=$?
check "a missing result is a run error naming it" '[ $rc -eq 1 ] && grep -q "nothing.json" "$out/err"'
echo "not json" >"$out/bad.json"
"$bin" report "$out/bad.json" --html "$out/x.html" 2>"$out/err"; rc=$?
check "a file that is not a JSON object is a usage error" '[ $rc -eq 2 ] && grep -q "not a JSON object" "$out/err"'
"$bin" report "$out/result.json" 2>"$out/err"; rc=$?
check "report without --html is a usage error" '[ $rc -eq 2 ] && grep -q -- "--html" "$out/err"'
"$bin" report "$out/result.json" "$out/result.json" --html "$out/x.html" 2>"$out/err"; rc=$?
check "an image that is not .png or .svg is a usage error" '[ $rc -eq 2 ] && grep -q "not a .png or .svg" "$out/err"'
check "no half page is left by a failure" '[ ! -e "$out/x.html" ]'

chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
  echo "skip: chromium is not installed (.ci/run installs it): the page is not rendered"
elif ! command -v python3 >/dev/null; then
  echo "skip: python3 is not installed: the rendered page cannot be read"
else
  # --no-sandbox: CI runs as root; the profile stays under build/.
  HOME=$out timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$out/chromium" --window-size=1400,1600 --screenshot="$out/shot.png" \
    "file://$out/page.html" >/dev/null 2>"$out/err"; rc=$?
  read -r w h nonwhite red colours < <(python3 tests/helpers/png_pixels.py "$out/shot.png" 2>/dev/null || echo 0 0 0 0 0)
  check "headless Chromium renders the page to a PNG" '[ $rc -eq 0 ] && [ "$w" -eq 1400 ]'
  check "the rendering is not blank: text, tables and a timeline's colours" \
    '[ "$nonwhite" -gt $((w * h / 50)) ] && [ "$colours" -gt 50 ]'
fi

check "no scratch file is left" '[ -z "$(ls -A "$dir")" ]'
rm -rf "$dir" "$out"
echo "html: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
