/* DESIGN: the fsynclab command line.
 *
 *   fsynclab bench   run strategies, print the environment and a table (or --json)
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

#include "bench/bench.h"
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
        "  --help, --version\n"
        "\n"
        "exit status: 0 success, 1 the run failed, 2 usage error\n",
        (unsigned long long)BENCH_MAX_ENTRIES, WAL_BATCH_MAX_MS, WAL_HEADER_SIZE, WAL_MAX_RECORD,
        BENCH_DEFAULT_ENTRY_SIZE, WAL_SYNC_METHODS, BENCH_MAX_SECONDS, BENCH_DEFAULT_SECONDS);
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

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void print_env(const struct bench_env *env, const struct bench_config *cfg)
{
    printf("directory     %s\n", env->dir);
    printf("file system   %s%s%s\n", env->fs_type, env->device[0] ? " on " : "", env->device);
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
    static const struct option opts[] = {
        { "entries", required_argument, NULL, 'e' },
        { "strategies", required_argument, NULL, 's' },
        { "entry-size", required_argument, NULL, 'b' },
        { "sync-method", required_argument, NULL, 'm' },
        { "max-seconds", required_argument, NULL, 't' },
        { "dir", required_argument, NULL, 'd' },
        { "writers", required_argument, NULL, 'w' },
        { "prealloc", no_argument, NULL, 'p' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    struct bench_config cfg = { .entries = 10000, .entry_size = BENCH_DEFAULT_ENTRY_SIZE,
                                .sync_method = WAL_SYNC_FSYNC,
                                .max_seconds = BENCH_DEFAULT_SECONDS, .writers = 1 };
    static struct wal_strategy strategies[BENCH_MAX_STRATEGIES];
    static struct bench_result results[BENCH_MAX_STRATEGIES];
    char default_list[] = "always,batch_10ms,none";
    char *list = default_list;
    const char *dir_flag = NULL;
    int json = 0, c;
    unsigned long long v;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            if (parse_whole(optarg, 1, BENCH_MAX_ENTRIES, &v) < 0)
                return usage_error("--entries must be a whole number from 1 to 10000000, "
                                   "not \"%s\"", optarg);
            cfg.entries = v;
            break;
        case 's':
            list = optarg;
            break;
        case 'b':
            if (parse_whole(optarg, WAL_HEADER_SIZE, WAL_MAX_RECORD, &v) < 0)
                return usage_error("--entry-size must be a whole number of bytes from 16 to "
                                   "1048576, not \"%s\"", optarg);
            cfg.entry_size = (uint32_t)v;
            break;
        case 'm':
            if (wal_sync_method_parse(optarg, &cfg.sync_method) < 0)
                return usage_error("--sync-method: unknown \"%s\"; allowed: " WAL_SYNC_METHODS,
                                   optarg);
            break;
        case 't': {
            char *end;
            errno = 0;
            double s = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(s > 0) || s > BENCH_MAX_SECONDS)
                return usage_error("--max-seconds must be a number above 0 and at most 3600, "
                                   "not \"%s\"", optarg);
            cfg.max_seconds = s;
            break;
        }
        case 'd':
            dir_flag = optarg;
            break;
        case 'w':
            if (parse_whole(optarg, 1, BENCH_MAX_WRITERS, &v) < 0)
                return usage_error("--writers must be a whole number from 1 to 256, not \"%s\"",
                                   optarg);
            cfg.writers = (unsigned)v;
            break;
        case 'p':
            cfg.prealloc = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return usage_error("bench: unknown option%s", "");
        }
    }
    if (optind < argc)
        return usage_error("bench: unexpected argument \"%s\"", argv[optind]);
    size_t n;
    int rc = parse_strategies(list, strategies, &n);
    if (rc)
        return rc;
    cfg.dir = bench_data_dir(dir_flag);

    struct bench_env env;
    rc = bench_env_probe(cfg.dir, &env);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: statfs(%s): %s\n", cfg.dir, strerror(-rc));
        return EXIT_RUN;
    }
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
    if (json) {
        cJSON *body = node_benchmark_body(&env, &cfg, results, n);
        char *text = body ? node_json_print(body) : NULL;
        cJSON_Delete(body);
        if (!text) {
            fprintf(stderr, "fsynclab: out of memory printing JSON\n");
            return EXIT_RUN;
        }
        printf("%s\n", text);
        free(text);
    } else {
        print_table(&env, results, n);
    }
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
    if (strcmp(cmd, "node") == 0)
        return cmd_node(argc - 1, argv + 1);
    return usage_error("unknown command \"%s\"", cmd);
}
