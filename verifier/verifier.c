/* DESIGN: compare what came back with what was promised.
 *
 * wal_recover_fd hands back seqs 1..records in order and stops at the first
 * damaged record, so "what came back" is a prefix and one number says it.
 * Recovery trusts only structure, CRC, epoch and sequence, as a real log's
 * would; the callback then checks every record it is given against what
 * the writer wrote (seq in order, the configured length, never beyond what
 * the writer started writing, and the payload regenerated from the seed,
 * byte for byte).  A record handed back that is not what was written is the
 * one thing this lab must never hide, so it is counted as corrupt.  That
 * check is proven by tests/e2e/crash_detect.sh: with the CRC check switched
 * off, torn trials must report corrupt records.
 *
 * A trial is judged only if it could have shown a broken promise: it
 * acknowledged something, and under batch_<N>ms the writer ran for at least
 * two intervals and a sync completed before the crash.  The allowance a
 * batch window is judged against is fixed before the trials (the caller
 * measures syncs first); a sync still running at the crash adds nothing.
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

static void on_record(void *arg, uint64_t seq, const unsigned char *payload, uint32_t len)
{
    struct scan *s = arg;
    const struct verifier_ledger *l = s->ledger;
    if (seq != s->expect || seq > l->written ||
        (uint64_t)len + WAL_HEADER_SIZE != l->entry_size ||
        !wal_payload_matches(payload, len, l->payload_seed, seq))
        s->corrupt++;
    s->expect = seq + 1;
}

static enum verifier_invalid judge(const struct wal_strategy *st, const struct verifier_ledger *l,
                                   const struct verifier_trial *t)
{
    if (t->acked == 0)
        return VERIFIER_NO_ACK;
    if (st->kind != WAL_BATCH)
        return VERIFIER_VALID;
    if (l->run_ns < 2ull * st->interval_ms * 1000000ull)
        return VERIFIER_TOO_SHORT;
    return l->syncs_ok == 0 ? VERIFIER_NO_SYNC : VERIFIER_VALID;
}

const char *verifier_invalid_name(enum verifier_invalid why)
{
    switch (why) {
    case VERIFIER_NO_ACK: return "no_ack";
    case VERIFIER_TOO_SHORT: return "too_short";
    case VERIFIER_NO_SYNC: return "no_sync";
    default: return "valid";
    }
}

int verifier_check_trial(int fd, const struct wal_strategy *st, const struct verifier_ledger *l,
                         struct verifier_trial *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct scan scan = { .ledger = l, .expect = 1, .corrupt = 0 };
    struct wal_recovery rec;
    int rc = wal_recover_fd(fd, l->epoch, &rec, on_record, &scan);
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
    out->invalid = judge(st, l, out);
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

enum verifier_held verifier_trial_held(int64_t promised_ms, uint64_t allowance_ns,
                                       const struct verifier_trial *t)
{
    if (promised_ms < 0)
        return VERIFIER_HELD_NULL;
    if (t->acked_lost == 0)
        return VERIFIER_HELD_TRUE;
    if (promised_ms == 0)
        return VERIFIER_HELD_FALSE;
    return t->loss_window_ns <= allowance_ns ? VERIFIER_HELD_TRUE : VERIFIER_HELD_FALSE;
}

void verifier_summary_init(struct verifier_summary *s, const struct wal_strategy *st)
{
    memset(s, 0, sizeof *s);
    s->strategy = *st;
    hist_init(&s->loss_window_ns);
    hist_init(&s->kill_delay_ns);
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
    s->allowance_ns = s->promised_window_ms > 0 ? (uint64_t)s->promised_window_ms * 1000000ull : 0;
    s->held = VERIFIER_HELD_NULL;   /* nothing is known before the first valid trial */
}

void verifier_summary_writes_durable(struct verifier_summary *s)
{
    s->promised_window_ms = 0;
    s->allowance_ns = 0;
}

void verifier_summary_set_allowance(struct verifier_summary *s, uint64_t allowance_ns)
{
    if (s->promised_window_ms > 0)
        s->allowance_ns = allowance_ns;
}

void verifier_summary_distrust(struct verifier_summary *s)
{
    s->syncs_untrusted = 1;
    s->held = VERIFIER_HELD_NULL;
}

/* What every trial adds, valid or not. */
static void add_any(struct verifier_summary *s, const struct verifier_trial *t)
{
    s->trials++;
    s->corrupt_recovered += t->corrupt_recovered;
    s->unacked_recovered += t->unacked_recovered;
    if (t->max_sync_ns > s->max_sync_ns)
        s->max_sync_ns = t->max_sync_ns;
    hist_add(&s->kill_delay_ns, t->kill_delay_ns);
}

void verifier_summary_add(struct verifier_summary *s, const struct verifier_trial *t, uint64_t seed)
{
    add_any(s, t);
    if (t->invalid != VERIFIER_VALID) {
        if ((unsigned)t->invalid < VERIFIER_INVALID_REASONS)
            s->invalid[t->invalid]++;
        return;
    }
    if (s->trials_valid == 0 || t->loss_window_ns > s->loss_window_ns_max)
        s->worst_seed = seed;
    s->trials_valid++;
    s->acked_total += t->acked;
    s->acked_lost_total += t->acked_lost;
    if (t->acked_lost > s->acked_lost_max)
        s->acked_lost_max = t->acked_lost;
    if (t->loss_window_ns > s->loss_window_ns_max)
        s->loss_window_ns_max = t->loss_window_ns;
    hist_add(&s->loss_window_ns, t->loss_window_ns);
    if (s->promised_window_ms >= 0 && t->acked_lost > 0 &&
        (s->promised_window_ms == 0 ||
         t->loss_window_ns > (uint64_t)s->promised_window_ms * 1000000ull))
        s->trials_over_promise++;
    enum verifier_held held = verifier_trial_held(s->promised_window_ms, s->allowance_ns, t);
    if (held == VERIFIER_HELD_FALSE)
        s->trials_over_allowance++;
    if (s->syncs_untrusted)
        return;
    if (s->held == VERIFIER_HELD_NULL || held == VERIFIER_HELD_FALSE)
        s->held = held;
}

uint32_t verifier_summary_invalid(const struct verifier_summary *s)
{
    uint32_t n = 0;
    for (unsigned i = 1; i < VERIFIER_INVALID_REASONS; i++)
        n += s->invalid[i];
    return n;
}

double verifier_summary_acked_lost_mean(const struct verifier_summary *s)
{
    return s->trials_valid ? (double)s->acked_lost_total / s->trials_valid : 0.0;
}

double verifier_summary_window_ms_max(const struct verifier_summary *s)
{
    return (double)s->loss_window_ns_max / 1e6;
}

double verifier_summary_window_ms_p50(const struct verifier_summary *s)
{
    return (double)hist_quantile(&s->loss_window_ns, 0.5) / 1e6;
}

double verifier_summary_window_ms_p99(const struct verifier_summary *s)
{
    return (double)hist_quantile(&s->loss_window_ns, 0.99) / 1e6;
}

double verifier_summary_max_sync_ms(const struct verifier_summary *s)
{
    return (double)s->max_sync_ns / 1e6;
}
