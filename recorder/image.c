/* image: what a power cut at instant T leaves, from a snapshot and a journal.
 *
 * DESIGN.  The recorder is one of the power-loss engine's producers: the
 * snapshot and the journal become an operation list (recorder_ops_build,
 * ops.c), and the engine decides and writes the state (powerloss/): the
 * same rules, models and sector sizes as `crash`.  The cut is the longest
 * prefix of the journal whose records are stamped at or before T (a prefix
 * of a causal order is a state the machine was in), mapped to the list
 * through rec[]: every operation made from a record before the first one
 * stamped after T.  The figures of the image (unknown opens, flags, the
 * longest sync) count only records inside the cut.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "recorder/recorder.h"

/* The number of list ops made from records [0, k). */
static size_t image_cut(const struct recorder_ops *o, size_t k)
{
    size_t lo = o->list.nbase, hi = o->list.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->rec[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void image_stats(const struct recorder_ops *o, const struct recorder_journal *j, size_t k,
                        struct recorder_image_stats *st)
{
    st->records = k;
    st->torn_bytes = o->torn_bytes;
    st->flags = o->torn_bytes != 0;   /* what follows a torn record is not seen */
    for (size_t i = 0; i < k; i++)
        st->flags += j->recs[i]->type == RECORDER_FLAG;
    st->unknown_opens = 0;
    while (st->unknown_opens < o->unknown_opens && o->unknown_at[st->unknown_opens] < k)
        st->unknown_opens++;
    st->max_sync_ns = 0;
    for (size_t s = 0; s < o->nsyncs && o->syncs[s].rec < k; s++)
        if (o->syncs[s].ns > st->max_sync_ns)
            st->max_sync_ns = o->syncs[s].ns;
}

int recorder_image_from_ops(const struct recorder_ops *o, const struct recorder_journal *j, uint64_t at_ns,
                            const struct pl_model *model, uint64_t seed, const char *out_dir,
                            struct recorder_image_stats *stats, char *err, size_t errlen)
{
    size_t k = 0;
    while (k < j->n && j->recs[k]->ns <= at_ns)
        k++;
    size_t cut = image_cut(o, k);
    /* the writeback timers' clock: the instant of the cut, or the last record's */
    uint64_t crash_ns = at_ns != UINT64_MAX ? at_ns : k ? j->recs[k - 1]->ns : 0;
    struct pl_engine *e = NULL;
    struct pl_state st = {0};
    int rc = pl_engine_new(&o->list, &e, err, errlen);
    if (!rc)
        rc = pl_decide(e, model, cut, crash_ns, seed, &st, err, errlen);
    if (!rc)
        rc = pl_state_write(e, &st, out_dir, err, errlen);
    if (!rc && stats) {
        image_stats(o, j, k, stats);
        stats->files = st.files;
        stats->dirs = st.dirs;
        stats->bytes = st.bytes;
    }
    pl_state_free(&st);
    pl_engine_free(e);
    return rc;
}

int recorder_image_build(const struct recorder_journal *j, const char *snapshot_dir, uint64_t at_ns,
                         const struct pl_model *model, uint64_t seed, const char *out_dir,
                         struct recorder_image_stats *stats, char *err, size_t errlen)
{
    struct recorder_ops o;
    int rc = recorder_ops_build(j, snapshot_dir, &o, err, errlen);
    if (rc)
        return rc;
    rc = recorder_image_from_ops(&o, j, at_ns, model, seed, out_dir, stats, err, errlen);
    recorder_ops_free(&o);
    return rc;
}
