/* targets/internal.h: what the files of recorder/targets/ share (and
 * its unit tests); not for other modules.  The process-group helpers live
 * in target_proc.c.
 */
#ifndef FSYNCLAB_RECORDER_TARGETS_INTERNAL_H
#define FSYNCLAB_RECORDER_TARGETS_INTERNAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "powerloss/powerloss.h"
#include "recorder/targets/targets.h"

struct target_keyset {   /* keys found on an image: open addressing */
    char **slots;
    size_t cap, n;
};
int target_keyset_add(struct target_keyset *s, const char *key);
int target_keyset_has(const struct target_keyset *s, const char *key);
void target_keyset_free(struct target_keyset *s);

struct target_trial {
    const struct recorder_crash_config *cfg;
    char base[PATH_MAX];      /* the trial's directory */
    char data[PATH_MAX];      /* base/data: the recorded root */
    char journal[PATH_MAX];   /* base/journal */
    char lib[PATH_MAX];       /* the preload library */
    char sock[128];           /* the trial's Unix sockets go here: a short path under $TMPDIR or
                                 /tmp, since sun_path holds 108 bytes and --dir may be deep */
    uint64_t run_ns;          /* how long the workload runs before the kill */
    uint64_t kill_ns;         /* when to kill (set by run); then when it happened */
    struct target_ack *acks;
    size_t nacks, capacks;
    uid_t uid;                /* who runs the program (root: an unprivileged user) */
    gid_t gid;
    int drop_privileges;
    const char *cwd;          /* the working directory of what target_spawn starts; NULL: ours */
    struct recorder_crash_result *out;   /* target_applied() fills its settings */
    int exited, exit_status;  /* the run ended by itself before the kill, with this wait status */
    uint64_t ack_reads, ack_reads_partial;   /* target_read_acks: reads, and those ending mid-line */
    struct target_keyset late;   /* acks read only after the kill: keys of the run, never counted */
    /* --fault: what the program told its client (target_client_error) */
    unsigned client_errors;      /* error replies */
    uint64_t client_error_ns;    /* the first error or lost connection */
    char client_error[160];
    int conn_lost;               /* the server closed its client's connection */
    unsigned ops;             /* explore: the workload stops after this many acks (FSYNCLAB_OPS); 0: none */
};
/* Records an ack; the first one, when it comes after t->kill_ns, moves the
 * kill instant to it. */
int target_ack(struct target_trial *t, const char *key, size_t len, uint64_t ns);
/* 1 until t->kill_ns, or until the first ack when none came by then (at
 * most --check-timeout more); 0 also after a signal. */
int target_running(const struct target_trial *t);

struct target_ops {
    const char *name;
    /* The --set keys the target accepts, NULL-terminated.  target_crash_run
     * refuses any other key, and a repeated one, before setup. */
    const char *const *keys;
    /* Checks the settings; fills the promise fields of out. */
    int (*setup)(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                 char *err, size_t errlen);
    int (*prepare)(struct target_trial *t, char *err, size_t errlen);   /* may be NULL */
    /* Runs the program under the recorder, acknowledging into t, kills its
     * process group at t->kill_ns (or when it ends) and reaps it. */
    int (*run)(struct target_trial *t, char *err, size_t errlen);
    /* Starts the program (or the check) on image; *ok: it recovered. */
    int (*check)(struct target_trial *t, const char *image, struct target_keyset *found, int *ok,
                 char *err, size_t errlen);
};

/* target_fault.c.  A client of the program got an error (what, at ns;
 * lost: the connection is gone).  With --fault it is noted and 1 is
 * returned: the caller ends its run there, as a result; without, 0 (an
 * error of the run). */
int target_client_error(struct target_trial *t, uint64_t ns, const char *what, int lost);
/* After a trial's run with --fault: when the fault fired, what the
 * program did, and the acked keys a power cut at the kill and a restart
 * lose under the engine's EIO rule (two states, checked with ops). */
int target_fault_trial(const struct target_ops *ops, struct target_trial *t, const struct recorder_journal *j,
                       struct recorder_crash_result *out, char *err, size_t errlen);
/* The run's classification from its trials (or null, with the reason). */
void target_fault_verdict(struct recorder_crash_result *out);

/* Reads `ack KEY` lines from fd until t->kill_ns or end of file. */
int target_read_acks(struct target_trial *t, int fd, char *err, size_t errlen);
/* After the kill: the ack lines still in the pipe into t->late (the
 * program gave them, fsynclab read them too late to count them). */
void target_drain_acks(struct target_trial *t, int fd);

extern const struct target_ops target_contract, target_sqlite, target_redis, target_postgres;
extern const struct target_ops target_mariadb, target_rocksdb, target_lmdb;

const char *target_setting(const struct recorder_crash_config *cfg, const char *key, const char *dflt);
uint64_t target_now_ns(void);
/* Refuses (-EINVAL, a message naming the allowed keys) a key ops does not
 * list or one given twice. */
int target_check_keys(const struct target_ops *ops, const struct recorder_crash_config *cfg, char *err,
                      size_t errlen);
/* Records a setting as the program reports it (the result's settings). */
void target_applied(struct recorder_crash_result *out, const char *key, const char *value);
/* A strict number: all of s, finite, lo <= x <= hi.  0 or -EINVAL. */
int target_number(const char *s, double lo, double hi, double *x);
/* The last lines (up to 3, joined by " | ") of <trial>/stderr.log from
 * byte from on; "" when there are none.  target_log_size: where it ends now. */
void target_log_tail(const struct target_trial *t, long from, char *out, size_t outlen);
long target_log_size(const struct target_trial *t);
/* The check's or a server start's time limit in ms (--check-timeout). */
int target_timeout_ms(const struct target_trial *t);

/* proc.c: process groups.  A spawned child runs in its own process group
 * (its pid); with recorded set it runs under the recorder on t->data.
 * env: extra NAME=VALUE strings (NULL-terminated, may be NULL).  out_fd:
 * when not NULL, the child's stdout is a pipe whose read end lands here. */
int target_spawn(struct target_trial *t, char *const argv[], char *const env[], int recorded,
                 int drop_privileges, int *out_fd, pid_t *pid, char *err, size_t errlen);
/* Freezes (SIGSTOP) and kills (SIGKILL) the process tree under root and
 * its process group, then reaps all of it (the caller is a child
 * subreaper, so orphans of the tree are its children).  A child's stderr
 * goes to <trial>/stderr.log unless FSYNCLAB_REC_VERBOSE is set. */
void target_kill_group(pid_t pgid);
/* enter 1: until target_guard(0), a SIGINT or SIGTERM is noted by wal's one
 * guard, entered deferred (a second one ends fsynclab at once);
 * target_stopped() then returns it, every loop
 * that waits checks it and unwinds through the usual kill, reap and IPC
 * removal, and target_crash_run removes the trial directories and ends
 * the program by the signal. */
void target_guard(int enter);
int target_stopped(void);
/* Kills and reaps every process left that fsynclab started (its children,
 * orphans included: it is their subreaper). */
void target_reap_all(void);
/* Waits for the child to exit by itself, up to timeout_ms; 1: it did. */
int target_wait(pid_t pid, int timeout_ms, int *status);
/* "exit status 3", "killed by signal 9"; status < 0: "no exit status". */
void target_status_text(int status, char *out, size_t outlen);
/* The path of a helper next to the preload library (fsynclab-sqlite-worker). */
int target_helper(const struct target_trial *t, const char *name, char *out, size_t outlen);
/* Runs argv (not recorded) to completion with output to /dev/null; status in *status. */
int target_run_quiet(struct target_trial *t, char *const argv[], int drop_privileges, int timeout_ms,
                     int *status, char *err, size_t errlen);

/* Syncs measured on a scratch file in dir before the trials
 * (target_calibrate.c): median and 99th percentile in microseconds. */
int target_calibrate(const char *dir, double *p50_us, double *p99_us, char *err, size_t errlen);
/* target_embedded.c: the rocksdb and lmdb targets' programs, fsynclab-NAME-worker
 * next to the preload library.  run: `run ARGS...` under the recorder on
 * t->data until t->kill_ns, acknowledging into t.  check: `check DIR`
 * (not recorded); *ok: it opened and listed DIR; reason: why not. */
int target_worker_run(struct target_trial *t, const char *name, const char *const args[], int *aio, char *err,
                      size_t errlen);
/* 1: process pid has an io_uring descriptor or a Linux AIO ring mapped:
 * asynchronous I/O the recorder cannot see.  *aio of target_worker_run:
 * the worker had one at the kill. */
int target_aio_open(pid_t pid);
/* `prepare ARGS...`, not recorded: the database as installed. */
int target_worker_prepare(struct target_trial *t, const char *name, const char *const args[], char *err,
                          size_t errlen);
int target_worker_check(struct target_trial *t, const char *name, const char *dir, struct target_keyset *found,
                        int *ok, char *reason, size_t rlen, char *err, size_t errlen);
/* The process-crash check: a copy of t->data as the kill left it (the
 * page cache intact: no power cut), checked as an image is. */
int target_worker_killed(struct target_trial *t, const char *name, uint64_t *acked, uint64_t *lost, char *reason,
                         size_t rlen, char *err, size_t errlen);

/* crash.c's steps that explore.c takes too: the target by name (NULL:
 * none), the run directory dir/fsynclab-rec-<pid> made afresh, the short
 * directory of the Unix sockets, and the journal's flags into out. */
const struct target_ops *target_find(const char *name);
int target_run_dir(const struct recorder_crash_config *cfg, char *run, size_t runlen, char *err, size_t errlen);
int target_sock_root(char *out, size_t outlen, char *err, size_t errlen);
void target_journal_flags(const struct recorder_journal *j, struct recorder_crash_result *out);

/* explore.c and explore_cause.c: one exploration's state. */
struct xp_seen {             /* a distinct state and its check */
    uint64_t hash;
    int used, ok;
    unsigned char *found;    /* bit i: acks[i].key is in it */
};
struct xp_point {
    size_t cut;              /* ops[0 .. cut) happened */
    size_t acked;            /* acks[0 .. acked) were read by then */
};
struct xp_verdict {
    int ok, fail;
    uint64_t lost;
    size_t oldest;           /* the first lost ack (SIZE_MAX: none) */
};
struct xp {
    const struct recorder_explore_config *cfg;
    const struct target_ops *ops;
    struct target_trial *t;
    struct recorder_explore_result *out;
    size_t nacks;
    struct recorder_journal j;
    struct recorder_ops rops;
    struct recorder_sites *sites;
    struct pl_engine *e;
    struct pl_model m;
    struct pl_state st;
    struct xp_seen *seen;
    size_t seencap, nseen;
    struct xp_point *pts;
    size_t npts;
    struct pl_piece *cand, *keep;   /* the point's unsynced pieces; a state's keep set */
    size_t ncand, capcand;
    struct xp_verdict *vp;          /* [2 * capcand]: prefixes, then all-but-one */
    size_t *last_point;             /* [RECORDER_MAX_VULNS]: the last point each showed at, + 1 */
    size_t *apos;                   /* [nacks]: the operations done when ack k was given */
    uint64_t *ans;                  /* [nacks]: when (the journal's instant, else the read's) */
};

/* explore.c: where a write piece's first sector ends (0: not a write over
 * more than one). */
uint64_t xp_torn_end(const struct xp *x, const struct pl_piece *p);
/* explore_cause.c: the point's failing states laid on their causes.  pre[p]:
 * the prefix of p unsynced pieces (pre[ncand]: all); minus[k]: all but k. */
int xp_explain(struct xp *x, size_t pi, const struct xp_verdict *pre, const struct xp_verdict *minus,
               char *err, size_t errlen);
/* A failing prefix of k + 1 pieces whose last write (piece k) was torn. */
int xp_explain_torn(struct xp *x, size_t pi, size_t k, const struct xp_verdict *v, const struct xp_verdict *pre,
                    const struct xp_verdict *minus, char *err, size_t errlen);

#endif
