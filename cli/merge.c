/* DESIGN: `fsynclab merge A.json B.json ...`: the shards of one crash run
 * (`crash --shard I/N --json`, docs/scale.md) into the result the whole run
 * would have given, with the same fields.
 *
 * Nothing is averaged: every strategy's summary is rebuilt from the
 * shards' per-trial figures with the verifier's own code
 * (verifier_summary_add, in trial order), so counts, maxima, the
 * percentiles of the loss window and the kill delay, and the intervals come
 * out as one run would have computed them.  Each trial keeps the verdict
 * its own machine gave it (held is judged against an allowance of the
 * promise plus the sync p99 measured where the trial ran); the merged held
 * is false when any trial broke, null when any shard could not trust its
 * syncs or no trial was valid.  Where shards measured differently
 * (calibration, allowance), the merged figure is the largest, and the
 * environment is the first shard's.
 *
 * Refused, with exit 2: a file that is not a shard of `crash --json`,
 * shards of different runs (command line, version or shard count differ),
 * a shard given twice, a result merged with itself, missing shards.  Exit 3
 * when the merged result fails (as crash), unless --no-fail. */
#include "cli/ci.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MERGE_MAX_BYTES (64u << 20)
#define MERGE_MAX_FILES 1024

struct shard {
    const char *path;
    char *text;
    cJSON *body;
    const char *command, *version;
    uint32_t index, count;
};

static int merge_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "fsynclab: merge: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    return CLI_EXIT_USAGE;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A shard's identity and shape; 0 or CLI_EXIT_USAGE naming what is wrong. */
static int take_shard(struct shard *s)
{
    const cJSON *type = get(s->body, "type"), *sh = get(s->body, "shard");
    const cJSON *pt = get(s->body, "per_trial"), *res = get(s->body, "results");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "crash_test_ok") != 0 ||
        !cJSON_IsArray(res))
        return merge_error("%s%s is not the output of `fsynclab crash --json` (no type "
                           "crash_test_ok with results)", s->path, "");
    if (!cJSON_IsObject(sh) || !cJSON_IsObject(pt))
        return merge_error("%s: no \"shard\" or \"per_trial\"%s: write shards with `fsynclab "
                           "crash --shard I/N --seed S --json` (crash --target and --vm cannot be "
                           "merged yet)", s->path, "");
    const cJSON *cmd = get(sh, "command"), *ver = get(sh, "version");
    const cJSON *idx = get(sh, "index"), *cnt = get(sh, "count"), *cols = get(pt, "columns");
    const cJSON *rows = get(pt, "results");
    if (!cJSON_IsString(cmd) || !cJSON_IsString(ver) || !cJSON_IsNumber(idx) ||
        !cJSON_IsNumber(cnt) || cnt->valuedouble < 1 || idx->valuedouble < 0 ||
        idx->valuedouble >= cnt->valuedouble || cnt->valuedouble > REPORT_CRASH_MAX_TRIALS ||
        !cJSON_IsArray(rows) || cJSON_GetArraySize(rows) != cJSON_GetArraySize(res))
        return merge_error("%s: its \"shard\" or \"per_trial\" is damaged%s", s->path, "");
    int ncols = cJSON_GetArraySize(cols);
    for (int i = 0; i < CLI_TRIAL_COLUMNS; i++) {
        const cJSON *c = cJSON_GetArrayItem(cols, i);
        if (ncols != CLI_TRIAL_COLUMNS || !cJSON_IsString(c) ||
            strcmp(c->valuestring, cli_trial_columns[i]) != 0)
            return merge_error("%s: per_trial has other columns than this fsynclab writes%s",
                               s->path, "");
    }
    s->command = cmd->valuestring;
    s->version = ver->valuestring;
    s->index = (uint32_t)idx->valuedouble;
    s->count = (uint32_t)cnt->valuedouble;
    return 0;
}

/* Every shard of one run, each once, none missing. */
static int check_set(struct shard *sh, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(sh[i].text, sh[j].text) == 0)
                return merge_error("%s and %s are the same result: merging a result with "
                                   "itself would count its trials twice", sh[j].path, sh[i].path);
            if (strcmp(sh[i].version, sh[j].version) != 0)
                return merge_error("%s and %s come from different fsynclab versions: run every "
                                   "shard with one version", sh[j].path, sh[i].path);
            if (strcmp(sh[i].command, sh[j].command) != 0 || sh[i].count != sh[j].count) {
                fprintf(stderr, "fsynclab: merge: %s and %s are shards of different runs:\n"
                        "  %s (shard %u/%u)\n  %s (shard %u/%u)\nrun every shard with the same "
                        "options and --seed\n", sh[j].path, sh[i].path, sh[j].command,
                        sh[j].index, sh[j].count, sh[i].command, sh[i].index, sh[i].count);
                return CLI_EXIT_USAGE;
            }
            if (sh[i].index == sh[j].index) {
                fprintf(stderr, "fsynclab: merge: %s and %s are both shard %u/%u: give each "
                        "shard once\n", sh[j].path, sh[i].path, sh[i].index, sh[i].count);
                return CLI_EXIT_USAGE;
            }
        }
    }
    if (n != sh[0].count) {
        fprintf(stderr, "fsynclab: merge: %zu of %u shards given: give every shard 0/%u .. "
                "%u/%u of the run\n", n, sh[0].count, sh[0].count, sh[0].count - 1, sh[0].count);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static uint64_t num(const cJSON *row, int col)
{
    const cJSON *v = cJSON_GetArrayItem(row, col);
    return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

/* One per_trial row back into a trial; 0 or -EINVAL. */
static int take_row(const cJSON *row, struct cli_trial_row *r)
{
    const cJSON *seed = cJSON_GetArrayItem(row, 1), *inv = cJSON_GetArrayItem(row, 2);
    const cJSON *held = cJSON_GetArrayItem(row, 12);
    if (cJSON_GetArraySize(row) != CLI_TRIAL_COLUMNS || !cJSON_IsString(seed) ||
        !cJSON_IsString(inv) || !cJSON_IsNumber(cJSON_GetArrayItem(row, 0)))
        return -EINVAL;
    memset(r, 0, sizeof *r);
    r->index = (uint32_t)num(row, 0);
    char *end;
    errno = 0;
    r->seed = strtoull(seed->valuestring, &end, 10);
    if (errno || *end || end == seed->valuestring)
        return -EINVAL;
    r->t.invalid = VERIFIER_INVALID_REASONS;
    if (strcmp(inv->valuestring, "valid") == 0)
        r->t.invalid = VERIFIER_VALID;
    for (unsigned i = 1; i < VERIFIER_INVALID_REASONS; i++)
        if (strcmp(inv->valuestring, verifier_invalid_name(i)) == 0)
            r->t.invalid = i;
    if (r->t.invalid == VERIFIER_INVALID_REASONS)
        return -EINVAL;
    r->t.written = num(row, 3);
    r->t.acked = num(row, 4);
    r->t.recovered = num(row, 5);
    r->t.acked_lost = num(row, 6);
    r->t.loss_window_ns = num(row, 7);
    r->t.unacked_recovered = num(row, 8);
    r->t.corrupt_recovered = num(row, 9);
    r->t.max_sync_ns = num(row, 10);
    r->t.kill_delay_ns = num(row, 11);
    r->held = cJSON_IsTrue(held) ? VERIFIER_HELD_TRUE : cJSON_IsFalse(held) ? VERIFIER_HELD_FALSE
                                                                            : VERIFIER_HELD_NULL;
    return 0;
}

static int row_cmp(const void *a, const void *b)
{
    const struct cli_trial_row *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

static double fnum(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Strategy k of every shard into out and c->rows[k]; 0 or an exit status. */
static int merge_strategy(struct shard *sh, size_t n, size_t k, struct verifier_summary *out,
                          struct cli_trials *c)
{
    const cJSON *r0 = cJSON_GetArrayItem(get(sh[0].body, "results"), (int)k);
    const cJSON *name = get(r0, "strategy");
    struct wal_strategy st;
    if (!cJSON_IsString(name) || wal_strategy_parse(name->valuestring, &st) < 0)
        return merge_error("%s: result %s has no strategy fsynclab knows", sh[0].path, "");
    verifier_summary_init(out, &st);
    const cJSON *promised = get(r0, "promised_window_ms");
    out->promised_window_ms = cJSON_IsNumber(promised) ? (int64_t)promised->valuedouble : -1;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *r = cJSON_GetArrayItem(get(sh[i].body, "results"), (int)k);
        const cJSON *rows = cJSON_GetArrayItem(get(get(sh[i].body, "per_trial"), "results"), (int)k);
        if (!cJSON_IsObject(r) || !cJSON_IsArray(rows))
            return merge_error("%s: a result without its per_trial rows%s", sh[i].path, "");
        uint64_t v;
        if ((v = (uint64_t)(fnum(r, "allowance_ms") * 1e6 + 0.5)) > out->allowance_ns)
            out->allowance_ns = v;
        if ((v = (uint64_t)(fnum(r, "calibration_sync_p50_us") * 1e3 + 0.5)) > out->calibration_sync_p50_ns)
            out->calibration_sync_p50_ns = v;
        if ((v = (uint64_t)(fnum(r, "calibration_sync_p99_us") * 1e3 + 0.5)) > out->calibration_sync_p99_ns)
            out->calibration_sync_p99_ns = v;
        if ((v = (uint64_t)fnum(r, "entries_per_trial")) > out->entries_per_trial)
            out->entries_per_trial = v;
        if (cJSON_IsFalse(get(r, "syncs_trusted")))
            verifier_summary_distrust(out);
        total += (size_t)cJSON_GetArraySize(rows);
    }
    c->rows[k] = calloc(total ? total : 1, sizeof *c->rows[k]);
    if (!c->rows[k]) {
        fprintf(stderr, "fsynclab: merge: out of memory\n");
        return CLI_EXIT_RUN;
    }
    for (size_t i = 0; i < n; i++) {
        const cJSON *rows = cJSON_GetArrayItem(get(get(sh[i].body, "per_trial"), "results"), (int)k);
        const cJSON *row;
        cJSON_ArrayForEach(row, rows) {
            struct cli_trial_row *r = &c->rows[k][c->n[k]];
            if (take_row(row, r) < 0 || r->index % sh[i].count != sh[i].index)
                return merge_error("%s: a per_trial row is damaged or belongs to another shard%s",
                                   sh[i].path, "");
            c->n[k]++;
        }
    }
    qsort(c->rows[k], c->n[k], sizeof *c->rows[k], row_cmp);
    for (size_t i = 0; i < c->n[k]; i++)
        if (i > 0 && c->rows[k][i].index == c->rows[k][i - 1].index)
            return merge_error("trial %s appears in two shards%s", "", "");
    /* The summary as one run would have added the trials; then each trial's
     * verdict as its own machine gave it. */
    enum verifier_held held = VERIFIER_HELD_NULL;
    for (size_t i = 0; i < c->n[k]; i++) {
        const struct cli_trial_row *r = &c->rows[k][i];
        verifier_summary_add(out, &r->t, r->seed);
        if (r->t.invalid == VERIFIER_VALID && r->held != VERIFIER_HELD_NULL &&
            (held == VERIFIER_HELD_NULL || r->held == VERIFIER_HELD_FALSE))
            held = r->held;
    }
    out->trials_over_allowance = 0;
    for (size_t i = 0; i < c->n[k]; i++)
        out->trials_over_allowance += c->rows[k][i].held == VERIFIER_HELD_FALSE;
    out->held = out->syncs_untrusted ? VERIFIER_HELD_NULL : held;
    return 0;
}

/* The run's configuration as the body states it. */
static int take_config(const struct shard *s, struct crashsim_config *cfg, struct bench_env *env)
{
    const cJSON *model = get(s->body, "model"), *method = get(s->body, "sync_method");
    const cJSON *e = get(s->body, "environment"), *entries = get(s->body, "entries");
    const cJSON *r0 = cJSON_GetArrayItem(get(s->body, "results"), 0);
    memset(cfg, 0, sizeof *cfg);
    memset(env, 0, sizeof *env);
    if (!cJSON_IsString(model) || crashsim_model_parse(model->valuestring, &cfg->model) < 0 ||
        !cJSON_IsString(method) || wal_sync_method_parse(method->valuestring, &cfg->sync_method) < 0 ||
        !cJSON_IsObject(e))
        return merge_error("%s: no model, sync_method or environment fsynclab knows%s", s->path, "");
    cfg->seed = (uint64_t)fnum(s->body, "seed");
    cfg->entries = cJSON_IsNumber(entries) ? (uint64_t)entries->valuedouble : 0;
    cfg->entry_size = (uint32_t)fnum(s->body, "entry_size");
    cfg->sector_size = cJSON_IsNumber(get(s->body, "sector_size")) ? (unsigned)fnum(s->body, "sector_size") : 0;
    cfg->trials = (uint32_t)fnum(r0, "trials_requested");
    const char *keys[3] = { "fs_type", "device", "warning" };
    char *dst[3] = { env->fs_type, env->device, env->warning };
    size_t len[3] = { sizeof env->fs_type, sizeof env->device, sizeof env->warning };
    for (int i = 0; i < 3; i++) {
        const cJSON *v = get(e, keys[i]);
        snprintf(dst[i], len[i], "%s", cJSON_IsString(v) ? v->valuestring : "");
    }
    return 0;
}

/* The merged body: crash's fields, then "merged": how many shards. */
static int merge_print(const struct cli *o, struct shard *sh, size_t n)
{
    static struct verifier_summary out[BENCH_MAX_STRATEGIES];
    static struct cli_trials c;
    static char bufs[BENCH_MAX_STRATEGIES][1024];
    const char *replays[BENCH_MAX_STRATEGIES];
    struct crashsim_config cfg;
    struct bench_env env;
    int rc = take_config(&sh[0], &cfg, &env);
    size_t ns = (size_t)cJSON_GetArraySize(get(sh[0].body, "results"));
    if (!rc && (ns < 1 || ns > BENCH_MAX_STRATEGIES))
        rc = merge_error("%s: %s results", sh[0].path, ns ? "too many" : "no");
    for (size_t k = 0; rc == 0 && k < ns; k++)
        rc = merge_strategy(sh, n, k, &out[k], &c);
    int failed = 0;
    for (size_t k = 0; rc == 0 && k < ns; k++) {
        /* The first failing trial is the first failing trial of its shard:
         * that shard's replay is the run's. */
        long f = cli_summary_failed(&out[k]) ? cli_first_failing(c.rows[k], c.n[k]) : -1;
        replays[k] = NULL;
        failed |= cli_summary_failed(&out[k]);
        for (size_t i = 0; f >= 0 && i < n; i++) {
            if (c.rows[k][f].index % sh[i].count != sh[i].index)
                continue;
            const cJSON *r = cJSON_GetArrayItem(get(sh[i].body, "results"), (int)k);
            const cJSON *rp = get(r, "replay");
            if (cJSON_IsString(rp)) {
                snprintf(bufs[k], sizeof bufs[k], "%s", rp->valuestring);
                replays[k] = bufs[k];
            }
        }
    }
    if (rc == 0 && o->junit)
        rc = cli_crash_junit(o->junit, &cfg, out, ns, &c, replays, 0);
    if (rc == 0) {
        cJSON *body = report_crash_body(&env, &cfg, out, ns);
        if (body && (!cli_crash_json_extras(body, ns, &c, replays, sh[0].command, 0, 1) ||
                     !cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(body, "shard"), "merged", (double)n))) {
            cJSON_Delete(body);
            body = NULL;
        }
        rc = cli_verdict_status(o, failed, cli_print_json(body));
    }
    cli_trials_free(&c);
    return rc;
}

int cli_merge(int argc, char **argv)
{
    struct cli o = { .rest = 1 };
    int rc = cli_parse(argc, argv, "merge", CLI_TAKES_MERGE, REPORT_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    int n = argc - o.rest;
    if (n < 2 || n > MERGE_MAX_FILES)
        return cli_usage_error("merge: give the shards' results, 2 to 1024 files: fsynclab merge "
                               "A.json B.json ...%s", "");
    struct shard *sh = calloc((size_t)n, sizeof *sh);
    if (!sh) {
        fprintf(stderr, "fsynclab: merge: out of memory\n");
        return CLI_EXIT_RUN;
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        sh[i].path = argv[o.rest + i];
        if (!(sh[i].text = cli_read_file("merge", sh[i].path, MERGE_MAX_BYTES))) {
            rc = CLI_EXIT_RUN;
        } else if (!(sh[i].body = cJSON_Parse(sh[i].text))) {
            rc = merge_error("%s is not JSON%s", sh[i].path, "");
        } else {
            rc = take_shard(&sh[i]);
        }
    }
    if (rc == 0)
        rc = check_set(sh, (size_t)n);
    if (rc == 0)
        rc = merge_print(&o, sh, (size_t)n);
    for (int i = 0; i < n; i++) {
        cJSON_Delete(sh[i].body);
        free(sh[i].text);
    }
    free(sh);
    return rc;
}
