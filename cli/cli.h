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
    struct pl_model model;
    uint64_t seed;
    int have_seed;
    long expire_ms, interval_ms;
    const char *out;
    char *intervals;
    /* crash --target, record, image, journal (recorder/) */
    const char *model_name;       /* --model as given: crashsim's or recorder's models */
    struct pl_model pmodel;       /* --model through pl_model_parse, the one parser (default drop),
                                     with --sector-size applied */
    const char *sector_size;      /* --sector-size as given (crash --target, image) */
    const char *target, *run, *check, *root, *journal, *snapshot, *at;
    struct recorder_setting settings[RECORDER_MAX_SETTINGS];
    char setting_keys[RECORDER_MAX_SETTINGS][64];   /* the keys, copied: argv keeps KEY=VALUE whole
                                                       for the command line a result quotes */
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
    const char *timeline;         /* --timeline FILE (.png, .svg) */
    uint32_t timeline_trial;      /* --timeline-trial K, from 1; 0: the worst trial */
    const char *html;             /* --html FILE: the HTML report */
    const char *check_timeout;    /* crash --target --check-timeout S, as given */
    struct recorder_faults faults;   /* record, crash --target: --fault SPEC, repeated */
    unsigned ops, max_points, max_states;   /* explore: --ops, --max-points, --max-states */
};

/* The options a subcommand takes, as a string of the table's codes. */
#define CLI_TAKES_BENCH "esbmtdwpjruWn"
#define CLI_TAKES_CRASH "esbmtdwpjTMSxiGVRCuKkQFUALzHB1234"
#define CLI_TAKES_CURVE "ebmdwpTMSoIr"
#define CLI_TAKES_DIFF ""
#define CLI_TAKES_RECORD "XJ4"
#define CLI_TAKES_IMAGE "JNaMoS3"
#define CLI_TAKES_JOURNAL "JY"
#define CLI_TAKES_MERGE "FU"
#define CLI_TAKES_REPORT "H"
#define CLI_TAKES_EXPLORE "GVRCMudjkBFOPE"

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
/* `fsynclab CMD --help`: CMD's usage line and its options only. */
void cli_usage_command(FILE *to, const char *cmd);
/* The word of words (NULL-terminated) nearest to given, or NULL when none
 * is near enough to be a likely typo. */
const char *cli_nearest(const char *given, const char *const *words);
/* The command line and the start time every --json output and curve.json
 * carry (report_add_meta); main sets it before running a command. */
void cli_set_command(int argc, char **argv, const char *version);
const struct report_meta *cli_meta(void);

/* The data directory (--dir, $FSYNCLAB_DIR, or .) and its environment;
 * 0, or the exit status after naming the failure. */
int cli_probe_data_dir(const char *flag, const char **dir, struct bench_env *env);
/* The whole of a file of at most max bytes, NUL-terminated (free it); NULL
 * after naming the failure as cmd's. */
char *cli_read_file(const char *cmd, const char *path, size_t max);
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
int cli_report(int argc, char **argv);
/* fsynclab explore: every crash point of one run of a target (explore.c). */
int cli_explore(int argc, char **argv);
/* --check-timeout S into milliseconds (default 60 s); 0 or CLI_EXIT_USAGE. */
int cli_check_timeout(const char *arg, unsigned *ms);

/* timeline.c: --timeline-trial's value; 0 or CLI_EXIT_USAGE. */
int cli_timeline_trial(const char *arg, uint32_t *out);
/* --timeline/--html checked before a run: 0 or CLI_EXIT_USAGE. */
int cli_timeline_check(const struct cli *o);
/* The picture's path for strategy i of n: FILE itself for one, FILE with
 * "-<strategy>" before its extension for several. */
void cli_timeline_path(const char *file, const char *strategy, size_t n, char *out, size_t outlen);
/* report.c: the command that runs a --json result again ("" when it does
 * not say), and the HTML page of a result with its images; 0 or
 * CLI_EXIT_RUN after naming the failure. */
struct view_image;
void cli_replay_body(const cJSON *body, char *out, size_t outlen);
int cli_html(const char *path, const cJSON *body, const char *title,
             const struct view_image *images, size_t n);

/* crash (own writer): captures the trial to draw of each strategy while
 * the run goes on (the worst so far, or --timeline-trial's), then draws. */
struct cli_capture;
/* Hooks the capture into cfg; 0, or the exit status after naming the failure. */
int cli_capture_new(const struct cli *o, const struct wal_strategy *strategies, size_t n,
                    struct crashsim_config *cfg, struct cli_capture **out);
/* Draws strategy i's captured trial into path; 0, -ENOENT (no such trial
 * ran), or a negative errno with err naming the call. */
int cli_capture_draw(struct cli_capture *c, size_t i, const struct bench_env *env,
                     const struct verifier_summary *sum, const char *path, char *err,
                     size_t errlen);
void cli_capture_free(struct cli_capture *c);
/* The kept trial's acknowledged entries (make bench prints it). */
uint64_t cli_capture_acked(const struct cli_capture *c, size_t i);
/* crash --target: the same, streamed into a timeline as each trial ends. */
struct cli_target_capture;
int cli_target_capture_new(const struct cli *o, struct cli_target_capture **out);
int cli_target_capture_draw(struct cli_target_capture *c, const char *path, char *err,
                            size_t errlen);
void cli_target_capture_free(struct cli_target_capture *c);
/* crash --vm: the same, a timeline per strategy (cli/timeline_vm.c);
 * pictures draws them and writes the page of body (not freed). */
struct cli_vm_capture;
struct vm_config;
int cli_vm_capture_new(const struct cli *o, const struct wal_strategy *strategies, size_t n,
                       struct vm_config *cfg, struct cli_vm_capture **out);
int cli_vm_pictures(const struct cli *o, struct cli_vm_capture *c, cJSON *body);
void cli_vm_capture_free(struct cli_vm_capture *c);
/* Draws it and writes the page (--timeline, --html); 0 or the exit status. */
int cli_target_pictures(const struct cli *o, struct cli_target_capture *c,
                        const struct bench_env *env, const struct recorder_crash_config *cfg,
                        const struct recorder_crash_result *res);

#endif
