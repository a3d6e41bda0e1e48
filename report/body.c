/* DESIGN: the result bodies.  Each is a cJSON object built key by key in
 * the documented order (docs/protocol.md), since the printer keeps
 * insertion order and graders compare lines as text.  Times are rounded
 * once here, to the microsecond, so that every front end shows the same
 * digits.  The node adds in_reply_to and msg_id; `--json` prints the body
 * as it is. */
#include "report/report.h"
#include "report/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double us(uint64_t ns)
{
    return (double)ns / 1e3;   /* whole ns are exactly 3 decimals of a microsecond */
}

static double ms3(uint64_t ns)
{
    return (double)((ns + 500) / 1000) / 1e3;   /* to the microsecond, in ms */
}

static int add_float(cJSON *o, const char *key, double v)
{
    cJSON *f = report_json_float(isfinite(v) ? v : 0);
    if (f && cJSON_AddItemToObject(o, key, f))
        return 1;
    cJSON_Delete(f);
    return 0;
}

/* cs * 10 as an integer, null when unknown (negative). */
static int add_cs_ms(cJSON *o, const char *key, long cs)
{
    return cs < 0 ? cJSON_AddNullToObject(o, key) != NULL
                  : cJSON_AddNumberToObject(o, key, (double)cs * 10) != NULL;
}

static cJSON *uint_array(const uint64_t *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *x = cJSON_CreateNumber((double)v[i]);
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static int add_item(cJSON *o, const char *key, cJSON *item)
{
    if (item && cJSON_AddItemToObject(o, key, item))
        return 1;
    cJSON_Delete(item);
    return 0;
}

/* Only for more than one run, so that a plain request's reply is what it
 * always was: every run, the median's interval and its real coverage, and
 * the runs' spread. */
static int add_repeats(cJSON *o, const struct bench_result *res)
{
    if (res->runs <= 1)
        return 1;
    uint64_t ci[2] = { (uint64_t)(res->ops.ci_low + 0.5), (uint64_t)(res->ops.ci_high + 0.5) };
    return cJSON_AddNumberToObject(o, "runs", res->runs) &&
           cJSON_AddBoolToObject(o, "warmup", res->warmed_up != 0) &&
           add_item(o, "ops_per_sec_runs", uint_array(res->run_ops_per_sec, res->runs)) &&
           add_item(o, "ops_per_sec_ci95", uint_array(ci, 2)) &&
           add_float(o, "ops_per_sec_ci_coverage", round(res->ops.ci_coverage * 1e4) / 1e4) &&
           add_float(o, "ops_per_sec_rel_spread", round(res->ops.rel_spread * 1e4) / 1e4) &&
           add_item(o, "entries_runs", uint_array(res->run_entries, res->runs)) &&
           cJSON_AddNumberToObject(o, "short_runs", res->short_runs);
}

static cJSON *result_object(const struct bench_env *env, enum wal_sync_method method,
                            const struct bench_result *res)
{
    int durable = wal_sync_method_writes_durable(method);
    char name[32], dur[32], win[32];
    const struct hist *ack = &res->ack_ns, *sync = &res->wal.sync_ns;
    double secs = isfinite(res->seconds) ? round(res->seconds * 1e3) / 1e3 : 0;
    cJSON *o = cJSON_CreateObject();
    int ok = o &&
        cJSON_AddStringToObject(o, "strategy", wal_strategy_name(&res->strategy, name, sizeof name)) &&
        cJSON_AddNumberToObject(o, "ops_per_sec", (double)res->ops_per_sec) &&
        cJSON_AddStringToObject(o, "durability", wal_strategy_durability(&res->strategy, method, dur, sizeof dur)) &&
        cJSON_AddStringToObject(o, "data_loss_window", wal_strategy_window(&res->strategy, method, win, sizeof win)) &&
        cJSON_AddNumberToObject(o, "entries", (double)res->entries_written) &&
        cJSON_AddNumberToObject(o, "entries_requested", (double)res->entries_requested) &&
        cJSON_AddBoolToObject(o, "complete", res->complete != 0) &&
        add_float(o, "seconds", secs) &&
        add_float(o, "ack_p50_us", us(hist_quantile(ack, 0.5))) &&
        add_float(o, "ack_p99_us", us(hist_quantile(ack, 0.99))) &&
        add_float(o, "ack_max_us", us(hist_quantile(ack, 1.0))) &&
        cJSON_AddNumberToObject(o, "syncs", (double)res->wal.syncs) &&
        add_float(o, "sync_p50_us", us(hist_quantile(sync, 0.5))) &&
        add_float(o, "sync_p99_us", us(hist_quantile(sync, 0.99))) &&
        add_float(o, "sync_max_us", us(hist_quantile(sync, 1.0)));
    ok = ok && add_repeats(o, res);
    if (ok && durable) {
        /* Every write was durable when it returned: nothing waited. */
        ok = add_float(o, "exposure_ms", 0.0);
    } else if (ok && res->strategy.kind == WAL_NONE) {
        /* No sync ever covers a record: the bound is the kernel's writeback. */
        long a = env->dirty_expire_cs, b = env->dirty_writeback_cs;
        ok = add_cs_ms(o, "writeback_bound_ms", a < 0 || b < 0 ? -1 : a + b);
    } else if (ok) {
        ok = add_float(o, "exposure_ms", ms3(res->wal.exposure_max_ns));
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* {"type": type, "results": [item(ctx, 0), ..., item(ctx, n - 1)]}; NULL when
 * out of memory. */
cJSON *report_results_body(const char *type, size_t n,
                           cJSON *(*item)(const void *ctx, size_t i), const void *ctx)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *list = NULL;
    int ok = body && cJSON_AddStringToObject(body, "type", type) &&
             (list = cJSON_CreateArray()) && cJSON_AddItemToObject(body, "results", list);
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *o = item(ctx, i);
        ok = o && cJSON_AddItemToArray(list, o);
        if (!ok)
            cJSON_Delete(o);
    }
    if (!ok) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

/* Adds "environment": {"fs_type", "device", "warning"} to body and returns
 * it for more keys; NULL when out of memory. */
cJSON *report_add_environment(cJSON *body, const struct bench_env *env)
{
    cJSON *e = cJSON_CreateObject();
    if (!e || !cJSON_AddItemToObject(body, "environment", e)) {
        cJSON_Delete(e);
        return NULL;
    }
    int ok = cJSON_AddStringToObject(e, "fs_type", env->fs_type) &&
             cJSON_AddStringToObject(e, "device", env->device) &&
             cJSON_AddStringToObject(e, "warning", env->warning);
    return ok ? e : NULL;
}

struct bench_reply {
    const struct bench_env *env;
    enum wal_sync_method method;
    const struct bench_result *results;
};

static cJSON *bench_item(const void *ctx, size_t i)
{
    const struct bench_reply *r = ctx;
    return result_object(r->env, r->method, &r->results[i]);
}

cJSON *report_benchmark_body(const struct bench_env *env, const struct bench_config *cfg,
                           const struct bench_result *results, size_t n)
{
    struct bench_reply r = { env, cfg->sync_method, results };
    cJSON *body = report_results_body("fsync_benchmark_ok", n, bench_item, &r);
    cJSON *e = body ? report_add_environment(body, env) : NULL;
    int ok = e && add_cs_ms(e, "dirty_expire_ms", env->dirty_expire_cs) &&
             add_cs_ms(e, "dirty_writeback_ms", env->dirty_writeback_cs) &&
             cJSON_AddStringToObject(body, "sync_method", wal_sync_method_name(cfg->sync_method)) &&
             cJSON_AddNumberToObject(body, "entry_size", cfg->entry_size);
    if (!ok) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

/* "trials_valid", "trials_invalid" and "invalid_reasons": {reason: count}. */
static int add_validity(cJSON *o, const struct verifier_summary *v)
{
    cJSON *why = cJSON_CreateObject();
    int ok = why && cJSON_AddNumberToObject(o, "trials_valid", v->trials_valid) &&
             cJSON_AddNumberToObject(o, "trials_invalid", verifier_summary_invalid(v));
    for (unsigned i = 1; ok && i < VERIFIER_INVALID_REASONS; i++)
        ok = cJSON_AddNumberToObject(why, verifier_invalid_name(i), v->invalid[i]) != NULL;
    if (ok && cJSON_AddItemToObject(o, "invalid_reasons", why))
        return 1;
    cJSON_Delete(why);
    return 0;
}

cJSON *report_crash_object(const char *model, uint32_t trials, uint32_t trials_requested,
                           cJSON *optimistic, const struct verifier_summary *v)
{
    char name[32];
    cJSON *o = cJSON_CreateObject();
    int ok = o && optimistic &&
        cJSON_AddStringToObject(o, "strategy", wal_strategy_name(&v->strategy, name, sizeof name)) &&
        cJSON_AddStringToObject(o, "model", model) &&
        cJSON_AddNumberToObject(o, "trials", trials) &&
        cJSON_AddNumberToObject(o, "acked_lost_max", (double)v->acked_lost_max) &&
        add_float(o, "acked_lost_mean", round(verifier_summary_acked_lost_mean(v) * 1e3) / 1e3) &&
        add_float(o, "loss_window_ms_max", round(verifier_summary_window_ms_max(v) * 1e3) / 1e3) &&
        add_float(o, "loss_window_ms_p50", round(verifier_summary_window_ms_p50(v) * 1e3) / 1e3) &&
        (v->promised_window_ms < 0 ? cJSON_AddNullToObject(o, "promised_window_ms") != NULL
                                   : cJSON_AddNumberToObject(o, "promised_window_ms",
                                                             (double)v->promised_window_ms) != NULL) &&
        (v->held == VERIFIER_HELD_NULL ? cJSON_AddNullToObject(o, "held") != NULL
                                       : cJSON_AddBoolToObject(o, "held",
                                                               v->held == VERIFIER_HELD_TRUE) != NULL) &&
        cJSON_AddNumberToObject(o, "corrupt_recovered", (double)v->corrupt_recovered) &&
        cJSON_AddNumberToObject(o, "trials_requested", trials_requested) &&
        cJSON_AddNumberToObject(o, "acked_total", (double)v->acked_total) &&
        cJSON_AddNumberToObject(o, "acked_lost_total", (double)v->acked_lost_total) &&
        cJSON_AddNumberToObject(o, "unacked_recovered", (double)v->unacked_recovered) &&
        cJSON_AddNumberToObject(o, "trials_over_promise", v->trials_over_promise) &&
        add_float(o, "max_sync_ms", round(verifier_summary_max_sync_ms(v) * 1e3) / 1e3) &&
        add_validity(o, v) &&
        add_float(o, "loss_window_ms_p99", round(verifier_summary_window_ms_p99(v) * 1e3) / 1e3) &&
        (v->promised_window_ms < 0 ? cJSON_AddNullToObject(o, "allowance_ms") != NULL
                                   : add_float(o, "allowance_ms", ms3(v->allowance_ns))) &&
        cJSON_AddNumberToObject(o, "trials_over_allowance", v->trials_over_allowance) &&
        add_float(o, "calibration_sync_p50_us", us(v->calibration_sync_p50_ns)) &&
        add_float(o, "calibration_sync_p99_us", us(v->calibration_sync_p99_ns)) &&
        cJSON_AddBoolToObject(o, "syncs_trusted", !v->syncs_untrusted) &&
        add_float(o, "kill_delay_us_p50", us(hist_quantile(&v->kill_delay_ns, 0.5))) &&
        add_float(o, "kill_delay_us_max", us(hist_quantile(&v->kill_delay_ns, 1.0))) &&
        cJSON_AddItemToObject(o, "model_optimistic", optimistic) &&
        cJSON_AddNumberToObject(o, "entries_per_trial", (double)v->entries_per_trial);
    if (!ok) {
        if (!o || !cJSON_GetObjectItemCaseSensitive(o, "model_optimistic"))
            cJSON_Delete(optimistic);   /* not o's yet */
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

struct crash_reply {
    const struct crashsim_config *base;
    const struct verifier_summary *out;
};

static cJSON *crash_item(const void *ctx, size_t i)
{
    const struct crash_reply *r = ctx;
    const struct crashsim_config *cfg = r->base;
    return report_crash_object(pl_model_name(&cfg->model), r->out[i].trials, cfg->trials,
                               cJSON_CreateBool(cfg->model.tail == PL_TAIL_WRITEBACK), &r->out[i]);
}

cJSON *report_crash_body(const struct bench_env *env, const struct crashsim_config *base,
                       const struct verifier_summary *out, size_t n)
{
    struct crash_reply r = { base, out };
    cJSON *body = report_results_body("crash_test_ok", n, crash_item, &r);
    int ok = body && cJSON_AddStringToObject(body, "model", pl_model_name(&base->model)) &&
             /* Only when --sector-size changed it: the node never does, and its
              * replies keep their bytes. */
             (!base->sector_size || base->sector_size == 512 ||
              cJSON_AddNumberToObject(body, "sector_size", base->sector_size)) &&
             cJSON_AddNumberToObject(body, "seed", (double)base->seed) &&
             (base->entries ? cJSON_AddNumberToObject(body, "entries", (double)base->entries) != NULL
                            : cJSON_AddNullToObject(body, "entries") != NULL) &&
             cJSON_AddNumberToObject(body, "entry_size", base->entry_size) &&
             cJSON_AddStringToObject(body, "sync_method", wal_sync_method_name(base->sync_method)) &&
             report_add_environment(body, env);
    if (!ok) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}


int report_add_meta(cJSON *o, const struct report_meta *m)
{
    char when[32];
    struct tm tm;
    if (!gmtime_r(&m->started, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(when, sizeof when, "unknown");
    cJSON *argv = cJSON_CreateArray();
    for (int i = 0; argv && i < m->argc; i++) {
        cJSON *a = cJSON_CreateString(m->argv[i]);
        if (!a || !cJSON_AddItemToArray(argv, a)) {
            cJSON_Delete(a);
            cJSON_Delete(argv);
            argv = NULL;
        }
    }
    if (cJSON_GetObjectItemCaseSensitive(o, "seed") &&
        !cJSON_AddStringToObject(o, "seed_replays", REPORT_SEED_CHOICES ", " REPORT_SEED_NOT)) {
        cJSON_Delete(argv);
        return 0;
    }
    return cJSON_AddStringToObject(o, "version", m->version) &&
           add_item(o, "command_line", argv) && cJSON_AddStringToObject(o, "timestamp", when);
}
