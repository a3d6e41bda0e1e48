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
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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
        .keep = o->keep, .nsettings = o->nsettings};
    memcpy(cfg.settings, o->settings, sizeof cfg.settings);
    if (o->model_name && recorder_model_parse(o->model_name, &cfg.model) < 0)
        return cli_usage_error("--model: \"%s\" with --target; allowed: " RECORDER_MODELS,
                               o->model_name);
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
    rc = target_crash_run(&cfg, &res, err, sizeof err);
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
    if (o->json)
        return cli_print_json(report_recorder_body(&env, &cfg, &res));
    report_print_recorder_table(stdout, &cfg, &res);
    return cli_flush();
}

int cli_record(int argc, char **argv)
{
    struct cli o = { .rest = 1 };
    int rc = cli_parse(argc, argv, "record", CLI_TAKES_RECORD, REPORT_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.root || !o.journal || o.rest >= argc)
        return cli_usage_error("record: give --root DIR --journal FILE -- CMD ARGS...%s", "");
    char err[512] = "";
    int st = 0;
    if ((rc = recorder_record(o.root, o.journal, argv + o.rest, &st, err, sizeof err)) < 0) {
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
    enum recorder_model model = RECORDER_DROP;
    if (!o.journal || !o.snapshot || !o.out)
        return cli_usage_error("image: give --journal FILE --snapshot DIR --out DIR%s", "");
    if (o.model_name && recorder_model_parse(o.model_name, &model) < 0)
        return cli_usage_error("--model: \"%s\"; allowed for image: " RECORDER_MODELS, o.model_name);
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
    rc = recorder_image_build(&j, o.snapshot, at_ns, model, o.seed, o.out, &st, err, sizeof err);
    recorder_journal_close(&j);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        return CLI_EXIT_RUN;
    }
    printf("image %s: %llu records, %llu files, %llu directories, %llu bytes, %llu unknown opens, "
           "%llu flags\n", o.out, (unsigned long long)st.records, (unsigned long long)st.files,
           (unsigned long long)st.dirs, (unsigned long long)st.bytes,
           (unsigned long long)st.unknown_opens, (unsigned long long)st.flags);
    return cli_flush();
}

static int has_text(unsigned type)
{
    return type == RECORDER_OPEN || type == RECORDER_FLAG || type == RECORDER_TRUNCATE_PATH ||
           (type >= RECORDER_RENAME && type <= RECORDER_LINK);
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
        const char *a = has_text(r->type) ? recorder_payload(r) : "";
        const char *b = r->type == RECORDER_RENAME || r->type == RECORDER_LINK ? a + strlen(a) + 1 : "";
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
