/* verifier: what a crash cost.
 *
 * After a crash trial, the log is recovered the way a restarting database
 * would (wal_recover_fd) and compared with what the writer was told: every
 * acknowledged entry must come back, entries that were never acknowledged
 * may or may not, and no damaged or invented entry may ever be handed back.
 * Trials are summed per strategy in fixed memory (a histogram for the
 * median), however many entries or trials there are.
 *
 * Functions that can fail return 0 or a negative errno.
 */
#ifndef FSYNCLAB_VERIFIER_H
#define FSYNCLAB_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "hist/hist.h"
#include "wal/wal.h"

/* What the writer did, as its ledger recorded it.  The verifier does not
 * know the ledger's layout: it asks ack_ns for one seq at a time. */
struct verifier_ledger {
    uint32_t entry_size;     /* whole record, header included */
    uint64_t written;        /* the writer started writing seqs 1..written */
    uint64_t acked;          /* no seq above this was acknowledged (a bound,
                                not a count: acks may come in any seq order) */
    /* The acknowledgement time of seq (CLOCK_MONOTONIC ns), 0 when seq was
     * never acknowledged: an entry is acknowledged exactly when this is not
     * 0. */
    uint64_t (*ack_ns)(const void *ctx, uint64_t seq);
    const void *ctx;
    uint64_t crash_ns;       /* the crash instant */
    uint64_t max_sync_ns;    /* the longest sync that completed in the trial */
    /* What the log was written under: recovery refuses records of another
     * epoch, and every record it hands back is compared with the payload
     * regenerated from the seed. */
    uint64_t epoch;
    uint64_t payload_seed;
    /* What makes a trial able to show a loss (verifier_trial.invalid): */
    uint64_t run_ns;         /* the writer appended from its first write to the crash */
    uint64_t syncs_ok;       /* syncs that completed before the crash */
};

/* Why a trial could not have shown the opposite of its verdict. */
enum verifier_invalid {
    VERIFIER_VALID = 0,
    VERIFIER_NO_ACK,        /* nothing was acknowledged: nothing could be lost */
    VERIFIER_TOO_SHORT,     /* batch_<N>ms: the writer ran less than 2N ms */
    VERIFIER_NO_SYNC,       /* batch_<N>ms: no sync completed before the crash */
    VERIFIER_INVALID_REASONS
};
const char *verifier_invalid_name(enum verifier_invalid why);   /* "no_ack", ... */

struct verifier_trial {
    uint64_t written;             /* seqs whose write was started */
    uint64_t acked;               /* seqs acknowledged */
    uint64_t recovered;           /* intact records recovery handed back */
    enum wal_stop stop;           /* why recovery stopped */
    uint64_t acked_lost;          /* acknowledged, not recovered */
    uint64_t oldest_lost_seq;     /* the lost seq acknowledged first, 0 when none lost */
    uint64_t loss_window_ns;      /* crash instant - its ack */
    uint64_t unacked_recovered;   /* recovered, never acknowledged (allowed) */
    uint64_t corrupt_recovered;   /* handed back but never written, or not the bytes
                                     written: must be 0 */
    uint64_t max_sync_ns;
    uint64_t crash_ns;
    enum verifier_invalid invalid;
    uint64_t kill_delay_ns;       /* the crash instant minus the one drawn (the caller's) */
};

/* Recovers the log in fd (from offset 0) and fills out, judging whether the
 * trial could have shown a loss (out->invalid) for strategy.  Fails only
 * when the file cannot be read; a damaged file is a result, not an error. */
int verifier_check_trial(int fd, const struct wal_strategy *strategy,
                         const struct verifier_ledger *ledger, struct verifier_trial *out,
                         char *err, size_t errlen);

/* Whether a strategy kept its promise: VERIFIER_HELD_NULL when it promised
 * nothing (none). */
enum verifier_held { VERIFIER_HELD_NULL = -1, VERIFIER_HELD_FALSE = 0, VERIFIER_HELD_TRUE = 1 };
const char *verifier_held_name(enum verifier_held held);   /* "null", "false", "true" */

struct verifier_summary {
    struct wal_strategy strategy;
    uint32_t trials;              /* run, valid or not */
    uint32_t trials_valid;
    uint32_t invalid[VERIFIER_INVALID_REASONS];   /* trials_invalid by reason */
    /* Over valid trials only: */
    uint64_t acked_total;
    uint64_t acked_lost_total;
    uint64_t acked_lost_max;
    uint64_t loss_window_ns_max;
    struct hist loss_window_ns;   /* one value per valid trial, 0 when nothing was lost */
    int64_t promised_window_ms;   /* 0 always and group, N batch_<N>ms, -1 none; 0 for
                                     all when every write is durable (O_DSYNC) */
    uint64_t allowance_ns;        /* fixed before the trials: a window up to this keeps
                                     the promise (promise + the sync p99 measured) */
    uint64_t calibration_sync_p50_ns, calibration_sync_p99_ns;   /* measured first */
    uint64_t entries_per_trial;   /* what each trial's writer was to append */
    enum verifier_held held;      /* null until a valid trial is added, for none, and
                                     when the syncs cannot be trusted */
    int syncs_untrusted;          /* verifier_summary_distrust was called */
    uint32_t trials_over_promise; /* valid trials whose window passed the promise itself */
    uint32_t trials_over_allowance;   /* ... and the allowance: these break held */
    /* Over every trial: */
    uint64_t corrupt_recovered;
    uint64_t unacked_recovered;
    uint64_t max_sync_ns;
    struct hist kill_delay_ns;
    uint64_t worst_seed;          /* seed of the trial with the widest window */
};

/* A summary for strategy, with the promise the strategy's name makes and an
 * allowance equal to it until verifier_summary_set_allowance. */
void verifier_summary_init(struct verifier_summary *s, const struct wal_strategy *strategy);
/* Every write was durable when it returned (O_DSYNC, O_DIRECT|O_DSYNC):
 * every strategy promises 0 ms.  Call before the first trial. */
void verifier_summary_writes_durable(struct verifier_summary *s);
/* The window a trial may reach and still keep the promise; fixed before the
 * first trial.  Ignored for a strategy that promises nothing. */
void verifier_summary_set_allowance(struct verifier_summary *s, uint64_t allowance_ns);
/* The syncs returned faster than any device can flush: no trial can show a
 * broken promise, so held stays null. */
void verifier_summary_distrust(struct verifier_summary *s);
/* Adds one trial; seed is what replays it (crashsim_trial). */
void verifier_summary_add(struct verifier_summary *s, const struct verifier_trial *t,
                          uint64_t seed);
uint32_t verifier_summary_invalid(const struct verifier_summary *s);   /* all reasons */
double verifier_summary_acked_lost_mean(const struct verifier_summary *s);
double verifier_summary_window_ms_max(const struct verifier_summary *s);
double verifier_summary_window_ms_p50(const struct verifier_summary *s);
double verifier_summary_window_ms_p99(const struct verifier_summary *s);
double verifier_summary_max_sync_ms(const struct verifier_summary *s);

/* Whether one valid trial kept the promise: nothing acknowledged lost for a
 * promise of 0 ms; a loss window within allowance_ns for batch_<N>ms; none
 * promises nothing (null) unless promised_ms is 0. */
enum verifier_held verifier_trial_held(int64_t promised_ms, uint64_t allowance_ns,
                                       const struct verifier_trial *t);

#endif
