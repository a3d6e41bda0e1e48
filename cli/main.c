/* DESIGN: the fsynclab command line.
 *
 *   fsynclab bench   run strategies, print the environment and a table (or --json)
 *   fsynclab crash   crash trials per strategy, a table and a verdict line each
 *   fsynclab curve   the durability-throughput curve: files and a plot
 *   fsynclab diff    compare two `bench --json` outputs, strategy by strategy
 *   fsynclab node    serve the Maelstrom protocol on stdin/stdout
 *
 * Each subcommand (a file of its own) parses its options with the one
 * parser (options.c) into the same configuration structs the node fills
 * from a request, so that both front ends run the same code and --json
 * prints the body the node would reply.  cli.h gives the exit statuses.
 */
#include "cli/cli.h"

#include <string.h>

#include "node/node.h"

/* Every --help ends with it; crash and merge exit 3 on a broken promise. */
#define CLI_EXIT_TEXT "0 success, 1 the run failed, 2 usage error, 3 crash, explore or\n" \
    "merge: a promise broke, a record came back corrupt or an image failed fsck"

#ifndef FSYNCLAB_VERSION
#define FSYNCLAB_VERSION "0.1.0"
#endif

/* The global --help is every section below in this order, the same bytes as
 * one text; `fsynclab CMD --help` prints CMD's usage line and sections. */
static void usage_intro(FILE *to)
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
        "  diff    compare two `bench --json` outputs (A.json B.json) strategy by\n"
        "          strategy: the difference, its 95%% interval, whether it is proven\n"
        "  node    serve the Maelstrom JSON protocol on stdin/stdout\n"
        "  record  run a command with its file-system calls journaled\n"
        "  image   build the directory a power cut would leave, from a journal\n"
        "  journal  print a journal\n"
        "  explore  every crash point of one run of a program: the states a disk can\n"
        "          leave at each, checked, and the missing sync named\n"
        "  merge   combine the shards of one crash run (A.json B.json ...) into its result\n"
        "  report  one self-contained HTML page of a --json result\n"
        "\n");
}

static void usage_bench(FILE *to)
{
    fprintf(to,
        "bench options:\n"
        "  --entries N        entries per strategy, 1..%llu (default 10000)\n"
        "  --strategies LIST  comma-separated: always, group, none, batch_<N>ms with\n"
        "                     N 1..%u (default always,batch_10ms,none)\n"
        "  --entry-size B     bytes per record on disk, header included, %u..%u (default %u)\n"
        "  --sync-method M    %s (default fsync)\n"
        "  --max-seconds S    time budget for the whole run, up to %g (default %g a round\n"
        "                     of runs; with --seconds, the runs' time plus a quarter)\n"
        "  --writers W        threads appending to one log, 1..%u (default 1)\n"
        "  --prealloc         fallocate and zero-fill the log before timing\n"
        "  --repeat K         measured runs per strategy, 1..%u, round-robin; ops/s is\n"
        "                     their median with its interval (default 1)\n"
        "  --seconds S        each run lasts S seconds; --entries becomes a cap\n"
        "  --warmup, --no-warmup  a discarded run first (default: with --repeat > 1)\n"
        "  --dir D            data directory (default $FSYNCLAB_DIR, else .)\n"
        "  --json             print the JSON body the node would reply\n"
        "\n",
        (unsigned long long)BENCH_MAX_ENTRIES, WAL_BATCH_MAX_MS, WAL_HEADER_SIZE, WAL_MAX_RECORD,
        BENCH_DEFAULT_ENTRY_SIZE, WAL_SYNC_METHODS, BENCH_MAX_SECONDS, BENCH_DEFAULT_SECONDS,
        BENCH_MAX_WRITERS, BENCH_MAX_REPEAT);
}

static void usage_crash(FILE *to)
{
    fprintf(to,
        "crash options (and --strategies, --entry-size, --sync-method, --writers,\n"
        "--prealloc, --dir, --json):\n"
        "  --trials T         crash trials per strategy, 1..%u (default 100)\n"
        "  --entries N        entries each trial's writer appends, 1..%llu (default: 1000,\n"
        "                     or for batch_<N>ms eight intervals' worth at this disk's rate)\n"
        "  --model M          %s (default drop)\n"
        "  --sector-size N    512 or 4096: where torn, reorder and lie cut (default 512)\n"
        "  --seed S           replay a run's choices (kill instants, model draws; not the\n"
        "                     disk's timing, so not its losses): 0..2^53-1 (default: clock)\n"
        "  --max-seconds S    budget for all trials (default 60)\n"
        "  --writeback-expire-ms MS, --writeback-interval-ms MS\n"
        "                     the writeback model's kernel settings (default /proc/sys/vm)\n"
        "  --vm               run each trial in a QEMU guest on a real kernel and ext4 and\n"
        "                     compare what it kept with the drop model (`make vm` first;\n"
        "                     default 3 trials, no budget; docs/ground-truth.md)\n"
        "                     with --target contract, sqlite or redis: that program in\n"
        "                     the guest, beside the recorder's models of the same run\n"
        "  --fs FS            with --vm: the data disk's file system, ext4, xfs or btrfs\n"
        "                     (default ext4)\n"
        "  --mount-opts OPTS  with --vm: its mount options, e.g. data=journal,commit=1\n"
        "  --no-fail          exit 0 even when a promise broke (default: exit 3)\n"
        "  --junit FILE       also write a JUnit XML report: a testcase per strategy (or\n"
        "                     per --target setting and model), failures with the replay\n"
        "  --shard I/N        run only the trials whose index is I modulo N, seeded as in\n"
        "                     the whole run (needs --seed); then `fsynclab merge`\n"
        "                     (docs/scale.md; not with --target or --vm)\n"
        "  --timeline FILE    draw the worst trial of each strategy as FILE, .png or .svg\n"
        "                     (FILE-<strategy>.png for several); also --target, --vm\n"
        "  --timeline-trial K draw trial K (from 1) instead of the worst\n"
        "  --html FILE        one self-contained HTML page: settings, table, verdicts,\n"
        "                     timelines, the replay command; also --target, --vm\n"
        "\n",
        REPORT_CRASH_MAX_TRIALS, REPORT_CRASH_MAX_ENTRIES, CRASHSIM_MODELS);
}

static void usage_target(FILE *to)
{
    fprintf(to,
        "crash --target: a real program (docs/real-programs.md)\n"
        "  --target NAME      redis, sqlite, postgres, mariadb, rocksdb, lmdb, or contract\n"
        "                     (with --run and --check)\n"
        "  --set KEY=VALUE    a setting of the program, once each: appendfsync=always|\n"
        "                     everysec|no; journal_mode=WAL|DELETE|TRUNCATE|PERSIST and\n"
        "                     synchronous=FULL|NORMAL|OFF|EXTRA; synchronous_commit=on|off;\n"
        "                     innodb_flush_log_at_trx_commit=0|1|2, sync_binlog=0|1;\n"
        "                     sync=, disable_wal=, manual_wal_flush=true|false (rocksdb);\n"
        "                     flags=none|MDB_NOSYNC|MDB_NOMETASYNC|MDB_WRITEMAP (lmdb)\n"
        "                     (the keys each target takes: docs/real-programs.md)\n"
        "  --run CMD, --check CMD  the contract's commands, under /bin/sh -c with\n"
        "                     $FSYNCLAB_DATA; run prints `ack KEY`, check prints keys\n"
        "  --trials T         trials (default 3); --seconds S: the longest a trial runs\n"
        "                     before its kill (default 3); --cuts K: earlier cut points\n"
        "                     per trial, 0..%u (default 3)\n"
        "  --model M          %s, or a base and a tail\n"
        "                     joined by +, e.g. ext4+torn (default drop)\n"
        "  --sector-size N    512 or 4096: where torn, reorder and lie cut a write\n"
        "                     (default 512); also for image\n"
        "  --keep             leave the trial directories (journal, snapshot, images)\n"
        "  --check-timeout S  the longest a check or a server's start may take (default 60)\n"
        "  --fault SPEC       inject a failed call into each trial's run (repeatable, at most\n"
        "                     8): " RECORDER_FAULT_FORMS "\n"
        "                     (docs/fsync-failures.md)\n"
        "\n",
        RECORDER_MAX_CUTS, PL_MODELS);
}

static void usage_explore(FILE *to)
{
    fprintf(to,
        "explore options (and --target, --set, --run, --check, --keep, --check-timeout,\n"
        "--dir, --json as crash --target's; docs/real-programs.md); the run must end by\n"
        "itself after $FSYNCLAB_OPS acknowledgements:\n"
        "  --ops N            acknowledgements the workload makes, 1..%u (default 20)\n"
        "  --seconds S        the longest the run may take (default 60)\n"
        "  --model M          the base rule: drop or ext4 (or xfs, btrfs; default drop)\n"
        "  --max-points N     crash points explored, evenly spaced (default 10000)\n"
        "  --max-states N     states generated in all (default 100000); the rest are\n"
        "                     counted as cut\n"
        "  --no-fail          exit 0 even when a vulnerability breaks the promise\n"
        "\n",
        RECORDER_MAX_OPS);
}

static void usage_record(FILE *to)
{
    fprintf(to,
        "record --root DIR --journal FILE [--fault SPEC]... [--] CMD ARGS...\n"
        "                     --fault: the Nth fsync or write under DIR fails, e.g. fsync:eio@3\n"
        "image --journal FILE --snapshot DIR --at MS|end --model M --out DIR [--seed S]\n"
        "      [--sector-size 512|4096]\n"
        "                     MS: milliseconds after the journal's first record; M as for\n"
        "                     crash --target: " PL_MODELS "\n"
        "journal --journal FILE [--summary]\n"
        "\n");
}

static void usage_merge(FILE *to)
{
    fprintf(to,
        "merge A.json B.json ... [--junit FILE] [--no-fail]: every shard's `crash --json`\n"
        "report RESULT.json [TIMELINE.png ...] --html OUT.html\n"
        "                     the page of a saved --json result, with those timelines\n"
        "\n");
}

static void usage_curve(FILE *to)
{
    fprintf(to,
        "curve options (and --entry-size, --sync-method, --writers, --prealloc, --dir,\n"
        "--seed):\n"
        "  --out DIR          where the files go (default curve)\n"
        "  --intervals LIST   batch intervals in ms (default " BENCH_CURVE_DEFAULT_INTERVALS ")\n"
        "  --entries N        benchmark entries per point (default 50000; 4 s a run at most)\n"
        "  --repeat K         benchmark runs per point, their median and interval (default 3)\n"
        "  --trials T         crash trials per point, 1..%u (default 10)\n"
        "  --model M          power-loss model of the trials (default drop)\n"
        "\n",
        REPORT_CRASH_MAX_TRIALS);
}

static void usage_end(FILE *to)
{
    fprintf(to,
        "  --help, --version\n"
        "\n"
        "exit status: " CLI_EXIT_TEXT "\n");
}

void cli_usage(FILE *to)
{
    usage_intro(to);
    usage_bench(to);
    usage_crash(to);
    usage_target(to);
    usage_record(to);
    usage_explore(to);
    usage_merge(to);
    usage_curve(to);
    usage_end(to);
}

/* One command's usage line and sections (crash: also --target's). */
void cli_usage_command(FILE *to, const char *cmd)
{
    static const struct {
        const char *cmd, *line;
        void (*sections[2])(FILE *);
    } cmds[] = {
        { "bench", "fsynclab bench [OPTIONS]", { usage_bench, NULL } },
        { "crash", "fsynclab crash [OPTIONS]", { usage_crash, usage_target } },
        { "curve", "fsynclab curve [OPTIONS]", { usage_curve, NULL } },
        { "diff", "fsynclab diff A.json B.json: two `bench --json` outputs, strategy by "
                  "strategy", { NULL, NULL } },
        { "node", "fsynclab node: the Maelstrom JSON protocol on stdin/stdout "
                  "(fsynclab-node(1))", { NULL, NULL } },
        { "record", "fsynclab record --root DIR --journal FILE [--fault SPEC]... [--] CMD ARGS...", { usage_record, NULL } },
        { "image", "fsynclab image --journal FILE --snapshot DIR --out DIR [OPTIONS]", { usage_record, NULL } },
        { "journal", "fsynclab journal --journal FILE [--summary]", { usage_record, NULL } },
        { "explore", "fsynclab explore --target NAME [OPTIONS]", { usage_explore, NULL } },
        { "merge", "fsynclab merge A.json B.json ... [--junit FILE] [--no-fail]", { usage_merge, NULL } },
        { "report", "fsynclab report RESULT.json [TIMELINE.png ...] --html OUT.html",
          { usage_merge, NULL } },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(cmd, cmds[i].cmd) != 0)
            continue;
        fprintf(to, "usage: %s\n\n", cmds[i].line);
        for (size_t k = 0; k < 2 && cmds[i].sections[k]; k++)
            cmds[i].sections[k](to);
        fprintf(to, "  --help\n\nexit status: " CLI_EXIT_TEXT "; all commands: fsynclab --help\n");
        return;
    }
    cli_usage(to);
}

static int cli_node(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_usage_command(stdout, "node");
        return 0;
    }
    if (argc > 1)
        return cli_usage_error("node takes no arguments%s", "");
    return node_serve_stdio("fsynclab node");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    cli_set_command(argc, argv, FSYNCLAB_VERSION);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        cli_usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("fsynclab %s\n", FSYNCLAB_VERSION);
        return 0;
    }
    if (strcmp(cmd, "bench") == 0)
        return cli_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "crash") == 0)
        return cli_crash(argc - 1, argv + 1);
    if (strcmp(cmd, "curve") == 0)
        return cli_curve(argc - 1, argv + 1);
    if (strcmp(cmd, "node") == 0)
        return cli_node(argc - 1, argv + 1);
    if (strcmp(cmd, "diff") == 0)
        return cli_diff(argc - 1, argv + 1);
    if (strcmp(cmd, "record") == 0)
        return cli_record(argc - 1, argv + 1);
    if (strcmp(cmd, "image") == 0)
        return cli_image(argc - 1, argv + 1);
    if (strcmp(cmd, "journal") == 0)
        return cli_journal(argc - 1, argv + 1);
    if (strcmp(cmd, "merge") == 0)
        return cli_merge(argc - 1, argv + 1);
    if (strcmp(cmd, "explore") == 0)
        return cli_explore(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cli_report(argc - 1, argv + 1);
    static const char *const commands[] = { "bench", "crash", "curve", "diff", "node", "record",
                                            "image", "journal", "merge", "report", "explore", NULL };
    const char *near = cli_nearest(cmd, commands);
    if (near) {
        fprintf(stderr, "fsynclab: unknown command \"%s\"; did you mean %s?\n"
                "(try fsynclab --help)\n", cmd, near);
        return CLI_EXIT_USAGE;
    }
    return cli_usage_error("unknown command \"%s\"", cmd);
}
