/* DESIGN: the recorder's subcommands (recorder/, docs/real-programs.md).
 *
 *   fsynclab crash --target NAME ...   target_crash_run, report/'s table or body
 *   fsynclab record --root DIR --journal FILE -- CMD ARGS...
 *   fsynclab image --journal FILE --snapshot DIR --at MS|end --model M --out DIR
 *   fsynclab journal --journal FILE [--summary]
 *
 * Times on the command line are milliseconds after the journal's first
 * record, the clock `journal` prints; the journal itself holds
 * CLOCK_MONOTONIC nanoseconds.
 */
#include "cli/cli.h"
#include "recorder/targets/targets.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int target_outputs(const struct cli *o, const struct bench_env *env,
                          const struct recorder_crash_config *cfg,
                          const struct recorder_crash_result *res, double seconds);

/* --check-timeout S: seconds, 0 < S <= 3600, into milliseconds. */
static int check_timeout(const char *arg, unsigned *ms)
{
    char *end = NULL;
    errno = 0;
    double s = arg ? strtod(arg, &end) : 60;
    if (arg && (errno || end == arg || *end || !(s > 0 && s <= 3600)))
        return cli_usage_error("--check-timeout: seconds, more than 0 and at most 3600, not \"%s\"", arg);
    *ms = (unsigned)(s * 1000 + 0.5) ? (unsigned)(s * 1000 + 0.5) : 1;
    return 0;
}

int cli_crash_target(struct cli *o)
{
    struct recorder_crash_config cfg = {
        .target = o->target ? o->target : "contract", .run_cmd = o->run, .check_cmd = o->check,
        .trials = o->have_trials ? o->trials : 3, .seconds = o->seconds > 0 ? o->seconds : 3, .cuts = o->cuts, .seed = o->seed,
        .keep = o->keep, .nsettings = o->nsettings, .faults = o->faults};
    memcpy(cfg.settings, o->settings, sizeof cfg.settings);
    cfg.model = o->pmodel;   /* every model of the engine applies to a target's images */
    int rc = check_timeout(o->check_timeout, &cfg.check_timeout_ms);
    if (rc)
        return rc;
    struct bench_env env;
    if ((rc = cli_probe_data_dir(o->dir, &cfg.dir, &env)))
        return rc;
    if (env.warning[0])
        fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
    char err[1024] = "";
    struct recorder_crash_result res;
    uint64_t t0 = wal_now_ns();
    struct cli_target_capture *cap = NULL;   /* --timeline, --html */
    if ((o->timeline || o->html) && cli_target_capture_new(o, &cap) < 0)
        return CLI_EXIT_RUN;
    rc = target_crash_run(&cfg, &res, err, sizeof err);
    int pictures = rc == 0 && cap ? cli_target_pictures(o, cap, &env, &cfg, &res) : 0;
    cli_target_capture_free(cap);
    if (pictures)
        return pictures;
    if (rc == -EINVAL)
        return cli_usage_error("%s", err);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        return CLI_EXIT_RUN;
    }
    if (res.trials && !res.trials_valid)   /* said on stderr too: nothing below is a result */
        fprintf(stderr, "fsynclab: warning: no valid trial: %s\n", res.invalid_example);
    if (res.acks_bursty)
        fprintf(stderr, "fsynclab: warning: acks arrived in bursts: the program seems to buffer its stdout\n");
    return target_outputs(o, &env, &cfg, &res, (double)(wal_now_ns() - t0) / 1e9);
}

/* s in single quotes for /bin/sh, when it needs them. */
static void shell_word(const char *s, char *buf, size_t len)
{
    if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=,:@+") ==
                  strlen(s)) {
        snprintf(buf, len, "%s", s);
        return;
    }
    size_t at = 0;
    if (len < 3) {
        buf[0] = '\0';
        return;
    }
    buf[at++] = '\'';
    for (; *s && at + 6 < len; s++) {
        if (*s == '\'') {
            memcpy(buf + at, "'\\''", 4);
            at += 4;
        } else {
            buf[at++] = *s;
        }
    }
    buf[at++] = '\'';
    buf[at] = '\0';
}

/* The command that reruns the run: the trials draw their kill instants,
 * cut points and model choices from one stream seeded by --seed, so the
 * replay is the whole run. */
static void target_command(const struct recorder_crash_config *cfg, char *buf, size_t len)
{
    char word[1024];
    int at = snprintf(buf, len, "fsynclab crash --target %s", cfg->target);
    for (unsigned i = 0; i < cfg->nsettings && at >= 0 && (size_t)at < len; i++) {
        char kv[512];
        snprintf(kv, sizeof kv, "%s=%s", cfg->settings[i].key, cfg->settings[i].value);
        shell_word(kv, word, sizeof word);
        at += snprintf(buf + at, len - (size_t)at, " --set %s", word);
    }
    const char *cmds[2][2] = { { "--run", cfg->run_cmd }, { "--check", cfg->check_cmd } };
    for (int i = 0; i < 2 && at >= 0 && (size_t)at < len; i++) {
        if (!cmds[i][1])
            continue;
        shell_word(cmds[i][1], word, sizeof word);
        at += snprintf(buf + at, len - (size_t)at, " %s %s", cmds[i][0], word);
    }
    for (unsigned i = 0; i < cfg->faults.n && at >= 0 && (size_t)at < len; i++) {
        shell_word(recorder_fault_spec(&cfg->faults.f[i]), word, sizeof word);
        at += snprintf(buf + at, len - (size_t)at, " --fault %s", word);
    }
    if (at >= 0 && (size_t)at < len)
        snprintf(buf + at, len - (size_t)at, " --model %s%s --trials %u --seconds %g --cuts %u --seed %llu",
                 pl_model_name(&cfg->model), cfg->model.sector == 4096 ? " --sector-size 4096" : "",
                 cfg->trials, cfg->seconds, cfg->cuts, (unsigned long long)cfg->seed);
}

/* Failed: the promise broke, or the program's own check found its data
 * damaged after a power cut (an image that did not recover). */
static int target_failed(const struct recorder_crash_result *r)
{
    return r->held == 0 || r->recovered_ok < r->images;
}

static int target_junit(const char *path, const struct recorder_crash_config *cfg,
                        const struct recorder_crash_result *r, const char *replay, double seconds)
{
    static struct report_junit_case jc;
    memset(&jc, 0, sizeof jc);
    size_t at = (size_t)snprintf(jc.name, sizeof jc.name, "%s", r->target);
    for (unsigned i = 0; i < cfg->nsettings && at < sizeof jc.name; i++)
        at += (size_t)snprintf(jc.name + at, sizeof jc.name - at, " %s=%s", cfg->settings[i].key,
                               cfg->settings[i].value);
    if (at < sizeof jc.name)
        snprintf(jc.name + at, sizeof jc.name - at, " (%s)", pl_model_name(&r->model));
    snprintf(jc.classname, sizeof jc.classname, "fsynclab.crash.target.%s", r->target);
    jc.seconds = seconds;
    if (target_failed(r)) {
        jc.failed = 1;
        snprintf(jc.message, sizeof jc.message, "held: %s: %llu acknowledged lost at most, "
                 "%u of %u images recovered (promised: %s)", r->held < 0 ? "null" : r->held ? "true" : "false",
                 (unsigned long long)r->acked_lost_max, r->recovered_ok, r->images,
                 r->promised ? r->promised : "");
        snprintf(jc.text, sizeof jc.text, "trials %u (valid %u), images %u, recovered_ok %u\n"
                 "acked_total %llu, acked_lost_max %llu, acked_lost_total %llu\n"
                 "loss_window_ms p50 %.3f max %.3f, promised_window_ms %.3f, max_sync_ms %.3f\n"
                 "seed %llu\nreplay: %.1200s\n", r->trials, r->trials_valid, r->images, r->recovered_ok,
                 (unsigned long long)r->acked_total, (unsigned long long)r->acked_lost_max,
                 (unsigned long long)r->acked_lost_total, r->loss_window_ms_p50, r->loss_window_ms_max,
                 r->promised_window_ms, r->max_sync_ms, (unsigned long long)cfg->seed, replay);
    } else if (r->held < 0) {
        jc.skipped = 1;
        snprintf(jc.message, sizeof jc.message, "held: null: %s", r->trials_valid
                 ? "the program's documentation gives no promise to hold" : "no trial acknowledged anything before its kill");
    }
    char err[512] = "";
    if (report_junit_write(path, "fsynclab crash --target", &jc, 1, seconds, err, sizeof err) < 0) {
        fprintf(stderr, "fsynclab: --junit: %s\n", err);
        return CLI_EXIT_RUN;
    }
    return 0;
}

static int target_outputs(const struct cli *o, const struct bench_env *env,
                          const struct recorder_crash_config *cfg,
                          const struct recorder_crash_result *res, double seconds)
{
    char replay[4096], kept[PATH_MAX + 32] = "";
    target_command(cfg, replay, sizeof replay);
    int failed = target_failed(res), rc;
    if (cfg->keep) {   /* where target_crash_run leaves the trial directories */
        char dir[PATH_MAX];
        if (realpath(cfg->dir, dir))
            snprintf(kept, sizeof kept, "%s/fsynclab-rec-%d", dir, (int)getpid());
    }
    if (o->junit && (rc = target_junit(o->junit, cfg, res, replay, seconds)))
        return rc;
    if (o->json) {
        cJSON *body = report_recorder_body(env, cfg, res);
        /* CLI only, at the end: the command that replays a failure, and
         * where --keep left the trials. */
        int ok = body && (failed ? cJSON_AddStringToObject(body, "replay", replay) != NULL
                                 : cJSON_AddNullToObject(body, "replay") != NULL) &&
                 (kept[0] ? cJSON_AddStringToObject(body, "kept", kept) != NULL
                          : cJSON_AddNullToObject(body, "kept") != NULL);
        if (!ok) {
            cJSON_Delete(body);
            body = NULL;
        }
        return cli_verdict_status(o, failed, cli_print_json(body));
    }
    report_print_recorder_table(stdout, cfg, res);
    if (failed)
        printf("FAILED        replay: %s\n", replay);
    if (kept[0])
        printf("kept          %s\n", kept);
    return cli_verdict_status(o, failed, cli_flush());
}

int cli_record(int argc, char **argv)
{
    struct cli o = { .rest = 1 };
    int rc = cli_parse(argc, argv, "record", CLI_TAKES_RECORD, REPORT_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.root || !o.journal || o.rest >= argc)
        return cli_usage_error("record: give --root DIR --journal FILE [--] CMD ARGS...%s", "");
    char err[512] = "", faults[RECORDER_MAX_FAULTS * 300];
    int st = 0;
    if (recorder_fault_env(&o.faults, faults, sizeof faults) != 0)
        return cli_usage_error("--fault: the faults are too long together%s", "");
    if ((rc = recorder_record(o.root, o.journal, argv + o.rest, faults, &st, err, sizeof err)) < 0) {
        if (rc == -EINVAL)
            return cli_usage_error("%s", err);
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        return CLI_EXIT_RUN;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int open_journal(const char *path, struct recorder_journal *j)
{
    char err[512] = "";
    if (recorder_journal_open(path, j, err, sizeof err) < 0) {
        fprintf(stderr, "fsynclab: %s\n", err);
        return CLI_EXIT_RUN;
    }
    return 0;
}

int cli_image(int argc, char **argv)
{
    struct cli o = { .seed = 1, .have_seed = 1 };
    int rc = cli_parse(argc, argv, "image", CLI_TAKES_IMAGE, REPORT_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.journal || !o.snapshot || !o.out)
        return cli_usage_error("image: give --journal FILE --snapshot DIR --out DIR%s", "");
    char *end = NULL;
    double at_ms = o.at && strcmp(o.at, "end") != 0 ? strtod(o.at, &end) : -1;
    if (end && (*end || end == o.at || !(at_ms >= 0)))
        return cli_usage_error("--at: milliseconds after the journal's first record, or end, not \"%s\"",
                               o.at);
    struct recorder_journal j;
    if ((rc = open_journal(o.journal, &j)))
        return rc;
    uint64_t at_ns = UINT64_MAX;
    if (at_ms >= 0 && j.n)
        at_ns = j.recs[0]->ns + (uint64_t)(at_ms * 1e6);
    char err[512] = "";
    struct recorder_image_stats st;
    rc = recorder_image_build(&j, o.snapshot, at_ns, &o.pmodel, o.seed, o.out, &st, err, sizeof err);
    recorder_journal_close(&j);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        return CLI_EXIT_RUN;
    }
    if (st.torn_bytes)
        fprintf(stderr, "fsynclab: warning: %s: %llu bytes after the last whole record were not read "
                        "(a torn journal; counted as a flag)\n", o.journal, (unsigned long long)st.torn_bytes);
    printf("image %s: %llu records, %llu files, %llu directories, %llu bytes, %llu unknown opens, "
           "%llu flags\n", o.out, (unsigned long long)st.records, (unsigned long long)st.files,
           (unsigned long long)st.dirs, (unsigned long long)st.bytes,
           (unsigned long long)st.unknown_opens, (unsigned long long)st.flags);
    return cli_flush();
}

static int has_text(const struct recorder_rec *r)
{
    unsigned type = r->type;
    return type == RECORDER_OPEN || type == RECORDER_FLAG || type == RECORDER_TRUNCATE_PATH ||
           (type >= RECORDER_RENAME && type <= RECORDER_LINK) || type == RECORDER_SYMLINK ||
           (type == RECORDER_CHMOD && !r->handle) || type == RECORDER_OBJECT || type == RECORDER_ACK;
}

int cli_journal(int argc, char **argv)
{
    struct cli o = { 0 };
    int rc = cli_parse(argc, argv, "journal", CLI_TAKES_JOURNAL, REPORT_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.journal)
        return cli_usage_error("journal: give --journal FILE%s", "");
    struct recorder_journal j;
    if ((rc = open_journal(o.journal, &j)))
        return rc;
    unsigned long long data = 0;
    for (size_t i = 0; i < j.n; i++) {
        const struct recorder_rec *r = j.recs[i];
        if (r->type == RECORDER_WRITE)
            data += r->len;
        if (o.summary)
            continue;
        /* the second path of a rename or link follows the first's NUL */
        const char *a = has_text(r) ? recorder_payload(r) : "";
        const char *b = r->type == RECORDER_RENAME || r->type == RECORDER_LINK || r->type == RECORDER_SYMLINK
                            ? a + strlen(a) + 1 : "";
        printf("%12.3f %7u %-15s h=%llx off=%llu len=%llu aux=%d flags=%u %s%s%s\n",
               (double)(r->ns - j.recs[0]->ns) / 1e6, r->pid, recorder_type_name(r->type),
               (unsigned long long)r->handle, (unsigned long long)r->off, (unsigned long long)r->len,
               r->aux, r->flags, a, *b ? " -> " : "", b);
    }
    printf("%zu records, %zu bytes, %llu data bytes written, %.1f bytes a record beyond the data, "
           "%zu torn\n", j.n, j.bytes, data, j.n ? (double)(j.bytes - data) / (double)j.n : 0.0,
           j.torn_bytes);
    recorder_journal_close(&j);
    return cli_flush();
}

int cli_check_timeout(const char *arg, unsigned *ms)
{
    return check_timeout(arg, ms);
}
