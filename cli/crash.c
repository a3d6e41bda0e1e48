/* DESIGN: `fsynclab crash`: the options into a crashsim_config (the struct
 * the node fills from crash_test), the trials of every strategy, then
 * report/'s table and verdicts or the body the node would reply. */
#include "cli/cli.h"

#include <string.h>

static void show_progress(void *arg, size_t strategy, uint32_t done, uint32_t total)
{
    struct cli_progress *p = arg;
    if (!cli_progress_due(p))
        return;
    char name[32];
    fprintf(stderr, "\r  %-14s %u/%u trials   ",
            wal_strategy_name(&p->strategies[strategy], name, sizeof name), done, total);
}

int cli_crash(int argc, char **argv)
{
    static struct wal_strategy strategies[BENCH_MAX_STRATEGIES];
    static struct verifier_summary out[BENCH_MAX_STRATEGIES];
    char default_list[] = "always,batch_10ms,none";
    /* entries 0: each strategy's trials are sized by the run (crashsim.h).
     * trials and max_seconds stay 0 until given: --vm has its own defaults. */
    struct cli o = { .entries = 0, .strategies = default_list,
                     .entry_size = BENCH_DEFAULT_ENTRY_SIZE, .sync_method = WAL_SYNC_FSYNC,
                     .writers = 1, .model = CRASHSIM_DROP,
                     .expire_ms = -1, .interval_ms = -1, .cuts = 3 };
    int rc = cli_parse(argc, argv, "crash", CLI_TAKES_CRASH, REPORT_CRASH_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.target || o.run || o.check)
        return cli_crash_target(&o);
    if (o.check_timeout)
        return cli_usage_error("--check-timeout needs --target%s", "");
    if (o.seconds > 0 || o.nsettings || o.keep || o.cuts != 3)
        return cli_usage_error("--seconds, --set, --cuts and --keep need --target%s", "");
    if (o.model_name && crashsim_model_parse(o.model_name, &o.model) < 0)
        return cli_usage_error("--model: \"%s\" needs --target; allowed: " CRASHSIM_MODELS,
                               o.model_name);
    size_t n;
    if ((rc = cli_parse_strategies(o.strategies, strategies, &n)))
        return rc;
    if (o.vm)
        return cli_crash_vm(&o, strategies, n);
    if (!o.trials)
        o.trials = 100;
    if (!o.max_seconds)
        o.max_seconds = 60;
    struct crashsim_config cfg = { .entries = o.entries, .entry_size = o.entry_size,
                                   .sync_method = o.sync_method, .model = o.model,
                                   .seed = o.seed, .trials = o.trials,
                                   .max_seconds = o.max_seconds,
                                   .writeback_expire_ms = o.expire_ms,
                                   .writeback_interval_ms = o.interval_ms,
                                   .writers = o.writers, .prealloc = o.prealloc };
    struct bench_env env;
    if ((rc = cli_probe_data_dir(o.dir, &cfg.dir, &env)))
        return rc;
    if (!o.json)
        report_print_crash_header(stdout, &env, &cfg);
    else if (env.warning[0])
        fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
    fflush(stdout);

    char err[512] = "";
    struct cli_progress p = { .start_ns = wal_now_ns(), .strategies = strategies };
    rc = crashsim_run_all(&cfg, strategies, n, out, show_progress, &p, err, sizeof err);
    cli_progress_end(&p);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        return CLI_EXIT_RUN;
    }
    int warned = env.warning[0] != 0;
    if (bench_check_crash_syncs(&env, out, n) && !warned) {
        if (o.json)
            fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
        else
            printf("WARNING       %s\n\n", env.warning);
    }
    if (o.json)
        return cli_print_json(report_crash_body(&env, &cfg, out, n));
    report_print_crash_table(stdout, &cfg, out, n);
    return cli_flush();
}
