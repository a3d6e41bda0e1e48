/* cli: the fsynclab command line.  One option table and one parser for
 * every subcommand (options.c); one file a subcommand.  Internal to cli/:
 * nothing else includes this header.
 *
 * Exit status: 0 success, 1 the run failed (an I/O error, named on stderr),
 * 2 a usage error, 3 crash or merge: a verdict failed (CLI_EXIT_FAILED); SIGINT/SIGTERM end the program by the signal after the
 * scratch file is removed (status 130/143 from a shell). */
#ifndef FSYNCLAB_CLI_H
#define FSYNCLAB_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "bench/bench.h"
#include "crashsim/crashsim.h"
#include "report/report.h"

/* CLI_EXIT_FAILED: crash (every form) and merge, when a promise was
 * broken, a record came back corrupt or an image failed fsck (--no-fail
 * keeps 0).  bench and curve never give it.  The hook for a future
 * `explore`: take "FUH" (--no-fail, --junit, --shard) and end with
 * cli_verdict_status (docs/scale.md). */
enum { CLI_EXIT_RUN = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_FAILED = 3 };

/* Every option's value; a subcommand fills the defaults, the parser what
 * was given, and the subcommand copies the result into its configuration. */
struct cli {
    uint64_t entries;
    char *strategies;
    uint32_t entry_size;
    enum wal_sync_method sync_method;
    double max_seconds;
    int have_max_seconds;         /* given: repeats and --seconds do not scale it */
    unsigned repeat;              /* --repeat, 0 when not given */
    double seconds;               /* --seconds, 0 when not given */
    enum bench_warmup warmup;
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
    /* crash --target, record, image, journal (recorder/) */
    const char *model_name;       /* --model as given: crashsim's or recorder's models */
    const char *target, *run, *check, *root, *journal, *snapshot, *at;
    struct recorder_setting settings[RECORDER_MAX_SETTINGS];
    unsigned nsettings;           /* crash --target also takes --seconds (default 3) */
    unsigned cuts;
    int keep, summary;
    int have_trials;              /* --trials given (crash --target defaults to 3) */
    int rest;                     /* set by the caller: arguments after -- are allowed;
                                     then the index of the first one */
    int vm;                       /* crash --vm: trials in a QEMU guest (vm/) */
    const char *vm_fs, *vm_mount_opts;   /* crash --vm --fs, --mount-opts */
    /* CI (docs/scale.md): --no-fail, --junit FILE, --shard I/N */
    int no_fail;
    const char *junit;
    uint32_t shard_index, shard_count;   /* shard_count 0: not sharded */
};

/* The options a subcommand takes, as a string of the table's codes. */
#define CLI_TAKES_BENCH "esbmtdwpjruWn"
#define CLI_TAKES_CRASH "esbmtdwpjTMSxiGVRCuKkQFUH12"
#define CLI_TAKES_CURVE "ebmdwpTMSoIr"
#define CLI_TAKES_DIFF ""
#define CLI_TAKES_RECORD "XJ"
#define CLI_TAKES_IMAGE "JNaMoS"
#define CLI_TAKES_JOURNAL "JY"
#define CLI_TAKES_MERGE "FU"

/* Parses cmd's options (those whose codes are in takes) into o, which holds
 * the defaults; --entries is checked against entries.  Returns 0, -1 after
 * printing --help, or CLI_EXIT_USAGE after naming the problem. */
int cli_parse(int argc, char **argv, const char *cmd, const char *takes,
              enum report_limit entries, struct cli *o);
/* A comma-separated strategy list into out (BENCH_MAX_STRATEGIES of them);
 * 0 or CLI_EXIT_USAGE. */
int cli_parse_strategies(char *list, struct wal_strategy *out, size_t *n);
/* A comma-separated list of batch intervals into cfg; 0 or CLI_EXIT_USAGE. */
int cli_parse_intervals(char *list, struct bench_curve_config *cfg);
int cli_usage_error(const char *fmt, const char *what);
void cli_usage(FILE *to);

/* The data directory (--dir, $FSYNCLAB_DIR, or .) and its environment;
 * 0, or the exit status after naming the failure. */
int cli_probe_data_dir(const char *flag, const char **dir, struct bench_env *env);
/* Prints body as the node would (and frees it); the exit status. */
int cli_print_json(cJSON *body);
/* 0, or CLI_EXIT_RUN when stdout could not be written. */
int cli_flush(void);

/* Progress on a terminal, once a run has taken more than a second. */
struct cli_progress {
    uint64_t start_ns;
    const struct wal_strategy *strategies;
    int shown;
};
int cli_progress_due(struct cli_progress *p);
void cli_progress_end(struct cli_progress *p);

int cli_bench(int argc, char **argv);
int cli_crash(int argc, char **argv);
/* crash --vm --target contract: the program runs in the guest (crash_vm.c). */
int cli_crash_vm_target(const struct cli *o);
/* crash --vm, after cli_crash parsed the options. */
int cli_crash_vm(const struct cli *o, const struct wal_strategy *strategies, size_t n);
int cli_curve(int argc, char **argv);
/* recorder/: crash --target (called by cli_crash), record, image, journal */
int cli_crash_target(struct cli *o);
int cli_record(int argc, char **argv);
int cli_image(int argc, char **argv);
int cli_journal(int argc, char **argv);
int cli_diff(int argc, char **argv);
/* fsynclab merge A.json B.json ...: shards of one crash run into one result. */
int cli_merge(int argc, char **argv);
/* The exit status a crash's verdicts give: CLI_EXIT_FAILED when failed and
 * not o->no_fail, else rc (the status printing gave). */
int cli_verdict_status(const struct cli *o, int failed, int rc);

#endif
