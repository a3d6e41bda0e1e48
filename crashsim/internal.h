/* crashsim/internal.h: what the files of crashsim/ share and nobody else
 * may use.  The public interface is crashsim/crashsim.h; nothing here is
 * part of it and any of it may change with the module.
 *
 *   ledger.c  the shared-memory ledger and THE ORDERING ARGUMENT
 *   seam.c    the wrapper at the storage seam, with its failure points
 *   writer.c  the forked writer (child side)
 *   trial.c   one trial (parent side)
 *   forkserver.c  the helper that makes a run's writers
 *   run.c     runs of trials, one strategy or several
 *   model.c   the power-loss models
 */
#ifndef FSYNCLAB_CRASHSIM_INTERNAL_H
#define FSYNCLAB_CRASHSIM_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "crashsim/crashsim.h"
#include "powerloss/powerloss.h"   /* pl_splitmix64: every random draw of a trial */

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2 &&
                   ATOMIC_SHORT_LOCK_FREE == 2,
               "the ledger needs lock-free (address-free) atomics");

#define CRASHSIM_PAGE 4096u

/* A sync in flight: start_ns 0 when the slot is free, CRASHSIM_SLOT_CLAIMED
 * while its owner fills in covered. */
#define CRASHSIM_SLOT_CLAIMED UINT64_MAX
struct crashsim_sync_slot {
    _Atomic uint64_t start_ns;
    _Atomic uint64_t covered;
};

/* One sync of the trial's sync log (a timeline's capture): id is the
 * sync's number + 1 once the rest is filled in, 0 before. */
struct crashsim_sync_rec {
    _Atomic uint64_t id;
    _Atomic uint64_t start_ns, end_ns, covered;
    _Atomic uint32_t lane;
    _Atomic int32_t rc;
};

/* The header pages, shared by parent and writer. */
struct crashsim_shared {
    uint64_t entries;
    uint32_t entry_size;
    _Atomic uint64_t intent_bytes;
    _Atomic uint64_t written_bytes;
    _Atomic uint64_t durable_bytes;
    _Atomic uint64_t acked;             /* acks counted */
    _Atomic uint64_t acked_max_seq;     /* raised before the ack is recorded */
    _Atomic uint64_t first_ack_ns, last_ack_ns;
    _Atomic uint64_t syncs_started, syncs_ok, syncs_failed;
    _Atomic uint64_t sync_max_ns;
    struct crashsim_sync_slot slots[CRASHSIM_SYNC_SLOTS];
    _Atomic int writer;             /* enum crashsim_writer */
    _Atomic int append_rc, append_rc_next, append_op;
    _Atomic uint64_t died_ns;
    _Atomic uint64_t sync_log_n;    /* syncs noted in the sync log (the last
                                       CRASHSIM_SYNC_LOG are kept) */
    struct wal_log_id id;           /* the trial's epoch and payload seed, set before fork */
    /* The ack that makes acked reach wake_acks (set before the writer
     * runs; 0: never) arms the writer's own kill: a POSIX timer that sends
     * it SIGKILL at kill_at_ns, kill_draw (drawn by the parent) modulo one
     * mean ack interval later (start_ns, the trial's start, stands in for
     * the first ack's time when it is the first).  It then sets wake (a
     * futex word) to 1: the parent sleeps on it, so that it waits without
     * polling the writer's CPU. */
    uint64_t wake_acks, kill_draw, start_ns;
    _Atomic uint64_t kill_at_ns;    /* 0 until the kill is armed */
    _Atomic uint32_t wake;
    char error[4608];               /* the writer's setup failure (names the path) */
};
#define CRASHSIM_HEADER_BYTES \
    (((sizeof(struct crashsim_shared) + CRASHSIM_PAGE - 1) / CRASHSIM_PAGE) * CRASHSIM_PAGE)

struct crashsim_ledger {
    struct crashsim_shared *sh;
    _Atomic uint64_t *write_ns;     /* [entries] */
    _Atomic uint64_t *ack_ns;       /* [entries] */
    _Atomic uint16_t *ack_lane;     /* [entries]: the thread that acknowledged it */
    struct crashsim_sync_rec *sync_log;   /* [CRASHSIM_SYNC_LOG], a ring */
    void *map;
    size_t map_len, array_len, lane_len;
};

/* ledger.c: S3 without a slot: the sync's result, and covered made durable
 * on success (an O_DSYNC write standing in for a sync). */
void crashsim_publish_sync(struct crashsim_shared *sh, uint64_t covered, uint64_t start_ns,
                           uint64_t end_ns, int rc);
/* ledger.c: wakes the parent asleep on sh->wake. */
void crashsim_ledger_wake(struct crashsim_ledger *l);

/* writer.c: the child's whole life after fork; ends only by SIGKILL (or
 * _exit after a setup failure recorded in the ledger).  It is the two
 * halves below, one after the other. */
_Noreturn void crashsim_writer_main(const struct crashsim_config *cfg, struct crashsim_ledger *l,
                                    const char *path, const struct crashsim_trial_opts *opts,
                                    pid_t parent);
/* The scratch file opened (created, its directory synced, wrapped), or why
 * not: a failure is only kept here, and reported in the ledger by
 * crashsim_writer_run, so that a spare (forkserver.c) may open its file
 * while the ledger still belongs to the trial before its own. */
struct crashsim_writer_file {
    struct wal_file *file;
    struct wal_log *log;            /* opened ahead on file (not under batch), else NULL */
    timer_t kill_timer;             /* sends the writer SIGKILL once armed */
    int rc;
    char msg[sizeof ((struct crashsim_shared *)0)->error];
};
/* The first half: signals, the parent check, opts->child_hook, the file.
 * Touches nothing in l. */
void crashsim_writer_prepare(const struct crashsim_config *cfg, struct crashsim_ledger *l,
                             const char *path, const struct crashsim_trial_opts *opts,
                             pid_t parent, struct crashsim_writer_file *o);
/* The second half, the trial itself: the log on o's file, under the
 * trial's id (l->sh->id), and its appends. */
_Noreturn void crashsim_writer_run(const struct crashsim_config *cfg, struct crashsim_ledger *l,
                                   const char *path, struct crashsim_writer_file *o);

/* trial.c: a trial in three steps, so that a run may start the next one
 * while it finishes this one (run.c).  crashsim_trial is the three in a
 * row.
 *   _start  sets the trial up and starts its writer (out is filled in as
 *           the trial goes); on failure nothing is left to finish;
 *   _watch  waits for the crash point: the writer gone, failed or done,
 *           the deadline, or its kill armed (_armed then says so: the
 *           writer's own timer kills it, at most half a second later);
 *           returns the parent's clock then;
 *   _finish reaps the writer, applies the model and verifies, removes the
 *           file; or _abort only stops the writer and removes the file. */
struct crashsim_inflight {
    const struct crashsim_config *cfg;
    const struct crashsim_trial_opts *opts;
    struct crashsim_ledger *l;
    struct crashsim_ledger *own;     /* made for this trial alone, else NULL */
    struct crashsim_trial_result *out;
    long expire_ms, interval_ms;
    uint64_t model_seed;
    uint64_t start, deadline;
    uint64_t kill_at;                /* the instant the kill was armed for, 0 when none was */
    int timer_kill;                  /* the writer's timer kills it at kill_at */
    char path[WAL_PATH_MAX];
    pid_t pid;
    int status, reaped;
};
int crashsim_trial_start(struct crashsim_inflight *t, const struct crashsim_config *cfg,
                         struct crashsim_ledger *l, uint64_t seed,
                         const struct crashsim_trial_opts *opts, struct crashsim_trial_result *out,
                         char *err, size_t errlen);
uint64_t crashsim_trial_watch(struct crashsim_inflight *t);
int crashsim_trial_armed(const struct crashsim_inflight *t);
int crashsim_trial_finish(struct crashsim_inflight *t, uint64_t crash, char *err, size_t errlen);
void crashsim_trial_abort(struct crashsim_inflight *t);

/* trial.c: -EINVAL with "crash config: invalid <field>" in err. */
int crashsim_check_config(const struct crashsim_config *cfg, char *err, size_t errlen);
/* calibrate.c: before a run's trials, the latency of a durable append
 * under cfg's sync method on a scratch file in cfg->dir (the sync alone;
 * under O_DSYNC the write): its median and 99th percentile; and how many
 * appends a second the file takes without a sync. */
int crashsim_calibrate(const struct crashsim_config *cfg, uint64_t *p50_ns, uint64_t *p99_ns,
                       uint64_t *appends_per_sec, char *err, size_t errlen);

/* trial.c: the writeback parameters, -1 meaning the kernel's own
 * (/proc/sys/vm/dirty_*_centisecs). */
void crashsim_resolve_writeback(long expire_ms, long interval_ms, long *e, long *i);

/* ---- for crashsim's files and its own test (tests/test_crashsim*.c) ---------- */

/* ---- failure points at the seam (libfiu) ---------------------------------
 * Checked with fiu_fail() inside the wrapper.  The failinfo decides what a
 * failing point does: CRASHSIM_FIU_DIE makes the writer raise(SIGKILL) on
 * the spot; CRASHSIM_FIU_ERRNO(e) makes the call return -e (NULL: -EIO).
 *   write/before  before the ledger notes the write and before pwrite
 *   write/after   after pwrite returned, before the ledger marks it done
 *   sync/before   after the ledger notes a sync in flight, before the sync
 *                 (dying here is a crash in the middle of a sync)
 *   sync/after    after the sync returned, before the ledger publishes it */
#define CRASHSIM_FIU_WRITE_BEFORE "crashsim/write/before"
#define CRASHSIM_FIU_WRITE_AFTER "crashsim/write/after"
#define CRASHSIM_FIU_SYNC_BEFORE "crashsim/sync/before"
#define CRASHSIM_FIU_SYNC_AFTER "crashsim/sync/after"
#define CRASHSIM_FIU_DIE ((void *)(intptr_t)-1)
#define CRASHSIM_FIU_ERRNO(e) ((void *)(intptr_t)(e))

/* ---- the wrapper ---------------------------------------------------------
 * Wraps inner (taking ownership: closing the wrapper closes inner) so that
 * every call is recorded in l.  writes_durable: each completed write is
 * durable by itself (O_DSYNC, O_DIRECT_DSYNC), so it is published as a
 * sync. */
int crashsim_file_wrap(struct wal_file *inner, struct crashsim_ledger *l, int writes_durable,
                       struct wal_file **out);

/* Applies model to the log in fd (open for reading and writing) as the
 * ledger l describes it, for a crash at crash_ns; seed drives the random
 * choices.  expire_ms / interval_ms are the writeback model's (>= 0;
 * interval 0 means the flusher never runs); sector is the disk's atomic
 * unit (0: 512, or 4096). */
int crashsim_apply_model(int fd, const struct crashsim_ledger *l, const struct pl_model *model,
                         uint64_t seed, uint64_t crash_ns, long expire_ms, long interval_ms,
                         unsigned sector, struct crashsim_damage *out, char *err, size_t errlen);

enum crashsim_kill {
    CRASHSIM_KILL_RANDOM = 0,   /* at a random instant while entries are acknowledged */
    CRASHSIM_KILL_WAIT,         /* only when the writer died at a failure point, an
                                   append failed, it acknowledged every entry (and,
                                   under batch, the flusher synced them all), or the
                                   deadline came */
};

struct crashsim_forkserver;

struct crashsim_trial_opts {
    enum crashsim_kill kill;
    struct crashsim_forkserver *server;    /* makes the writer; NULL: fork it here */
    uint64_t deadline_ns;                  /* CLOCK_MONOTONIC; 0: one minute from now */
    void (*child_hook)(void *arg);         /* run in the writer right after fork */
    void *hook_arg;
    long writeback_expire_ms, writeback_interval_ms;   /* < 0: /proc */
};

void crashsim_ledger_state(const struct crashsim_ledger *l, struct crashsim_ledger_state *out);

/* ---- the fork server (forkserver.c) -----------------------------------------
 * A helper forked once per run that clones each trial's writer as a child
 * of the caller (CLONE_PARENT), one ahead of the trial that needs it.  The
 * caller holds the scratch guard from start to stop: the helper's process
 * group is listed in it.  cfg, l and opts are the writers' (opts->server
 * is not used by them): writer n (from 1) appends to l[n % 2], so that a
 * run may check a trial's ledger while the next writer fills the other
 * (the two may be one when the run never overlaps trials). */
#define CRASHSIM_SPARES_AHEAD 2    /* under none; else 1 */
#define CRASHSIM_SPARE_PATHS 4     /* a trial being checked, the next, the spares */
struct crashsim_forkserver {
    pid_t pid;                     /* the helper, which leads the group; 0: none */
    pid_t parent;
    int req_fd, pid_fd;            /* requests out, pids in (the caller's ends) */
    uint32_t asked, taken;         /* writers asked for, handed out */
    struct crashsim_go *go;            /* shared: the writer released and the paths */
    char paths[CRASHSIM_SPARE_PATHS][WAL_PATH_MAX];   /* writer n's: paths[n % 4] */
    const char *list[CRASHSIM_SPARE_PATHS];           /* all, on the scratch guard's list */
    const struct crashsim_config *cfg;
    struct crashsim_ledger *l[2];
    const struct crashsim_trial_opts *opts;
};
int crashsim_forkserver_start(struct crashsim_forkserver *fs, const struct crashsim_config *cfg,
                              struct crashsim_ledger *l0, struct crashsim_ledger *l1,
                              const struct crashsim_trial_opts *opts, char *err, size_t errlen);
/* Whether a run may release a writer while the last one is still to be
 * reaped and checked: only when neither syncs (none, without O_DSYNC), so
 * that no sync's latency is measured beside another trial's work. */
int crashsim_trials_overlap(const struct crashsim_config *cfg);
/* The ledger of the next writer to be taken. */
struct crashsim_ledger *crashsim_forkserver_ledger(const struct crashsim_forkserver *fs);
/* The next writer's pid and the scratch file it has opened (or failed to,
 * which it reports once released); it runs from _go on. */
int crashsim_forkserver_take(struct crashsim_forkserver *fs, char *path, size_t pathlen,
                             pid_t *pid, char *err, size_t errlen);
/* Releases the writer taken; under none (no O_DSYNC), asks at once for
 * the writers after it, CRASHSIM_SPARES_AHEAD of them. */
void crashsim_forkserver_go(struct crashsim_forkserver *fs);
/* Asks for the next writer now if none is asked for (once the writer is
 * reaped). */
void crashsim_forkserver_ahead(struct crashsim_forkserver *fs);
/* Kills and reaps the helper and a spare writer; frees the rest. */
void crashsim_forkserver_stop(struct crashsim_forkserver *fs);
/* trial.c: libfiu's start, once per process, before any writer exists. */
void crashsim_fiu_start(void);
/* trial.c: the next trial's scratch path in dir, unique in the process. */
int crashsim_scratch_path(char *buf, size_t len, const char *dir);

#endif
