/* DESIGN: `fsynclab crash`: the options into a crashsim_config (the struct
 * the node fills from crash_test), the trials of every strategy, then
 * report/'s table and verdicts or the body the node would reply. */
#include "cli/ci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "view/view.h"

static void show_progress(void *arg, size_t strategy, uint32_t done, uint32_t total)
{
    struct cli_progress *p = arg;
    if (!cli_progress_due(p))
        return;
    char name[32];
    fprintf(stderr, "\r  %-14s %u/%u trials   ",
            wal_strategy_name(&p->strategies[strategy], name, sizeof name), done, total);
}

/* The timelines (--timeline, or next to the page for --html alone) and
 * the page; 0 or the exit status after naming the failure.  Frees cap. */
static int crash_pictures(const struct cli *o, struct cli_capture *cap,
                          const struct wal_strategy *strategies, const struct verifier_summary *out,
                          size_t n, const struct bench_env *env, const struct crashsim_config *cfg)
{
    static char paths[BENCH_MAX_STRATEGIES][4096], captions[BENCH_MAX_STRATEGIES][160];
    static struct view_image images[BENCH_MAX_STRATEGIES];
    size_t drawn = 0;
    char err[512] = "", html_base[4096];
    snprintf(html_base, sizeof html_base, "%s.timeline.png", o->html ? o->html : "");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char name[32];
        wal_strategy_name(&strategies[i], name, sizeof name);
        cli_timeline_path(o->timeline ? o->timeline : html_base, name, n, paths[drawn],
                          sizeof paths[0]);
        uint64_t t0 = wal_now_ns();
        int r = cli_capture_draw(cap, i, env, &out[i], paths[drawn], err, sizeof err);
        if (r == -ENOENT) {
            fprintf(stderr, "fsynclab: timeline: %s ran no trial %u: no picture\n", name,
                    o->timeline_trial);
            continue;
        }
        if (r < 0) {
            fprintf(stderr, "fsynclab: %s\n", err);
            rc = CLI_EXIT_RUN;
            break;
        }
        if (getenv("FSYNCLAB_TIMELINE_TIME"))   /* make bench's figure */
            fprintf(stderr, "timeline %s (%llu acknowledged in the trial) drawn in %.1f ms\n",
                    paths[drawn], (unsigned long long)cli_capture_acked(cap, i),
                    (double)(wal_now_ns() - t0) / 1e6);
        snprintf(captions[drawn], sizeof captions[0], "%s: the %s trial", name,
                 o->timeline_trial ? "chosen" : "worst");
        images[drawn].path = paths[drawn];
        images[drawn].caption = captions[drawn];
        drawn++;
    }
    if (rc == 0 && o->html) {
        cJSON *body = report_crash_body(env, cfg, out, n);
        rc = body ? cli_html(o->html, body, "fsynclab crash", images, drawn) : CLI_EXIT_RUN;
        cJSON_Delete(body);
    }
    for (size_t i = 0; i < drawn && !o->timeline; i++)
        unlink(paths[i]);   /* drawn only for the page, which holds them now */
    cli_capture_free(cap);
    return rc;
}

static int crash_outputs(const struct cli *o, struct bench_env *envp,
                                const struct crashsim_config *cfgp,
                                const struct verifier_summary *out, size_t n,
                                const struct cli_trials *c, const char *command, double seconds,
                         struct cli_capture *cap, const struct wal_strategy *strategies);

/* The options that do not go together, refused before anything runs: 0 or
 * CLI_EXIT_USAGE. */
static int crash_combinations(const struct cli *o)
{
    if (o->shard_count && (o->target || o->run || o->check || o->vm))
        return cli_usage_error("--shard: only for crash of fsynclab's own log for now, not "
                               "with --target or --vm%s", "");
    if (o->shard_count && !o->have_seed)
        return cli_usage_error("--shard needs --seed S, the same on every shard, so that the "
                               "shards make the trials of one run%s", "");
    if ((o->vm_fs || o->vm_mount_opts) && !o->vm)
        return cli_usage_error("--fs and --mount-opts need --vm (the file system of the "
                               "guest's data disk)%s", "");
    if (o->vm && o->sector_size)
        return cli_usage_error("crash --vm: --sector-size %s does not apply: the guest's disk is "
                               "the model", o->sector_size);
    if (o->faults.n && (o->vm || !(o->target || o->run || o->check)))
        return cli_usage_error("--fault needs --target and no --vm: the recorder injects it into a "
                               "target's run on this machine (or use fsynclab record --fault)%s", "");
    return 0;
}

/* The crash of fsynclab's own log that the options ask for. */
static struct crashsim_config crash_config(const struct cli *o)
{
    return (struct crashsim_config){ .entries = o->entries, .entry_size = o->entry_size,
                                     .sync_method = o->sync_method, .model = o->model,
                                     .sector_size = o->sector_size ? o->pmodel.sector : 0,
                                     .seed = o->seed, .trials = o->trials,
                                     .max_seconds = o->max_seconds,
                                     .writeback_expire_ms = o->expire_ms,
                                     .writeback_interval_ms = o->interval_ms,
                                     .writers = o->writers, .prealloc = o->prealloc,
                                     .shard_index = o->shard_index, .shard_count = o->shard_count };
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
                     .writers = 1,
                     .expire_ms = -1, .interval_ms = -1, .cuts = 3 };
    int rc = cli_parse(argc, argv, "crash", CLI_TAKES_CRASH, REPORT_CRASH_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if ((rc = crash_combinations(&o)))
        return rc;
    if (o.vm && (o.target || o.run || o.check))
        return cli_crash_vm_target(&o);
    if ((rc = cli_timeline_check(&o)))
        return rc;
    if (o.target || o.run || o.check)
        return cli_crash_target(&o);
    if (o.check_timeout)
        return cli_usage_error("--check-timeout needs --target%s", "");
    if (o.seconds > 0 || o.nsettings || o.keep || o.cuts != 3)
        return cli_usage_error("--seconds, --set, --cuts and --keep need --target%s", "");
    if (o.model_name && crashsim_model_parse(o.model_name, &o.model) < 0)
        return cli_usage_error("--model %s does not apply to crash of fsynclab's own log (one file, "
                               "no names): it takes " CRASHSIM_MODELS "; ext4 and combinations such as "
                               "ext4+torn apply to crash --target and image", o.model_name);
    size_t n;
    if ((rc = cli_parse_strategies(o.strategies, strategies, &n)))
        return rc;
    if (o.vm)
        return cli_crash_vm(&o, strategies, n);
    if (!o.trials)
        o.trials = 100;
    if (!o.max_seconds)
        o.max_seconds = 60;
    struct crashsim_config cfg = crash_config(&o);
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
    struct cli_capture *cap = NULL;   /* --timeline, --html */
    if ((o.timeline || o.html) && (rc = cli_capture_new(&o, strategies, n, &cfg, &cap))) {
        cli_trials_free(&trials_seen);
        return rc;
    }
    struct cli_progress p = { .start_ns = wal_now_ns(), .strategies = strategies };
    rc = crashsim_run_all(&cfg, strategies, n, out, show_progress, &p, err, sizeof err);
    cli_progress_end(&p);
    if (rc < 0) {
        cli_capture_free(cap);
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        cli_trials_free(&trials_seen);
        return CLI_EXIT_RUN;
    }
    rc = crash_outputs(&o, &env, &cfg, out, n, &trials_seen, command,
                       (double)(wal_now_ns() - t0) / 1e9, cap, strategies);
    cli_trials_free(&trials_seen);
    return rc;
}

/* The table or JSON, the JUnit report, the replay lines, the status. */
static int crash_outputs(const struct cli *o, struct bench_env *envp,
                                const struct crashsim_config *cfgp,
                                const struct verifier_summary *out, size_t n,
                         const struct cli_trials *c, const char *command, double seconds,
                         struct cli_capture *cap, const struct wal_strategy *strategies)
{
    struct bench_env env = *envp;
    struct crashsim_config cfg = *cfgp;
    int failed = 0, rc;
    for (size_t k = 0; k < n; k++)
        failed |= cli_summary_failed(&out[k]);
    static char bufs[BENCH_MAX_STRATEGIES][1024];
    const char *replays[BENCH_MAX_STRATEGIES];
    cli_crash_replays(&cfg, out, n, c, bufs, replays);
    if (o->junit && (rc = cli_crash_junit(o->junit, &cfg, out, n, c, replays, seconds))) {
        cli_capture_free(cap);
        return rc;
    }
    int warned = env.warning[0] != 0;
    if (bench_check_crash_syncs(&env, out, n) && !warned) {
        if (o->json)
            fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
        else
            printf("WARNING       %s\n\n", env.warning);
    }
    if (cap && (rc = crash_pictures(o, cap, strategies, out, n, &env, &cfg)))
        return rc;
    if (o->json) {
        /* the body says it too: trials below trials_requested */
        uint32_t planned = crashsim_trials_planned(&cfg);
        for (size_t i = 0; i < n; i++) {
            char name[32];
            if (out[i].trials < planned)
                fprintf(stderr, "fsynclab: warning: %s ran %u of %u trials: the budget "
                        "(--max-seconds %g, for all strategies) ran out\n",
                        wal_strategy_name(&strategies[i], name, sizeof name), out[i].trials,
                        planned, cfg.max_seconds);
        }
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
