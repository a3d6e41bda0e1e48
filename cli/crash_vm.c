/* DESIGN: `fsynclab crash --vm`: the same options as crash, but each
 * trial's writer runs in a QEMU guest on a real kernel and ext4 and QEMU is
 * killed (vm/, docs/ground-truth.md).  The guest kit comes from `make vm`
 * ($FSYNCLAB_VM_KIT, else build/vm); $FSYNCLAB_VM_ACCEL (auto, tcg, kvm)
 * skips the KVM probe; $FSYNCLAB_VM_KILL_WITHIN (seconds, default 1.5) is how
 * long after the first acknowledgement the kill may come, for experiments
 * that need the guest to run longer (docs/lab.md); $FSYNCLAB_VM_DIRSYNC=0 has
 * the guest create its file without syncing the directory, for the
 * experiment of docs/ground-truth.md; $FSYNCLAB_VM_RECORD=0 runs --target
 * contract without the recorder in the guest.  --model other than drop is refused (it does not
 * apply): the kernel is the model, and the drop model is what it is compared
 * with.  Defaults differ from crash's because a trial costs seconds: 3
 * trials, no time budget, and the guest appends until the kill
 * (VM_DEFAULT_ENTRIES). */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/targets/targets.h"
#include "vm/vm.h"

static void show_progress(void *arg, size_t strategy, uint32_t done, uint32_t total)
{
    struct cli_progress *p = arg;
    if (!cli_progress_due(p))
        return;
    char name[32];
    fprintf(stderr, "\r  %-14s %u/%u guest trials   ",
            wal_strategy_name(&p->strategies[strategy], name, sizeof name), done, total);
}

static int vm_outputs(const struct cli *o, const struct bench_env *env, const struct vm_config *cfg,
                      const struct report_vm_env *venv, const struct wal_strategy *strategies,
                      const struct report_vm_result *out, size_t n, double seconds);

/* What both forms check before a guest starts: --model, the kill window
 * from the environment, the data directory (into env) and the guest kit.
 * 0, or the exit status after naming the problem. */
static int vm_prepare(const struct cli *o, struct vm_config *cfg, struct bench_env *env)
{
    /* The guest's kernel decides what survives; its images are compared
     * with drop, so any other model would be silently ignored. */
    if (o->model_name && strcmp(o->model_name, "drop") != 0)
        return cli_usage_error("crash --vm: --model %s does not apply: the guest's kernel is "
                               "the model, and its images are compared with drop; leave --model "
                               "out (or give drop), or run crash without --vm for that model",
                               o->model_name);
    const char *within = getenv("FSYNCLAB_VM_KILL_WITHIN");
    if (within && *within) {
        char *end;
        cfg->kill_within_s = strtod(within, &end);
        if (*end || !(cfg->kill_within_s > 0) || cfg->kill_within_s > 600)
            return cli_usage_error("FSYNCLAB_VM_KILL_WITHIN must be seconds above 0 and at "
                                   "most 600, not \"%s\"", within);
    }
    int rc = cli_probe_data_dir(o->dir, &cfg->dir, env);
    if (rc)
        return rc;
    char err[512] = "";
    if (vm_kit_check(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "fsynclab: crash --vm: %s\n", err);
        return CLI_EXIT_RUN;
    }
    return 0;
}

int cli_crash_vm(const struct cli *o, const struct wal_strategy *strategies, size_t n)
{
    static struct report_vm_result out[BENCH_MAX_STRATEGIES];
    struct vm_config cfg = { .entries = o->entries, .entry_size = o->entry_size,
                             .sync_method = o->sync_method, .writers = o->writers,
                             .trials = o->trials ? o->trials : 3, .seed = o->seed,
                             .max_seconds = o->max_seconds, .accel = getenv("FSYNCLAB_VM_ACCEL"),
                             .flush_images = VM_DEFAULT_FLUSH_IMAGES,
                             .subset_images = VM_DEFAULT_SUBSET_IMAGES,
                             .fs = o->vm_fs, .mount_opts = o->vm_mount_opts };
    const char *dirsync = getenv("FSYNCLAB_VM_DIRSYNC");
    cfg.no_dirsync = dirsync && strcmp(dirsync, "0") == 0;
    struct bench_env env;
    int rc = vm_prepare(o, &cfg, &env);
    if (rc)
        return rc;
    char err[512] = "";
    if (!o->json) {
        report_print_where(stdout, &env);
        printf("run           %u guest trials per strategy, %u-byte entries, sync by %s, "
               "%u writer%s, %s%s%s, kit %s\n\n", cfg.trials, cfg.entry_size,
               wal_sync_method_name(cfg.sync_method), cfg.writers, cfg.writers > 1 ? "s" : "",
               vm_fs_name(&cfg), cfg.mount_opts ? " -o " : "", cfg.mount_opts ? cfg.mount_opts : "",
               vm_kit_dir(&cfg));
        fflush(stdout);
    }
    struct report_vm_env venv;
    struct cli_vm_capture *cap = NULL;   /* --timeline, --html */
    if ((o->timeline || o->html) && cli_vm_capture_new(o, strategies, n, &cfg, &cap) < 0)
        return CLI_EXIT_RUN;
    struct cli_progress p = { .start_ns = wal_now_ns(), .strategies = strategies };
    rc = vm_crash_run(&cfg, strategies, n, out, &venv, show_progress, &p, err, sizeof err);
    cli_progress_end(&p);
    if (rc == 0 && cap) {
        struct report_vm_run run;
        vm_report_run(&cfg, &run);
        cJSON *body = o->html ? report_vm_body(&env, &run, &venv, out, n) : NULL;
        int pictures = cli_vm_pictures(o, cap, body);
        cJSON_Delete(body);
        if (pictures) {
            cli_vm_capture_free(cap);
            return pictures;
        }
    }
    cli_vm_capture_free(cap);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: crash --vm: %s\n", err[0] ? err : strerror(-rc));
        return CLI_EXIT_RUN;
    }
    return vm_outputs(o, &env, &cfg, &venv, strategies, out, n,
                      (double)(wal_now_ns() - p.start_ns) / 1e9);
}

/* A strategy fails when its promise broke, a record came back corrupt or
 * an image failed e2fsck. */
static int vm_failed(const struct report_vm_result *s)
{
    return s->v.held == VERIFIER_HELD_FALSE || s->v.corrupt_recovered > 0 || s->fsck_failed > 0;
}

/* The command that reruns this run: the guest trials' seeds depend on the
 * strategy list, so the replay is the whole run with its seed. */
static void vm_command(const struct vm_config *cfg, const struct wal_strategy *strategies, size_t n,
                       char *buf, size_t len)
{
    char list[BENCH_MAX_STRATEGIES * 24] = "", name[32], entries[32] = "";
    size_t at = 0;
    for (size_t i = 0; i < n && at < sizeof list; i++) {
        int w = snprintf(list + at, sizeof list - at, "%s%s", i ? "," : "",
                         wal_strategy_name(&strategies[i], name, sizeof name));
        if (w < 0)
            break;
        at += (size_t)w;
    }
    if (cfg->entries)
        snprintf(entries, sizeof entries, " --entries %" PRIu64, cfg->entries);
    snprintf(buf, len, "fsynclab crash --vm --strategies %s --seed %" PRIu64 " --trials %u%s "
             "--entry-size %u --sync-method %s --writers %u --fs %s%s%s", list, cfg->seed,
             cfg->trials, entries, cfg->entry_size, wal_sync_method_name(cfg->sync_method),
             cfg->writers ? cfg->writers : 1, vm_fs_name(cfg),
             cfg->mount_opts ? " --mount-opts " : "", cfg->mount_opts ? cfg->mount_opts : "");
}

static void vm_junit_case(const struct report_vm_result *s, const char *replay, struct report_junit_case *jc)
{
    char name[32];
    memset(jc, 0, sizeof *jc);
    snprintf(jc->classname, sizeof jc->classname, "fsynclab.crash.vm");
    snprintf(jc->name, sizeof jc->name, "%s (vm)", wal_strategy_name(&s->v.strategy, name, sizeof name));
    if (vm_failed(s)) {
        jc->failed = 1;
        snprintf(jc->message, sizeof jc->message, "held: %s, %" PRIu64 " corrupt records, %u images "
                 "failed fsck", verifier_held_name(s->v.held), s->v.corrupt_recovered, s->fsck_failed);
        snprintf(jc->text, sizeof jc->text, "guest trials %u, images %u (valid %u), acked_lost_max %"
                 PRIu64 ", loss_window_ms max %.3f, allowance %.3f ms, fsck_failed %u, log_missing %u\n"
                 "replay: %.1200s\n", s->trials, s->images, s->v.trials_valid, s->v.acked_lost_max,
                 verifier_summary_window_ms_max(&s->v), (double)s->v.allowance_ns / 1e6,
                 s->fsck_failed, s->log_missing, replay);
    } else if (s->v.held == VERIFIER_HELD_NULL) {
        jc->skipped = 1;
        snprintf(jc->message, sizeof jc->message, "held: null: %s", s->v.promised_window_ms < 0
                 ? "the strategy promises nothing" : "no image could have shown a loss");
    }
}

static int vm_outputs(const struct cli *o, const struct bench_env *env, const struct vm_config *cfg,
                      const struct report_vm_env *venv, const struct wal_strategy *strategies,
                      const struct report_vm_result *out, size_t n, double seconds)
{
    static struct report_junit_case cases[BENCH_MAX_STRATEGIES];
    char replay[2048], err[512];
    struct report_vm_run run;
    vm_report_run(cfg, &run);
    vm_command(cfg, strategies, n, replay, sizeof replay);
    int failed = 0;
    for (size_t k = 0; k < n; k++) {
        failed |= vm_failed(&out[k]);
        vm_junit_case(&out[k], replay, &cases[k]);
        cases[k].seconds = seconds / (double)n;
    }
    if (o->junit && report_junit_write(o->junit, "fsynclab crash --vm", cases, n, seconds, err,
                                       sizeof err) < 0) {
        fprintf(stderr, "fsynclab: --junit: %s\n", err);
        return CLI_EXIT_RUN;
    }
    if (o->json) {
        cJSON *body = report_vm_body(env, &run, venv, out, n);
        cJSON *results = body ? cJSON_GetObjectItemCaseSensitive(body, "results") : NULL;
        for (size_t k = 0; results && k < n; k++) {   /* CLI only, like the rest of the body */
            cJSON *r = cJSON_GetArrayItem(results, (int)k);
            if (r && !(vm_failed(&out[k]) ? cJSON_AddStringToObject(r, "replay", replay) != NULL
                                          : cJSON_AddNullToObject(r, "replay") != NULL))
                results = NULL;
        }
        if (body && !results) {
            cJSON_Delete(body);
            body = NULL;
        }
        return cli_verdict_status(o, failed, cli_print_json(body));
    }
    report_print_vm_table(stdout, &run, venv, out, n);
    if (failed)
        printf("FAILED        replay: %s\n", replay);
    return cli_verdict_status(o, failed, cli_flush());
}

static void show_target_progress(void *arg, uint32_t done, uint32_t total)
{
    struct cli_progress *p = arg;
    if (cli_progress_due(p))
        fprintf(stderr, "\r  guest program  %u/%u trials   ", done, total);
}

/* A built-in target (sqlite, redis, postgres): its settings checked as crash --target
 * checks them (exit 2), then its worker's and check's commands for the
 * guest into run and check.  0, or the exit status after saying why. */
static int vm_builtin(const struct cli *o, char *run, size_t runlen, char *check, size_t checklen,
                      const char **promised)
{
    static struct recorder_crash_config rc;
    static struct recorder_crash_result res;
    memset(&rc, 0, sizeof rc);
    memset(&res, 0, sizeof res);
    rc.target = o->target;
    rc.nsettings = o->nsettings;
    memcpy(rc.settings, o->settings, sizeof rc.settings);
    char err[512] = "";
    if (target_settings_check(&rc, &res, err, sizeof err) < 0)
        return cli_usage_error(strcmp(o->target, "redis") == 0 ? "crash --vm --target redis: %s"
                               : strcmp(o->target, "postgres") == 0 ? "crash --vm --target postgres: %s"
                                                                : "crash --vm --target sqlite: %s",
                               err);
    *promised = res.promised;
    if (vm_target_commands(o->target, o->settings, o->nsettings, run, runlen, check, checklen,
                           err, sizeof err) < 0) {
        fprintf(stderr, "fsynclab: crash --vm --target %s: %s\n", o->target, err);
        return CLI_EXIT_RUN;
    }
    return 0;
}

/* The contract's --set (promise, promised_window_ms) checked as crash
 * --target checks them (exit 2); its promise into *promised. */
static int vm_contract_settings(const struct cli *o, const char **promised)
{
    static struct recorder_crash_config rc;
    static struct recorder_crash_result res;
    rc = (struct recorder_crash_config){ .target = "contract", .nsettings = o->nsettings,
                                         .run_cmd = o->run, .check_cmd = o->check };
    memcpy(rc.settings, o->settings, sizeof rc.settings);
    char err[512] = "";
    if (target_settings_check(&rc, &res, err, sizeof err) < 0)
        return cli_usage_error("crash --vm --target contract: %s", err);
    *promised = res.promised;
    return 0;
}

/* crash --vm --target contract --run CMD --check CMD: the contract's
 * commands run in the guest, on the host's root shared read-only
 * (vm/program.c); --target sqlite, redis and postgres run there the same way. */
int cli_crash_vm_target(const struct cli *o)
{
    int builtin = o->target && (strcmp(o->target, "sqlite") == 0 || strcmp(o->target, "redis") == 0 ||
                                strcmp(o->target, "postgres") == 0);
    if (!builtin && (!o->target || strcmp(o->target, "contract") != 0))
        return cli_usage_error("crash --vm --target %s: only contract (with --run and --check), "
                               "sqlite, redis and postgres run in the guest so far; for the others use "
                               "crash --target without --vm", o->target ? o->target : "(none)");
    if (builtin && (o->run || o->check))
        return cli_usage_error("crash --vm --target %s takes no --run or --check: its program "
                               "and its check are built in (give --set KEY=VALUE)", o->target);
    if (!builtin && (!o->run || !o->check))
        return cli_usage_error("crash --vm --target contract needs --run CMD and --check CMD%s", "");
    if (o->keep || o->seconds > 0)
        return cli_usage_error("crash --vm --target %s takes no --keep or --seconds (the kill "
                               "comes within FSYNCLAB_VM_KILL_WITHIN seconds)", o->target);
    static char run_cmd[4096], check_cmd[4096];
    const char *promised = NULL;
    if (builtin) {
        int rc = vm_builtin(o, run_cmd, sizeof run_cmd, check_cmd, sizeof check_cmd, &promised);
        if (rc)
            return rc;
    } else if (o->nsettings) {
        int rc = vm_contract_settings(o, &promised);
        if (rc)
            return rc;
    }
    struct vm_config cfg = { .trials = o->trials ? o->trials : 3, .seed = o->seed,
                             .max_seconds = o->max_seconds, .accel = getenv("FSYNCLAB_VM_ACCEL"),
                             .flush_images = VM_DEFAULT_FLUSH_IMAGES,
                             .subset_images = VM_DEFAULT_SUBSET_IMAGES, .fs = o->vm_fs,
                             .mount_opts = o->vm_mount_opts,
                             .run_cmd = builtin ? run_cmd : o->run,
                             .check_cmd = builtin ? check_cmd : o->check,
                             .target = builtin ? o->target : NULL,
                             .settings = o->settings, .nsettings = o->nsettings };
    const char *record = getenv("FSYNCLAB_VM_RECORD");
    cfg.record = !record || strcmp(record, "0") != 0;
    struct bench_env env;
    int rc = vm_prepare(o, &cfg, &env);
    if (rc)
        return rc;
    char err[512] = "";
    if (!o->json) {
        printf("run           %u guest trials of %s on %s%s%s\n", cfg.trials,
               builtin ? o->target : "the contract", vm_fs_name(&cfg),
               cfg.mount_opts ? " -o " : "", cfg.mount_opts ? cfg.mount_opts : "");
        for (unsigned i = 0; builtin && i < o->nsettings; i++)
            printf("setting       %s=%s\n", o->settings[i].key, o->settings[i].value);
        if (promised)
            printf("promised      %s\n", promised);
        printf("\n");
        fflush(stdout);
    }
    static struct report_vm_prog s;
    struct report_vm_env venv;
    struct cli_progress p = { .start_ns = wal_now_ns() };
    rc = vm_program_run(&cfg, &s, &venv, show_target_progress, &p, err, sizeof err);
    cli_progress_end(&p);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: crash --vm: %s\n", err[0] ? err : strerror(-rc));
        return CLI_EXIT_RUN;
    }
    int failed = s.fsck_failed > 0 || s.held == 0;   /* the promise broke */
    struct report_vm_run run;
    vm_report_run(&cfg, &run);
    if (o->json)
        return cli_verdict_status(o, failed,
                                  cli_print_json(report_vm_program_body(&run, &venv, &s)));
    report_print_vm_program_table(stdout, &run, &venv, &s);
    return cli_verdict_status(o, failed, cli_flush());
}
