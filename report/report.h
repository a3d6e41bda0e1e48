/* report: what fsynclab says, in every form it says it.
 *
 * The one layer both front ends (the node, the command line) print through:
 *   - the JSON writer: cJSON trees printed byte for byte as Python's
 *     json.dumps prints them;
 *   - the limits of every option, shared by the protocol and the command
 *     line, with the words that name them in an error;
 *   - the result bodies (fsync_benchmark_ok, crash_test_ok), which the node
 *     replies and `--json` prints;
 *   - the text tables of bench, crash and curve;
 *   - the curve's files (CSV, JSON, a gnuplot script) and their rendering.
 *
 * report sits above bench/ and crashsim/ and below node/ and cli/.
 * Functions that can fail return 0 or a negative errno, with a message
 * naming the failing call in err.
 */
#ifndef FSYNCLAB_REPORT_H
#define FSYNCLAB_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "bench/bench.h"
#include "crashsim/crashsim.h"
#include "recorder/recorder.h"
#include "verifier/verifier.h"

/* ---- the JSON writer ------------------------------------------------------- */

/* item as Python's json.dumps(obj) prints it (default separators,
 * ensure_ascii).  malloc'd, the caller frees; NULL when out of memory or the
 * tree holds an invalid item. */
char *report_json_print(const cJSON *item);
/* A number that prints as a Python float (repr: 0.1, 1e-05, 2.0), as a
 * cJSON_Raw.  NULL for NaN or infinity, or when out of memory. */
cJSON *report_json_float(double v);

/* ---- limits -----------------------------------------------------------------
 * Every numeric option either front end takes, with its range.  The node
 * checks a JSON value against it, the command line a parsed argument, and
 * both name the range with report_limit_text, so that they accept the same
 * values and say so in the same words. */
#define REPORT_CRASH_MAX_TRIALS 10000u
#define REPORT_CRASH_MAX_ENTRIES 1000000ull
#define REPORT_MAX_SEED 9007199254740991.0   /* 2^53 - 1: exact in a JSON number */
#define REPORT_MAX_MS 3600000u               /* an hour, for the writeback settings */
#define REPORT_NOISY 0.10   /* a median's interval wider than +-10% is flagged noisy */

enum report_limit {
    REPORT_ENTRIES = 0,        /* benchmark entries */
    REPORT_CRASH_ENTRIES,      /* entries per crash trial */
    REPORT_ENTRY_SIZE,
    REPORT_MAX_SECONDS,        /* a number above 0, not only whole ones */
    REPORT_WRITERS,
    REPORT_TRIALS,
    REPORT_SEED,
    REPORT_WRITEBACK_EXPIRE_MS,
    REPORT_WRITEBACK_INTERVAL_MS,
    REPORT_INTERVAL_MS,        /* a batch interval of the curve */
    REPORT_REPEAT,             /* measured runs per strategy */
    REPORT_SECONDS,            /* a time-based run's length (bench), or how long a
                                  recorded program runs (crash --target); above 0 */
    REPORT_CUTS,               /* earlier cut points of a recorded crash trial */
    REPORT_OPS,                /* explore: acknowledgements of the run */
    REPORT_MAX_POINTS,         /* explore: crash points explored */
    REPORT_MAX_STATES,         /* explore: states generated */
    REPORT_LIMITS
};

struct report_range {
    const char *field;   /* the request's field: "entries" */
    const char *flag;    /* the command line's option: "--entries" */
    double lo, hi;       /* whole numbers lo..hi; or, when !whole, above lo and at most hi */
    int whole;
};

const struct report_range *report_limit(enum report_limit which);
/* Whether v lies in the range (and is whole where it must be). */
int report_limit_ok(enum report_limit which, double v);
/* "a whole number from 1 to 10000000", "a number greater than 0 and at most
 * 3600".  Returns buf. */
const char *report_limit_text(enum report_limit which, char *buf, size_t len);

/* The word of words (NULL-terminated; NULL: none) nearest to given by edit
 * distance (insert, delete, substitute), the first of equals, when that
 * distance is at most max; else NULL, and NULL for a given or a word over
 * 64 bytes.  A typo's fix, for an option or command (the CLI) and a
 * program's setting (--set), each with its own idea of close. */
const char *report_nearest(const char *given, const char *const *words, size_t max);

/* ---- result bodies -------------------------------------------------------- */

/* The fsync_benchmark_ok body without in_reply_to and msg_id: "type",
 * "results", "environment", "sync_method", "entry_size".  This is also what
 * `fsynclab bench --json` prints.  NULL when out of memory. */
cJSON *report_benchmark_body(const struct bench_env *env, const struct bench_config *cfg,
                             const struct bench_result *results, size_t n);

/* The crash_test_ok body without in_reply_to and msg_id: "type", "results"
 * (out[i] for each strategy), "model", "seed", "entries", "entry_size",
 * "sync_method", "environment".  Also what `fsynclab crash --json` prints. */
cJSON *report_crash_body(const struct bench_env *env, const struct crashsim_config *base,
                         const struct verifier_summary *out, size_t n);

/* What the command line adds to every JSON it prints (never the node):
 * "version", "command_line" (argv as a list) and "timestamp" (the start,
 * UTC, ISO 8601), after the body's own keys, as fio and hyperfine record
 * their runs.  Returns 0 when out of memory. */
struct report_meta {
    const char *version;
    int argc;
    char **argv;
    time_t started;
};
int report_add_meta(cJSON *o, const struct report_meta *m);

/* What a seed replays, in every output that prints one (tables, the
 * "seed_replays" the command line adds to a JSON with a "seed"): the
 * choices, never the outcomes. */
#define REPORT_SEED_CHOICES "the choices (the kill schedule, the cut points of crash " \
    "--target, the model's damage)"
#define REPORT_SEED_NOT "not the outcomes: what a kill catches, so the losses, and the " \
    "allowance depend on the disk's timing"

/* ---- text tables ------------------------------------------------------------- */

/* directory and file system lines. */
/* `fsynclab crash --target`: target_crash_run's result. */
cJSON *report_recorder_body(const struct bench_env *env, const struct recorder_crash_config *cfg,
                            const struct recorder_crash_result *r);
void report_print_recorder_table(FILE *to, const struct recorder_crash_config *cfg,
                                 const struct recorder_crash_result *r);
/* `fsynclab explore`: target_explore_run's result (report/explore.c). */
cJSON *report_explore_body(const struct bench_env *env, const struct recorder_explore_config *cfg,
                           const struct recorder_explore_result *r);
void report_print_explore_table(FILE *to, const struct recorder_explore_config *cfg,
                                const struct recorder_explore_result *r);

void report_print_where(FILE *to, const struct bench_env *env);
/* The header of `fsynclab bench`: where, writeback, the run, a WARNING. */
void report_print_bench_header(FILE *to, const struct bench_env *env,
                               const struct bench_config *cfg);
void report_print_bench_table(FILE *to, const struct bench_env *env,
                              const struct bench_config *cfg, const struct bench_result *r,
                              size_t n);
void report_print_crash_header(FILE *to, const struct bench_env *env,
                               const struct crashsim_config *cfg);
void report_print_crash_table(FILE *to, const struct crashsim_config *cfg,
                              const struct verifier_summary *v, size_t n);
void report_print_curve_header(FILE *to, const struct bench_env *env,
                               const struct bench_curve_config *cfg);
/* A point whose crash trials ran out of time says so under its row. */
void report_print_curve_table(FILE *to, const struct bench_curve_config *cfg,
                              const struct bench_curve_point *points, size_t n);

/* `fsynclab diff`: one row a strategy, B against A: both medians with their
 * intervals, the difference (Hodges-Lehmann) with its 95% interval and the
 * verdict.  label names the strategy ("always", or "always -> none"). */
void report_print_diff_header(FILE *to);
void report_print_diff_row(FILE *to, const char *label, const struct stats_summary *a,
                           const struct stats_summary *b, const struct stats_diff *d);

/* A curve point's throughput interval: the median's from its runs, or
 * [ops_per_sec, ops_per_sec] for a point of one run. */
void report_curve_ops_interval(const struct bench_curve_point *p, double *low, double *high);
/* Whether the point has a loss window at all: a valid crash trial.  One
 * without is missing from every output (empty, null, not drawn), never 0. */
int report_curve_has_window(const struct bench_curve_point *p);
/* The loss window's p10 and p90 over the point's crash trials, in ms. */
void report_curve_window_spread(const struct bench_curve_point *p, double *p10, double *p90);

/* ---- crash --vm (report/vm.c) ----------------------------------------------------
 * What vm/ hands over after a run of the guest: the run's settings as the
 * guest ran them, the guest itself, and the results; report/ builds the
 * JSON bodies and the tables from them. */
struct report_vm_env {
    char accel[8];                /* "kvm" or "tcg" */
    char kernel[64];              /* the guest kernel's version */
    char probe[160];              /* why KVM was or was not used */
};
struct report_vm_run {
    uint64_t entries;             /* per guest trial */
    uint32_t entry_size;
    enum wal_sync_method sync_method;
    unsigned writers;
    uint32_t trials;              /* requested, per strategy */
    uint64_t seed;
    unsigned images_max;          /* images a trial at most */
    const char *fs;               /* "ext4", "xfs" or "btrfs" */
    const char *mount_opts;       /* NULL: the defaults */
    unsigned memory_mib;          /* the guest's, for a program */
    const char *target;           /* a program's target: NULL "contract" */
};
/* One strategy of `crash --vm`: the verifier's summary over images (one
 * verifier "trial" per image) beside the drop model's prediction. */
struct report_vm_result {
    struct verifier_summary v;
    uint32_t trials;              /* QEMU runs */
    uint32_t images;
    uint32_t fsck_failed;         /* images that failed the file system's check: never hidden */
    uint32_t log_missing;         /* images without /LOG (the writer's file) */
    uint32_t model_optimistic;    /* images where the kernel lost an ack the drop model kept */
    uint32_t model_pessimistic;   /* images where it kept an ack the drop model lost */
    uint64_t predicted_lost_total;
    uint64_t acks_seen;           /* acknowledgements the host read, all trials */
    uint64_t syncs_seen;          /* completed syncs the guest reported */
    uint64_t boot_ns_max;         /* QEMU start to the writer's first line */
};
/* One recorder model against the real kernel, on the images at the kill. */
struct report_vm_model_cmp {
    uint64_t predicted_lost_total;   /* acked keys the model's image lacks, over the images */
    uint32_t optimistic;             /* images where the kernel lost a key the model kept */
    uint32_t pessimistic;            /* images where the kernel kept a key the model lost */
    uint32_t check_failed;           /* trials whose model image --check failed on */
};
/* `crash --vm --target contract`: counts per image. */
struct report_vm_prog {
    uint32_t trials, images, images_lost, fsck_failed, check_failed;
    uint64_t acks_seen, acked_total, lost_max, lost_total;
    uint64_t boot_ns_max, check_ns_total;
    /* The same run recorded in the guest (LD_PRELOAD), judged by the models. */
    int recorded;                    /* 0: recorder_reason says why not */
    char recorder_reason[200];
    uint32_t trials_recorded, images_compared;
    uint64_t journal_flags, unknown_opens;
    struct report_vm_model_cmp drop, ext4;
    struct report_vm_model_cmp fsm;  /* on xfs and btrfs: that file system's own model */
    /* The target's promise (crash --target's, by name and settings) and the
     * verdict on it (vm/program.c): each image's loss window is its cut
     * minus the host's time of the oldest acknowledged key it lost. */
    const char *promised;            /* NULL: no promise was looked up */
    double promised_window_ms;       /* < 0: the promise gives no number */
    int integrity_only;              /* the promise is about recovering, not loss */
    double sync_ms_max;              /* the longest sync the block logs show */
    double allowance_ms;             /* promised_window_ms + sync_ms_max (0: promise 0) */
    double loss_window_ms_max;       /* over images that lost; 0 if none */
    double reach_ms_max;             /* the widest window an image could have shown:
                                        its cut minus its oldest ack */
    uint32_t images_unchecked;       /* not mounted or not listed: losses unknown */
    int held;                        /* 1, 0, -1 (null: held_reason says why) */
    char held_reason[256];
};
/* The crash_test_ok body `crash --vm --json` prints ("model" "vm", "trials"
 * counting QEMU runs while the loss fields are per image, the comparison
 * with the drop model, the guest in "environment"); NULL when out of memory. */
cJSON *report_vm_body(const struct bench_env *benv, const struct report_vm_run *run,
                      const struct report_vm_env *env, const struct report_vm_result *r,
                      size_t n);
void report_print_vm_table(FILE *to, const struct report_vm_run *run,
                           const struct report_vm_env *env, const struct report_vm_result *r,
                           size_t n);
/* crash_vm_target_ok and its table. */
cJSON *report_vm_program_body(const struct report_vm_run *run, const struct report_vm_env *env,
                              const struct report_vm_prog *s);
void report_print_vm_program_table(FILE *to, const struct report_vm_run *run,
                                   const struct report_vm_env *env,
                                   const struct report_vm_prog *s);

/* ---- JUnit XML (report/junit.c) ------------------------------------------------ */

/* One testcase: passed, failed (a <failure> with message and text) or
 * skipped (a verdict nothing could have contradicted; message says why). */
struct report_junit_case {
    char classname[64];    /* "fsynclab.crash", "fsynclab.crash.target" */
    char name[160];        /* "always (drop)", "sqlite journal_mode=DELETE (drop)" */
    double seconds;
    int failed, skipped;
    char message[256];     /* one line */
    char text[2048];       /* the figures and the command that replays the failure */
};

/* Writes cases as one testsuite named suite to path (through path.tmp and
 * a rename).  0 or a negative errno with the failing call in err. */
int report_junit_write(const char *path, const char *suite, const struct report_junit_case *cases,
                       size_t n, double seconds, char *err, size_t errlen);

/* ---- the curve's files ---------------------------------------------------------- */

/* Before a sweep: makes out_dir (and its parents) and proves a file can be
 * created in it, and that gnuplot can be told its name, so that a bad --out
 * fails before the minutes of measuring rather than after. */
int report_curve_prepare(const char *out_dir, char *err, size_t errlen);
/* 0, or -EINVAL when gnuplot could not be given out_dir's name. */
int report_curve_renderable(const char *out_dir, char *err, size_t errlen);

/* Writes out_dir/curve.csv, curve.json (one object a point) and curve.gp (a
 * gnuplot script with the data inline), making out_dir and its parents.
 * curve.json ends with meta's keys (report_add_meta) unless meta is NULL. */
int report_curve_write(const char *out_dir, const struct bench_env *env,
                       const struct bench_curve_config *cfg,
                       const struct bench_curve_point *points, size_t n,
                       const struct report_meta *meta, char *err, size_t errlen);

/* Renders curve.gp to curve.svg and curve.png with gnuplot ($FSYNCLAB_GNUPLOT,
 * else gnuplot on PATH).  -ENOENT when gnuplot is not installed. */
int report_curve_render(const char *out_dir, char *err, size_t errlen);

/* gnuplot's dumb terminal rendering of curve.gp, to out. */
int report_curve_plot_text(const char *out_dir, FILE *out, char *err, size_t errlen);

#endif
