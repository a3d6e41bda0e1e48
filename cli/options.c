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
#include <stdint.h>
#include <string.h>
#include <time.h>
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
    { "shard", required_argument, NULL, 'A' },
    { "timeline", required_argument, NULL, 'L' },
    { "timeline-trial", required_argument, NULL, 'z' },
    { "html", required_argument, NULL, 'H' },
    { "check-timeout", required_argument, NULL, 'B' },
    { "sector-size", required_argument, NULL, '3' },
    { "fault", required_argument, NULL, '4' },
    { "ops", required_argument, NULL, 'O' },
    { "max-points", required_argument, NULL, 'P' },
    { "max-states", required_argument, NULL, 'E' },
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
    size_t klen = (size_t)(eq - arg);
    char *key = o->setting_keys[o->nsettings];
    if (klen >= sizeof o->setting_keys[0])
        return cli_usage_error("--set: the key of \"%s\" is longer than 63 bytes; no target has such a key", arg);
    memcpy(key, arg, klen);
    key[klen] = '\0';
    o->settings[o->nsettings].key = key;
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

/* --model: the one parser of model names (powerloss/); crash of fsynclab's
 * own log then refuses what its one file cannot take (cli_crash). */
static int take_model(const char *arg, struct cli *o)
{
    char why[256];
    o->model_name = arg;
    if (pl_model_parse(arg, &o->pmodel, why, sizeof why) < 0)
        return cli_usage_error("%s", why);
    if (crashsim_model_parse(arg, &o->model) < 0)
        (void)crashsim_model_parse("drop", &o->model);   /* not one of crash's own log: refused there */
    return 0;
}

/* --sector-size, checked here; cli_parse applies it to the model once every
 * option is in (a --model after it keeps it). */
static int take_sector(const char *arg, struct cli *o)
{
    struct pl_model probe;
    char why[128];
    o->sector_size = arg;
    if (pl_model_set_sector(&probe, arg, why, sizeof why) < 0)
        return cli_usage_error("%s (the disk's atomic write unit for torn, reorder and lie)", why);
    return 0;
}

/* --fault, one more of the list the recorder injects. */
static int take_fault(const char *arg, struct cli *o)
{
    char ferr[512];
    if (recorder_fault_add(&o->faults, arg, ferr, sizeof ferr) < 0)
        return cli_usage_error("%s", ferr);
    return 0;
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
    case 'M': rc = take_model(arg, o); break;
    case '3': rc = take_sector(arg, o); break;
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
    case 'A': rc = shard(arg, o); break;
    case 'L': o->timeline = arg; break;
    case 'z': rc = cli_timeline_trial(arg, &o->timeline_trial); break;
    case 'H': o->html = arg; break;
    case 'B': o->check_timeout = arg; break;   /* checked by cli_crash_target */
    case '4': rc = take_fault(arg, o); break;
    case 'O': rc = whole(REPORT_OPS, arg, &v); o->ops = (unsigned)v; break;
    case 'P': rc = whole(REPORT_MAX_POINTS, arg, &v); o->max_points = (unsigned)v; break;
    case 'E': rc = whole(REPORT_MAX_STATES, arg, &v); o->max_states = (unsigned)v; break;
    }
    return rc;
}

const char *cli_nearest(const char *given, const char *const *words)
{
    size_t len = strlen(given);
    return report_nearest(given, words, len < 6 ? 2 : len / 3 + 1);
}

/* The option of takes nearest to name (no dashes), or NULL. */
static const char *nearest(const char *name, const char *takes)
{
    const char *names[sizeof cli_options / sizeof cli_options[0]];
    size_t n = 0;
    for (const struct option *op = cli_options; op->name; op++)
        if (op->val == 'h' || strchr(takes, op->val))
            names[n++] = op->name;
    names[n] = NULL;
    return cli_nearest(name, names);
}

/* Names what getopt refused: an unknown option (and the nearest known one),
 * one this command does not take, or one without its value. */
static int option_error(int c, int argc, char **argv, int longindex, const char *cmd,
                        const char *takes)
{
    char given[64];
    const char *arg = optind - 1 < argc ? argv[optind - 1] : "";
    if (c == ':' || c == '?' || longindex < 0) {
        if (strncmp(arg, "--", 2) == 0 || !optopt)
            snprintf(given, sizeof given, "%.*s", (int)strcspn(arg, "="), arg);
        else   /* a short option: -x */
            snprintf(given, sizeof given, "-%c", optopt);
    } else {
        snprintf(given, sizeof given, "--%s", cli_options[longindex].name);
    }
    if (c == ':') {
        fprintf(stderr, "fsynclab: %s: %s needs a value\n(try fsynclab %s --help)\n", cmd, given,
                cmd);
        return CLI_EXIT_USAGE;
    }
    if (c != '?') {
        fprintf(stderr, "fsynclab: %s: %s is not an option of %s\n(try fsynclab %s --help)\n", cmd,
                given, cmd, cmd);
        return CLI_EXIT_USAGE;
    }
    const char *name = given + strspn(given, "-");
    if (strchr(arg, '=') && given[1] == '-') {
        for (const struct option *op = cli_options; op->name; op++)
            if (strcmp(op->name, name) == 0 && op->has_arg == no_argument) {
                fprintf(stderr, "fsynclab: %s: %s takes no value\n(try fsynclab %s --help)\n",
                        cmd, given, cmd);
                return CLI_EXIT_USAGE;
            }
    }
    if (given[1] == '-' && *name) {
        /* an abbreviation getopt found ambiguous: name the candidates */
        char both[160] = "";
        size_t n = 0;
        for (const struct option *op = cli_options; op->name; op++)
            if ((op->val == 'h' || strchr(takes, op->val)) &&
                strncmp(op->name, name, strlen(name)) == 0 && strlen(both) + 40 < sizeof both)
                n++, snprintf(both + strlen(both), sizeof both - strlen(both), "%s--%s",
                              n > 1 ? " or " : "", op->name);
        if (n > 1) {
            fprintf(stderr, "fsynclab: %s: \"%s\" is ambiguous: %s?\n(try fsynclab %s --help)\n",
                    cmd, given, both, cmd);
            return CLI_EXIT_USAGE;
        }
    }
    const char *near = *name ? nearest(name, takes) : NULL;
    if (near)
        fprintf(stderr, "fsynclab: %s: unknown option \"%s\"; did you mean --%s?\n"
                "(try fsynclab %s --help)\n", cmd, given, near, cmd);
    else
        fprintf(stderr, "fsynclab: %s: unknown option \"%s\"\n(try fsynclab %s --help)\n", cmd,
                given, cmd);
    return CLI_EXIT_USAGE;
}

int cli_parse(int argc, char **argv, const char *cmd, const char *takes,
              enum report_limit entries, struct cli *o)
{
    int c, rc, longindex = -1;
    /* getopt's own messages off: option_error names the problem.  A command
     * after `record`'s options ends them (+), so that its own options need
     * no --; merge's and report's files may stand among their options. */
    opterr = 0;
    const char *shorts = o->rest && strcmp(cmd, "record") == 0 ? "+:h" : ":h";
    while (optopt = 0, longindex = -1,
           (c = getopt_long(argc, argv, shorts, cli_options, &longindex)) != -1) {
        if (c == 'h') {
            cli_usage_command(stdout, cmd);
            return -1;
        }
        if (c == '?' || c == ':' || !strchr(takes, c))
            return option_error(c, argc, argv, longindex, cmd, takes);
        if ((rc = take(c, optarg, entries, o)))
            return rc;
    }
    if (o->rest) {
        o->rest = optind;
    } else if (optind < argc) {
        fprintf(stderr, "fsynclab: %s: unexpected argument \"%s\"\n(try fsynclab %s --help)\n", cmd,
                argv[optind], cmd);
        return CLI_EXIT_USAGE;
    }
    if (!o->have_seed)
        o->seed = wal_now_ns() % ((uint64_t)REPORT_MAX_SEED + 1);
    if (!o->model_name) {
        (void)pl_model_parse("drop", &o->pmodel, NULL, 0);
        (void)crashsim_model_parse("drop", &o->model);
    }
    if (o->sector_size)
        (void)pl_model_set_sector(&o->pmodel, o->sector_size, NULL, 0);   /* checked in take() */
    return 0;
}

/* The next comma-separated item of *list (advanced past it), or NULL at the
 * end; an empty item ("a,,b", a comma at either end) is returned as "". */
static char *next_item(char **list)
{
    char *item = *list;
    if (!item)
        return NULL;
    char *comma = strchr(item, ',');
    if (comma)
        *comma = '\0';
    *list = comma ? comma + 1 : NULL;
    return item;
}

int cli_parse_strategies(char *list, struct wal_strategy *out, size_t *n)
{
    *n = 0;
    if (!*list)
        return cli_usage_error("--strategies: give at least one strategy%s", "");
    char whole_list[256];
    snprintf(whole_list, sizeof whole_list, "%s", list);
    for (char *rest = list, *tok; (tok = next_item(&rest));) {
        if (!*tok)
            return cli_usage_error("--strategies \"%s\": an empty name (two commas, or one at an "
                                   "end); separate names by single commas", whole_list);
        if (*n == BENCH_MAX_STRATEGIES)
            return cli_usage_error("--strategies: at most 64 strategies%s", "");
        if (wal_strategy_parse(tok, &out[*n]) < 0)
            return cli_usage_error("--strategies: unknown strategy \"%s\"; allowed: "
                                   WAL_STRATEGIES, tok);
        for (size_t k = 0; k < *n; k++)
            if (out[k].kind == out[*n].kind && out[k].interval_ms == out[*n].interval_ms)
                return cli_usage_error("--strategies: \"%s\" is given twice; each strategy runs "
                                       "once (use --trials or --repeat for more)", tok);
        (*n)++;
    }
    return 0;
}

int cli_parse_intervals(char *list, struct bench_curve_config *cfg)
{
    cfg->n_intervals = 0;
    if (!*list)
        return cli_usage_error("--intervals: give at least one interval%s", "");
    char whole_list[256];
    snprintf(whole_list, sizeof whole_list, "%s", list);
    for (char *rest = list, *tok; (tok = next_item(&rest));) {
        unsigned long long v;
        if (!*tok)
            return cli_usage_error("--intervals \"%s\": an empty interval (two commas, or one at "
                                   "an end); separate them by single commas", whole_list);
        if (cfg->n_intervals == BENCH_CURVE_MAX_INTERVALS)
            return cli_usage_error("--intervals: at most 32 intervals%s", "");
        if (whole(REPORT_INTERVAL_MS, tok, &v))
            return CLI_EXIT_USAGE;
        for (size_t k = 0; k < cfg->n_intervals; k++)
            if (cfg->intervals[k] == v)
                return cli_usage_error("--intervals: %s is given twice; each interval is one "
                                       "point (use --trials or --repeat for more)", tok);
        cfg->intervals[cfg->n_intervals++] = (unsigned)v;
    }
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

static struct report_meta meta;

void cli_set_command(int argc, char **argv, const char *version)
{
    meta = (struct report_meta){ .version = version, .argc = argc, .argv = argv,
                                 .started = time(NULL) };
}

const struct report_meta *cli_meta(void)
{
    return meta.version ? &meta : NULL;
}

int cli_print_json(cJSON *body)
{
    if (body && meta.version && !report_add_meta(body, &meta)) {
        cJSON_Delete(body);
        body = NULL;
    }
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

char *cli_read_file(const char *cmd, const char *path, size_t max)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "fsynclab: %s: fopen(%s): %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int e = buf ? 0 : ENOMEM;
    while (!e && n <= max) {
        if (n + 1 == cap) {
            char *g = realloc(buf, cap * 2);
            if (!g) {
                e = ENOMEM;
                break;
            }
            buf = g;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            e = ferror(f) ? EIO : 0;
            break;
        }
    }
    fclose(f);
    if (e || n > max) {
        if (e)
            fprintf(stderr, "fsynclab: %s: read(%s): %s\n", cmd, path, strerror(e));
        else
            fprintf(stderr, "fsynclab: %s: read(%s): larger than %zu MiB\n", cmd, path, max >> 20);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}
