/* DESIGN: `fsynclab explore`: one run of a target with a bounded workload,
 * every crash point of it (recorder/targets/explore.c), then report/'s
 * table of vulnerabilities or the --json body.  Exit status as crash's:
 * 3 when a vulnerability breaks the program's promise or a state failed
 * to recover (--no-fail: 0), 1 when the run failed, 2 for usage. */
#include "cli/cli.h"
#include "recorder/targets/targets.h"

#include <errno.h>
#include <string.h>

static int explore_config(struct cli *o, struct recorder_explore_config *cfg)
{
    struct recorder_crash_config *c = &cfg->crash;
    c->target = o->target ? o->target : "contract";
    c->run_cmd = o->run;
    c->check_cmd = o->check;
    c->seconds = o->seconds > 0 ? o->seconds : 60;
    c->keep = o->keep;
    c->nsettings = o->nsettings;
    memcpy(c->settings, o->settings, sizeof c->settings);
    c->trials = 1;
    cfg->ops = o->ops ? o->ops : 20;
    cfg->max_points = o->max_points ? o->max_points : 10000;
    cfg->max_states = o->max_states ? o->max_states : 100000;
    c->model = o->pmodel;   /* drop unless --model said otherwise */
    if (c->model.tail != PL_TAIL_NONE || c->model.lie)
        return cli_usage_error("explore --model: \"%s\"; explore enumerates the unsynced operations itself, so it "
                               "takes a base rule: drop or ext4 (or xfs, btrfs)", o->model_name);
    return cli_check_timeout(o->check_timeout, &c->check_timeout_ms);
}

int cli_explore(int argc, char **argv)
{
    struct cli o = { 0 };
    int rc = cli_parse(argc, argv, "explore", CLI_TAKES_EXPLORE, REPORT_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct recorder_explore_config cfg = { 0 };
    if ((rc = explore_config(&o, &cfg)) != 0)
        return rc;
    struct bench_env env;
    if ((rc = cli_probe_data_dir(o.dir, &cfg.crash.dir, &env)))
        return rc;
    if (env.warning[0])
        fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
    static struct recorder_explore_result res;
    char err[1024] = "";
    rc = target_explore_run(&cfg, &res, err, sizeof err);
    if (rc == -EINVAL)
        return cli_usage_error("%s", err);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        return CLI_EXIT_RUN;
    }
    if (res.states_cut)
        fprintf(stderr, "fsynclab: warning: %llu states not generated (--max-states %u): what they hold was not seen\n",
                (unsigned long long)res.states_cut, cfg.max_states);
    int failed = res.held == 0 || res.states_unrecovered > 0;
    if (o.json) {
        cJSON *body = report_explore_body(&env, &cfg, &res);   /* cli_print_json adds the meta keys */
        return cli_verdict_status(&o, failed, cli_print_json(body));
    }
    report_print_explore_table(stdout, &cfg, &res);
    return cli_verdict_status(&o, failed, cli_flush());
}
