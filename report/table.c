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
    char what[64];
    if (cfg->seconds > 0)
        snprintf(what, sizeof what, "%g s (at most %" PRIu64 " entries)", cfg->seconds,
                 cfg->entries);
    else
        snprintf(what, sizeof what, "%" PRIu64 " entries", cfg->entries);
    fprintf(to, "run           %s of %u bytes, sync by %s%s, %u writer%s, budget %g s\n", what,
            cfg->entry_size, wal_sync_method_name(cfg->sync_method),
            cfg->prealloc ? " (preallocated)" : "", cfg->writers, cfg->writers == 1 ? "" : "s",
            cfg->max_seconds);
    unsigned repeat = cfg->repeat ? cfg->repeat : 1;
    int warm = cfg->warmup == BENCH_WARMUP_ON || (cfg->warmup == BENCH_WARMUP_AUTO && repeat > 1);
    if (repeat > 1 || warm)
        fprintf(to, "repeats       %u measured run%s per strategy, round-robin%s\n", repeat,
                repeat == 1 ? "" : "s", warm ? ", after one warm-up run that is discarded" : "");
    print_warning(to, env);
}

/* none never syncs: its column shows the kernel's writeback setting, which
 * is no bound (see the footnote).  Under O_DSYNC nothing waits. */
static void exposure_text(const struct bench_env *env, enum wal_sync_method method,
                          const struct bench_result *r, char *buf, size_t len)
{
    if (wal_sync_method_writes_durable(method))
        snprintf(buf, len, "%.3f ms", 0.0);
    else if (r->strategy.kind != WAL_NONE)
        snprintf(buf, len, "%.3f ms", (double)r->wal.exposure_max_ns / 1e6);
    else if (env->dirty_expire_cs >= 0)
        snprintf(buf, len, "%ld ms*", env->dirty_expire_cs * 10);
    else
        snprintf(buf, len, "unknown");
}

/* "3383" for one run; "3383 ± 215" (the wider side of the median's
 * interval) for several. */
static void ops_text(const struct bench_result *r, int repeated, char *buf, size_t len)
{
    if (!repeated) {
        snprintf(buf, len, "%" PRIu64, r->ops_per_sec);
        return;
    }
    double hw = stats_rel_half_width(&r->ops) * r->ops.median;
    snprintf(buf, len, "%" PRIu64 " \u00b1 %.0f", r->ops_per_sec, hw);
}

/* What a row's figures may not bear: a run too short, an interval too wide,
 * a run cut short. */
static void print_notes(FILE *to, const struct bench_result *r, int timed)
{
    if (r->runs > 1 && stats_rel_half_width(&r->ops) > REPORT_NOISY)
        fprintf(to, "  (noisy: run longer or repeat; runs ranged %.0f..%.0f, \u00b1%.0f%%)\n",
                r->ops.min, r->ops.max, 100 * stats_rel_half_width(&r->ops));
    if (r->short_runs)
        fprintf(to, "  (note: %u of %u run%s lasted under %.0f ms, mostly start-up: use --seconds "
                "or more --entries)\n", r->short_runs, r->runs, r->runs == 1 ? "" : "s",
                BENCH_SHORT_RUN_SECONDS * 1e3);
    if (!r->complete && timed)
        fprintf(to, "  (out of time: the budget ended runs before their seconds)\n");
    else if (!r->complete)
        fprintf(to, "  (out of time: wrote %" PRIu64 " of %" PRIu64 " entries)\n",
                r->entries_written, r->entries_requested);
    else if (timed && r->runs > 1)
        fprintf(to, "  (%" PRIu64 " entries in %.3f s over %u runs)\n", r->entries_written,
                r->seconds, r->runs);
    else if (timed)
        fprintf(to, "  (%" PRIu64 " entries in %.3f s)\n", r->entries_written, r->seconds);
}

void report_print_bench_table(FILE *to, const struct bench_env *env,
                              const struct bench_config *cfg, const struct bench_result *r,
                              size_t n)
{
    int repeated = 0;
    for (size_t i = 0; i < n; i++)
        repeated |= r[i].runs > 1;
    fprintf(to, "%-14s %*s %10s %10s %10s %8s %10s %12s  %s\n", "strategy", repeated ? 21 : 10,
            "ops/s", "ack p50", "ack p99", "ack max", "syncs", "sync p50", "exposure",
            "durability");
    for (size_t i = 0; i < n; i++) {
        char name[32], dur[32], exposure[32], ops[48];
        wal_strategy_name(&r[i].strategy, name, sizeof name);
        wal_strategy_durability(&r[i].strategy, cfg->sync_method, dur, sizeof dur);
        exposure_text(env, cfg->sync_method, &r[i], exposure, sizeof exposure);
        ops_text(&r[i], repeated, ops, sizeof ops);
        /* "±" is two bytes but one column */
        fprintf(to, "%-14s %*s %8.1fus %8.1fus %8.1fus %8" PRIu64 " %8.1fus %12s  %s\n",
                name, repeated ? 22 : 10, ops, us(hist_quantile(&r[i].ack_ns, 0.5)),
                us(hist_quantile(&r[i].ack_ns, 0.99)), us(r[i].ack_ns.max), r[i].wal.syncs,
                us(hist_quantile(&r[i].wal.sync_ns, 0.5)), exposure, dur);
        print_notes(to, &r[i], r[i].timed);
    }
    if (repeated)
        fprintf(to, "\nops/s: the median of the runs \u00b1 its interval's wider side (order "
                "statistics; 95%% from 6 runs on, %.1f%% with %u).\n",
                100 * r[0].ops.ci_coverage, r[0].runs);
    fprintf(to, "\nexposure: the longest an acknowledged entry waited for a sync to cover it.\n");
    if (wal_sync_method_writes_durable(cfg->sync_method))
        fprintf(to, "%s: every write is durable when it returns, whatever the strategy.\n",
                wal_sync_method_name(cfg->sync_method));
    else if (env->dirty_expire_cs >= 0)
        fprintf(to, "* none never syncs.  The kernel writes dirty data back once it is older than "
                "dirty_expire (%ld ms),\n  looking every dirty_writeback (%ld ms): a minimum age, "
                "not a bound; a busy or stalled disk waits longer.\n",
                env->dirty_expire_cs * 10, env->dirty_writeback_cs * 10);
}

void report_print_crash_header(FILE *to, const struct bench_env *env,
                               const struct crashsim_config *cfg)
{
    char entries[48];
    if (cfg->entries)
        snprintf(entries, sizeof entries, "%" PRIu64, cfg->entries);
    else
        snprintf(entries, sizeof entries, "(sized per strategy)");
    report_print_where(to, env);
    fprintf(to, "run           %u trials x %s entries of %u bytes per strategy, sync by "
            "%s%s, %u writer%s, model %s, budget %g s\n", cfg->trials, entries,
            cfg->entry_size, wal_sync_method_name(cfg->sync_method),
            cfg->prealloc ? " (preallocated)" : "", cfg->writers ? cfg->writers : 1,
            cfg->writers > 1 ? "s" : "", pl_model_name(&cfg->model), cfg->max_seconds);
    print_warning(to, env);
}

static void ms_or_dash(char *buf, size_t len, int present, double ms)
{
    if (present)
        snprintf(buf, len, "%.3f ms", ms);
    else
        snprintf(buf, len, "-");
}

static void print_crash_row(FILE *to, const struct crashsim_config *cfg,
                            const struct verifier_summary *v)
{
    char name[32], promised[32], allowance[32];
    wal_strategy_name(&v->strategy, name, sizeof name);
    if (v->promised_window_ms < 0)
        snprintf(promised, sizeof promised, "-");
    else
        snprintf(promised, sizeof promised, "%" PRId64 " ms", v->promised_window_ms);
    ms_or_dash(allowance, sizeof allowance, v->promised_window_ms >= 0,
               (double)v->allowance_ns / 1e6);
    /* no valid trial: nothing was seen, which is not a loss of 0 */
    char lost[24] = "-", p50[24] = "-", p99[24] = "-", max[24] = "-";
    if (v->trials_valid) {
        snprintf(lost, sizeof lost, "%" PRIu64, v->acked_lost_max);
        snprintf(p50, sizeof p50, "%.3f", verifier_summary_window_ms_p50(v));
        snprintf(p99, sizeof p99, "%.3f", verifier_summary_window_ms_p99(v));
        snprintf(max, sizeof max, "%.3f", verifier_summary_window_ms_max(v));
    }
    fprintf(to, "%-14s %-10s %6u %6u %9s %11s %11s %11s %9s %11s %6s %7" PRIu64 "\n", name,
            pl_model_name(&cfg->model), v->trials, v->trials_valid, lost, p50, p99, max,
            promised, allowance, verifier_held_name(v->held), v->corrupt_recovered);
}

/* Why held is null, when it is. */
static void print_null_reason(FILE *to, const struct verifier_summary *v)
{
    if (v->trials == 0)
        fprintf(to, "in no trial: the budget ran out first\n");
    else if (v->syncs_untrusted)
        fprintf(to, "but its syncs took %.1f us: too fast to have reached a disk, so no verdict\n",
                (double)v->calibration_sync_p50_ns / 1e3);
    else if (v->promised_window_ms < 0 && v->trials_valid)
        fprintf(to, "with no promise to keep\n");
    else
        fprintf(to, "in no valid trial (%u invalid: %u without an ack, %u too short, %u before "
                "any sync), so no verdict\n", verifier_summary_invalid(v),
                v->invalid[VERIFIER_NO_ACK], v->invalid[VERIFIER_TOO_SHORT],
                v->invalid[VERIFIER_NO_SYNC]);
}

static void print_verdict(FILE *to, const struct crashsim_config *cfg,
                          const struct verifier_summary *v)
{
    char name[32];
    wal_strategy_name(&v->strategy, name, sizeof name);
    if (v->trials_valid == 0)
        fprintf(to, "%s under %s: nothing measured, ", name, pl_model_name(&cfg->model));
    else
        fprintf(to, "%s under %s lost at most %" PRIu64 " acknowledged entr%s, %.1f ms, over %u "
                "valid trial%s, ", name, pl_model_name(&cfg->model), v->acked_lost_max,
                v->acked_lost_max == 1 ? "y" : "ies", verifier_summary_window_ms_max(v),
                v->trials_valid, v->trials_valid == 1 ? "" : "s");
    if (v->held == VERIFIER_HELD_NULL || v->trials_valid == 0)
        print_null_reason(to, v);
    else if (v->held == VERIFIER_HELD_TRUE)
        fprintf(to, "within its promise\n");
    else
        fprintf(to, "BREAKING its promise of %" PRId64 " ms (in %u of %u valid trials)\n",
                v->promised_window_ms, v->trials_over_allowance, v->trials_valid);
    if (v->corrupt_recovered)
        fprintf(to, "  %" PRIu64 " CORRUPT entries were handed back by recovery\n",
                v->corrupt_recovered);
}

void report_print_crash_table(FILE *to, const struct crashsim_config *cfg,
                              const struct verifier_summary *v, size_t n)
{
    fprintf(to, "%-14s %-10s %6s %6s %9s %11s %11s %11s %9s %11s %6s %7s\n", "strategy", "model",
            "trials", "valid", "lost max", "window p50", "window p99", "window max", "promised",
            "allowance", "held", "corrupt");
    for (size_t i = 0; i < n; i++) {
        print_crash_row(to, cfg, &v[i]);
        if (v[i].trials < crashsim_trials_planned(cfg))
            fprintf(to, "  (out of time: ran %u of %u trials; the budget, %g s for all strategies, "
                    "ran out: raise --max-seconds)\n", v[i].trials, crashsim_trials_planned(cfg),
                    cfg->max_seconds);
    }
    fprintf(to, "(windows in ms, over valid trials: a maximum over a few trials is no bound)\n\n");
    for (size_t i = 0; i < n; i++)
        print_verdict(to, cfg, &v[i]);
    if (cfg->model.tail == PL_TAIL_WRITEBACK)
        fprintf(to, "\nwriteback is OPTIMISTIC: it counts background writeback as durable, but "
                "writeback sends no cache\nflush and commits no journal; a real disk may lose "
                "more.\n");
    uint64_t delay_p50 = 0, delay_max = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t p = hist_quantile(&v[i].kill_delay_ns, 0.5), m = v[i].kill_delay_ns.max;
        delay_p50 = p > delay_p50 ? p : delay_p50;
        delay_max = m > delay_max ? m : delay_max;
    }
    fprintf(to, "\nkill delay (crash instant after the one drawn): p50 %.1f us, max %.1f us\n",
            us(delay_p50), us(delay_max));
    fprintf(to, "seed %" PRIu64 " replays " REPORT_SEED_CHOICES ",\n" REPORT_SEED_NOT ".\n",
            cfg->seed);
}

void report_print_curve_header(FILE *to, const struct bench_env *env,
                               const struct bench_curve_config *cfg)
{
    report_print_where(to, env);
    fprintf(to, "run           %zu points: benchmark %" PRIu64 " entries, %u crash trials (%s), "
            "seed %" PRIu64 "\n              (a seed replays " REPORT_SEED_CHOICES ",\n              "
            REPORT_SEED_NOT ")\n", bench_curve_points(cfg), cfg->entries, cfg->trials,
            pl_model_name(&cfg->model), cfg->seed);
    print_warning(to, env);
}

/* Whether point i's throughput interval overlaps point i-1's: if so, the
 * difference between the two is not measured. */
static const char *versus_previous(const struct bench_curve_point *p, size_t i)
{
    if (i == 0)
        return "";
    double lo, hi, plo, phi;
    report_curve_ops_interval(&p[i], &lo, &hi);
    report_curve_ops_interval(&p[i - 1], &plo, &phi);
    if (p[i].ops.n < 2 || p[i - 1].ops.n < 2)
        return "one run";
    return lo <= phi && plo <= hi ? "overlaps" : hi < plo ? "lower" : "higher";
}

void report_print_curve_table(FILE *to, const struct bench_curve_config *cfg,
                              const struct bench_curve_point *points, size_t n)
{
    fprintf(to, "%-14s %10s %21s %11s %11s %10s %7s %9s  %s\n", "strategy", "ops/s",
            "interval", "window max", "window p50", "lost max", "valid", "held",
            "ops/s vs previous");
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        char name[32], interval[48], valid[24], wmax[24], wp50[24], lost[24] = "-";
        double lo, hi;
        int has = report_curve_has_window(&points[i]);
        missing += !has;
        report_curve_ops_interval(&points[i], &lo, &hi);
        snprintf(interval, sizeof interval, "%.0f..%.0f", lo, hi);
        snprintf(valid, sizeof valid, "%u/%u", points[i].crash.trials_valid, points[i].crash.trials);
        /* no valid trial: no window was seen, which is not a window of 0 */
        ms_or_dash(wmax, sizeof wmax, has, verifier_summary_window_ms_max(&points[i].crash));
        ms_or_dash(wp50, sizeof wp50, has, verifier_summary_window_ms_p50(&points[i].crash));
        if (has)
            snprintf(lost, sizeof lost, "%" PRIu64, points[i].crash.acked_lost_max);
        fprintf(to, "%-14s %10" PRIu64 " %21s %11s %11s %10s %7s %9s  %s\n",
                wal_strategy_name(&points[i].strategy, name, sizeof name),
                points[i].ops_per_sec, interval, wmax, wp50, lost, valid,
                verifier_held_name(points[i].crash.held), versus_previous(points, i));
        if (points[i].crash.trials < cfg->trials)
            fprintf(to, "  (out of time: ran %u of %u crash trials in the point's %.0f s)\n",
                    points[i].crash.trials, cfg->trials, BENCH_CURVE_CRASH_SECONDS);
    }
    if (missing)
        fprintf(to, "\n-: no valid crash trial, so no window was seen (not 0 ms): the point is "
                "left out of the plots\n   (more --trials, or see `fsynclab crash` for the "
                "invalid trials' reasons).\n");
    if (n && points[0].ops.n > 1)
        fprintf(to, "\nops/s: the median of %zu runs; interval: its order-statistics interval "
                "(%.1f%% coverage).\n\"overlaps\": the difference from the previous point is not "
                "measured.\n", points[0].ops.n, 100 * points[0].ops.ci_coverage);
    fprintf(to, "\n");
}

/* "1842 ± 220 (5)": median, the interval's wider side, runs. */
static void median_text(const struct stats_summary *s, char *buf, size_t len)
{
    if (s->n > 1)
        snprintf(buf, len, "%.0f \u00b1 %.0f (%zu)", s->median,
                 stats_rel_half_width(s) * s->median, s->n);
    else
        snprintf(buf, len, "%.0f (1)", s->median);
}

void report_print_diff_header(FILE *to)
{
    fprintf(to, "%-22s %22s %22s %20s %24s  %s\n", "strategy", "A ops/s (runs)",
            "B ops/s (runs)", "B - A", "95% interval", "verdict");
}

void report_print_diff_row(FILE *to, const char *label, const struct stats_summary *a,
                           const struct stats_summary *b, const struct stats_diff *d)
{
    char ta[64], tb[64], delta[48], range[64];
    median_text(a, ta, sizeof ta);
    median_text(b, tb, sizeof tb);
    if (a->median != 0)
        snprintf(delta, sizeof delta, "%+.0f (%+.1f%%)", d->shift, 100 * d->shift / a->median);
    else
        snprintf(delta, sizeof delta, "%+.0f", d->shift);
    snprintf(range, sizeof range, "%+.0f .. %+.0f", d->low, d->high);
    /* each "±" is two bytes but one column */
    fprintf(to, "%-22s %*s %*s %20s %24s  %s", label, a->n > 1 ? 23 : 22, ta,
            b->n > 1 ? 23 : 22, tb, delta, range, stats_verdict_name(d->verdict));
    if (d->verdict == STATS_TOO_FEW)
        fprintf(to, ": %.1f%% at best, use --repeat 4 or more", 100 * d->coverage);
    fprintf(to, "\n");
}
