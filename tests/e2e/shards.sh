#!/usr/bin/env bash
# DESIGN: one crash run cut into shards and merged (issue 25, docs/scale.md).
# GNU parallel runs four `crash --shard I/4` on this machine, as it would on
# four with --sshlogin; `fsynclab merge` combines them.  The merged result
# must be the run's: the same trial count, each trial index with the seed it
# has in the unsharded run, the same verdict rules (promise, model, entries),
# and summaries recomputed from the per-trial figures (counts, sums,
# maxima, held).  The figures of a trial depend on timing and are not
# compared with the unsharded run's; what is compared is what must be equal.
# merge refuses a result merged with itself, shards of different runs, a
# missing shard; a merged broken promise exits 3 (--no-fail: 0).  The
# manifests of docs/scale.md are parsed (python3-yaml) and checked to run
# the same shards.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
bin=$PWD/$build/fsynclab
[[ $build == /* ]] && bin=$build/fsynclab
dir=${FSYNCLAB_DIR:-$build/scratch}/e2e-shards-$$
py=/usr/bin/python3
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "rc=$rc $(head -c 600 "$dir/err" 2>/dev/null)"; fi; }
command -v parallel >/dev/null || { bad "GNU parallel is not installed (apt-get install parallel)"; echo "shards: 0 passed, 1 failed"; exit 1; }

run="crash --strategies always,none --trials 12 --entries 200 --seed 31 --max-seconds 600 --dir $dir --json"
# shellcheck disable=SC2086
"$bin" $run >"$dir/whole.json" 2>"$dir/err"; rc=$?
check "the unsharded run" '[ $rc -eq 0 ]'
# The four shards, two at a time (two cores), as docs/scale.md runs them.
parallel --will-cite -j2 "$bin $run --shard {}/4 > $dir/shard{}.json 2>$dir/err{}" ::: 0 1 2 3; rc=$?
check "GNU parallel ran 4 shards, each exit 0" '[ $rc -eq 0 ] && [ -s "$dir/shard3.json" ]'
"$bin" merge "$dir"/shard{0,1,2,3}.json >"$dir/merged.json" 2>"$dir/err"; rc=$?
check "merge of the 4 shards exits 0" '[ $rc -eq 0 ]'

# compare: a Python check over whole.json, the shards and merged.json;
# prints what differs, nothing when all is equal.
"$py" - "$dir" >"$dir/diff" 2>&1 <<'PY'
import json, sys
d = sys.argv[1]
whole = json.load(open(f"{d}/whole.json"))
merged = json.load(open(f"{d}/merged.json"))
shards = [json.load(open(f"{d}/shard{i}.json")) for i in range(4)]
bad = []
def seeds(body, k):
    return {r[0]: r[1] for r in body["per_trial"]["results"][k]}
for k, w in enumerate(whole["results"]):
    m = merged["results"][k]
    name = w["strategy"]
    if m["strategy"] != name: bad.append(f"{name}: strategy order")
    if m["trials"] != w["trials"] or m["trials"] != 12: bad.append(f"{name}: trials {m['trials']} != {w['trials']}")
    if seeds(merged, k) != seeds(whole, k): bad.append(f"{name}: per-trial seeds differ from the unsharded run's")
    for i, s in enumerate(shards):
        idx = sorted(seeds(s, k))
        if any(x % 4 != i for x in idx): bad.append(f"{name}: shard {i} ran trials {idx}")
    for key in ("promised_window_ms", "model", "trials_requested", "entries_per_trial", "syncs_trusted"):
        if m[key] != w[key]: bad.append(f"{name}: {key} {m[key]} != {w[key]}")
    rows = merged["per_trial"]["results"][k]
    valid = [r for r in rows if r[2] == "valid"]
    want = {
        "trials": len(rows), "trials_valid": len(valid),
        "acked_total": sum(r[4] for r in valid), "acked_lost_total": sum(r[6] for r in valid),
        "acked_lost_max": max([r[6] for r in valid] or [0]),
        "corrupt_recovered": sum(r[9] for r in rows),
        "trials_over_allowance": sum(1 for r in valid if r[12] is False),
        "loss_window_ms_max": round(max([r[7] for r in valid] or [0]) / 1e6, 3),
    }
    for key, v in want.items():
        if m[key] != v: bad.append(f"{name}: {key} {m[key]}, the per-trial figures give {v}")
    for key in ("acked_total", "acked_lost_total", "trials_valid"):
        if m[key] != sum(s["results"][k][key] for s in shards): bad.append(f"{name}: {key} is not the shards' sum")
    held = None
    if m["syncs_trusted"]:
        for r in valid:
            if r[12] is not None and (held is None or r[12] is False): held = r[12]
    if m["held"] != held: bad.append(f"{name}: held {m['held']}, the trials give {held}")
    p50, mx = m["loss_window_ms_p50"], m["loss_window_ms_max"]
    if not (0 <= p50 <= mx): bad.append(f"{name}: p50 {p50} above max {mx}")
if merged["shard"]["command"] != whole["shard"]["command"]: bad.append("the merged command is not the run's")
if merged["shard"]["count"] != 1 or merged["shard"]["merged"] != 4: bad.append(f"shard {merged['shard']}")
if bad: print("\n".join(bad))
PY
rc=$?
check "merged = the unsharded run: 12 trials each, the same per-trial seeds, promise, model, entries; counts, maxima and held recomputed from the trials" \
    '[ $rc -eq 0 ] && ! [ -s "$dir/diff" ] || { cat "$dir/diff"; false; }'

# Refusals.
"$bin" merge "$dir/shard0.json" "$dir/shard0.json" >/dev/null 2>"$dir/err"; rc=$?
check "merging a shard with itself is refused (2)" '[ $rc -eq 2 ] && grep -q "same result: merging a result with itself" "$dir/err"'
"$bin" merge "$dir/whole.json" "$dir/whole.json" >/dev/null 2>"$dir/err"; rc=$?
check "merging a whole result with itself is refused (2)" '[ $rc -eq 2 ] && grep -q "merging a result with itself" "$dir/err"'
"$bin" merge "$dir/shard0.json" "$dir/shard1.json" "$dir/shard2.json" >/dev/null 2>"$dir/err"; rc=$?
check "a missing shard is refused (2), naming how many" '[ $rc -eq 2 ] && grep -q "3 of 4 shards given" "$dir/err"'
# shellcheck disable=SC2086
"$bin" ${run/--seed 31/--seed 32} --strategies always --trials 4 --shard 1/4 >"$dir/other.json" 2>"$dir/err"
"$bin" merge "$dir/shard0.json" "$dir/other.json" "$dir/shard2.json" "$dir/shard3.json" >/dev/null 2>"$dir/err"; rc=$?
check "shards of different runs (seed, options) are refused (2), showing both command lines" \
    '[ $rc -eq 2 ] && grep -q "are shards of different runs" "$dir/err" && grep -q -- "--seed 32" "$dir/err"'
sed 's/"version": "[^"]*"/"version": "0.0.0-other"/' "$dir/shard1.json" >"$dir/oldver.json"
"$bin" merge "$dir/shard0.json" "$dir/oldver.json" "$dir/shard2.json" "$dir/shard3.json" >/dev/null 2>"$dir/err"; rc=$?
check "shards of different versions are refused (2)" '[ $rc -eq 2 ] && grep -q "different fsynclab versions" "$dir/err"'
"$bin" merge "$dir/shard0.json" "$dir/err0" >/dev/null 2>"$dir/err"; rc=$?
check "a file that is not JSON is refused (2), naming it" '[ $rc -eq 2 ] && grep -qF "$dir/err0 is not JSON" "$dir/err"'

# A broken promise survives the merge: exit 3, a JUnit failure with the replay.
lie="crash --model lie --strategies always --trials 4 --seed 33 --max-seconds 600 --dir $dir --json --no-fail"
parallel --will-cite -j2 "$bin $lie --shard {}/2 > $dir/lie{}.json 2>/dev/null" ::: 0 1
"$bin" merge "$dir/lie0.json" "$dir/lie1.json" --junit "$dir/lie.xml" >"$dir/lie.json" 2>"$dir/err"; rc=$?
check "a merged broken promise exits 3 and keeps a replay of one trial" \
    '[ $rc -eq 3 ] && grep -q "\"held\": false" "$dir/lie.json" && grep -q "\"replay\": \"fsynclab crash --strategies always --model lie --seed 33 --trials 4 .*--shard [0-3]/4\"" "$dir/lie.json"'
"$py" -c 'import sys; from junitparser import JUnitXml; s = list(JUnitXml.fromfile(sys.argv[1]))[0]; c = list(s)[0]
assert (s.tests, s.failures) == (1, 1), (s.tests, s.failures)
assert "replay: fsynclab crash" in c.result[0].text' "$dir/lie.xml" 2>"$dir/err"; rc=$?
check "merge --junit: the failure, with its replay, reads back" '[ $rc -eq 0 ]'
"$bin" merge --no-fail "$dir/lie0.json" "$dir/lie1.json" >/dev/null 2>"$dir/err"; rc=$?
check "merge --no-fail exits 0" '[ $rc -eq 0 ]'

# docs/scale.md's Kubernetes Job and GitHub Actions matrix: YAML that runs
# the same shards (kubectl --dry-run=client needs an API server: not run).
"$py" - >"$dir/yaml" 2>&1 <<'PY'
import re, yaml
bad = []
text = open("docs/scale.md").read()
blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
job = [y for b in blocks for y in yaml.safe_load_all(b) if isinstance(y, dict) and y.get("kind") == "Job"]
if len(job) != 1: bad.append(f"{len(job)} Kubernetes Jobs in docs/scale.md")
else:
    spec = job[0]["spec"]
    n = spec.get("completions")
    if spec.get("completionMode") != "Indexed" or not isinstance(n, int): bad.append("the Job is not Indexed with completions: N")
    cmd = " ".join(job[0]["spec"]["template"]["spec"]["containers"][0]["command"])
    if f"--shard $JOB_COMPLETION_INDEX/{n}" not in cmd or "--seed" not in cmd: bad.append(f"the Job's command does not shard by JOB_COMPLETION_INDEX/{n}: {cmd}")
for path in ("docs/ci/shards.yml", "docs/ci/sqlite-crash.yml"):
    wf = yaml.safe_load(open(path))
    jobs = wf.get("jobs") if isinstance(wf, dict) else None
    if not jobs or True not in wf and "on" not in wf: bad.append(f"{path}: not a workflow (on:, jobs:)")
wf = yaml.safe_load(open("docs/ci/shards.yml"))
shard = wf["jobs"]["shard"]
idx = shard["strategy"]["matrix"]["index"]
runs = " ".join(s.get("run", "") for s in shard["steps"])
if idx != list(range(len(idx))) or f"--shard ${{{{ matrix.index }}}}/{len(idx)}" not in runs: bad.append(f"the matrix {idx} does not run --shard I/{len(idx)}: {runs}")
merge = " ".join(s.get("run", "") for s in wf["jobs"]["merge"]["steps"])
if "fsynclab merge" not in merge or wf["jobs"]["merge"].get("needs") != "shard": bad.append("no merge job after the shards")
sq = yaml.safe_load(open("docs/ci/sqlite-crash.yml"))
allruns = " ".join(s.get("run", "") for j in sq["jobs"].values() for s in j["steps"])
for want in ("make deb", "apt-get install -y --no-install-recommends ./build/pkg/fsynclab_", "--target sqlite", "journal_mode=DELETE", "--junit"):
    if want not in allruns: bad.append(f"docs/ci/sqlite-crash.yml does not run {want}")
if bad: print("\n".join(bad))
PY
rc=$?
check "docs/scale.md's Indexed Job and docs/ci/*.yml parse as YAML and run the same shards" \
    '[ $rc -eq 0 ] && ! [ -s "$dir/yaml" ] || { cat "$dir/yaml"; false; }'

echo "shards: $pass passed, $fail failed"
[ $fail -eq 0 ]
