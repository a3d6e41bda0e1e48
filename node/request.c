/* DESIGN: the handlers.  Each checks every field of its request before any
 * disk work, in the documented order, and answers the first bad one with
 * error 12 naming the field and what it must be: the ranges and their
 * words come from report/'s limits table, which the command line uses too.
 * Disk work goes through struct node_ops; the data directory comes from
 * the environment only, never from a request. */
#include "node/internal.h"

#include "report/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STRATEGIES_ALLOWED "allowed: " WAL_STRATEGIES   /* the list wal_strategy_parse takes */

void node_handle_init(struct node *n, const struct node_req *r)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r->body, "node_id");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(r->body, "node_ids");
    if (!cJSON_IsString(id) || id->valuestring[0] == '\0') {
        node_reply_error(n, r, NODE_ERR_MALFORMED, "node_id must be a non-empty string");
        return;
    }
    if (ids) {
        const cJSON *e;
        int ok = cJSON_IsArray(ids);
        cJSON_ArrayForEach(e, ids) ok = ok && cJSON_IsString(e);
        if (!ok) {
            node_reply_error(n, r, NODE_ERR_MALFORMED, "node_ids must be a list of strings");
            return;
        }
    }
    char *copy = strdup(id->valuestring);
    if (!copy) {
        node_log(n, "out of memory");
        return;
    }
    free(n->id);
    n->id = copy;
    cJSON *p = cJSON_CreateObject();
    if (p && !cJSON_AddStringToObject(p, "type", "init_ok")) {
        cJSON_Delete(p);
        p = NULL;
    }
    node_reply(n, r, p);
}

/* ---- field checks ------------------------------------------------------------
 * Each returns 0 when the field is fine (or absent and optional: *out keeps
 * its default) and -1 after replying with the error. */

static int number_field(struct node *n, const struct node_req *r, enum report_limit which,
                        int required, double *out)
{
    const struct report_range *lim = report_limit(which);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, lim->field);
    if (!v && !required)
        return 0;
    if (!v || !cJSON_IsNumber(v) || !report_limit_ok(which, v->valuedouble)) {
        char text[96];
        node_reply_error(n, r, NODE_ERR_MALFORMED, "%s %s %s", lim->field,
                         v ? "must be" : "is required:", report_limit_text(which, text, sizeof text));
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

/* A name field: absent keeps *out; parse() refuses unknown names. */
static int name_field(struct node *n, const struct node_req *r, const char *field,
                      const char *allowed, int (*parse)(const char *, void *), void *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, field);
    if (!v)
        return 0;
    if (!cJSON_IsString(v)) {
        node_reply_error(n, r, NODE_ERR_MALFORMED, "%s must be a string; allowed: %s", field,
                         allowed);
        return -1;
    }
    if (parse(v->valuestring, out) < 0) {
        char q[NODE_QUOTE_MAX + 4];
        node_clip(v->valuestring, q, sizeof q);
        node_reply_error(n, r, NODE_ERR_MALFORMED, "%s: unknown %s \"%s\"; allowed: %s", field,
                         strcmp(field, "model") == 0 ? "model" : "method", q, allowed);
        return -1;
    }
    return 0;
}

static int parse_method(const char *s, void *out)
{
    return wal_sync_method_parse(s, out);
}

static int parse_model(const char *s, void *out)
{
    return crashsim_model_parse(s, out);
}

/* "strategies": a list of 1 to BENCH_MAX_STRATEGIES names; the count. */
static int strategies_field(struct node *n, const struct node_req *r,
                            struct wal_strategy *strategies, size_t *count)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(r->body, "strategies");
    int len = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (len < 1 || len > BENCH_MAX_STRATEGIES) {
        node_reply_error(n, r, NODE_ERR_MALFORMED,
                         "strategies %s a list of 1 to %d strategy names; " STRATEGIES_ALLOWED,
                         list ? "must be" : "is required:", BENCH_MAX_STRATEGIES);
        return -1;
    }
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        if (!cJSON_IsString(e)) {
            node_reply_error(n, r, NODE_ERR_MALFORMED,
                             "strategies[%zu] must be a string; " STRATEGIES_ALLOWED, i);
            return -1;
        }
        if (wal_strategy_parse(e->valuestring, &strategies[i]) < 0) {
            char q[NODE_QUOTE_MAX + 4];
            node_clip(e->valuestring, q, sizeof q);
            node_reply_error(n, r, NODE_ERR_MALFORMED,
                             "strategies[%zu]: unknown strategy \"%s\"; " STRATEGIES_ALLOWED, i, q);
            return -1;
        }
        i++;
    }
    *count = i;
    return 0;
}

/* ---- fsync_benchmark ------------------------------------------------------------ */

/* The fields fsync_benchmark and crash_test share, into cfg (defaults
 * first); entries are checked against entries_limit.  The strategy count,
 * or 0 after replying with an error. */
static size_t parse_benchmark(struct node *n, const struct node_req *r, struct bench_config *cfg,
                              struct wal_strategy *strategies, enum report_limit entries_limit)
{
    double entries = 0, size = BENCH_DEFAULT_ENTRY_SIZE, writers = 1;
    size_t count = 0;
    *cfg = (struct bench_config){ .sync_method = WAL_SYNC_FSYNC,
                                  .max_seconds = BENCH_DEFAULT_SECONDS };
    if (number_field(n, r, entries_limit, 1, &entries) < 0 ||
        strategies_field(n, r, strategies, &count) < 0 ||
        number_field(n, r, REPORT_ENTRY_SIZE, 0, &size) < 0 ||
        name_field(n, r, "sync_method", WAL_SYNC_METHODS, parse_method, &cfg->sync_method) < 0 ||
        number_field(n, r, REPORT_MAX_SECONDS, 0, &cfg->max_seconds) < 0 ||
        number_field(n, r, REPORT_WRITERS, 0, &writers) < 0)
        return 0;
    const cJSON *prealloc = cJSON_GetObjectItemCaseSensitive(r->body, "prealloc");
    if (prealloc && !cJSON_IsBool(prealloc)) {
        node_reply_error(n, r, NODE_ERR_MALFORMED, "prealloc must be true or false");
        return 0;
    }
    cfg->prealloc = prealloc && cJSON_IsTrue(prealloc);
    cfg->entries = (uint64_t)entries;
    cfg->entry_size = (uint32_t)size;
    cfg->writers = (unsigned)writers;
    return count;
}

/* The data directory's environment into env; -1 after replying. */
static int probe(struct node *n, const struct node_req *r, const char *dir, struct bench_env *env)
{
    memset(env, 0, sizeof *env);
    int rc = n->ops.probe(dir, env);
    if (rc < 0) {
        node_reply_error(n, r, NODE_ERR_ABORT, "cannot examine the data directory %s: %s", dir,
                         strerror(-rc));
        return -1;
    }
    return 0;
}

static void reply_failure(struct node *n, const struct node_req *r, const char *what, int rc,
                          const char *err)
{
    node_log(n, "%s failed: %s", what, err[0] ? err : strerror(-rc));
    node_reply_error(n, r, NODE_ERR_ABORT, "%s", err[0] ? err : strerror(-rc));
}

void node_handle_benchmark(struct node *n, const struct node_req *r)
{
    struct bench_config cfg;
    struct wal_strategy strategies[BENCH_MAX_STRATEGIES];
    size_t count = parse_benchmark(n, r, &cfg, strategies, REPORT_ENTRIES);
    if (count == 0)
        return;
    /* repeat: optional, 1 by default, so that a request without it runs and
     * replies as it always did; with it, an absent max_seconds grows with
     * the rounds (and the warm-up) as the command line's does. */
    double repeat = 1;
    if (number_field(n, r, REPORT_REPEAT, 0, &repeat) < 0)
        return;
    cfg.repeat = (unsigned)repeat;
    if (cfg.repeat > 1 && !cJSON_GetObjectItemCaseSensitive(r->body, "max_seconds"))
        cfg.max_seconds = bench_default_budget(&cfg, count);
    cfg.dir = bench_data_dir(NULL);   /* never from the request: clients name no paths */
    struct bench_env env;
    if (probe(n, r, cfg.dir, &env) < 0)
        return;
    struct bench_result *results = calloc(count, sizeof *results);   /* ~60 KiB each */
    if (!results) {
        node_reply_error(n, r, NODE_ERR_ABORT, "out of memory for %zu results", count);
        return;
    }
    char err[512] = "";
    int rc = n->ops.benchmark(&cfg, strategies, count, results, err, sizeof err);
    if (rc < 0) {
        reply_failure(n, r, "fsync_benchmark", rc, err);
    } else {
        bench_check_syncs(&env, &cfg, results, count);   /* a WARNING in the environment */
        node_reply(n, r, report_benchmark_body(&env, &cfg, results, count));
    }
    free(results);
}

/* ---- crash_test --------------------------------------------------------------------- */

/* A crash_test body: the fields it shares with fsync_benchmark (entries
 * capped lower), then trials, model, seed and the writeback model's
 * settings.  The strategy count, or 0 after replying. */
static size_t parse_crash(struct node *n, const struct node_req *r, struct crashsim_config *cfg,
                          struct wal_strategy *strategies)
{
    struct bench_config common;
    size_t count = parse_benchmark(n, r, &common, strategies, REPORT_CRASH_ENTRIES);
    if (count == 0)
        return 0;
    double trials = 0, seed = -1, expire = -1, interval = -1;
    *cfg = (struct crashsim_config){ 0 };
    (void)crashsim_model_parse("drop", &cfg->model);
    if (number_field(n, r, REPORT_TRIALS, 1, &trials) < 0 ||
        name_field(n, r, "model", CRASHSIM_MODELS, parse_model, &cfg->model) < 0 ||
        number_field(n, r, REPORT_SEED, 0, &seed) < 0 ||
        number_field(n, r, REPORT_WRITEBACK_EXPIRE_MS, 0, &expire) < 0 ||
        number_field(n, r, REPORT_WRITEBACK_INTERVAL_MS, 0, &interval) < 0)
        return 0;
    /* No seed: one from the clock, reported in the reply so the run replays. */
    cfg->seed = seed >= 0 ? (uint64_t)seed : wal_now_ns() % ((uint64_t)REPORT_MAX_SEED + 1);
    cfg->writeback_expire_ms = (long)expire;
    cfg->writeback_interval_ms = (long)interval;
    cfg->entries = common.entries;
    cfg->entry_size = common.entry_size;
    cfg->sync_method = common.sync_method;
    cfg->max_seconds = common.max_seconds;
    cfg->writers = common.writers;
    cfg->prealloc = common.prealloc;
    cfg->trials = (uint32_t)trials;
    return count;
}

void node_handle_crash(struct node *n, const struct node_req *r)
{
    struct crashsim_config cfg;
    struct wal_strategy strategies[BENCH_MAX_STRATEGIES];
    size_t count = parse_crash(n, r, &cfg, strategies);
    if (count == 0)
        return;
    cfg.dir = bench_data_dir(NULL);   /* never from the request: clients name no paths */
    struct bench_env env;
    if (probe(n, r, cfg.dir, &env) < 0)
        return;
    struct verifier_summary *out = calloc(count, sizeof *out);
    if (!out) {
        node_reply_error(n, r, NODE_ERR_ABORT, "out of memory for %zu results", count);
        return;
    }
    char err[512] = "";
    int rc = n->ops.crash(&cfg, strategies, count, out, NULL, NULL, err, sizeof err);
    if (rc < 0) {
        reply_failure(n, r, "crash_test", rc, err);
    } else {
        bench_check_crash_syncs(&env, out, count);
        node_reply(n, r, report_crash_body(&env, &cfg, out, count));
    }
    free(out);
}
