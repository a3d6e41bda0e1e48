/* DESIGN: compare what came back with what was promised.
 *
 * wal_recover_fd hands back seqs 1..records in order and stops at the first
 * damaged record, so "what came back" is a prefix and one number says it.
 * The callback still checks every record it is given (seq in order, the
 * configured length, never beyond what the writer started writing): a
 * recovery that ever hands back something the writer did not write is the
 * one bug this lab must never hide, so it is counted as corrupt rather than
 * trusted.
 *
 * The loss is then a scan of the ledger above the recovered prefix, up to
 * the last seq that was written or acknowledged: each seq there with an
 * ack time is lost, and the one acknowledged first gives the loss window,
 * crash instant minus its ack.  With several writer threads, acks do not
 * come in seq order (seq 9 can be acknowledged before seq 8), so that is
 * the smallest ack time among the lost, not the smallest lost seq.  Below
 * the prefix, seqs without an ack were recovered unacknowledged.
 *
 * The summary keeps sums, maxima and one histogram: its size is fixed,
 * whatever the number of entries or trials.
 */
#include "verifier/verifier.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct scan {
    const struct verifier_ledger *ledger;
    uint64_t expect;     /* next seq */
    uint64_t corrupt;
};

static void on_record(void *arg, uint64_t seq, uint32_t len)
{
    struct scan *s = arg;
    const struct verifier_ledger *l = s->ledger;
    if (seq != s->expect || seq > l->written ||
        (uint64_t)len + WAL_HEADER_SIZE != l->entry_size)
        s->corrupt++;
    s->expect = seq + 1;
}

int verifier_check_trial(int fd, const struct verifier_ledger *l, struct verifier_trial *out,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct scan scan = { .ledger = l, .expect = 1, .corrupt = 0 };
    struct wal_recovery rec;
    int rc = wal_recover_fd(fd, &rec, on_record, &scan);
    if (rc < 0) {
        if (err)
            snprintf(err, errlen, "wal_recover_fd: %s", strerror(-rc));
        return rc;
    }
    out->written = l->written;
    out->recovered = rec.records;
    out->stop = rec.stop;
    out->corrupt_recovered = scan.corrupt;
    out->crash_ns = l->crash_ns;
    out->max_sync_ns = l->max_sync_ns;

    /* Recovered seqs: 1..records.  Acknowledged or not, they are back. */
    uint64_t upto = rec.records < l->written ? rec.records : l->written;
    for (uint64_t seq = 1; seq <= upto; seq++) {
        if (l->ack_ns(l->ctx, seq))
            out->acked++;
        else
            out->unacked_recovered++;
    }
    /* Lost: acknowledged seqs above the recovered prefix; the window runs
     * from the oldest acknowledgement among them. */
    uint64_t last = l->written > l->acked ? l->written : l->acked;
    uint64_t oldest_ack = 0;
    for (uint64_t seq = rec.records + 1; seq <= last; seq++) {
        uint64_t ack = l->ack_ns(l->ctx, seq);
        if (!ack)
            continue;
        out->acked++;
        out->acked_lost++;
        if (out->oldest_lost_seq == 0 || ack < oldest_ack) {
            out->oldest_lost_seq = seq;
            oldest_ack = ack;
        }
    }
    if (out->oldest_lost_seq)
        out->loss_window_ns = l->crash_ns > oldest_ack ? l->crash_ns - oldest_ack : 0;
    return 0;
}

const char *verifier_held_name(enum verifier_held held)
{
    switch (held) {
    case VERIFIER_HELD_TRUE: return "true";
    case VERIFIER_HELD_FALSE: return "false";
    case VERIFIER_HELD_NULL: break;
    }
    return "null";
}

enum verifier_held verifier_trial_held(const struct wal_strategy *st, const struct verifier_trial *t)
{
    switch (st->kind) {
    case WAL_ALWAYS:
    case WAL_GROUP:
        return t->acked_lost == 0 ? VERIFIER_HELD_TRUE : VERIFIER_HELD_FALSE;
    case WAL_BATCH:
        if (t->acked_lost == 0)
            return VERIFIER_HELD_TRUE;
        return t->loss_window_ns <= (uint64_t)st->interval_ms * 1000000ull + t->max_sync_ns
                   ? VERIFIER_HELD_TRUE : VERIFIER_HELD_FALSE;
    case WAL_NONE:
        break;
    }
    return VERIFIER_HELD_NULL;
}

void verifier_summary_init(struct verifier_summary *s, const struct wal_strategy *st)
{
    memset(s, 0, sizeof *s);
    s->strategy = *st;
    hist_init(&s->loss_window_ns);
    switch (st->kind) {
    case WAL_ALWAYS:
    case WAL_GROUP:
        s->promised_window_ms = 0;
        break;
    case WAL_BATCH:
        s->promised_window_ms = st->interval_ms;
        break;
    case WAL_NONE:
        s->promised_window_ms = -1;
        break;
    }
    s->held = VERIFIER_HELD_NULL;   /* nothing is known before the first trial */
}

void verifier_summary_add(struct verifier_summary *s, const struct verifier_trial *t, uint64_t seed)
{
    if (s->trials == 0 || t->loss_window_ns > s->loss_window_ns_max)
        s->worst_seed = seed;
    s->trials++;
    s->acked_total += t->acked;
    s->acked_lost_total += t->acked_lost;
    if (t->acked_lost > s->acked_lost_max)
        s->acked_lost_max = t->acked_lost;
    if (t->loss_window_ns > s->loss_window_ns_max)
        s->loss_window_ns_max = t->loss_window_ns;
    hist_add(&s->loss_window_ns, t->loss_window_ns);
    s->corrupt_recovered += t->corrupt_recovered;
    s->unacked_recovered += t->unacked_recovered;
    if (t->max_sync_ns > s->max_sync_ns)
        s->max_sync_ns = t->max_sync_ns;
    enum verifier_held held = verifier_trial_held(&s->strategy, t);
    if (held == VERIFIER_HELD_FALSE)
        s->trials_over_promise++;
    if (s->held == VERIFIER_HELD_NULL || held == VERIFIER_HELD_FALSE)
        s->held = held;
}

double verifier_summary_acked_lost_mean(const struct verifier_summary *s)
{
    return s->trials ? (double)s->acked_lost_total / s->trials : 0.0;
}

double verifier_summary_window_ms_max(const struct verifier_summary *s)
{
    return (double)s->loss_window_ns_max / 1e6;
}

double verifier_summary_window_ms_p50(const struct verifier_summary *s)
{
    return (double)hist_quantile(&s->loss_window_ns, 0.5) / 1e6;
}

double verifier_summary_max_sync_ms(const struct verifier_summary *s)
{
    return (double)s->max_sync_ns / 1e6;
}
