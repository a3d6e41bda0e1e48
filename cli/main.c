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

#ifndef FSYNCLAB_VERSION
#define FSYNCLAB_VERSION "0.1.0"
#endif

/* What the commands are, and bench's options. */
static void usage_bench(FILE *to)
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
        "  merge   combine the shards of one crash run (A.json B.json ...) into its result\n"
        "\n"
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

/* crash (with --vm and --target), record, image, journal and curve. */
static void usage_rest(FILE *to)
{
    fprintf(to,
        "crash options (and --strategies, --entry-size, --sync-method, --writers,\n"
        "--prealloc, --dir, --json):\n"
        "  --trials T         crash trials per strategy, 1..%u (default 100)\n"
        "  --entries N        entries each trial's writer appends, 1..%llu (default: 1000,\n"
        "                     or for batch_<N>ms eight intervals' worth at this disk's rate)\n"
        "  --model M          %s (default drop)\n"
        "  --seed S           replay a run: 0..2^53-1 (default from the clock)\n"
        "  --max-seconds S    budget for all trials (default 60)\n"
        "  --writeback-expire-ms MS, --writeback-interval-ms MS\n"
        "                     the writeback model's kernel settings (default /proc/sys/vm)\n"
        "  --vm               run each trial in a QEMU guest on a real kernel and ext4 and\n"
        "                     compare what it kept with the drop model (`make vm` first;\n"
        "                     default 3 trials, no budget; docs/ground-truth.md)\n"
        "  --fs FS            with --vm: the data disk's file system, ext4, xfs or btrfs\n"
        "                     (default ext4)\n"
        "  --mount-opts OPTS  with --vm: its mount options, e.g. data=journal,commit=1\n"
        "  --no-fail          exit 0 even when a promise broke (default: exit 3)\n"
        "  --junit FILE       also write a JUnit XML report: a testcase per strategy (or\n"
        "                     per --target setting and model), failures with the replay\n"
        "  --shard I/N        run only the trials whose index is I modulo N, seeded as in\n"
        "                     the whole run (needs --seed); then `fsynclab merge`\n"
        "                     (docs/scale.md; not with --target or --vm)\n"
        "\n"
        "crash --target: a real program (docs/real-programs.md)\n"
        "  --target NAME      redis, sqlite, postgres, or contract (with --run and --check)\n"
        "  --set KEY=VALUE    a setting of the program, repeated: appendfsync=always|\n"
        "                     everysec|no; journal_mode=WAL|DELETE|TRUNCATE and\n"
        "                     synchronous=FULL|NORMAL|OFF; synchronous_commit=on|off\n"
        "  --run CMD, --check CMD  the contract's commands, under /bin/sh -c with\n"
        "                     $FSYNCLAB_DATA; run prints `ack KEY`, check prints keys\n"
        "  --trials T         trials (default 3); --seconds S: the longest a trial runs\n"
        "                     before its kill (default 3); --cuts K: earlier cut points\n"
        "                     per trial, 0..%u (default 3)\n"
        "  --model M          %s (default drop)\n"
        "  --keep             leave the trial directories (journal, snapshot, images)\n"
        "\n"
        "record --root DIR --journal FILE -- CMD ARGS...\n"
        "image --journal FILE --snapshot DIR --at MS|end --model M --out DIR [--seed S]\n"
        "                     MS: milliseconds after the journal's first record\n"
        "journal --journal FILE [--summary]\n"
        "merge A.json B.json ... [--junit FILE] [--no-fail]: every shard's `crash --json`\n"
        "\n"
        "curve options (and --entry-size, --sync-method, --writers, --prealloc, --dir,\n"
        "--seed):\n"
        "  --out DIR          where the files go (default curve)\n"
        "  --intervals LIST   batch intervals in ms (default " BENCH_CURVE_DEFAULT_INTERVALS ")\n"
        "  --entries N        benchmark entries per point (default 50000; 4 s a run at most)\n"
        "  --repeat K         benchmark runs per point, their median and interval (default 3)\n"
        "  --trials T         crash trials per point, 1..%u (default 10)\n"
        "  --model M          power-loss model of the trials (default drop)\n"
        "\n"
        "  --help, --version\n"
        "\n"
        "exit status: 0 success, 1 the run failed, 2 usage error, 3 crash or merge: a\n"
        "promise broke, a record came back corrupt or an image failed fsck\n",
        REPORT_CRASH_MAX_TRIALS, REPORT_CRASH_MAX_ENTRIES, CRASHSIM_MODELS,
        RECORDER_MAX_CUTS, RECORDER_MODELS, REPORT_CRASH_MAX_TRIALS);
}

void cli_usage(FILE *to)
{
    usage_bench(to);
    usage_rest(to);
}

static int cli_node(int argc, char **argv)
{
    (void)argv;
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
    return cli_usage_error("unknown command \"%s\"", cmd);
}
