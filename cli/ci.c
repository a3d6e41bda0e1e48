/* DESIGN: a crash run for CI systems and for shards (docs/scale.md).
 *
 * Every trial's figures are kept (cli_trials_note, one row a trial: memory
 * grows with trials, never with entries) so that the JSON can carry them
 * and `merge` can recompute a strategy's summary from several shards with
 * the verifier's own code.  The run is named by its command line: every
 * option that decides which trials exist and how each is seeded, so that
 * two shards with the same command (and version) are parts of one run.
 * A failing result names one trial and the command that runs it alone:
 * --shard INDEX/TRIALS with the run's seed runs exactly that trial with
 * the seed it had. */
#include "cli/ci.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#ifndef FSYNCLAB_VERSION
#define FSYNCLAB_VERSION "0.1.0"
#endif

const char *const cli_trial_columns[CLI_TRIAL_COLUMNS] = {
    "index", "seed", "invalid", "written", "acked", "recovered", "acked_lost", "loss_window_ns",
    "unacked_recovered", "corrupt_recovered", "max_sync_ns", "kill_delay_ns", "held",
};

void cli_trials_note(void *arg, const struct verifier_summary *s, uint32_t index, uint64_t seed,
                     const struct verifier_trial *t)
{
    struct cli_trials *c = arg;
    size_t k = (size_t)(s - c->out);
    if (k >= BENCH_MAX_STRATEGIES || c->oom)
        return;
    if (c->n[k] == c->cap[k]) {
        size_t cap = c->cap[k] ? c->cap[k] * 2 : 64;
        struct cli_trial_row *g = realloc(c->rows[k], cap * sizeof *g);
        if (!g) {
            c->oom = 1;
            return;
        }
        c->rows[k] = g;
        c->cap[k] = cap;
    }
    struct cli_trial_row *r = &c->rows[k][c->n[k]++];
    r->index = index;
    r->seed = seed;
    r->t = *t;
    r->held = s->syncs_untrusted || t->invalid != VERIFIER_VALID
                  ? VERIFIER_HELD_NULL
                  : verifier_trial_held(s->promised_window_ms, s->allowance_ns, t);
}

void cli_trials_free(struct cli_trials *c)
{
    for (size_t k = 0; k < BENCH_MAX_STRATEGIES; k++)
        free(c->rows[k]);
}

int cli_summary_failed(const struct verifier_summary *s)
{
    return s->held == VERIFIER_HELD_FALSE || s->corrupt_recovered > 0;
}

long cli_first_failing(const struct cli_trial_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].held == VERIFIER_HELD_FALSE || rows[i].t.corrupt_recovered > 0)
            return (long)i;
    return -1;
}

/* The options after --strategies: the same for the run and its replays. */
static void options_tail(const struct crashsim_config *cfg, uint64_t entries, char *buf, size_t len)
{
    int at = snprintf(buf, len, " --model %s --seed %" PRIu64 " --trials %u", pl_model_name(&cfg->model),
                      cfg->seed, cfg->trials);
    if (entries && at >= 0 && (size_t)at < len)
        at += snprintf(buf + at, len - (size_t)at, " --entries %" PRIu64, entries);
    if (at >= 0 && (size_t)at < len)
        at += snprintf(buf + at, len - (size_t)at, " --entry-size %u --sync-method %s --writers %u%s",
                       cfg->entry_size, wal_sync_method_name(cfg->sync_method),
                       cfg->writers ? cfg->writers : 1, cfg->prealloc ? " --prealloc" : "");
    if (cfg->sector_size && cfg->sector_size != 512 && at >= 0 && (size_t)at < len)
        at += snprintf(buf + at, len - (size_t)at, " --sector-size %u", cfg->sector_size);
    if (cfg->writeback_expire_ms >= 0 && at >= 0 && (size_t)at < len)
        at += snprintf(buf + at, len - (size_t)at, " --writeback-expire-ms %ld", cfg->writeback_expire_ms);
    if (cfg->writeback_interval_ms >= 0 && at >= 0 && (size_t)at < len)
        snprintf(buf + at, len - (size_t)at, " --writeback-interval-ms %ld", cfg->writeback_interval_ms);
}

void cli_crash_command(const struct crashsim_config *cfg, const struct wal_strategy *strategies,
                       size_t n, char *buf, size_t len)
{
    char list[BENCH_MAX_STRATEGIES * 24] = "", name[32], tail[512];
    size_t at = 0;
    for (size_t i = 0; i < n && at < sizeof list; i++) {
        int w = snprintf(list + at, sizeof list - at, "%s%s", i ? "," : "",
                         wal_strategy_name(&strategies[i], name, sizeof name));
        if (w < 0)
            break;
        at += (size_t)w;
    }
    options_tail(cfg, cfg->entries, tail, sizeof tail);
    snprintf(buf, len, "fsynclab crash --strategies %s%s", list, tail);
}

void cli_crash_replay(const struct crashsim_config *cfg, const struct verifier_summary *s,
                      uint32_t index, char *buf, size_t len)
{
    char name[32], tail[512];
    /* The entries the trial's writer had, even where the run sized them. */
    options_tail(cfg, s->entries_per_trial, tail, sizeof tail);
    snprintf(buf, len, "fsynclab crash --strategies %s%s --shard %u/%u",
             wal_strategy_name(&s->strategy, name, sizeof name), tail, index, cfg->trials);
}

static cJSON *row_json(const struct cli_trial_row *r)
{
    char seed[24];
    snprintf(seed, sizeof seed, "%" PRIu64, r->seed);   /* 64 bits: not exact as a JSON number */
    const struct verifier_trial *t = &r->t;
    cJSON *a = cJSON_CreateArray();
    cJSON *v[CLI_TRIAL_COLUMNS] = {
        cJSON_CreateNumber(r->index), cJSON_CreateString(seed),
        cJSON_CreateString(t->invalid == VERIFIER_VALID ? "valid" : verifier_invalid_name(t->invalid)),
        cJSON_CreateNumber((double)t->written), cJSON_CreateNumber((double)t->acked),
        cJSON_CreateNumber((double)t->recovered), cJSON_CreateNumber((double)t->acked_lost),
        cJSON_CreateNumber((double)t->loss_window_ns), cJSON_CreateNumber((double)t->unacked_recovered),
        cJSON_CreateNumber((double)t->corrupt_recovered), cJSON_CreateNumber((double)t->max_sync_ns),
        cJSON_CreateNumber((double)t->kill_delay_ns),
        r->held == VERIFIER_HELD_NULL ? cJSON_CreateNull() : cJSON_CreateBool(r->held == VERIFIER_HELD_TRUE),
    };
    int ok = a != NULL;
    for (size_t i = 0; i < CLI_TRIAL_COLUMNS; i++) {
        if (ok && v[i] && cJSON_AddItemToArray(a, v[i]))
            continue;
        ok = 0;
        cJSON_Delete(v[i]);
    }
    if (!ok) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

static int add_per_trial(cJSON *body, size_t n, const struct cli_trials *c)
{
    cJSON *p = cJSON_CreateObject(), *cols = cJSON_CreateStringArray(cli_trial_columns, CLI_TRIAL_COLUMNS);
    cJSON *res = cJSON_CreateArray();
    int ok = p && cols && res && cJSON_AddItemToObject(p, "columns", cols);
    if (!ok)
        cJSON_Delete(cols);
    ok = ok && cJSON_AddItemToObject(p, "results", res);
    if (!ok)
        cJSON_Delete(res);
    for (size_t k = 0; ok && k < n; k++) {
        cJSON *rows = cJSON_CreateArray();
        ok = rows && cJSON_AddItemToArray(res, rows);
        if (!ok)
            cJSON_Delete(rows);
        for (size_t i = 0; ok && i < c->n[k]; i++) {
            cJSON *r = row_json(&c->rows[k][i]);
            ok = r && cJSON_AddItemToArray(rows, r);
            if (!ok)
                cJSON_Delete(r);
        }
    }
    if (ok && cJSON_AddItemToObject(body, "per_trial", p))
        return 1;
    cJSON_Delete(p);
    return 0;
}

void cli_crash_replays(const struct crashsim_config *cfg, const struct verifier_summary *out,
                       size_t n, const struct cli_trials *c, char (*bufs)[1024],
                       const char **replays)
{
    for (size_t k = 0; k < n; k++) {
        long f = cli_summary_failed(&out[k]) ? cli_first_failing(c->rows[k], c->n[k]) : -1;
        replays[k] = NULL;
        if (f >= 0) {
            cli_crash_replay(cfg, &out[k], c->rows[k][f].index, bufs[k], sizeof bufs[k]);
            replays[k] = bufs[k];
        }
    }
}

int cli_crash_json_extras(cJSON *body, size_t n, const struct cli_trials *c,
                          const char *const *replays, const char *command, uint32_t shard_index,
                          uint32_t shard_count)
{
    cJSON *results = cJSON_GetObjectItemCaseSensitive(body, "results");
    int ok = results && !c->oom;
    for (size_t k = 0; ok && k < n; k++) {
        cJSON *o = cJSON_GetArrayItem(results, (int)k);
        ok = o && (replays[k] ? cJSON_AddStringToObject(o, "replay", replays[k]) != NULL
                              : cJSON_AddNullToObject(o, "replay") != NULL);
    }
    ok = ok && add_per_trial(body, n, c);
    cJSON *s = ok ? cJSON_CreateObject() : NULL;
    ok = s && cJSON_AddItemToObject(body, "shard", s);
    if (!ok && s)
        cJSON_Delete(s);
    return ok && cJSON_AddStringToObject(s, "command", command) &&
           cJSON_AddStringToObject(s, "version", FSYNCLAB_VERSION) &&
           cJSON_AddNumberToObject(s, "index", shard_count > 1 ? shard_index : 0) &&
           cJSON_AddNumberToObject(s, "count", shard_count > 1 ? shard_count : 1);
}

/* A strategy's testcase: passed, failed with the figures, or skipped when
 * nothing could have contradicted it. */
static void junit_case(const struct crashsim_config *cfg, const struct verifier_summary *s,
                       const struct cli_trial_row *rows, size_t nrows, const char *replay,
                       struct report_junit_case *jc)
{
    char name[32];
    memset(jc, 0, sizeof *jc);
    snprintf(jc->classname, sizeof jc->classname, "fsynclab.crash.%s", pl_model_name(&cfg->model));
    snprintf(jc->name, sizeof jc->name, "%s (%s)", wal_strategy_name(&s->strategy, name, sizeof name),
             pl_model_name(&cfg->model));
    if (cli_summary_failed(s)) {
        jc->failed = 1;
        if (s->held == VERIFIER_HELD_FALSE)
            snprintf(jc->message, sizeof jc->message,
                     "held: false: %u of %u valid trials lost acknowledged entries beyond the "
                     "allowance of %.3f ms (promise %lld ms)", s->trials_over_allowance,
                     s->trials_valid, (double)s->allowance_ns / 1e6, (long long)s->promised_window_ms);
        else
            snprintf(jc->message, sizeof jc->message,
                     "%" PRIu64 " records came back corrupt", s->corrupt_recovered);
        long f = cli_first_failing(rows, nrows);
        if (!replay)
            replay = "(the failing trial's figures were not kept)";
        snprintf(jc->text, sizeof jc->text,
                 "trials %u (valid %u), acked_lost_max %" PRIu64 ", acked_lost_total %" PRIu64
                 " of %" PRIu64 "\nloss_window_ms max %.3f p50 %.3f p99 %.3f, allowance %.3f ms\n"
                 "trials_over_allowance %u, corrupt_recovered %" PRIu64 "\n"
                 "run seed %" PRIu64 ", failing trial %ld (seed %" PRIu64 ")\nreplay: %s\n",
                 s->trials, s->trials_valid, s->acked_lost_max, s->acked_lost_total, s->acked_total,
                 verifier_summary_window_ms_max(s), verifier_summary_window_ms_p50(s),
                 verifier_summary_window_ms_p99(s), (double)s->allowance_ns / 1e6,
                 s->trials_over_allowance, s->corrupt_recovered, cfg->seed,
                 f >= 0 ? (long)rows[f].index : -1L, f >= 0 ? rows[f].seed : 0, replay);
    } else if (s->held == VERIFIER_HELD_NULL) {
        jc->skipped = 1;
        snprintf(jc->message, sizeof jc->message, "held: null: %s",
                 s->promised_window_ms < 0 ? "the strategy promises nothing"
                 : s->syncs_untrusted ? "the syncs were too fast to reach a disk"
                                      : "no trial could have shown a loss");
    }
}

int cli_crash_junit(const char *path, const struct crashsim_config *cfg,
                    const struct verifier_summary *out, size_t n, const struct cli_trials *c,
                    const char *const *replays, double seconds)
{
    static struct report_junit_case cases[BENCH_MAX_STRATEGIES];
    for (size_t k = 0; k < n; k++) {
        junit_case(cfg, &out[k], c->rows[k], c->n[k], replays[k], &cases[k]);
        cases[k].seconds = seconds / (double)n;
    }
    char suite[96], err[512] = "";
    snprintf(suite, sizeof suite, "fsynclab crash --model %s --seed %" PRIu64,
             pl_model_name(&cfg->model), cfg->seed);
    if (report_junit_write(path, suite, cases, n, seconds, err, sizeof err) < 0) {
        fprintf(stderr, "fsynclab: --junit: %s\n", err);
        return CLI_EXIT_RUN;
    }
    return 0;
}
