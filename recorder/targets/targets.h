/* targets: the programs target_crash_run() drives, behind one interface.
 *
 * DESIGN.  A target knows how to prepare a fresh data directory (not
 * recorded: e.g. initdb), run its program under the recorder until the
 * kill instant while timestamping acknowledgements, and check an image
 * (start the program on it, or run the check command) and list the keys
 * it finds.  recorder/crash.c does the rest (snapshot, kill, cuts,
 * images, counting) the same way for all of them.  Helpers for starting
 * and killing process groups live in recorder/targets/proc.c.
 */
#ifndef FSYNCLAB_RECORDER_TARGETS_H
#define FSYNCLAB_RECORDER_TARGETS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "recorder/recorder.h"

struct target_ack {
    char *key;
    uint64_t ns;       /* CLOCK_MONOTONIC when fsynclab learnt of it */
};

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
    uint64_t run_ns;          /* how long the workload runs before the kill */
    uint64_t kill_ns;         /* when to kill (set by run); then when it happened */
    struct target_ack *acks;
    size_t nacks, capacks;
    uid_t uid;                /* who runs the program (root: an unprivileged user) */
    gid_t gid;
    int drop_privileges;
};
int target_ack(struct target_trial *t, const char *key, size_t len, uint64_t ns);

struct target_ops {
    const char *name;
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
    const char *const *keys;   /* the --set keys it accepts, NULL-terminated */
};

/* Reads `ack KEY` lines from fd until t->kill_ns or end of file. */
int target_read_acks(struct target_trial *t, int fd, char *err, size_t errlen);

extern const struct target_ops target_contract, target_sqlite, target_redis, target_postgres;
extern const struct target_ops target_mariadb, target_rocksdb, target_lmdb;

const char *target_setting(const struct recorder_crash_config *cfg, const char *key, const char *dflt);
uint64_t target_now_ns(void);

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
/* enter 1: until target_guard(0), SIGINT and SIGTERM kill and reap every
 * process group target_spawn started and not yet killed, then end the
 * program by the signal. */
void target_guard(int enter);
/* Waits for the child to exit by itself, up to timeout_ms; 1: it did. */
int target_wait(pid_t pid, int timeout_ms, int *status);
/* The path of a helper next to the preload library (fsynclab-sqlite-worker). */
int target_helper(const struct target_trial *t, const char *name, char *out, size_t outlen);
/* Runs argv (not recorded) to completion with output to /dev/null; status in *status. */
int target_run_quiet(struct target_trial *t, char *const argv[], int drop_privileges, int timeout_ms,
                     int *status, char *err, size_t errlen);

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
/* -EINVAL with a message naming the allowed keys when cfg has a key not in
 * keys, or one key twice. */
int target_check_settings(const struct recorder_crash_config *cfg, const char *target, const char *const *keys,
                          char *err, size_t errlen);

/* Runs cfg->trials crash trials and fills out.  Every process started is
 * killed with its process group and reaped before this returns. */
int target_crash_run(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                     char *err, size_t errlen);

#endif
