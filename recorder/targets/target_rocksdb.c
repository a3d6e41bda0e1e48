/* target_rocksdb: RocksDB through its C API (librocksdb), one Put a key.
 *
 * DESIGN.  fsynclab-rocksdb-worker (target_embedded.c) does the Puts under
 * the recorder and lists the keys of an image as a reopened database
 * replays its WAL.  WriteOptions::sync is the promise: true, "similar crash
 * semantics to a write() system call followed by fdatasync()"; false keeps
 * only the process-crash guarantee, which is checked too, on a copy of the
 * data directory as the kill left it, and reported in the note.
 * setup is the one call that sees the result, so it keeps a pointer to it
 * for the note that run fills (one crash run at a time in a process).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"


static const char *const rocks_keys[] = {"sync", "disable_wal", "manual_wal_flush", NULL};

static struct {
    struct recorder_crash_result *out;
    uint64_t acked, lost, trials;
    int aio;
    char reason[160];
} rocks;

static int rocks_bool(const char *key, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
        return 0;
    (void)PL_ERR(err, errlen, 0, "rocksdb: --set %s=%s: allowed values true, false", key, v);
    return -EINVAL;
}

static int rocks_setup(const struct recorder_crash_config *cfg, struct recorder_crash_result *out, char *err,
                       size_t errlen)
{
    int rc = 0;   /* the keys: target_check_keys, before setup */
    out->async_io_checked = 1;
    const char *sync = target_setting(cfg, "sync", "false"), *nowal = target_setting(cfg, "disable_wal", "false");
    const char *manual = target_setting(cfg, "manual_wal_flush", "false");
    if (rc || (rc = rocks_bool("sync", sync, err, errlen)) || (rc = rocks_bool("disable_wal", nowal, err, errlen)) ||
        (rc = rocks_bool("manual_wal_flush", manual, err, errlen)))
        return rc;
    if (strcmp(nowal, "true") == 0 && strcmp(manual, "true") == 0) {
        (void)PL_ERR(err, errlen, 0, "rocksdb: manual_wal_flush=true applies to the WAL, and disable_wal=true writes none; drop one");
        return -EINVAL;
    }
    memset(&rocks, 0, sizeof rocks);
    rocks.out = out;
    if (strcmp(nowal, "true") == 0) {
        out->promised = "disableWAL: \"writes will not first go to the write ahead log, and the write may get "
                        "lost after a crash\"";
    } else if (strcmp(sync, "true") == 0) {
        out->promised = "sync=true: \"the write will be flushed from the operating system buffer cache before "
                        "the write is considered complete\"";
        out->promised_window_ms = 0;
    } else if (strcmp(manual, "true") == 0) {
        out->promised = "manual_wal_flush: \"WAL is not flushed automatically after each write\" (the worker "
                        "never calls FlushWAL)";
    } else {
        out->promised = "sync=false: \"if the machine crashes, some recent writes may be lost\"; a process crash "
                        "loses none";
    }
    return 0;
}

static int rocks_prepare(struct target_trial *t, char *err, size_t errlen)
{
    const char *args[] = {target_setting(t->cfg, "sync", "false"), target_setting(t->cfg, "disable_wal", "false"),
                          target_setting(t->cfg, "manual_wal_flush", "false"), NULL};
    return target_worker_prepare(t, "rocksdb", args, err, errlen);
}

static int rocks_run(struct target_trial *t, char *err, size_t errlen)
{
    const char *args[] = {target_setting(t->cfg, "sync", "false"), target_setting(t->cfg, "disable_wal", "false"),
                          target_setting(t->cfg, "manual_wal_flush", "false"), NULL};
    int aio = 0, rc = target_worker_run(t, "rocksdb", args, &aio, err, errlen);
    rocks.aio |= aio;
    if (rocks.aio)
        snprintf(rocks.out->target_null_reason, sizeof rocks.out->target_null_reason,
                 "the worker had an io_uring or Linux AIO ring open: writes may escape the recorder");
    uint64_t acked, lost;
    char reason[160];
    if (rc == 0 && (rc = target_worker_killed(t, "rocksdb", &acked, &lost, reason, sizeof reason, err, errlen)) == 0) {
        rocks.acked += acked;
        rocks.lost += lost;
        rocks.trials++;
        if (reason[0])
            snprintf(rocks.reason, sizeof rocks.reason, "%s", reason);
        snprintf(rocks.out->note, sizeof rocks.out->note,
                 "process crash (the data directory as the kill left it, %" PRIu64 " trial%s): %" PRIu64
                 " of %" PRIu64 " acknowledged keys lost%s%s; %s",
                 rocks.trials, rocks.trials == 1 ? "" : "s", rocks.lost, rocks.acked, rocks.reason[0] ? "; " : "",
                 rocks.reason,
                 rocks.aio ? "the worker had an io_uring or AIO ring open: writes may escape the recorder, no verdict"
                           : "no io_uring or AIO ring was open in the worker (liburing is loaded, for reads)");
    }
    return rc;
}

static int rocks_check(struct target_trial *t, const char *image, struct target_keyset *found, int *ok, char *err,
                       size_t errlen)
{
    char reason[160];
    return target_worker_check(t, "rocksdb", image, found, ok, reason, sizeof reason, err, errlen);
}

const struct target_ops target_rocksdb = {
    .name = "rocksdb",
    .setup = rocks_setup,
    .prepare = rocks_prepare,
    .run = rocks_run,
    .check = rocks_check,
    .keys = rocks_keys,
};
