/* DESIGN: the fsynclab command line.
 *
 *   fsynclab bench   run strategies, print the environment and a table (or --json)
 *   fsynclab crash   crash trials per strategy, a table and a verdict line each
 *   fsynclab curve   the durability-throughput curve: files and a plot
 *   fsynclab node    serve the Maelstrom protocol on stdin/stdout
 *
 * Each subcommand parses its options into the same configuration structs the
 * node fills from a request, so that both front ends run the same code and
 * --json prints the body the node would reply.
 *
 * Exit status: 0 success, 1 the run failed (an I/O error, named on stderr),
 * 2 a usage error; SIGINT/SIGTERM end the program by the signal after the
 * scratch file is removed (status 130/143 from a shell).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>
#include <unistd.h>

#include "bench/bench.h"
#include "crashsim/crashsim.h"
#include "node/node.h"

#define FSYNCLAB_VERSION "0.1.0"

enum { EXIT_RUN = 1, EXIT_USAGE = 2 };

static void usage(FILE *to)
{
    fprintf(to,
        "usage: fsynclab COMMAND [OPTIONS]\n"
        "\n"
        "Measures what fsync buys on this machine: writes per second for each\n"
        "durability strategy, and how much acknowledged data each loses.\n"
        "\n"
        "commands:\n"
        "  bench   run strategies on a scratch log and print what they sustain\n"
        "  crash   kill a writer at random instants, simulate power loss, count what\n"
        "          acknowledged data each strategy lost\n"
        "  curve   sweep the batch interval: throughput against measured loss window,\n"
        "          written as CSV, JSON, a gnuplot script, SVG and PNG\n"
        "  node    serve the Maelstrom JSON protocol on stdin/stdout\n"
        "\n"
        "bench options:\n"
        "  --entries N        entries per strategy, 1..%llu (default 10000)\n"
        "  --strategies LIST  comma-separated: always, group, none, batch_<N>ms with\n"
        "                     N 1..%u (default always,batch_10ms,none)\n"
        "  --entry-size B     bytes per record on disk, header included, %u..%u (default %u)\n"
        "  --sync-method M    %s (default fsync)\n"
        "  --max-seconds S    time budget for the whole run, up to %g (default %g)\n"
        "  --writers W        threads appending to one log, 1..256 (default 1)\n"
        "  --prealloc         fallocate and zero-fill the log before timing\n"
        "  --dir D            data directory (default $FSYNCLAB_DIR, else .)\n"
        "  --json             print the JSON body the node would reply\n"
        "\n"
        "crash options (and --strategies, --entry-size, --sync-method, --writers,\n"
        "--prealloc, --dir, --json):\n"
        "  --trials T         crash trials per strategy, 1..10000 (default 100)\n"
        "  --entries N        entries each trial's writer appends, 1..1000000 (default 1000)\n"
        "  --model M          %s (default drop)\n"
        "  --seed S           replay a run: 0..2^53-1 (default from the clock)\n"
        "  --max-seconds S    budget for all trials (default 60)\n"
        "  --writeback-expire-ms MS, --writeback-interval-ms MS\n"
        "                     the writeback model's kernel settings (default /proc/sys/vm)\n"
        "\n"
        "curve options (and --entry-size, --sync-method, --writers, --prealloc, --dir,\n"
        "--seed):\n"
        "  --out DIR          where the files go (default curve)\n"
        "  --intervals LIST   batch intervals in ms (default " BENCH_CURVE_DEFAULT_INTERVALS ")\n"
        "  --entries N        benchmark entries per point (default 50000; 4 s at most)\n"
        "  --trials T         crash trials per point, 1..10000 (default 10)\n"
        "  --model M          power-loss model of the trials (default drop)\n"
        "\n"
        "  --help, --version\n"
        "\n"
        "exit status: 0 success, 1 the run failed, 2 usage error\n",
        (unsigned long long)BENCH_MAX_ENTRIES, WAL_BATCH_MAX_MS, WAL_HEADER_SIZE, WAL_MAX_RECORD,
        BENCH_DEFAULT_ENTRY_SIZE, WAL_SYNC_METHODS, BENCH_MAX_SECONDS, BENCH_DEFAULT_SECONDS,
        CRASHSIM_MODELS);
}

static int usage_error(const char *fmt, const char *what)
{
    fprintf(stderr, "fsynclab: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\n(try fsynclab --help)\n");
    return EXIT_USAGE;
}

/* A whole decimal number in [lo, hi], nothing else in the string. */
static int parse_whole(const char *s, unsigned long long lo, unsigned long long hi,
                       unsigned long long *out)
{
    if (*s < '0' || *s > '9')
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -ERANGE;
    *out = v;
    return 0;
}

static int parse_strategies(char *list, struct wal_strategy *out, size_t *n)
{
    *n = 0;
    for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == BENCH_MAX_STRATEGIES)
            return usage_error("--strategies: at most 64 strategies%s", "");
        if (wal_strategy_parse(tok, &out[*n]) < 0)
            return usage_error("--strategies: unknown strategy \"%s\"; allowed: " WAL_STRATEGIES,
                               tok);
        (*n)++;
    }
    if (*n == 0)
        return usage_error("--strategies: give at least one strategy%s", "");
    return 0;
}

/* ---- options ---------------------------------------------------------------
 * One table for every subcommand's options and one parser; a subcommand
 * names the options it takes.  Values land in struct cli, which the
 * subcommand copies into its configuration. */

struct cli {
    uint64_t entries;
    char *strategies;
    uint32_t entry_size;
    enum wal_sync_method sync_method;
    double max_seconds;
    const char *dir;              /* --dir, NULL when not given */
    unsigned writers;
    int prealloc;
    int json;
    uint32_t trials;
    enum crashsim_model model;
    uint64_t seed;
    int have_seed;
    long expire_ms, interval_ms;
    const char *out;
    char *intervals;
};

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
    { "help", no_argument, NULL, 'h' },
    { 0, 0, 0, 0 },
};

static int parse_ms(const char *opt, const char *arg, unsigned long long lo, long *out)
{
    unsigned long long v;
    if (parse_whole(arg, lo, 3600000, &v) < 0) {
        fprintf(stderr, "fsynclab: %s must be a whole number of ms from %llu to 3600000, not "
                "\"%s\"\n(try fsynclab --help)\n", opt, lo, arg);
        return EXIT_USAGE;
    }
    *out = (long)v;
    return 0;
}

/* Parses cmd's options (those whose codes are in `takes`) into o, which
 * holds the defaults.  Returns 0, -1 after printing --help, or EXIT_USAGE. */
static int parse_cli(int argc, char **argv, const char *cmd, const char *takes,
                     uint64_t max_entries, struct cli *o)
{
    int c, rc;
    unsigned long long v;
    while ((c = getopt_long(argc, argv, "", cli_options, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return -1;
        }
        if (c == '?' || !strchr(takes, c)) {
            fprintf(stderr, "fsynclab: %s: unknown option\n(try fsynclab --help)\n", cmd);
            return EXIT_USAGE;
        }
        switch (c) {
        case 'e':
            if (parse_whole(optarg, 1, max_entries, &v) < 0) {
                fprintf(stderr, "fsynclab: --entries must be a whole number from 1 to %llu, not "
                        "\"%s\"\n(try fsynclab --help)\n", (unsigned long long)max_entries, optarg);
                return EXIT_USAGE;
            }
            o->entries = v;
            break;
        case 's':
            o->strategies = optarg;
            break;
        case 'b':
            if (parse_whole(optarg, WAL_HEADER_SIZE, WAL_MAX_RECORD, &v) < 0)
                return usage_error("--entry-size must be a whole number of bytes from 16 to "
                                   "1048576, not \"%s\"", optarg);
            o->entry_size = (uint32_t)v;
            break;
        case 'm':
            if (wal_sync_method_parse(optarg, &o->sync_method) < 0)
                return usage_error("--sync-method: unknown \"%s\"; allowed: " WAL_SYNC_METHODS,
                                   optarg);
            break;
        case 't': {
            char *end;
            errno = 0;
            double secs = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(secs > 0) || secs > BENCH_MAX_SECONDS)
                return usage_error("--max-seconds must be a number above 0 and at most 3600, "
                                   "not \"%s\"", optarg);
            o->max_seconds = secs;
            break;
        }
        case 'd':
            o->dir = optarg;
            break;
        case 'w':
            if (parse_whole(optarg, 1, BENCH_MAX_WRITERS, &v) < 0)
                return usage_error("--writers must be a whole number from 1 to 256, not \"%s\"",
                                   optarg);
            o->writers = (unsigned)v;
            break;
        case 'p':
            o->prealloc = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'T':
            if (parse_whole(optarg, 1, NODE_CRASH_MAX_TRIALS, &v) < 0)
                return usage_error("--trials must be a whole number from 1 to 10000, not \"%s\"",
                                   optarg);
            o->trials = (uint32_t)v;
            break;
        case 'M':
            if (crashsim_model_parse(optarg, &o->model) < 0)
                return usage_error("--model: unknown \"%s\"; allowed: " CRASHSIM_MODELS, optarg);
            break;
        case 'S':
            if (parse_whole(optarg, 0, (unsigned long long)NODE_MAX_SEED, &v) < 0)
                return usage_error("--seed must be a whole number from 0 to 9007199254740991, "
                                   "not \"%s\"", optarg);
            o->seed = v;
            o->have_seed = 1;
            break;
        case 'x':
            if ((rc = parse_ms("--writeback-expire-ms", optarg, 0, &o->expire_ms)))
                return rc;
            break;
        case 'i':
            if ((rc = parse_ms("--writeback-interval-ms", optarg, 1, &o->interval_ms)))
                return rc;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'I':
            o->intervals = optarg;
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fsynclab: %s: unexpected argument \"%s\"\n(try fsynclab --help)\n", cmd,
                argv[optind]);
        return EXIT_USAGE;
    }
    if (!o->have_seed)
        o->seed = wal_now_ns() % ((uint64_t)NODE_MAX_SEED + 1);
    return 0;
}

/* Prints body as the node would (and frees it); the exit status. */
static int print_json(cJSON *body)
{
    char *text = body ? node_json_print(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        fprintf(stderr, "fsynclab: out of memory printing JSON\n");
        return EXIT_RUN;
    }
    printf("%s\n", text);
    free(text);
    return fflush(stdout) == 0 ? 0 : EXIT_RUN;
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

/* The data directory (--dir, $FSYNCLAB_DIR, or .) and its environment;
 * 0, or the exit status after naming the failure. */
static int probe_data_dir(const char *flag, const char **dir, struct bench_env *env)
{
    *dir = bench_data_dir(flag);
    int rc = bench_env_probe(*dir, env);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: statfs(%s): %s\n", *dir, strerror(-rc));
        return EXIT_RUN;
    }
    return 0;
}

/* The first lines of every table: where the run writes. */
static void print_where(const struct bench_env *env)
{
    printf("directory     %s\n", env->dir);
    printf("file system   %s%s%s\n", env->fs_type, env->device[0] ? " on " : "", env->device);
}

static void print_env(const struct bench_env *env, const struct bench_config *cfg)
{
    print_where(env);
    if (env->dirty_expire_cs >= 0)
        printf("writeback     dirty data written back after %ld ms, flusher every %ld ms\n",
               env->dirty_expire_cs * 10, env->dirty_writeback_cs * 10);
    printf("run           %" PRIu64 " entries of %u bytes, sync by %s%s, %u writer%s, "
           "budget %g s\n", cfg->entries, cfg->entry_size, wal_sync_method_name(cfg->sync_method),
           cfg->prealloc ? " (preallocated)" : "", cfg->writers, cfg->writers == 1 ? "" : "s",
           cfg->max_seconds);
    if (env->warning[0])
        printf("WARNING       %s\n", env->warning);
    printf("\n");
}

static void print_table(const struct bench_env *env, const struct bench_result *r, size_t n)
{
    printf("%-14s %10s %10s %10s %10s %8s %10s %12s  %s\n", "strategy", "ops/s", "ack p50",
           "ack p99", "ack max", "syncs", "sync p50", "exposure", "durability");
    for (size_t i = 0; i < n; i++) {
        char name[32], dur[32], exposure[32];
        wal_strategy_name(&r[i].strategy, name, sizeof name);
        wal_strategy_durability(&r[i].strategy, dur, sizeof dur);
        if (r[i].strategy.kind == WAL_NONE) {
            if (env->dirty_expire_cs >= 0)
                snprintf(exposure, sizeof exposure, "<=%ld ms*",
                         (env->dirty_expire_cs + env->dirty_writeback_cs) * 10);
            else
                snprintf(exposure, sizeof exposure, "unknown");
        } else {
            snprintf(exposure, sizeof exposure, "%.3f ms", (double)r[i].wal.exposure_max_ns / 1e6);
        }
        printf("%-14s %10" PRIu64 " %8.1fus %8.1fus %8.1fus %8" PRIu64 " %8.1fus %12s  %s\n",
               name, r[i].ops_per_sec, us(hist_quantile(&r[i].ack_ns, 0.5)),
               us(hist_quantile(&r[i].ack_ns, 0.99)), us(r[i].ack_ns.max), r[i].wal.syncs,
               us(hist_quantile(&r[i].wal.sync_ns, 0.5)), exposure, dur);
        if (!r[i].complete)
            printf("  (out of time: wrote %" PRIu64 " of %" PRIu64 " entries)\n",
                   r[i].entries_written, r[i].entries_requested);
    }
    printf("\nexposure: the longest an acknowledged entry waited for a sync to cover it.\n");
    if (env->dirty_expire_cs >= 0)
        printf("* none never syncs: the kernel's writeback bound (dirty_expire + dirty_writeback).\n");
}

static int cmd_bench(int argc, char **argv)
{
    static struct wal_strategy strategies[BENCH_MAX_STRATEGIES];
    static struct bench_result results[BENCH_MAX_STRATEGIES];
    char default_list[] = "always,batch_10ms,none";
    struct cli o = { .entries = 10000, .strategies = default_list,
                     .entry_size = BENCH_DEFAULT_ENTRY_SIZE, .sync_method = WAL_SYNC_FSYNC,
                     .max_seconds = BENCH_DEFAULT_SECONDS, .writers = 1 };
    int rc = parse_cli(argc, argv, "bench", "esbmtdwpj", BENCH_MAX_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    size_t n;
    if ((rc = parse_strategies(o.strategies, strategies, &n)))
        return rc;
    struct bench_config cfg = { .entries = o.entries, .entry_size = o.entry_size,
                                .sync_method = o.sync_method, .max_seconds = o.max_seconds,
                                .writers = o.writers, .prealloc = o.prealloc };
    int json = o.json;
    struct bench_env env;
    if ((rc = probe_data_dir(o.dir, &cfg.dir, &env)))
        return rc;
    if (!json)
        print_env(&env, &cfg);
    if (env.warning[0] && json)
        fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
    fflush(stdout);

    char err[512] = "";
    rc = bench_run(&cfg, strategies, n, results, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err);
        return EXIT_RUN;
    }
    if (json)
        return print_json(node_benchmark_body(&env, &cfg, results, n));
    print_table(&env, results, n);
    return fflush(stdout) == 0 ? 0 : EXIT_RUN;
}

/* ---- crash ----------------------------------------------------------------- */

/* Progress on a terminal, once a run has taken more than a second. */
struct progress {
    uint64_t start_ns;
    const struct wal_strategy *strategies;
    int shown;
};

static void show_progress(void *arg, size_t strategy, uint32_t done, uint32_t total)
{
    struct progress *p = arg;
    if (!isatty(STDERR_FILENO) || wal_now_ns() - p->start_ns < 1000000000ull)
        return;
    char name[32];
    fprintf(stderr, "\r  %-14s %u/%u trials   ",
            wal_strategy_name(&p->strategies[strategy], name, sizeof name), done, total);
    p->shown = 1;
}

static void end_progress(struct progress *p)
{
    if (p->shown)
        fprintf(stderr, "\r%60s\r", "");
}

static void print_crash_table(const struct crashsim_config *cfg, const struct verifier_summary *v,
                              size_t n)
{
    printf("%-14s %-9s %7s %10s %10s %11s %11s %9s %8s %7s\n", "strategy", "model", "trials",
           "lost max", "lost mean", "window max", "window p50", "promised", "held", "corrupt");
    for (size_t i = 0; i < n; i++) {
        char name[32], promised[32];
        wal_strategy_name(&v[i].strategy, name, sizeof name);
        if (v[i].promised_window_ms < 0)
            snprintf(promised, sizeof promised, "-");
        else
            snprintf(promised, sizeof promised, "%" PRId64 " ms", v[i].promised_window_ms);
        printf("%-14s %-9s %7u %10" PRIu64 " %10.1f %8.3f ms %8.3f ms %9s %8s %7" PRIu64 "\n",
               name, crashsim_model_name(cfg->model), v[i].trials, v[i].acked_lost_max,
               verifier_summary_acked_lost_mean(&v[i]), verifier_summary_window_ms_max(&v[i]),
               verifier_summary_window_ms_p50(&v[i]), promised, verifier_held_name(v[i].held),
               v[i].corrupt_recovered);
    }
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        char name[32];
        wal_strategy_name(&v[i].strategy, name, sizeof name);
        printf("%s under %s lost at most %" PRIu64 " acknowledged entr%s, %.1f ms, ", name,
               crashsim_model_name(cfg->model), v[i].acked_lost_max,
               v[i].acked_lost_max == 1 ? "y" : "ies", verifier_summary_window_ms_max(&v[i]));
        if (v[i].trials == 0)
            printf("in no trial: the budget ran out first\n");
        else if (v[i].held == VERIFIER_HELD_NULL)
            printf("with no promise to keep\n");
        else if (v[i].held == VERIFIER_HELD_TRUE)
            printf("within its promise\n");
        else
            printf("BREAKING its promise of %" PRId64 " ms (in %u of %u trials)\n",
                   v[i].promised_window_ms, v[i].trials_over_promise, v[i].trials);
        if (v[i].corrupt_recovered)
            printf("  %" PRIu64 " CORRUPT entries were handed back by recovery\n",
                   v[i].corrupt_recovered);
    }
    printf("\nseed %" PRIu64 " replays this run.\n", cfg->seed);
}

static int cmd_crash(int argc, char **argv)
{
    static struct wal_strategy strategies[BENCH_MAX_STRATEGIES];
    static struct verifier_summary out[BENCH_MAX_STRATEGIES];
    char default_list[] = "always,batch_10ms,none";
    struct cli o = { .entries = 1000, .strategies = default_list,
                     .entry_size = BENCH_DEFAULT_ENTRY_SIZE, .sync_method = WAL_SYNC_FSYNC,
                     .max_seconds = 60, .writers = 1, .trials = 100, .model = CRASHSIM_DROP,
                     .expire_ms = -1, .interval_ms = -1 };
    int rc = parse_cli(argc, argv, "crash", "esbmtdwpjTMSxi", NODE_CRASH_MAX_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    size_t n;
    if ((rc = parse_strategies(o.strategies, strategies, &n)))
        return rc;
    struct crashsim_config cfg = { .entries = o.entries, .entry_size = o.entry_size,
                                   .sync_method = o.sync_method, .model = o.model,
                                   .seed = o.seed, .trials = o.trials,
                                   .max_seconds = o.max_seconds,
                                   .writeback_expire_ms = o.expire_ms,
                                   .writeback_interval_ms = o.interval_ms,
                                   .writers = o.writers, .prealloc = o.prealloc };
    int json = o.json;
    struct bench_env env;
    if ((rc = probe_data_dir(o.dir, &cfg.dir, &env)))
        return rc;
    if (!json) {
        print_where(&env);
        printf("run           %u trials x %" PRIu64 " entries of %u bytes per strategy, sync by %s%s,"
               " %u writer%s, model %s, budget %g s\n", cfg.trials, cfg.entries, cfg.entry_size,
               wal_sync_method_name(cfg.sync_method), cfg.prealloc ? " (preallocated)" : "",
               cfg.writers ? cfg.writers : 1, cfg.writers > 1 ? "s" : "",
               crashsim_model_name(cfg.model), cfg.max_seconds);
        if (env.warning[0])
            printf("WARNING       %s\n", env.warning);
        printf("\n");
        fflush(stdout);
    } else if (env.warning[0]) {
        fprintf(stderr, "fsynclab: warning: %s\n", env.warning);
    }

    char err[512] = "";
    struct progress p = { .start_ns = wal_now_ns(), .strategies = strategies };
    rc = crashsim_run_all(&cfg, strategies, n, out, show_progress, &p, err, sizeof err);
    end_progress(&p);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        return EXIT_RUN;
    }
    if (json)
        return print_json(node_crash_body(&env, &cfg, out, n));
    print_crash_table(&cfg, out, n);
    return fflush(stdout) == 0 ? 0 : EXIT_RUN;
}

/* ---- curve ----------------------------------------------------------------- */

static void show_curve_progress(void *arg, size_t point, size_t points, const char *phase)
{
    struct progress *p = arg;
    if (!isatty(STDERR_FILENO) || wal_now_ns() - p->start_ns < 1000000000ull)
        return;
    fprintf(stderr, "\r  point %zu/%zu: %s   ", point + 1, points, phase);
    p->shown = 1;
}

static int parse_intervals(char *list, struct bench_curve_config *cfg)
{
    cfg->n_intervals = 0;
    for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned long long v;
        if (cfg->n_intervals == BENCH_CURVE_MAX_INTERVALS)
            return usage_error("--intervals: at most 32 intervals%s", "");
        if (parse_whole(tok, WAL_BATCH_MIN_MS, WAL_BATCH_MAX_MS, &v) < 0)
            return usage_error("--intervals: \"%s\" is not a whole number of ms from 1 to 10000",
                               tok);
        cfg->intervals[cfg->n_intervals++] = (unsigned)v;
    }
    if (cfg->n_intervals == 0)
        return usage_error("--intervals: give at least one interval%s", "");
    return 0;
}

static int cmd_curve(int argc, char **argv)
{
    char default_intervals[] = BENCH_CURVE_DEFAULT_INTERVALS;
    struct cli o = { .entries = 50000, .entry_size = BENCH_DEFAULT_ENTRY_SIZE,
                     .sync_method = WAL_SYNC_FSYNC, .writers = 1, .trials = 10,
                     .model = CRASHSIM_DROP, .out = "curve", .intervals = default_intervals };
    int rc = parse_cli(argc, argv, "curve", "ebmdwpTMSoI", BENCH_MAX_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct bench_curve_config cfg = { .entries = o.entries, .crash_entries = 1000,
                                      .trials = o.trials, .model = o.model, .seed = o.seed,
                                      .entry_size = o.entry_size, .sync_method = o.sync_method,
                                      .writers = o.writers, .prealloc = o.prealloc };
    if ((rc = parse_intervals(o.intervals, &cfg)))
        return rc;
    const char *out_dir = o.out;
    struct bench_env env;
    if ((rc = probe_data_dir(o.dir, &cfg.dir, &env)))
        return rc;
    print_where(&env);
    printf("run           %zu points: benchmark %" PRIu64 " entries, %u crash trials (%s), seed "
           "%" PRIu64 "\n", bench_curve_points(&cfg), cfg.entries, cfg.trials,
           crashsim_model_name(cfg.model), cfg.seed);
    if (env.warning[0])
        printf("WARNING       %s\n", env.warning);
    printf("\n");
    fflush(stdout);

    size_t n = bench_curve_points(&cfg);
    struct bench_curve_point *points = calloc(n, sizeof *points);
    if (!points) {
        fprintf(stderr, "fsynclab: out of memory\n");
        return EXIT_RUN;
    }
    char err[512] = "";
    struct progress p = { .start_ns = wal_now_ns() };
    rc = bench_curve_run(&cfg, points, show_curve_progress, &p, err, sizeof err);
    end_progress(&p);
    if (rc == 0)
        rc = bench_curve_write(out_dir, &env, &cfg, points, n, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        free(points);
        return EXIT_RUN;
    }

    printf("%-14s %12s %11s %11s %10s %7s %9s\n", "strategy", "ops/s", "window max",
           "window p50", "lost max", "trials", "held");
    for (size_t i = 0; i < n; i++) {
        char name[32];
        printf("%-14s %12" PRIu64 " %8.3f ms %8.3f ms %10" PRIu64 " %7u %9s\n",
               wal_strategy_name(&points[i].strategy, name, sizeof name), points[i].ops_per_sec,
               verifier_summary_window_ms_max(&points[i].crash),
               verifier_summary_window_ms_p50(&points[i].crash), points[i].crash.acked_lost_max,
               points[i].crash.trials, verifier_held_name(points[i].crash.held));
    }
    printf("\n");
    free(points);

    rc = bench_curve_plot_text(out_dir, stdout, err, sizeof err);
    if (rc == 0)
        rc = bench_curve_render(out_dir, err, sizeof err);
    if (rc == -ENOENT) {
        printf("wrote %s/curve.csv, curve.json and curve.gp; gnuplot is not installed, so no plot.\n"
               "To render: sudo apt-get install gnuplot-nox && (cd %s && gnuplot -e \"set terminal "
               "pngcairo size 960,640; set output 'curve.png'\" curve.gp)\n", out_dir, out_dir);
        return fflush(stdout) == 0 ? 0 : EXIT_RUN;
    }
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err);
        return EXIT_RUN;
    }
    printf("wrote %s/curve.csv, curve.json, curve.gp, curve.svg and curve.png\n", out_dir);
    return fflush(stdout) == 0 ? 0 : EXIT_RUN;
}

static int cmd_node(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return usage_error("node takes no arguments%s", "");
    return node_serve_stdio("fsynclab node");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("fsynclab %s\n", FSYNCLAB_VERSION);
        return 0;
    }
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "crash") == 0)
        return cmd_crash(argc - 1, argv + 1);
    if (strcmp(cmd, "curve") == 0)
        return cmd_curve(argc - 1, argv + 1);
    if (strcmp(cmd, "node") == 0)
        return cmd_node(argc - 1, argv + 1);
    return usage_error("unknown command \"%s\"", cmd);
}
