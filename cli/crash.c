/* DESIGN: `fsynclab crash`: the options into a crashsim_config (the struct
 * the node fills from crash_test), the trials of every strategy, then
 * report/'s table and verdicts or the body the node would reply. */
#include "cli/ci.h"

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

static int crash_outputs(const struct cli *o, struct bench_env *envp,
                                const struct crashsim_config *cfgp,
                                const struct verifier_summary *out, size_t n,
                                const struct cli_trials *c, const char *command, double seconds);

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
    if (o.shard_count && (o.target || o.run || o.check || o.vm))
        return cli_usage_error("--shard: only for crash of fsynclab's own log for now, not "
                               "with --target or --vm%s", "");
    if (o.shard_count && !o.have_seed)
        return cli_usage_error("--shard needs --seed S, the same on every shard, so that the "
                               "shards make the trials of one run%s", "");
    if ((o.vm_fs || o.vm_mount_opts) && !o.vm)
        return cli_usage_error("--fs and --mount-opts need --vm (the file system of the "
                               "guest's data disk)%s", "");
    if (o.vm && (o.target || o.run || o.check))
        return cli_crash_vm_target(&o);
    if (o.target || o.run || o.check)
        return cli_crash_target(&o);
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
                                   .writers = o.writers, .prealloc = o.prealloc,
                                   .shard_index = o.shard_index, .shard_count = o.shard_count };
    static struct cli_trials trials_seen;
    trials_seen.out = out;
    cfg.on_trial = cli_trials_note;
    cfg.on_trial_arg = &trials_seen;
    struct bench_env env;
    if ((rc = cli_probe_data_dir(o.dir, &cfg.dir, &env)))
        return rc;
    if (!o.json)
        report_print_crash_header(stdout, &env, &cfg);
    if (!o.json && o.shard_count > 1)
        printf("shard         %u/%u: the trials whose index is %u modulo %u, seeded as in the "
               "whole run\n\n", o.shard_index, o.shard_count, o.shard_index, o.shard_count);
    else if (env.warning[0])
        fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
    fflush(stdout);

    char err[512] = "", command[2048];
    cli_crash_command(&cfg, strategies, n, command, sizeof command);
    uint64_t t0 = wal_now_ns();
    struct cli_progress p = { .start_ns = wal_now_ns(), .strategies = strategies };
    rc = crashsim_run_all(&cfg, strategies, n, out, show_progress, &p, err, sizeof err);
    cli_progress_end(&p);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        cli_trials_free(&trials_seen);
        return CLI_EXIT_RUN;
    }
    rc = crash_outputs(&o, &env, &cfg, out, n, &trials_seen, command,
                              (double)(wal_now_ns() - t0) / 1e9);
    cli_trials_free(&trials_seen);
    return rc;
}

/* The table or JSON, the JUnit report, the replay lines, the status. */
static int crash_outputs(const struct cli *o, struct bench_env *envp,
                                const struct crashsim_config *cfgp,
                                const struct verifier_summary *out, size_t n,
                                const struct cli_trials *c, const char *command, double seconds)
{
    struct bench_env env = *envp;
    struct crashsim_config cfg = *cfgp;
    int failed = 0, rc;
    for (size_t k = 0; k < n; k++)
        failed |= cli_summary_failed(&out[k]);
    static char bufs[BENCH_MAX_STRATEGIES][1024];
    const char *replays[BENCH_MAX_STRATEGIES];
    cli_crash_replays(&cfg, out, n, c, bufs, replays);
    if (o->junit && (rc = cli_crash_junit(o->junit, &cfg, out, n, c, replays, seconds)))
        return rc;
    int warned = env.warning[0] != 0;
    if (bench_check_crash_syncs(&env, out, n) && !warned) {
        if (o->json)
            fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
        else
            printf("WARNING       %s\n\n", env.warning);
    }
    if (o->json) {
        cJSON *body = report_crash_body(&env, &cfg, out, n);
        if (body && !cli_crash_json_extras(body, n, c, replays, command, o->shard_index,
                                           o->shard_count)) {
            cJSON_Delete(body);
            body = NULL;
        }
        return cli_verdict_status(o, failed, cli_print_json(body));
    }
    report_print_crash_table(stdout, &cfg, out, n);
    for (size_t k = 0; k < n; k++) {
        char name[32];
        if (replays[k])
            printf("FAILED        %s: replay one failing trial: %s\n",
                   wal_strategy_name(&out[k].strategy, name, sizeof name), replays[k]);
    }
    return cli_verdict_status(o, failed, cli_flush());
}
