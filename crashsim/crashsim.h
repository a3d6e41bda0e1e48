/* crashsim: crash trials for the log under test.
 *
 * A trial forks a writer (one or more threads appending to one log)
 * through one strategy onto a real scratch file, wrapped (as SQLite's
 * test6.c crash VFS wraps os_unix) so that every write, sync and
 * acknowledgement lands in a ledger shared with the parent.  The parent
 * kills the writer with SIGKILL at a random instant, applies a power-loss
 * model to the file and hands file and ledger to the verifier.
 * docs/crash-model.md explains the models and why the ledger can be
 * trusted after a kill at any instruction.
 *
 * Functions that can fail return 0 or a negative errno, with a message
 * naming the failing call in err when err is not NULL.
 */
#ifndef FSYNCLAB_CRASHSIM_H
#define FSYNCLAB_CRASHSIM_H

#include <stddef.h>
#include <stdint.h>

#include "powerloss/powerloss.h"
#include "verifier/verifier.h"
#include "wal/wal.h"

/* ---- power-loss models --------------------------------------------------- */
/* A crash trial's model is one of the engine's presets (powerloss/model.c
 * names them and holds their flags); the log is one file, so a base rule
 * other than POSIX's (ext4, xfs, btrfs: journals of names) has nothing to
 * act on and is not taken. */
#define CRASHSIM_MODELS "drop, torn, reorder, writeback, process, lie"

/* *out = the preset `name` when crash's own log takes it; -EINVAL otherwise. */
int crashsim_model_parse(const char *name, struct pl_model *out);
/* 0 when crash's own log takes m (a preset of CRASHSIM_MODELS), -EINVAL otherwise. */
int crashsim_model_check(const struct pl_model *m);

/* ---- configuration ------------------------------------------------------- */
#define CRASHSIM_MAX_ENTRIES 10000000ull
#define CRASHSIM_MAX_TRIALS 1000000u
#define CRASHSIM_MAX_SECONDS 3600.0
#define CRASHSIM_MAX_WRITERS 256u
/* entries 0: the run sizes its trials after calibrating (run.c): this many,
 * or for batch_<N>ms eight intervals' worth of appends, at most the max. */
#define CRASHSIM_AUTO_ENTRIES 1000ull
#define CRASHSIM_AUTO_MAX_ENTRIES 1000000ull

struct crashsim_ledger;
struct crashsim_trial_result;

struct crashsim_config {
    struct wal_strategy strategy;
    uint64_t entries;                 /* per trial, 1 .. CRASHSIM_MAX_ENTRIES; crashsim_run
                                         also takes 0: sized after calibration */
    uint32_t entry_size;              /* whole record, WAL_HEADER_SIZE .. WAL_MAX_RECORD */
    enum wal_sync_method sync_method;
    struct pl_model model;    /* crashsim_model_parse */
    uint64_t seed;                    /* trial i runs with crashsim_trial_seed(seed, i) */
    uint32_t trials;                  /* 1 .. CRASHSIM_MAX_TRIALS */
    double max_seconds;               /* budget for all trials, (0, 3600] */
    const char *dir;                  /* data directory for the scratch files */
    long writeback_expire_ms;         /* writeback model; < 0: /proc/sys/vm/dirty_expire_centisecs */
    long writeback_interval_ms;       /* < 0: /proc/sys/vm/dirty_writeback_centisecs */
    unsigned writers;                 /* threads appending to the trial's one log, each its
                                         share of entries; 0 or 1: one, at most
                                         CRASHSIM_MAX_WRITERS */
    int prealloc;                     /* fallocate and zero-fill each trial's file first */
    unsigned sector_size;             /* the disk's atomic unit for the models: 0 or 512, or 4096 */
    /* A shard (docs/scale.md): only the trials whose index is shard_index
     * modulo shard_count run, each with the seed it has in the whole run;
     * shard_count 0 or 1: all of them. */
    uint32_t shard_index, shard_count;
    /* Called after each trial is added to s (may be NULL): its index in the
     * run, its seed and its verdict, for per-trial figures. */
    void (*on_trial)(void *arg, const struct verifier_summary *s, uint32_t index, uint64_t seed,
                     const struct verifier_trial *t);
    void *on_trial_arg;
    /* Called after each trial of crashsim_run while l still holds that
     * trial's events (a timeline's capture: the callee copies what it
     * keeps); index counts from 0.  NULL: not called. */
    void (*trial_done)(void *arg, const struct crashsim_config *cfg, uint32_t index,
                       const struct crashsim_trial_result *r, const struct crashsim_ledger *l);
    void *trial_done_arg;
};

/* Runs up to cfg->trials trials within cfg->max_seconds and fills out; the
 * budget may end the run early (a trial running when it ends is crashed
 * then), out->trials says how many ran, possibly 0.  An I/O error in the
 * writer (a failed write or sync) ends the run with that error.
 * progress (may be NULL) is called after each trial.  Scratch files are
 * removed, also on error and on SIGINT/SIGTERM during the run (the handler
 * kills the writer, unlinks, then passes the signal on to the handler that
 * was installed before).  One run or trial at a time per process. */
int crashsim_run(const struct crashsim_config *cfg, struct verifier_summary *out,
                 void (*progress)(void *arg, uint32_t done, uint32_t total), void *progress_arg,
                 char *err, size_t errlen);

/* Runs crashsim_run for each of the n strategies (base gives everything
 * else), sharing base->max_seconds: each strategy may use an equal share of
 * what is left.  out[i] answers strategies[i].  progress, when set, gets the
 * strategy index as well. */
int crashsim_run_all(const struct crashsim_config *base, const struct wal_strategy *strategies,
                     size_t n, struct verifier_summary *out,
                     void (*progress)(void *arg, size_t strategy, uint32_t done, uint32_t total),
                     void *progress_arg, char *err, size_t errlen);

/* The seed trial index of a run with run_seed used. */
uint64_t crashsim_trial_seed(uint64_t run_seed, uint32_t index);
/* How many trials cfg asks of this process: all of them, or a shard's share. */
uint32_t crashsim_trials_planned(const struct crashsim_config *cfg);

/* ---- the ledger ----------------------------------------------------------
 * One anonymous MAP_SHARED mapping, sized for entries records of entry_size
 * bytes (seq s lives at offset (s-1) * entry_size), shared by a parent and
 * the writers it forks.  Pages never touched cost nothing.  Any number of
 * threads of the writer may record into it at once: acknowledgements in any
 * seq order, and up to CRASHSIM_SYNC_SLOTS syncs in flight together (a sync
 * beyond that still counts for durability, but not as in flight). */
#define CRASHSIM_SYNC_SLOTS (2 * CRASHSIM_MAX_WRITERS)
struct crashsim_ledger;

int crashsim_ledger_create(uint64_t entries, uint32_t entry_size, struct crashsim_ledger **out);
/* Forgets every event; costs what the last trial touched, not the capacity. */
void crashsim_ledger_reset(struct crashsim_ledger *l);
void crashsim_ledger_destroy(struct crashsim_ledger *l);

/* The events, in the order the wrapper and the writer record them.  They
 * are exported so that tests can write a history by hand. */
void crashsim_ledger_write_begin(struct crashsim_ledger *l, uint64_t off, uint64_t len);
void crashsim_ledger_write_done(struct crashsim_ledger *l, uint64_t off, uint64_t len,
                                uint64_t done_ns);
/* Notes a sync in flight and returns the prefix (bytes) it will cover:
 * every write whose completion was recorded before it. */
uint64_t crashsim_ledger_sync_begin(struct crashsim_ledger *l, uint64_t start_ns);
/* The sync that sync_begin announced (with this start_ns, returning
 * covered) returned rc; on 0 covered becomes durable. */
void crashsim_ledger_sync_end(struct crashsim_ledger *l, uint64_t covered, uint64_t start_ns,
                              uint64_t end_ns, int rc);
/* Records that seq was acknowledged at ack_ns; seqs may come in any order.
 * Returns 1 when this ack is the one a trial's kill waits for, else 0. */
int crashsim_ledger_ack(struct crashsim_ledger *l, uint64_t seq, uint64_t ack_ns);

struct crashsim_ledger_state {
    uint64_t entries;
    uint32_t entry_size;
    uint64_t intent_bytes;      /* end of the furthest write started */
    uint64_t written_bytes;     /* prefix whose writes all completed */
    uint64_t durable_bytes;     /* prefix a completed sync covered */
    /* Acknowledgements counted.  A writer thread killed between recording
     * an ack and counting it leaves this one short: the entries with
     * crashsim_ledger_ack_ns() != 0 are the acknowledged ones (the
     * verifier's count, verifier_trial.acked, is exact). */
    uint64_t acked;
    uint64_t acked_max_seq;     /* no seq above it was acknowledged (0: none) */
    uint64_t first_ack_ns;      /* the first ack recorded, 0 if none */
    uint64_t last_ack_ns;       /* the latest ack time, 0 if none: the writer was alive then */
    uint64_t syncs_started, syncs_ok, syncs_failed;
    uint64_t sync_max_ns;       /* longest completed sync */
    uint64_t syncs_inflight;    /* syncs that have not returned (that got a slot) */
    uint64_t sync_inflight_ns;  /* start of the oldest of them, 0 if none */
    uint64_t sync_inflight_bytes;   /* the prefix that one would cover */
};
uint64_t crashsim_ledger_write_ns(const struct crashsim_ledger *l, uint64_t seq);   /* 0: not done */
uint64_t crashsim_ledger_ack_ns(const struct crashsim_ledger *l, uint64_t seq);     /* 0: not acked */

/* The events a timeline draws besides writes and acks: which writer thread
 * acknowledged each seq, and the syncs, each from its call to its return.
 * The ledger keeps the last CRASHSIM_SYNC_LOG syncs (a ring, 2 MiB of the
 * mapping, touched only as far as used), so a long run keeps those nearest
 * the crash. */
#define CRASHSIM_SYNC_LOG 65536u
struct crashsim_sync_event {
    uint64_t start_ns;
    uint64_t end_ns;       /* 0: still in flight at the crash */
    uint64_t covered;      /* the prefix (bytes) it covers */
    unsigned lane;         /* the writer thread that ran it, 1..writers; 0: a thread of
                              the log's own (batch's flusher) */
    int rc;
};
/* The calling thread's lane from now on (the writer numbers its threads 1..). */
void crashsim_ledger_set_lane(unsigned lane);
/* The thread that acknowledged seq, 1..writers; 0 when not acknowledged. */
unsigned crashsim_ledger_ack_lane(const struct crashsim_ledger *l, uint64_t seq);
/* Syncs noted since the reset; the ones numbered from n - CRASHSIM_SYNC_LOG
 * (or 0) to n - 1 can be read.  0 when sync i is kept and whole, -ENOENT
 * when it is not (overwritten, or the kill came before it was filled in). */
uint64_t crashsim_ledger_sync_count(const struct crashsim_ledger *l);
int crashsim_ledger_sync_event(const struct crashsim_ledger *l, uint64_t i,
                               struct crashsim_sync_event *out);

/* ---- applying a model ------------------------------------------------------ */
struct crashsim_damage {
    uint64_t size_before, size_after;
    uint64_t durable_bytes;      /* never touched by a model */
    uint64_t tail_bytes;         /* size_before - durable_bytes */
    uint64_t kept_bytes;         /* of the tail, survived as written */
    uint64_t zeroed_bytes;       /* of the tail, lost inside the file (holes) */
    uint64_t garbled_off, garbled_len;   /* torn: bytes overwritten with noise */
    uint64_t lied_bytes;         /* lie: of the durable prefix, lost all the same */
};

/* ---- one trial ------------------------------------------------------------ */
struct crashsim_trial_opts;   /* crashsim/internal.h: the kill mode, a deadline, a hook (tests) */

enum crashsim_writer {
    CRASHSIM_WRITER_STARTING = 0,
    CRASHSIM_WRITER_RUNNING,
    CRASHSIM_WRITER_DONE,          /* every thread had all its entries acknowledged,
                                      waiting to be killed */
    CRASHSIM_WRITER_APPEND_FAILED, /* wal_log_append returned an error (in any thread) */
    CRASHSIM_WRITER_DIED,          /* raised SIGKILL at a failure point */
    CRASHSIM_WRITER_SETUP_FAILED,
};

struct crashsim_trial_result {
    uint64_t seed;
    struct verifier_trial verdict;
    struct crashsim_damage damage;
    struct crashsim_ledger_state ledger;   /* at the crash */
    enum crashsim_writer writer;
    int append_rc;           /* first error from wal_log_append, 0 if none */
    int append_rc_next;      /* what that thread's next append returned */
    uint64_t target_acks;    /* CRASHSIM_KILL_RANDOM: acks (counted over all
                                writer threads) to wait for */
    uint64_t start_ns, crash_ns;
};

/* Runs one trial with cfg's strategy, entries, entry_size, sync_method,
 * model, writers and dir (cfg->seed, trials and max_seconds are not used)
 * on ledger l (NULL: one made for the trial).  opts may be NULL.  Returns 0 when the
 * trial ran, also when the writer's append failed (out->append_rc; err
 * then names the call, "fdatasync(path): ..."); -ETIMEDOUT when the
 * deadline came before the writer had opened its log (no trial). */
int crashsim_trial(const struct crashsim_config *cfg, struct crashsim_ledger *l, uint64_t seed,
                   const struct crashsim_trial_opts *opts, struct crashsim_trial_result *out,
                   char *err, size_t errlen);

#endif
