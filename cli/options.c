/* DESIGN: one table for every subcommand's options and one parser; a
 * subcommand names the options it takes.  Numbers are checked against
 * report/'s limits table, the same rows the node checks a request's fields
 * against, so that both front ends take the same values and name a bad one
 * in the same words.  Also the small things every subcommand does: find and
 * probe the data directory, print a JSON body, show progress. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/vm.h"

static const struct option cli_options[] = {
    { "entries", required_argument, NULL, 'e' },
    { "strategies", required_argument, NULL, 's' },
    { "entry-size", required_argument, NULL, 'b' },
    { "sync-method", required_argument, NULL, 'm' },
    { "max-seconds", required_argument, NULL, 't' },
    { "dir", required_argument, NULL, 'd' },
    { "writers", required_argument, NULL, 'w' },
    { "prealloc", no_argument, NULL, 'p' },
    { "json", no_argument, NULL, 'j' },
    { "trials", required_argument, NULL, 'T' },
    { "model", required_argument, NULL, 'M' },
    { "seed", required_argument, NULL, 'S' },
    { "writeback-expire-ms", required_argument, NULL, 'x' },
    { "writeback-interval-ms", required_argument, NULL, 'i' },
    { "out", required_argument, NULL, 'o' },
    { "intervals", required_argument, NULL, 'I' },
    { "repeat", required_argument, NULL, 'r' },
    { "seconds", required_argument, NULL, 'u' },
    { "warmup", no_argument, NULL, 'W' },
    { "no-warmup", no_argument, NULL, 'n' },
    { "target", required_argument, NULL, 'G' },
    { "set", required_argument, NULL, 'V' },
    { "run", required_argument, NULL, 'R' },
    { "check", required_argument, NULL, 'C' },
    { "cuts", required_argument, NULL, 'K' },
    { "keep", no_argument, NULL, 'k' },
    { "root", required_argument, NULL, 'X' },
    { "journal", required_argument, NULL, 'J' },
    { "snapshot", required_argument, NULL, 'N' },
    { "at", required_argument, NULL, 'a' },
    { "summary", no_argument, NULL, 'Y' },
    { "vm", no_argument, NULL, 'Q' },
    { "fs", required_argument, NULL, '1' },
    { "mount-opts", required_argument, NULL, '2' },
    { "no-fail", no_argument, NULL, 'F' },
    { "junit", required_argument, NULL, 'U' },
    { "shard", required_argument, NULL, 'H' },
    { "help", no_argument, NULL, 'h' },
    { 0, 0, 0, 0 },
};

int cli_usage_error(const char *fmt, const char *what)
{
    fprintf(stderr, "fsynclab: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\n(try fsynclab --help)\n");
    return CLI_EXIT_USAGE;
}

/* "--entries must be a whole number from 1 to 10000000, not "x"". */
static int range_error(enum report_limit which, const char *flag, const char *arg)
{
    char text[96];
    fprintf(stderr, "fsynclab: %s must be %s, not \"%s\"\n(try fsynclab --help)\n", flag,
            report_limit_text(which, text, sizeof text), arg);
    return CLI_EXIT_USAGE;
}

/* A whole decimal number within which's limits, nothing else in arg. */
static int whole(enum report_limit which, const char *arg, unsigned long long *out)
{
    const struct report_range *lim = report_limit(which);
    char *end;
    errno = 0;
    unsigned long long v = arg[0] >= '0' && arg[0] <= '9' ? strtoull(arg, &end, 10) : 0;
    if (arg[0] < '0' || arg[0] > '9' || errno || *end || v < (unsigned long long)lim->lo ||
        v > (unsigned long long)lim->hi)
        return range_error(which, lim->flag, arg);
    *out = v;
    return 0;
}

static int seconds(enum report_limit which, const char *arg, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || *end || end == arg || !report_limit_ok(which, v))
        return range_error(which, report_limit(which)->flag, arg);
    *out = v;
    return 0;
}

/* --set KEY=VALUE, repeated; arg stays owned by argv. */
static int setting(char *arg, struct cli *o)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return cli_usage_error("--set: \"%s\" is not KEY=VALUE", arg);
    if (o->nsettings == RECORDER_MAX_SETTINGS)
        return cli_usage_error("--set: at most 16 settings%s", "");
    *eq = '\0';
    o->settings[o->nsettings].key = arg;
    o->settings[o->nsettings++].value = eq + 1;
    return 0;
}

/* --shard I/N: 0 <= I < N, N from 1 to the most trials a run takes. */
static int shard(const char *arg, struct cli *o)
{
    char *end;
    errno = 0;
    unsigned long long i = arg[0] >= '0' && arg[0] <= '9' ? strtoull(arg, &end, 10) : 0, n = 0;
    int ok = arg[0] >= '0' && arg[0] <= '9' && !errno && *end == '/';
    if (ok) {
        const char *d = end + 1;
        ok = d[0] >= '0' && d[0] <= '9' && (n = strtoull(d, &end, 10), !errno && !*end) &&
             n >= 1 && n <= REPORT_CRASH_MAX_TRIALS && i < n;
    }
    if (!ok) {
        fprintf(stderr, "fsynclab: --shard must be I/N with N from 1 to %u and I from 0 to "
                "N-1 (e.g. 0/4), not \"%s\"\n(try fsynclab --help)\n", REPORT_CRASH_MAX_TRIALS, arg);
        return CLI_EXIT_USAGE;
    }
    o->shard_index = (uint32_t)i;
    o->shard_count = (uint32_t)n;
    return 0;
}

int cli_verdict_status(const struct cli *o, int failed, int rc)
{
    return rc == 0 && failed && !o->no_fail ? CLI_EXIT_FAILED : rc;
}

/* One option's value into o; 0 or CLI_EXIT_USAGE. */
static int take(int c, const char *arg, enum report_limit entries, struct cli *o)
{
    unsigned long long v = 0;
    int rc = 0;
    switch (c) {
    case 'e': rc = whole(entries, arg, &v); o->entries = v; break;
    case 's': o->strategies = (char *)arg; break;
    case 'b': rc = whole(REPORT_ENTRY_SIZE, arg, &v); o->entry_size = (uint32_t)v; break;
    case 'm':
        if (wal_sync_method_parse(arg, &o->sync_method) < 0)
            rc = cli_usage_error("--sync-method: unknown \"%s\"; allowed: " WAL_SYNC_METHODS, arg);
        break;
    case 't': rc = seconds(REPORT_MAX_SECONDS, arg, &o->max_seconds); o->have_max_seconds = 1; break;
    case 'r': rc = whole(REPORT_REPEAT, arg, &v); o->repeat = (unsigned)v; break;
    case 'u': rc = seconds(REPORT_SECONDS, arg, &o->seconds); break;
    case 'W': o->warmup = BENCH_WARMUP_ON; break;
    case 'n': o->warmup = BENCH_WARMUP_OFF; break;
    case 'd': o->dir = arg; break;
    case 'w': rc = whole(REPORT_WRITERS, arg, &v); o->writers = (unsigned)v; break;
    case 'p': o->prealloc = 1; break;
    case 'j': o->json = 1; break;
    case 'T': rc = whole(REPORT_TRIALS, arg, &v); o->trials = (uint32_t)v; o->have_trials = 1; break;
    case 'M': {
        /* crash --target and image take the recorder's models; cli_crash
         * refuses one that is not crashsim's without --target. */
        enum recorder_model m;
        o->model_name = arg;
        if (crashsim_model_parse(arg, &o->model) < 0 && recorder_model_parse(arg, &m) < 0)
            rc = cli_usage_error("--model: unknown \"%s\"; allowed: " CRASHSIM_MODELS
                                 "; with --target, and for image: " RECORDER_MODELS, arg);
        break;
    }
    case 'S': rc = whole(REPORT_SEED, arg, &v); o->seed = v; o->have_seed = 1; break;
    case 'x': rc = whole(REPORT_WRITEBACK_EXPIRE_MS, arg, &v); o->expire_ms = (long)v; break;
    case 'i': rc = whole(REPORT_WRITEBACK_INTERVAL_MS, arg, &v); o->interval_ms = (long)v; break;
    case 'o': o->out = arg; break;
    case 'I': o->intervals = (char *)arg; break;
    case 'G': o->target = arg; break;
    case 'V': rc = setting((char *)arg, o); break;
    case 'R': o->run = arg; break;
    case 'C': o->check = arg; break;
    case 'K': rc = whole(REPORT_CUTS, arg, &v); o->cuts = (unsigned)v; break;
    case 'k': o->keep = 1; break;
    case 'X': o->root = arg; break;
    case 'J': o->journal = arg; break;
    case 'N': o->snapshot = arg; break;
    case 'a': o->at = arg; break;
    case 'Y': o->summary = 1; break;
    case 'Q': o->vm = 1; break;
    case '1':
        o->vm_fs = arg;
        if (!vm_fs_valid(arg))
            rc = cli_usage_error("--fs: unknown \"%s\"; allowed: " VM_FILESYSTEMS, arg);
        break;
    case '2':
        o->vm_mount_opts = arg;
        if (!vm_mount_opts_valid(arg))
            rc = cli_usage_error("--mount-opts: \"%s\" is not a comma-separated list of "
                                 "options of letters, digits and =_.:- (at most 100 characters), "
                                 "e.g. data=journal,commit=1", arg);
        break;
    case 'F': o->no_fail = 1; break;
    case 'U': o->junit = arg; break;
    case 'H': rc = shard(arg, o); break;
    }
    return rc;
}

int cli_parse(int argc, char **argv, const char *cmd, const char *takes,
              enum report_limit entries, struct cli *o)
{
    int c, rc;
    while ((c = getopt_long(argc, argv, "", cli_options, NULL)) != -1) {
        if (c == 'h') {
            cli_usage(stdout);
            return -1;
        }
        if (c == '?' || !strchr(takes, c)) {
            fprintf(stderr, "fsynclab: %s: unknown option\n(try fsynclab --help)\n", cmd);
            return CLI_EXIT_USAGE;
        }
        if ((rc = take(c, optarg, entries, o)))
            return rc;
    }
    if (o->rest) {
        o->rest = optind;
    } else if (optind < argc) {
        fprintf(stderr, "fsynclab: %s: unexpected argument \"%s\"\n(try fsynclab --help)\n", cmd,
                argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!o->have_seed)
        o->seed = wal_now_ns() % ((uint64_t)REPORT_MAX_SEED + 1);
    return 0;
}

int cli_parse_strategies(char *list, struct wal_strategy *out, size_t *n)
{
    *n = 0;
    for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == BENCH_MAX_STRATEGIES)
            return cli_usage_error("--strategies: at most 64 strategies%s", "");
        if (wal_strategy_parse(tok, &out[*n]) < 0)
            return cli_usage_error("--strategies: unknown strategy \"%s\"; allowed: "
                                   WAL_STRATEGIES, tok);
        (*n)++;
    }
    if (*n == 0)
        return cli_usage_error("--strategies: give at least one strategy%s", "");
    return 0;
}

int cli_parse_intervals(char *list, struct bench_curve_config *cfg)
{
    cfg->n_intervals = 0;
    for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned long long v;
        if (cfg->n_intervals == BENCH_CURVE_MAX_INTERVALS)
            return cli_usage_error("--intervals: at most 32 intervals%s", "");
        if (whole(REPORT_INTERVAL_MS, tok, &v))
            return CLI_EXIT_USAGE;
        cfg->intervals[cfg->n_intervals++] = (unsigned)v;
    }
    if (cfg->n_intervals == 0)
        return cli_usage_error("--intervals: give at least one interval%s", "");
    return 0;
}

int cli_probe_data_dir(const char *flag, const char **dir, struct bench_env *env)
{
    *dir = bench_data_dir(flag);
    int rc = bench_env_probe(*dir, env);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: statfs(%s): %s\n", *dir, strerror(-rc));
        return CLI_EXIT_RUN;
    }
    return 0;
}

int cli_flush(void)
{
    return fflush(stdout) == 0 ? 0 : CLI_EXIT_RUN;
}

int cli_print_json(cJSON *body)
{
    char *text = body ? report_json_print(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        fprintf(stderr, "fsynclab: out of memory printing JSON\n");
        return CLI_EXIT_RUN;
    }
    printf("%s\n", text);
    free(text);
    return cli_flush();
}

int cli_progress_due(struct cli_progress *p)
{
    if (!isatty(STDERR_FILENO) || wal_now_ns() - p->start_ns < 1000000000ull)
        return 0;
    p->shown = 1;
    return 1;
}

void cli_progress_end(struct cli_progress *p)
{
    if (p->shown)
        fprintf(stderr, "\r%60s\r", "");
}
