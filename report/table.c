/* DESIGN: the text tables of bench, crash and curve.  They say the same as
 * the JSON bodies, in fixed-width columns for a terminal, and open with the
 * lines that say where the figures were measured (directory, file system,
 * the run) and a WARNING when a sync there means nothing. */
#include "report/report.h"

#include <inttypes.h>

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

void report_print_where(FILE *to, const struct bench_env *env)
{
    fprintf(to, "directory     %s\n", env->dir);
    fprintf(to, "file system   %s%s%s\n", env->fs_type, env->device[0] ? " on " : "",
            env->device);
}

static void print_warning(FILE *to, const struct bench_env *env)
{
    if (env->warning[0])
        fprintf(to, "WARNING       %s\n", env->warning);
    fprintf(to, "\n");
}

void report_print_bench_header(FILE *to, const struct bench_env *env,
                               const struct bench_config *cfg)
{
    report_print_where(to, env);
    if (env->dirty_expire_cs >= 0)
        fprintf(to, "writeback     dirty data written back after %ld ms, flusher every %ld ms\n",
                env->dirty_expire_cs * 10, env->dirty_writeback_cs * 10);
    fprintf(to, "run           %" PRIu64 " entries of %u bytes, sync by %s%s, %u writer%s, "
            "budget %g s\n", cfg->entries, cfg->entry_size, wal_sync_method_name(cfg->sync_method),
            cfg->prealloc ? " (preallocated)" : "", cfg->writers, cfg->writers == 1 ? "" : "s",
            cfg->max_seconds);
    print_warning(to, env);
}

/* none never syncs: its column shows the kernel's writeback setting. */
static void exposure_text(const struct bench_env *env, const struct bench_result *r, char *buf,
                          size_t len)
{
    if (r->strategy.kind != WAL_NONE)
        snprintf(buf, len, "%.3f ms", (double)r->wal.exposure_max_ns / 1e6);
    else if (env->dirty_expire_cs >= 0)
        snprintf(buf, len, "<=%ld ms*", (env->dirty_expire_cs + env->dirty_writeback_cs) * 10);
    else
        snprintf(buf, len, "unknown");
}

void report_print_bench_table(FILE *to, const struct bench_env *env,
                              const struct bench_result *r, size_t n)
{
    fprintf(to, "%-14s %10s %10s %10s %10s %8s %10s %12s  %s\n", "strategy", "ops/s", "ack p50",
            "ack p99", "ack max", "syncs", "sync p50", "exposure", "durability");
    for (size_t i = 0; i < n; i++) {
        char name[32], dur[32], exposure[32];
        wal_strategy_name(&r[i].strategy, name, sizeof name);
        wal_strategy_durability(&r[i].strategy, dur, sizeof dur);
        exposure_text(env, &r[i], exposure, sizeof exposure);
        fprintf(to, "%-14s %10" PRIu64 " %8.1fus %8.1fus %8.1fus %8" PRIu64 " %8.1fus %12s  %s\n",
                name, r[i].ops_per_sec, us(hist_quantile(&r[i].ack_ns, 0.5)),
                us(hist_quantile(&r[i].ack_ns, 0.99)), us(r[i].ack_ns.max), r[i].wal.syncs,
                us(hist_quantile(&r[i].wal.sync_ns, 0.5)), exposure, dur);
        if (!r[i].complete)
            fprintf(to, "  (out of time: wrote %" PRIu64 " of %" PRIu64 " entries)\n",
                    r[i].entries_written, r[i].entries_requested);
    }
    fprintf(to, "\nexposure: the longest an acknowledged entry waited for a sync to cover it.\n");
    if (env->dirty_expire_cs >= 0)
        fprintf(to, "* none never syncs: the kernel's writeback bound (dirty_expire + "
                "dirty_writeback).\n");
}

void report_print_crash_header(FILE *to, const struct bench_env *env,
                               const struct crashsim_config *cfg)
{
    report_print_where(to, env);
    fprintf(to, "run           %u trials x %" PRIu64 " entries of %u bytes per strategy, sync by "
            "%s%s, %u writer%s, model %s, budget %g s\n", cfg->trials, cfg->entries,
            cfg->entry_size, wal_sync_method_name(cfg->sync_method),
            cfg->prealloc ? " (preallocated)" : "", cfg->writers ? cfg->writers : 1,
            cfg->writers > 1 ? "s" : "", crashsim_model_name(cfg->model), cfg->max_seconds);
    print_warning(to, env);
}

static void print_crash_row(FILE *to, const struct crashsim_config *cfg,
                            const struct verifier_summary *v)
{
    char name[32], promised[32];
    wal_strategy_name(&v->strategy, name, sizeof name);
    if (v->promised_window_ms < 0)
        snprintf(promised, sizeof promised, "-");
    else
        snprintf(promised, sizeof promised, "%" PRId64 " ms", v->promised_window_ms);
    fprintf(to, "%-14s %-9s %7u %10" PRIu64 " %10.1f %8.3f ms %8.3f ms %9s %8s %7" PRIu64 "\n",
            name, crashsim_model_name(cfg->model), v->trials, v->acked_lost_max,
            verifier_summary_acked_lost_mean(v), verifier_summary_window_ms_max(v),
            verifier_summary_window_ms_p50(v), promised, verifier_held_name(v->held),
            v->corrupt_recovered);
}

static void print_verdict(FILE *to, const struct crashsim_config *cfg,
                          const struct verifier_summary *v)
{
    char name[32];
    wal_strategy_name(&v->strategy, name, sizeof name);
    fprintf(to, "%s under %s lost at most %" PRIu64 " acknowledged entr%s, %.1f ms, ", name,
            crashsim_model_name(cfg->model), v->acked_lost_max,
            v->acked_lost_max == 1 ? "y" : "ies", verifier_summary_window_ms_max(v));
    if (v->trials == 0)
        fprintf(to, "in no trial: the budget ran out first\n");
    else if (v->held == VERIFIER_HELD_NULL)
        fprintf(to, "with no promise to keep\n");
    else if (v->held == VERIFIER_HELD_TRUE)
        fprintf(to, "within its promise\n");
    else
        fprintf(to, "BREAKING its promise of %" PRId64 " ms (in %u of %u trials)\n",
                v->promised_window_ms, v->trials_over_promise, v->trials);
    if (v->corrupt_recovered)
        fprintf(to, "  %" PRIu64 " CORRUPT entries were handed back by recovery\n",
                v->corrupt_recovered);
}

void report_print_crash_table(FILE *to, const struct crashsim_config *cfg,
                              const struct verifier_summary *v, size_t n)
{
    fprintf(to, "%-14s %-9s %7s %10s %10s %11s %11s %9s %8s %7s\n", "strategy", "model", "trials",
            "lost max", "lost mean", "window max", "window p50", "promised", "held", "corrupt");
    for (size_t i = 0; i < n; i++)
        print_crash_row(to, cfg, &v[i]);
    fprintf(to, "\n");
    for (size_t i = 0; i < n; i++)
        print_verdict(to, cfg, &v[i]);
    fprintf(to, "\nseed %" PRIu64 " replays this run.\n", cfg->seed);
}

void report_print_curve_header(FILE *to, const struct bench_env *env,
                               const struct bench_curve_config *cfg)
{
    report_print_where(to, env);
    fprintf(to, "run           %zu points: benchmark %" PRIu64 " entries, %u crash trials (%s), "
            "seed %" PRIu64 "\n", bench_curve_points(cfg), cfg->entries, cfg->trials,
            crashsim_model_name(cfg->model), cfg->seed);
    print_warning(to, env);
}

void report_print_curve_table(FILE *to, const struct bench_curve_point *points, size_t n)
{
    fprintf(to, "%-14s %12s %11s %11s %10s %7s %9s\n", "strategy", "ops/s", "window max",
            "window p50", "lost max", "trials", "held");
    for (size_t i = 0; i < n; i++) {
        char name[32];
        fprintf(to, "%-14s %12" PRIu64 " %8.3f ms %8.3f ms %10" PRIu64 " %7u %9s\n",
                wal_strategy_name(&points[i].strategy, name, sizeof name),
                points[i].ops_per_sec, verifier_summary_window_ms_max(&points[i].crash),
                verifier_summary_window_ms_p50(&points[i].crash), points[i].crash.acked_lost_max,
                points[i].crash.trials, verifier_held_name(points[i].crash.held));
    }
    fprintf(to, "\n");
}
