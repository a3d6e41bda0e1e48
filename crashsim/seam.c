/* DESIGN: the wrapper at the storage seam.
 *
 * As SQLite's test6.c crash VFS wraps os_unix.c, crashsim_file_wrap puts
 * itself between the log and its real file (the wal_file method table):
 * every pwrite and sync passes through here on its way down, and here it
 * is recorded in the ledger at the steps W1..W3 and S1..S3 of THE ORDERING
 * ARGUMENT (ledger.c), in the order that argument needs: intent before the
 * call, completion after it.
 *
 * Around each call sit the libfiu failure points (CRASHSIM_FIU_*): one can
 * make the call fail with an errno, or kill the writer at exactly that
 * point (CRASHSIM_FIU_DIE), so that tests reach every window of the
 * argument without timing luck.  A point that kills notes the instant in
 * the ledger first: the parent takes it as the crash time.
 */
#include "crashsim/internal.h"

#include <errno.h>
#include <fiu.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct wrap {
    struct wal_file base;
    struct wal_file *inner;
    struct crashsim_ledger *l;
    int writes_durable;
};

static _Noreturn void die_now(struct crashsim_ledger *l)
{
    atomic_store_explicit(&l->sh->died_ns, wal_now_ns(), memory_order_release);
    atomic_store_explicit(&l->sh->writer, CRASHSIM_WRITER_DIED, memory_order_release);
    raise(SIGKILL);
    for (;;)
        pause();
}

/* 0 when the point does not fail; the error it injects when it does. */
static int failpoint(struct wrap *w, const char *name)
{
    if (!fiu_fail(name))
        return 0;
    void *info = fiu_failinfo();
    if (info == CRASHSIM_FIU_DIE)
        die_now(w->l);
    intptr_t e = (intptr_t)info;
    return e > 0 && e < 4096 ? -(int)e : -EIO;
}

static int wrap_pwrite(struct wal_file *f, const void *buf, size_t len, off_t off)
{
    struct wrap *w = (struct wrap *)f;
    int rc = failpoint(w, CRASHSIM_FIU_WRITE_BEFORE);
    if (rc)
        return rc;
    uint64_t t0 = wal_now_ns();
    crashsim_ledger_write_begin(w->l, (uint64_t)off, len);                 /* W1 */
    rc = w->inner->methods->pwrite(w->inner, buf, len, off);              /* W2 */
    int frc = failpoint(w, CRASHSIM_FIU_WRITE_AFTER);
    if (rc == 0 && frc)
        rc = frc;
    if (rc == 0) {
        uint64_t t1 = wal_now_ns();
        crashsim_ledger_write_done(w->l, (uint64_t)off, len, t1);         /* W3 */
        if (w->writes_durable) {
            uint64_t covered = atomic_load_explicit(&w->l->sh->written_bytes,
                                                    memory_order_acquire);
            crashsim_publish_sync(w->l->sh, covered, t0, t1, 0);
        }
    }
    return rc;
}

static int wrap_sync(struct wal_file *f)
{
    struct wrap *w = (struct wrap *)f;
    uint64_t t0 = wal_now_ns();
    uint64_t covered = crashsim_ledger_sync_begin(w->l, t0);             /* S1 */
    int rc = failpoint(w, CRASHSIM_FIU_SYNC_BEFORE);
    if (rc == 0)
        rc = w->inner->methods->sync(w->inner);                           /* S2 */
    int frc = failpoint(w, CRASHSIM_FIU_SYNC_AFTER);
    if (rc == 0 && frc)
        rc = frc;
    crashsim_ledger_sync_end(w->l, covered, t0, wal_now_ns(), rc);        /* S3 */
    return rc;
}

static int wrap_close(struct wal_file *f)
{
    struct wrap *w = (struct wrap *)f;
    int rc = w->inner->methods->close(w->inner);
    free(w);
    return rc;
}

static const struct wal_file_methods wrap_methods = {
    .pwrite = wrap_pwrite,
    .sync = wrap_sync,
    .close = wrap_close,
};

int crashsim_file_wrap(struct wal_file *inner, struct crashsim_ledger *l, int writes_durable,
                       struct wal_file **out)
{
    struct wrap *w = malloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    w->base.methods = &wrap_methods;
    w->inner = inner;
    w->l = l;
    w->writes_durable = writes_durable;
    *out = &w->base;
    return 0;
}
