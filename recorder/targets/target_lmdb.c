/* target_lmdb: LMDB (liblmdb), one write transaction a key.
 *
 * DESIGN.  fsynclab-lmdb-worker (target_embedded.c) commits under the
 * recorder and lists the keys of an image through a fresh environment.
 * With MDB_WRITEMAP, LMDB stores into a shared mapping of data.mdb and
 * makes it durable with msync: the recorder sees those stores only as the
 * copy it takes of the mapping at msync or fsync.  So after each run the
 * journal is read: a WRITEMAP run with acknowledgements and no write
 * captured from a mapping is one the recorder could not see, and gets no
 * verdict (promised_window_ms null) with the reason in the note, instead
 * of a loss that is the recorder's.  setup keeps a pointer to the result
 * for that (one crash run at a time in a process).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"


static const char *const lmdb_keys[] = {"flags", NULL};
static const char *const lmdb_flags[] = {"none", "MDB_NOSYNC", "MDB_NOMETASYNC", "MDB_WRITEMAP", NULL};

static struct {
    struct recorder_crash_result *out;
    uint64_t mapped_writes, mapped_bytes, msyncs, acked, lost, trials;
    int aio;
} lm;

static int lmdb_setup(const struct recorder_crash_config *cfg, struct recorder_crash_result *out, char *err,
                      size_t errlen)
{
    int rc = 0;   /* the keys: target_check_keys, before setup */
    out->async_io_checked = 1;
    if (rc)
        return rc;
    const char *flags = target_setting(cfg, "flags", "none");
    size_t i = 0;
    while (lmdb_flags[i] && strcmp(lmdb_flags[i], flags) != 0)
        i++;
    if (!lmdb_flags[i]) {
        (void)PL_ERR(err, errlen, 0, "lmdb: --set flags=%s: allowed values none, MDB_NOSYNC, MDB_NOMETASYNC, MDB_WRITEMAP", flags);
        return -EINVAL;
    }
    memset(&lm, 0, sizeof lm);
    lm.out = out;
    if (strcmp(flags, "MDB_NOSYNC") == 0) {
        out->promised = "MDB_NOSYNC: \"a system crash can corrupt the database or lose the last transactions\"";
    } else if (strcmp(flags, "MDB_NOMETASYNC") == 0) {
        out->promised = "MDB_NOMETASYNC: \"maintains database integrity, but a system crash may undo the last "
                        "committed transaction\"";
        out->integrity_only = 1;
    } else {
        out->promised = "\"LMDB always flushes the OS buffers upon commit\" (mdb_env_sync)";
        out->promised_window_ms = 0;
    }
    return 0;
}

/* What the journal holds of the mapping: writes captured at msync/fsync. */
static int lmdb_mapped(struct target_trial *t, char *err, size_t errlen)
{
    struct recorder_journal j;
    int rc = recorder_journal_open(t->journal, &j, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < j.n; i++) {
        const struct recorder_rec *r = j.recs[i];
        if (r->type == RECORDER_WRITE && (r->flags & RECORDER_F_MAPPED)) {
            lm.mapped_writes++;
            lm.mapped_bytes += r->len;
        }
        lm.msyncs += r->type == RECORDER_SYNC_BEGIN && r->aux == RECORDER_SYNC_MSYNC;
    }
    recorder_journal_close(&j);
    return 0;
}

static int lmdb_prepare(struct target_trial *t, char *err, size_t errlen)
{
    const char *args[] = {target_setting(t->cfg, "flags", "none"), NULL};
    return target_worker_prepare(t, "lmdb", args, err, errlen);
}

static int lmdb_run(struct target_trial *t, char *err, size_t errlen)
{
    const char *flags = target_setting(t->cfg, "flags", "none");
    const char *args[] = {flags, NULL};
    int aio = 0, rc = target_worker_run(t, "lmdb", args, &aio, err, errlen);
    uint64_t acked = 0, lost = 0;
    char reason[160];
    if (rc == 0)
        rc = target_worker_killed(t, "lmdb", &acked, &lost, reason, sizeof reason, err, errlen);
    lm.acked += acked;
    lm.lost += lost;
    lm.trials++;
    int writemap = strcmp(flags, "MDB_WRITEMAP") == 0;
    if (rc == 0 && writemap)
        rc = lmdb_mapped(t, err, errlen);
    if (rc)
        return rc;
    int n = snprintf(lm.out->note, sizeof lm.out->note,
                     "process crash (the data directory as the kill left it): %" PRIu64 " of %" PRIu64
                     " acknowledged keys lost",
                     lm.lost, lm.acked);
    if (writemap && n > 0 && (size_t)n < sizeof lm.out->note)
        snprintf(lm.out->note + n, sizeof lm.out->note - (size_t)n,
                 "; MDB_WRITEMAP: %" PRIu64 " msync calls, %" PRIu64 " writes (%" PRIu64
                 " bytes) captured from the mapping%s",
                 lm.msyncs, lm.mapped_writes, lm.mapped_bytes,
                 lm.mapped_writes ? "" : ": the recorder did not see the stores, no verdict");
    if (writemap && lm.acked && !lm.mapped_writes)
        snprintf(lm.out->target_null_reason, sizeof lm.out->target_null_reason,
                 "MDB_WRITEMAP: the recorder did not see the stores through the mapping");
    lm.aio |= aio;
    n = (int)strlen(lm.out->note);
    if (lm.aio && (size_t)n < sizeof lm.out->note) {   /* LMDB uses none; a future one would escape */
        snprintf(lm.out->note + n, sizeof lm.out->note - (size_t)n, "; the worker had an io_uring or AIO ring "
                 "open: writes may escape the recorder, no verdict");
        snprintf(lm.out->target_null_reason, sizeof lm.out->target_null_reason,
                 "the worker had an io_uring or Linux AIO ring open: writes may escape the recorder");
    }
    return 0;
}

static int lmdb_check(struct target_trial *t, const char *image, struct target_keyset *found, int *ok, char *err,
                      size_t errlen)
{
    char reason[160];
    return target_worker_check(t, "lmdb", image, found, ok, reason, sizeof reason, err, errlen);
}

const struct target_ops target_lmdb = {
    .name = "lmdb",
    .setup = lmdb_setup,
    .prepare = lmdb_prepare,
    .run = lmdb_run,
    .check = lmdb_check,
    .keys = lmdb_keys,
};
