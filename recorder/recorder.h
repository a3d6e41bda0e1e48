/* recorder: crash real programs.
 *
 * DESIGN.  A program runs with build/libfsynclab-rec.so preloaded
 * (preload/, built apart from libfsynclab.a; its journal format is
 * preload/journal.h).  The library appends one record per mutating
 * file-system call under one root directory to one journal opened
 * O_APPEND, each record with a single writev, so the journal's order is a
 * causal order across threads and processes.  recorder/ reads journals
 * and is one of the power-loss engine's producers: a snapshot of the root
 * taken before the program started and the journal become the engine's
 * operation list (recorder_ops_build), and recorder_image_build() makes
 * the directory that a power cut at instant T would leave under a model
 * (powerloss/ decides it).  target_crash_run()
 * (recorder/targets/) drives whole trials against a target.
 *
 * Functions that can fail return 0 or a negative errno, with a message
 * naming the failing call in err when err is not NULL.
 */
#ifndef FSYNCLAB_RECORDER_H
#define FSYNCLAB_RECORDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "powerloss/powerloss.h"
#include "preload/journal.h"

const char *recorder_type_name(unsigned type);

/* A journal mapped read-only.  recs[i] points into the mapping; a torn
 * record at the end (a process killed in the middle of its writev) is left
 * out and counted in torn_bytes.  A file that is not a journal (no magic,
 * another version, a directory) is -EINVAL with a message. */
struct recorder_journal {
    const unsigned char *base;
    size_t bytes;
    const struct recorder_rec **recs;
    size_t n;
    size_t torn_bytes;
};
int recorder_journal_open(const char *path, struct recorder_journal *out, char *err, size_t errlen);
void recorder_journal_close(struct recorder_journal *j);

/* ---- call sites (site.c) ----------------------------------------------------- */
/* Each record's call site: the object and the offset the preload wrote
 * (an exec starts a fresh object table, a fork copies its parent's), and
 * its name from the object's symbols (elfutils' libdwfl, after the run).
 * The journal must outlive the sites. */
struct recorder_sites;
int recorder_sites_open(const struct recorder_journal *j, struct recorder_sites **out, char *err,
                        size_t errlen);
void recorder_sites_free(struct recorder_sites *s);
/* Record i's object (its path) and offset; -ENOENT when not known. */
int recorder_site_of(const struct recorder_sites *s, size_t i, const char **object, uint64_t *off);
/* "fn (file.c:12)" with debug info, "fn (object)" from a symbol table,
 * "object+0x1234" when no symbol holds the address; "?" and -ENOENT when
 * the record has no site. */
int recorder_site_name(struct recorder_sites *s, size_t i, char *out, size_t outlen);

/* ---- running a command under the recorder --------------------------------- */
/* The preload library's path: $FSYNCLAB_REC_LIB, else next to the running
 * binary (/proc/self/exe), else in the install's lib/fsynclab.  Fails with
 * -ENOENT when there is none. */
int recorder_lib_path(char *out, size_t outlen, char *err, size_t errlen);
/* Sets the environment of the calling process (call in a forked child
 * before exec) so that an exec arms the recorder on root into journal,
 * injecting faults (recorder_fault_env's list; NULL or "": none). */
int recorder_arm_env(const char *lib, const char *root, const char *journal, const char *faults);
/* Creates (or empties) a journal at path with its header; refuses a
 * non-empty file that is not a journal. */
int recorder_journal_create(const char *path, char *err, size_t errlen);
/* 1 when the ELF file at path has no program interpreter (a static binary
 * LD_PRELOAD cannot reach), 0 otherwise (not ELF, dynamic, unreadable). */
int recorder_elf_is_static(const char *path);
/* Runs argv under the recorder (in its own process group) and waits; the
 * exit status is in *status.  `fsynclab record`.  Checks first that root
 * is a directory, that the journal can be written (it is created afresh)
 * and that argv[0] can be run; a static binary gets a flag record and a
 * warning on stderr. */
int recorder_record(const char *root, const char *journal, char *const argv[], const char *faults,
                    int *status, char *err, size_t errlen);

/* ---- fault injection: --fault (recorder/fault.c) ------------------------------ */
#define RECORDER_FAULT_FORMS "fsync:eio@N, fsync:eio@path=GLOB, fsync:eio@N,path=GLOB, write:enospc@N, write:eio@N"
struct recorder_fault {
    int sync;            /* 1: fsync, fdatasync, sync_file_range with a wait; 0: a write */
    int err;             /* EIO or ENOSPC */
    uint32_t n;          /* the Nth such call of the run, from 1; with a glob, the Nth sync
                          * of a file whose path under the root matches it */
    char glob[256];
};
struct recorder_faults {
    struct recorder_fault f[RECORDER_MAX_FAULTS];
    unsigned n;
};
/* One spec; -EINVAL with a message naming the bad part and the fix. */
int recorder_fault_parse(const char *spec, struct recorder_fault *f, char *err, size_t errlen);
/* Parses spec and appends it (at most RECORDER_MAX_FAULTS, no call twice). */
int recorder_fault_add(struct recorder_faults *fs, const char *spec, char *err, size_t errlen);
/* The spec as the command line gives it ("fsync:eio@3"); a buffer of the thread. */
const char *recorder_fault_spec(const struct recorder_fault *f);
/* The canonical list for RECORDER_ENV_FAULTS. */
int recorder_fault_env(const struct recorder_faults *fs, char *out, size_t outlen);

/* ---- the journal as an operation list (recorder/ops.c) ------------------------ */
/* The snapshot and the journal as the power-loss engine's input: the
 * snapshot's directories, files and links are list.ops[0 .. list.nbase)
 * (durable under every model), then the journal's records as operations
 * on file ids (1 is the root).  Bytes and names point into the journal's
 * mapping (and into memory o owns): the journal must stay open while o is
 * used.  What the list cannot hold is counted here. */
struct recorder_ops_sync { uint32_t rec; uint64_t ns; };   /* a completed sync: its end record, how long */
struct recorder_ops {
    struct pl_list list;      /* list.ops[0 .. list.nbase): the snapshot */
    uint32_t *rec;            /* rec[i]: the journal record index of list.ops[i]; UINT32_MAX for the snapshot's ops */
    size_t caprec;
    const char **paths;       /* [nfiles] the first name of each id, relative to the root ("" the root) */
    uint32_t nfiles;          /* ids are 1 .. nfiles - 1 */
    size_t cappaths;
    void **owned;             /* snapshot names, contents, link targets */
    size_t nowned, capowned;
    uint64_t records;         /* journal records read */
    uint64_t unknown_opens;   /* opens of paths the journal never created (not seen) */
    uint32_t *unknown_at;     /* their record indices, in order */
    size_t capunknown;
    uint64_t flags;           /* RECORDER_FLAG records, and 1 for a torn journal */
    uint64_t torn_bytes;      /* journal bytes after a torn record */
    struct recorder_ops_sync *syncs;   /* completed syncs, in journal order */
    size_t nsyncs, capsyncs;
};
int recorder_ops_build(const struct recorder_journal *j, const char *snapshot_dir, struct recorder_ops *out,
                       char *err, size_t errlen);
/* A name of file id (relative to the root; the first it had), or NULL. */
const char *recorder_ops_path(const struct recorder_ops *o, uint32_t file);
void recorder_ops_free(struct recorder_ops *o);

/* ---- the crash image -------------------------------------------------------- */
struct recorder_image_stats {
    uint64_t records;        /* journal records up to the cut */
    uint64_t files, dirs;    /* in the image (files: each file or symbolic link once, whatever its names) */
    uint64_t bytes;          /* file bytes in the image */
    uint64_t unknown_opens;  /* opens of paths the journal never created (not seen) */
    uint64_t flags;          /* RECORDER_FLAG records up to the cut */
    uint64_t max_sync_ns;    /* longest completed sync up to the cut */
    uint64_t torn_bytes;     /* journal bytes after a torn record (counted in flags too) */
};

/* Builds into out_dir (created; must not exist) the root a power cut at
 * at_ns (CLOCK_MONOTONIC, as in the journal; UINT64_MAX: after the last
 * record) would leave under model (any of the engine's: pl_model_parse),
 * from snapshot_dir (the root before the program started) and the journal:
 * recorder_ops_build, then the engine decides and writes the state.  seed
 * drives the random models.  stats may be NULL. */
int recorder_image_build(const struct recorder_journal *j, const char *snapshot_dir,
                         uint64_t at_ns, const struct pl_model *model, uint64_t seed,
                         const char *out_dir, struct recorder_image_stats *stats,
                         char *err, size_t errlen);
/* The same from operations already built (o from j): many cuts of one run. */
int recorder_image_from_ops(const struct recorder_ops *o, const struct recorder_journal *j, uint64_t at_ns,
                            const struct pl_model *model, uint64_t seed, const char *out_dir,
                            struct recorder_image_stats *stats, char *err, size_t errlen);

/* ---- directory helpers ------------------------------------------------------ */
int recorder_tree_copy(const char *from, const char *to, char *err, size_t errlen);
int recorder_tree_remove(const char *path, char *err, size_t errlen);   /* absent: 0 */
int recorder_tree_chown(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen);

/* ---- crash trials against a target ------------------------------------------ */
#define RECORDER_MAX_SETTINGS 16
#define RECORDER_MAX_CUTS 64
#define RECORDER_MAX_TRIALS 10000

struct recorder_setting { const char *key, *value; };

struct recorder_crash_config {
    const char *target;        /* "contract", "sqlite", "redis", "postgres" */
    struct recorder_setting settings[RECORDER_MAX_SETTINGS];
    unsigned nsettings;
    const char *run_cmd, *check_cmd;   /* contract only */
    struct pl_model model;     /* the engine's (pl_model_parse) */
    unsigned trials;           /* 1 .. RECORDER_MAX_TRIALS */
    double seconds;            /* the longest a trial's program runs before the kill */
    unsigned cuts;             /* earlier cut points per trial, 0 .. RECORDER_MAX_CUTS */
    uint64_t seed;
    const char *dir;           /* scratch directory: trial data lives in dir/fsynclab-rec-<pid>/ */
    int keep;                  /* leave the trial directories behind */
    unsigned check_timeout_ms; /* a check or a server start; 0: 60 s */
    struct recorder_faults faults;   /* --fault: injected into every trial's recorded run */
};

/* What a program did with an injected fault, per trial: the classes from
 * safe to worst (recorder/targets/target_fault.c says how each is told). */
enum recorder_fault_class { RECORDER_FAULT_STOPS = 0, RECORDER_FAULT_REPORTS, RECORDER_FAULT_IGNORES,
                            RECORDER_FAULT_RETRIES_AND_LOSES, RECORDER_FAULT_IGNORES_AND_LOSES,
                            RECORDER_FAULT_CORRUPTS, RECORDER_FAULT_NCLASSES };
const char *recorder_fault_class_name(unsigned c);
struct recorder_fault_result {
    unsigned fired, not_fired;          /* trials whose run met a fault, and whose did not */
    double fired_ms_min, fired_ms_max;  /* when, in ms after the run's first journal record */
    char call[24];                      /* the first fault that fired: its call */
    unsigned reported;                  /* trials: the program told its client (an error reply) */
    unsigned crashed;                   /* it exited, or dropped its client's connection */
    unsigned refused;                   /* up, but acknowledged nothing after the fault */
    unsigned went_on;                   /* acknowledged after the fault */
    unsigned retried;                   /* a later sync of the faulted file succeeded */
    uint64_t acked_after;               /* acknowledgements after the fault, all trials */
    uint64_t lost_power_max;            /* acked keys lost: a power cut at the kill, after the fault */
    uint64_t lost_restart_max, lost_restart_total;   /* a restart: no power cut, the kernel wrote
                                                        back all it still could */
    unsigned images, images_ok;         /* those two states per trial, checked; recovered */
    unsigned within_promise;            /* trials whose restart loss lies within the promised window */
    uint64_t pages_rewritten;           /* pages a failed sync dropped that a later write into the
                                           page dirtied again (without rewriting those bytes): the
                                           engine writes them back with it, as Linux does */
    unsigned classes[RECORDER_FAULT_NCLASSES];   /* trials per class */
    int classification;                 /* the worst class of the trials; -1: null */
    char null_reason[200];
    const char *documented;             /* the program's documented behaviour on a failed fsync */
};

/* A setting as the program reports it (CONFIG GET, SHOW, PRAGMA). */
struct recorder_setting_seen { char key[64], value[192]; };

struct recorder_crash_result {
    char target[32];
    struct pl_model model;
    unsigned trials, trials_valid;   /* valid: the program acknowledged something before the kill */
    unsigned images, recovered_ok;
    uint64_t acked_total, acked_lost_max, acked_lost_total;
    double loss_window_ms_p50, loss_window_ms_max;   /* over images that lost something; 0 if none */
    double max_sync_ms;              /* longest sync the journals hold (not in the verdict) */
    double allowance_ms;             /* promise + calibration_sync_p99, fixed before the trials */
    double calibration_sync_p50_us, calibration_sync_p99_us;
    struct recorder_setting_seen applied[RECORDER_MAX_SETTINGS];
    unsigned napplied;
    unsigned invalid_no_ack, invalid_exited;   /* invalid trials by reason */
    char invalid_example[512];       /* the first invalid trial's reason, with its stderr */
    char held_null_reason[256];      /* why held is null */
    uint64_t journal_torn_bytes;
    unsigned runs_without_writes;    /* trials whose journal holds no write or sync */
    uint64_t check_foreign_max;      /* most check lines in one image that are no key of the run */
    char check_foreign[128];         /* the first of them */
    uint64_t ack_reads, ack_reads_partial;   /* reads of ack lines; those ending mid-line */
    int acks_bursty;                 /* most reads end mid-line: the program buffers stdout */
    const char *promised;            /* quoted from the program's documentation */
    double promised_window_ms;       /* < 0: the documentation gives no number */
    int integrity_only;              /* the promise is about recovering, not about loss */
    int held;                        /* 1, 0, or -1 (null: no trial could have shown otherwise) */
    uint64_t unseen_flags;           /* flag records: calls the recorder could not see */
    /* Set by a target that looks for open io_uring and AIO rings in its
     * program at run time: the recorder's "liburing is loaded" flags are
     * then answered (counted here) and do not void the verdict. */
    int async_io_checked;
    uint64_t unseen_flags_answered;
    char target_null_reason[200];    /* set by a target: why its runs give no verdict */
    char unseen[256];                /* the first of them */
    uint64_t unknown_opens;
    uint64_t journal_bytes, journal_ops;
    double image_ms_max;             /* longest image build */
    char note[512];                  /* what the target set or saw that the figures need beside them */
    struct recorder_fault_result fault;   /* with --fault only (cfg->faults.n) */
};

/* ---- exploring one run (`fsynclab explore`, recorder/targets/explore.c) ---- */
#define RECORDER_MAX_VULNS 32
#define RECORDER_MAX_OPS 100000

/* One vulnerability: failing states grouped by the operation whose
 * absence explains them (its kind, its path with digits as *, its call
 * site in the program). */
struct recorder_vuln {
    char kind[16];          /* file-fsync, dir-fsync, rename-data, torn-write, process-crash */
    char op[16];            /* write, setsize, create, rename, unlink, ...; "-" for none */
    char path[160];         /* the operation's path, each run of digits as * */
    char site[256];         /* "function (file.c:12)", "object+0x1a2b", "?" */
    char fix[160];
    char example[320];      /* the first point that shows it, in words */
    uint64_t states;        /* failing states it explains */
    uint64_t keys_lost;     /* the most acknowledged keys one of them lost */
    uint64_t points;        /* crash points where it shows */
    int breaks;             /* breaks the program's promise (else: allowed by it) */
};

struct recorder_explore_config {
    struct recorder_crash_config crash;   /* target, settings, run/check, model (drop or
                                             ext4), seconds (the run's time limit), dir,
                                             keep, check_timeout_ms */
    unsigned ops;                         /* acknowledgements the workload makes */
    unsigned max_points, max_states;
};

struct recorder_explore_result {
    struct recorder_crash_result run;     /* target, settings, promise, what the recorder
                                             could not see (trials = 1) */
    char model[16];
    uint64_t acks;                        /* acknowledgements of the run */
    uint64_t acks_journaled;              /* of them, placed by the program's own `ack` record */
    uint64_t journal_records, list_ops;   /* the journal, and the operations it made */
    uint64_t points_total, points;        /* crash points found, explored */
    char points_choice[160];              /* how --max-points chose them ("" : all) */
    uint64_t states_generated, states_distinct, states_checked;
    uint64_t states_cut;                  /* not generated: --max-states */
    uint64_t states_failed;               /* generated states that failed their point */
    uint64_t states_unrecovered;          /* distinct states the check could not recover */
    struct recorder_vuln vulns[RECORDER_MAX_VULNS];
    unsigned nvulns, vulns_dropped;       /* dropped: more kinds than the table holds */
    double explore_s, check_s;            /* wall time; of it, in the checks */
    int held;                             /* 1, 0, -1 (null, run.held_null_reason says why) */
};

/* The result's JSON body and text table are report/'s: report_recorder_body,
 * report_print_recorder_table. */

#endif
