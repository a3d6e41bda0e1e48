/* DESIGN: measure the syncs before judging a promise by them.
 *
 * A batch_<N>ms strategy keeps its promise if no acknowledged entry is lost
 * more than N ms back, plus what one sync takes to cover it.  That "plus"
 * must be fixed before the trials: taken from the trials themselves (the
 * longest sync seen, one cut short by the crash included), the allowance
 * grows with the very stall it should bound.  So each run first appends and
 * syncs a few records on a scratch file of its own, the way the log does,
 * and keeps the median and the 99th percentile of the sync (under O_DSYNC,
 * of the write, which is the sync).  The median also tells whether the
 * syncs reach a disk at all (WAL_FAST_SYNC_NS).
 *
 * At most CALIBRATE_SYNCS syncs or CALIBRATE_NS, whichever ends first, but
 * at least one: a disk whose syncs take seconds is measured once.
 *
 * It also times plain appends (no sync) for CALIBRATE_RATE_NS: the rate a
 * batch or none writer reaches, which sizes a trial when the caller left
 * the number of entries to the run (crashsim_config.entries 0).
 *
 * A batch flusher does not sync one small record: it syncs what N ms of
 * appends wrote, and that takes longer.  So for batch_<N>ms the run also
 * runs the strategy itself, one writer at full speed, for three intervals
 * (at least 50 ms, at most a second and CALIBRATE_BATCH_BYTES), and the
 * p99 of its syncs counts when it is the larger.
 */
#include "crashsim/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CALIBRATE_SYNCS 24
#define CALIBRATE_NS 300000000ull
#define CALIBRATE_RATE_NS 20000000ull
#define CALIBRATE_RATE_MAX 20000u
#define CALIBRATE_BATCH_BYTES (64ull << 20)

static _Atomic unsigned calibrate_counter;

/* One record written and made durable; its latency into h. */
static int durable_append(struct wal_file *f, const struct crashsim_config *cfg,
                          unsigned char *rec, uint64_t seq, struct hist *h)
{
    size_t n = wal_record_encode(rec, NULL, seq, cfg->entry_size - WAL_HEADER_SIZE);
    off_t off = (off_t)((seq - 1) * cfg->entry_size);
    int dsync = wal_sync_method_writes_durable(cfg->sync_method);
    uint64_t t0 = wal_now_ns();
    int rc = f->methods->pwrite(f, rec, n, off);
    if (rc < 0)
        return rc;
    uint64_t t1 = wal_now_ns();
    if (!dsync && (rc = f->methods->sync(f)) < 0)
        return rc;
    hist_add(h, dsync ? t1 - t0 : wal_now_ns() - t1);
    return 0;
}

/* Appends per second without a sync, from seq on; 0 when none finished. */
static uint64_t append_rate(struct wal_file *f, const struct crashsim_config *cfg,
                            unsigned char *rec, uint64_t seq)
{
    uint64_t t0 = wal_now_ns(), now = t0, n = 0;
    while (n < CALIBRATE_RATE_MAX && now - t0 < CALIBRATE_RATE_NS) {
        size_t len = wal_record_encode(rec, NULL, seq + n, cfg->entry_size - WAL_HEADER_SIZE);
        if (f->methods->pwrite(f, rec, len, (off_t)((seq + n - 1) * cfg->entry_size)) < 0)
            break;
        n++;
        now = wal_now_ns();
    }
    return now > t0 ? n * 1000000000ull / (now - t0) : 0;
}

static int measure(struct wal_file *f, const struct crashsim_config *cfg, const char *path,
                   struct hist *h, uint64_t *rate, char *err, size_t errlen)
{
    unsigned char *rec;
    if (posix_memalign((void **)&rec, 4096, cfg->entry_size) != 0) {
        snprintf(err, errlen, "posix_memalign(calibration): %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    uint64_t end = wal_now_ns() + CALIBRATE_NS;
    int rc = 0;
    uint64_t seq = 1;
    for (; seq <= CALIBRATE_SYNCS && rc == 0; seq++) {
        if (seq > 1 && wal_now_ns() >= end)
            break;
        rc = durable_append(f, cfg, rec, seq, h);
        if (rc < 0)
            snprintf(err, errlen, "%s(%s): %s", wal_op_call(WAL_OP_SYNC, cfg->sync_method),
                     path, strerror(-rc));
    }
    if (rc == 0)
        *rate = append_rate(f, cfg, rec, seq);
    free(rec);
    return rc;
}

/* batch_<N>ms itself on the file at path: the p99 of its syncs into *p99. */
static int batch_syncs(const struct crashsim_config *cfg, const char *path, uint64_t *p99,
                       char *msg, size_t msglen)
{
    struct wal_file *f;
    struct wal_log *log;
    int rc = wal_file_open(path, cfg->sync_method, &f, msg, msglen);
    if (rc < 0)
        return rc;
    if ((rc = wal_log_open(&log, f, &cfg->strategy, cfg->entry_size)) < 0) {
        snprintf(msg, msglen, "wal_log_open(%s): %s", path, strerror(-rc));
        f->methods->close(f);
        return rc;
    }
    uint64_t ms = 3ull * cfg->strategy.interval_ms;
    ms = ms < 50 ? 50 : ms > 1000 ? 1000 : ms;
    uint64_t end = wal_now_ns() + ms * 1000000ull, bytes = 0;
    while (rc == 0 && bytes < CALIBRATE_BATCH_BYTES && wal_now_ns() < end) {
        rc = wal_log_append(log, NULL, NULL);
        bytes += cfg->entry_size;
    }
    struct wal_stats st;
    int crc = wal_log_close(log, &st);
    if (rc == 0)
        rc = crc;
    if (rc < 0) {
        snprintf(msg, msglen, "%s(%s): %s", wal_op_call(st.failed_op, cfg->sync_method), path,
                 strerror(-rc));
        return rc;
    }
    uint64_t q = hist_quantile(&st.sync_ns, 0.99);
    if (q > *p99)
        *p99 = q;
    return 0;
}

int crashsim_calibrate(const struct crashsim_config *cfg, uint64_t *p50_ns, uint64_t *p99_ns,
                       uint64_t *appends_per_sec, char *err, size_t errlen)
{
    *appends_per_sec = 0;
    char path[WAL_PATH_MAX], msg[WAL_PATH_MAX + 256] = "";
    struct hist h;
    hist_init(&h);
    int rc = wal_scratch_path(path, sizeof path, cfg->dir, "calibrate",
                              atomic_fetch_add(&calibrate_counter, 1));
    if (rc < 0) {
        snprintf(msg, sizeof msg, "scratch path in %s: %s", cfg->dir, strerror(-rc));
    } else {
        struct wal_file *f;
        wal_scratch_live(path);
        rc = wal_file_open(path, cfg->sync_method, &f, msg, sizeof msg);
        if (rc == 0) {
            rc = measure(f, cfg, path, &h, appends_per_sec, msg, sizeof msg);
            int crc = f->methods->close(f);
            if (rc == 0 && crc < 0) {
                rc = crc;
                snprintf(msg, sizeof msg, "close(%s): %s", path, strerror(-crc));
            }
        }
        *p99_ns = hist_quantile(&h, 0.99);
        if (rc == 0 && cfg->strategy.kind == WAL_BATCH &&
            !wal_sync_method_writes_durable(cfg->sync_method))
            rc = batch_syncs(cfg, path, p99_ns, msg, sizeof msg);
        if (unlink(path) < 0 && errno != ENOENT && rc == 0) {
            rc = -errno;
            snprintf(msg, sizeof msg, "unlink(%s): %s", path, strerror(-rc));
        }
        wal_scratch_live(NULL);
    }
    if (rc < 0 && err)
        snprintf(err, errlen, "%s", msg);
    *p50_ns = hist_quantile(&h, 0.5);
    if (*p99_ns < hist_quantile(&h, 0.99))
        *p99_ns = hist_quantile(&h, 0.99);
    return rc;
}
