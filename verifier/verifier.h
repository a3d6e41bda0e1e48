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
    uint64_t max_sync_ns;    /* the longest sync seen in the trial, one cut
                                short by the crash included */
};

struct verifier_trial {
    uint64_t written;             /* seqs whose write was started */
    uint64_t acked;               /* seqs acknowledged */
    uint64_t recovered;           /* intact records recovery handed back */
    enum wal_stop stop;           /* why recovery stopped */
    uint64_t acked_lost;          /* acknowledged, not recovered */
    uint64_t oldest_lost_seq;     /* the lost seq acknowledged first, 0 when none lost */
    uint64_t loss_window_ns;      /* crash instant - its ack */
    uint64_t unacked_recovered;   /* recovered, never acknowledged (allowed) */
    uint64_t corrupt_recovered;   /* handed back but never written, or wrong: must be 0 */
    uint64_t max_sync_ns;
    uint64_t crash_ns;
};

/* Recovers the log in fd (from offset 0) and fills out.  Fails only when
 * the file cannot be read; a damaged file is a result, not an error. */
int verifier_check_trial(int fd, const struct verifier_ledger *ledger,
                         struct verifier_trial *out, char *err, size_t errlen);

/* Whether a strategy kept its promise: VERIFIER_HELD_NULL when it promised
 * nothing (none). */
enum verifier_held { VERIFIER_HELD_NULL = -1, VERIFIER_HELD_FALSE = 0, VERIFIER_HELD_TRUE = 1 };
const char *verifier_held_name(enum verifier_held held);   /* "null", "false", "true" */

struct verifier_summary {
    struct wal_strategy strategy;
    uint32_t trials;
    uint64_t acked_total;
    uint64_t acked_lost_total;
    uint64_t acked_lost_max;
    uint64_t loss_window_ns_max;
    struct hist loss_window_ns;   /* one value per trial, 0 when nothing was lost */
    int64_t promised_window_ms;   /* 0 always and group, N batch_<N>ms, -1 none */
    enum verifier_held held;      /* null until a trial is added, and for none */
    uint32_t trials_over_promise; /* trials whose window broke the promise */
    uint64_t corrupt_recovered;
    uint64_t unacked_recovered;
    uint64_t max_sync_ns;
    uint64_t worst_seed;          /* seed of the trial with the widest window */
};

void verifier_summary_init(struct verifier_summary *s, const struct wal_strategy *strategy);
/* Adds one trial; seed is what replays it (crashsim_trial). */
void verifier_summary_add(struct verifier_summary *s, const struct verifier_trial *t,
                          uint64_t seed);
double verifier_summary_acked_lost_mean(const struct verifier_summary *s);
double verifier_summary_window_ms_max(const struct verifier_summary *s);
double verifier_summary_window_ms_p50(const struct verifier_summary *s);
double verifier_summary_max_sync_ms(const struct verifier_summary *s);

/* Whether one trial kept the strategy's promise: always and group lose
 * nothing acknowledged; batch_<N>ms loses nothing acknowledged more than N ms plus
 * the trial's longest sync before the crash; none promises nothing. */
enum verifier_held verifier_trial_held(const struct wal_strategy *strategy,
                                       const struct verifier_trial *t);

#endif
