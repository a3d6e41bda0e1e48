/* DESIGN: `fsynclab bench`: the options into a bench_config (the struct the
 * node fills from fsync_benchmark), one run, then report/'s table or the
 * body the node would reply.
 *
 * The default budget (4 s) is for one run of each strategy.  Repeats and a
 * warm-up multiply it, and --seconds sets it to the runs' total time plus a
 * quarter, unless --max-seconds says otherwise: a budget that cut every
 * repeat short would measure the budget.  With --seconds, --entries is only
 * a cap, and without it there is none but the free space. */
#include "cli/cli.h"

#include <string.h>

int cli_bench(int argc, char **argv)
{
    static struct wal_strategy strategies[BENCH_MAX_STRATEGIES];
    static struct bench_result results[BENCH_MAX_STRATEGIES];
    char default_list[] = "always,batch_10ms,none";
    struct cli o = { .entries = 0, .strategies = default_list,
                     .entry_size = BENCH_DEFAULT_ENTRY_SIZE, .sync_method = WAL_SYNC_FSYNC,
                     .max_seconds = BENCH_DEFAULT_SECONDS, .writers = 1 };
    int rc = cli_parse(argc, argv, "bench", CLI_TAKES_BENCH, REPORT_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    size_t n;
    if ((rc = cli_parse_strategies(o.strategies, strategies, &n)))
        return rc;
    struct bench_config cfg = { .entries = o.entries, .entry_size = o.entry_size,
                                .sync_method = o.sync_method, .max_seconds = o.max_seconds,
                                .writers = o.writers, .prealloc = o.prealloc,
                                .repeat = o.repeat, .seconds = o.seconds, .warmup = o.warmup };
    if (cfg.entries == 0)
        cfg.entries = o.seconds > 0 ? BENCH_MAX_ENTRIES : 10000;
    if (!o.have_max_seconds)
        cfg.max_seconds = bench_default_budget(&cfg, n);
    struct bench_env env;
    if ((rc = cli_probe_data_dir(o.dir, &cfg.dir, &env)))
        return rc;
    if (!o.json)
        report_print_bench_header(stdout, &env, &cfg);
    else if (env.warning[0])
        fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
    fflush(stdout);

    char err[512] = "";
    rc = bench_run(&cfg, strategies, n, results, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err);
        return CLI_EXIT_RUN;
    }
    int warned = env.warning[0] != 0;
    if (bench_check_syncs(&env, &cfg, results, n) && !warned) {
        if (o.json)
            fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
        else
            printf("WARNING       %s\n\n", env.warning);
    }
    if (o.json)
        return cli_print_json(report_benchmark_body(&env, &cfg, results, n));
    report_print_bench_table(stdout, &env, &cfg, results, n);
    return cli_flush();
}
