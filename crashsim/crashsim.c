/* DESIGN: the ledger, the wrapper at the storage seam, and the trials.
 *
 * The ledger is one anonymous MAP_SHARED mapping made once per run: a
 * header of counters and sync slots (a few pages), then write_ns[] and
 * ack_ns[] with one u64 per seq (0 = not yet).  MAP_NORESERVE and shmem's
 * lazy allocation make a ten-million-entry capacity free until touched; a
 * reset clears only what the last trial touched, so a run's memory does not
 * grow with its trials.  All shared words are lock-free C11 atomics, so
 * they are address-free and work across processes; the writer stores with
 * release, the parent loads with acquire.
 *
 * The writer is one process with cfg->writers threads (1 to 256), each
 * appending its share of the entries to the one log, as bench/bench.c's
 * writer threads do.  The log writes under its mutex, in seq order (group:
 * one leader at a time writes a batch of whole records), so the wrapper
 * still sees one pwrite at a time, at the append offset; syncs run
 * outside the mutex and may overlap writes and each other (always: every
 * writer syncs on its own; group: the leader syncs while others write;
 * batch: the flusher), so each sync in flight has a slot of its own; and
 * acknowledgements arrive in any seq order, one thread's after another's.
 *
 * THE ORDERING ARGUMENT.  SIGKILL stops every thread of the writer between
 * two of its machine instructions; every store that retired before it is
 * visible to the parent (waitpid orders them), none after it.  So the
 * ledger holds, for each thread, exactly a prefix of that thread's program
 * order below; and because a thread only acts on another's work through
 * the log's mutex, condition variables and semaphores (which order
 * memory), an event in the ledger brings along every event that happened
 * before it in any thread.  Each step is placed so that any such cut errs
 * only towards "less durable" or "not acknowledged", never towards calling
 * an acknowledged entry lost that was not, nor a lost one safe:
 *
 *   pwrite:  W1 intent_bytes = end      (before the syscall)
 *            W2 pwrite()                (data now in the page cache)
 *            W3 write_ns[s] = now, written_bytes = end
 *   sync:    S1 claim a slot; covered = written_bytes (only writes whose
 *               W3 came first: fsync covers every write completed before
 *               it was called, so covered is never too much); the slot
 *               notes the start
 *            S2 fsync()
 *            S3 durable_bytes = max(durable_bytes, covered), free the slot
 *   writer:  A1 wal_log_append() returns (ack time in its out param)
 *            A2 acked_max_seq = max(.., seq), last_ack_ns = max(.., ack),
 *               then ack_ns[seq] = ack (this makes it acknowledged), then
 *               the ack counter
 *
 *  - killed between W1 and W3: data may be in the file but is not marked
 *    written.  It was never acknowledged (A1 comes after W3 of its own
 *    seq, in the same thread), so it can only be "recovered
 *    unacknowledged"; and intent_bytes (W1) still says the writer asked for
 *    it, so a recovered copy is not called corrupt.
 *  - killed between S1 and S3 (mid-sync, or after fsync returned but
 *    before the publish): the model drops data that may really be on disk.
 *    Nothing it covers was acknowledged by way of this sync yet: under
 *    always the ack follows S3 in the same thread; under group the
 *    leader's S3 comes before it takes the mutex back and posts the
 *    waiters' semaphores, so every waiter's A2 comes after it.  No acknowledged entry
 *    is falsely reported lost; under batch/none those entries were
 *    acknowledged at risk, and the window counts from their ack, as it
 *    should.  The slot's start makes "the longest sync" count a sync still
 *    in flight from its start to the crash (the oldest one, when several).
 *  - killed between A1 and A2, or inside A2 before ack_ns[seq]: the caller
 *    never saw the ack (the ledger is the acknowledgement), so the entry
 *    counts as unacknowledged.  An acknowledged entry is exactly a seq with
 *    ack_ns != 0; acked_max_seq is raised before that store, so the
 *    verifier's scan up to it (and up to what was written) misses none,
 *    whatever order the threads acknowledged in.  The counter, last in A2,
 *    only times the random kill.
 *  - last_ack_ns is raised before ack_ns[seq] too: the writer was alive at
 *    every ack time it took, so the crash instant is never put before one
 *    it recorded.
 *  - a write whose W3 races with S1 (a writer beside the flusher or a
 *    group leader) is left out of covered even if the kernel had it: the
 *    model may drop more than a real disk would, never less.
 * O_DSYNC (and O_DIRECT|O_DSYNC): each pwrite is durable when it returns,
 * so W3 is followed by a publish of durable_bytes, the write standing in
 * for the sync (no slot: it is never in flight apart from the write).
 * The crash instant is the parent's clock just before kill() (or the
 * writer's own clock before raise(SIGKILL) at a failure point), raised to
 * the latest ack if a thread got one in before the signal landed.
 *
 * Writes through the wrapper are expected in append order, one thread at a
 * time (the log holds its mutex around pwrite, or is led by one group
 * leader at a time); syncs may run beside them
 * and beside each other, up to CRASHSIM_SYNC_SLOTS at once.
 */
#include "crashsim/crashsim.h"

#include <errno.h>
#include <fcntl.h>
#include <fiu.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
               "the ledger needs lock-free (address-free) atomics");

#define PAGE 4096u

/* A sync in flight: start_ns 0 when the slot is free, SLOT_CLAIMED while
 * its owner fills in covered. */
#define SLOT_CLAIMED UINT64_MAX
struct sync_slot {
    _Atomic uint64_t start_ns;
    _Atomic uint64_t covered;
};

/* The header pages, shared by parent and writer. */
struct shared {
    uint64_t entries;
    uint32_t entry_size;
    _Atomic uint64_t intent_bytes;
    _Atomic uint64_t written_bytes;
    _Atomic uint64_t durable_bytes;
    _Atomic uint64_t acked;             /* acks counted */
    _Atomic uint64_t acked_max_seq;     /* raised before the ack is recorded */
    _Atomic uint64_t first_ack_ns, last_ack_ns;
    _Atomic uint64_t syncs_started, syncs_ok, syncs_failed;
    _Atomic uint64_t sync_max_ns;
    struct sync_slot slots[CRASHSIM_SYNC_SLOTS];
    _Atomic int writer;             /* enum crashsim_writer */
    _Atomic int append_rc, append_rc_next, append_op;
    _Atomic uint64_t died_ns;
    char error[4608];               /* the writer's setup failure (names the path) */
};
#define HEADER_BYTES (((sizeof(struct shared) + PAGE - 1) / PAGE) * PAGE)

struct crashsim_ledger {
    struct shared *sh;
    _Atomic uint64_t *write_ns;     /* [entries] */
    _Atomic uint64_t *ack_ns;       /* [entries] */
    void *map;
    size_t map_len, array_len;
};

static size_t round_page(uint64_t n)
{
    return (size_t)((n + PAGE - 1) / PAGE * PAGE);
}

int crashsim_ledger_create(uint64_t entries, uint32_t entry_size, struct crashsim_ledger **out)
{
    if (entries == 0 || entries > CRASHSIM_MAX_ENTRIES || entry_size == 0)
        return -EINVAL;
    struct crashsim_ledger *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->array_len = round_page(entries * sizeof(uint64_t));
    l->map_len = HEADER_BYTES + 2 * l->array_len;
    l->map = mmap(NULL, l->map_len, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (l->map == MAP_FAILED) {
        int e = errno;
        free(l);
        return -e;
    }
    l->sh = l->map;
    l->write_ns = (_Atomic uint64_t *)((char *)l->map + HEADER_BYTES);
    l->ack_ns = (_Atomic uint64_t *)((char *)l->map + HEADER_BYTES + l->array_len);
    l->sh->entries = entries;
    l->sh->entry_size = entry_size;
    *out = l;
    return 0;
}

static void clear_array(_Atomic uint64_t *a, uint64_t n)
{
    size_t bytes = (size_t)n * sizeof(uint64_t);
    if (bytes == 0)
        return;
    /* Large ranges go back to the kernel (shmem hands back zero pages). */
    if (bytes >= (4u << 20) && madvise((void *)a, round_page(bytes), MADV_REMOVE) == 0)
        return;
    memset((void *)a, 0, bytes);
}

void crashsim_ledger_reset(struct crashsim_ledger *l)
{
    struct shared *sh = l->sh;
    uint64_t es = sh->entry_size;
    uint64_t touched = (atomic_load(&sh->intent_bytes) + es - 1) / es;
    uint64_t acked = atomic_load(&sh->acked_max_seq);
    if (acked > touched)
        touched = acked;
    if (touched > sh->entries)
        touched = sh->entries;
    clear_array(l->write_ns, touched);
    clear_array(l->ack_ns, touched);
    uint64_t entries = sh->entries;
    uint32_t entry_size = sh->entry_size;
    memset(sh, 0, sizeof *sh);
    sh->entries = entries;
    sh->entry_size = entry_size;
}

void crashsim_ledger_destroy(struct crashsim_ledger *l)
{
    if (!l)
        return;
    munmap(l->map, l->map_len);
    free(l);
}

static void store_max(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (cur < v && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_release,
                                                             memory_order_relaxed))
        ;
}

void crashsim_ledger_write_begin(struct crashsim_ledger *l, uint64_t off, uint64_t len)
{
    store_max(&l->sh->intent_bytes, off + len);
}

static void mark_written(struct crashsim_ledger *l, uint64_t first, uint64_t last, uint64_t ns)
{
    if (last > l->sh->entries)
        last = l->sh->entries;
    for (uint64_t s = first; s <= last; s++)
        if (atomic_load_explicit(&l->write_ns[s - 1], memory_order_relaxed) == 0)
            atomic_store_explicit(&l->write_ns[s - 1], ns, memory_order_release);
}

void crashsim_ledger_write_done(struct crashsim_ledger *l, uint64_t off, uint64_t len,
                                uint64_t done_ns)
{
    struct shared *sh = l->sh;
    uint64_t es = sh->entry_size, end = off + len;
    uint64_t w = atomic_load_explicit(&sh->written_bytes, memory_order_acquire);
    if (off <= w) {
        if (end <= w)
            return;
        /* [0, end) is now written: every record ending in (w, end] is whole. */
        mark_written(l, w / es + 1, end / es, done_ns);
        atomic_store_explicit(&sh->written_bytes, end, memory_order_release);
    } else {
        /* A write past a gap: only records wholly inside it are written. */
        mark_written(l, (off + es - 1) / es + 1, end / es, done_ns);
    }
}

/* A slot's start: never 0 (free) nor SLOT_CLAIMED. */
static uint64_t slot_key(uint64_t start_ns)
{
    return start_ns == 0 ? 1 : start_ns == SLOT_CLAIMED ? SLOT_CLAIMED - 1 : start_ns;
}

uint64_t crashsim_ledger_sync_begin(struct crashsim_ledger *l, uint64_t start_ns)
{
    struct shared *sh = l->sh;
    atomic_fetch_add_explicit(&sh->syncs_started, 1, memory_order_release);
    uint64_t covered = atomic_load_explicit(&sh->written_bytes, memory_order_acquire);
    /* Several syncs may be in flight at once (always with several writers:
     * each syncs outside the log's mutex), each in a slot of its own. */
    for (unsigned i = 0; i < CRASHSIM_SYNC_SLOTS; i++) {
        struct sync_slot *s = &sh->slots[i];
        uint64_t free_slot = 0;
        if (atomic_load_explicit(&s->start_ns, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&s->start_ns, &free_slot, SLOT_CLAIMED,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed)) {
            atomic_store_explicit(&s->covered, covered, memory_order_relaxed);
            atomic_store_explicit(&s->start_ns, slot_key(start_ns), memory_order_release);
            break;
        }
    }
    return covered;
}

/* S3 without a slot: the sync's result, and covered made durable on success. */
static void publish_sync(struct shared *sh, uint64_t covered, uint64_t start_ns, uint64_t end_ns,
                         int rc)
{
    store_max(&sh->sync_max_ns, end_ns > start_ns ? end_ns - start_ns : 0);
    if (rc == 0) {
        store_max(&sh->durable_bytes, covered);
        atomic_fetch_add_explicit(&sh->syncs_ok, 1, memory_order_release);
    } else {
        atomic_fetch_add_explicit(&sh->syncs_failed, 1, memory_order_release);
    }
}

void crashsim_ledger_sync_end(struct crashsim_ledger *l, uint64_t covered, uint64_t start_ns,
                              uint64_t end_ns, int rc)
{
    struct shared *sh = l->sh;
    publish_sync(sh, covered, start_ns, end_ns, rc);
    /* Free the slot sync_begin took: two syncs that started in the same
     * nanosecond and cover the same prefix are interchangeable. */
    uint64_t key = slot_key(start_ns);
    for (unsigned i = 0; i < CRASHSIM_SYNC_SLOTS; i++) {
        struct sync_slot *s = &sh->slots[i];
        uint64_t expect = key;
        if (atomic_load_explicit(&s->start_ns, memory_order_acquire) == key &&
            atomic_load_explicit(&s->covered, memory_order_relaxed) == covered &&
            atomic_compare_exchange_strong_explicit(&s->start_ns, &expect, 0,
                                                    memory_order_release,
                                                    memory_order_relaxed))
            break;
    }
}

/* A2.  The bound (acked_max_seq) and the latest ack time go first, so that
 * whatever prefix of this a kill leaves, every recorded ack lies within the
 * bound and no later than last_ack_ns; the count comes last and may be one
 * short per thread. */
void crashsim_ledger_ack(struct crashsim_ledger *l, uint64_t seq, uint64_t ack_ns)
{
    struct shared *sh = l->sh;
    if (seq == 0 || seq > sh->entries)
        return;
    if (ack_ns == 0)
        ack_ns = 1;
    store_max(&sh->acked_max_seq, seq);
    store_max(&sh->last_ack_ns, ack_ns);
    uint64_t none = 0;
    atomic_compare_exchange_strong_explicit(&sh->first_ack_ns, &none, ack_ns,
                                            memory_order_release, memory_order_relaxed);
    atomic_store_explicit(&l->ack_ns[seq - 1], ack_ns, memory_order_release);
    atomic_fetch_add_explicit(&sh->acked, 1, memory_order_release);
}

void crashsim_ledger_state(const struct crashsim_ledger *l, struct crashsim_ledger_state *out)
{
    struct shared *sh = l->sh;
    memset(out, 0, sizeof *out);
    out->entries = sh->entries;
    out->entry_size = sh->entry_size;
    out->intent_bytes = atomic_load_explicit(&sh->intent_bytes, memory_order_acquire);
    out->written_bytes = atomic_load_explicit(&sh->written_bytes, memory_order_acquire);
    out->durable_bytes = atomic_load_explicit(&sh->durable_bytes, memory_order_acquire);
    out->acked = atomic_load_explicit(&sh->acked, memory_order_acquire);
    out->acked_max_seq = atomic_load_explicit(&sh->acked_max_seq, memory_order_acquire);
    out->first_ack_ns = atomic_load_explicit(&sh->first_ack_ns, memory_order_acquire);
    out->last_ack_ns = atomic_load_explicit(&sh->last_ack_ns, memory_order_acquire);
    out->syncs_started = atomic_load_explicit(&sh->syncs_started, memory_order_acquire);
    out->syncs_ok = atomic_load_explicit(&sh->syncs_ok, memory_order_acquire);
    out->syncs_failed = atomic_load_explicit(&sh->syncs_failed, memory_order_acquire);
    out->sync_max_ns = atomic_load_explicit(&sh->sync_max_ns, memory_order_acquire);
    for (unsigned i = 0; i < CRASHSIM_SYNC_SLOTS; i++) {
        uint64_t start = atomic_load_explicit(&sh->slots[i].start_ns, memory_order_acquire);
        if (start == 0)
            continue;
        out->syncs_inflight++;
        if (start == SLOT_CLAIMED)
            continue;   /* killed before it noted its start: not yet at the sync call */
        if (out->sync_inflight_ns == 0 || start < out->sync_inflight_ns) {
            out->sync_inflight_ns = start;
            out->sync_inflight_bytes = atomic_load_explicit(&sh->slots[i].covered,
                                                            memory_order_relaxed);
        }
    }
}

uint64_t crashsim_ledger_write_ns(const struct crashsim_ledger *l, uint64_t seq)
{
    if (seq == 0 || seq > l->sh->entries)
        return 0;
    return atomic_load_explicit(&l->write_ns[seq - 1], memory_order_acquire);
}

uint64_t crashsim_ledger_ack_ns(const struct crashsim_ledger *l, uint64_t seq)
{
    if (seq == 0 || seq > l->sh->entries)
        return 0;
    return atomic_load_explicit(&l->ack_ns[seq - 1], memory_order_acquire);
}

/* ---- the wrapper --------------------------------------------------------- */

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
            publish_sync(w->l->sh, covered, t0, t1, 0);
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

/* ---- randomness ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t crashsim_trial_seed(uint64_t run_seed, uint32_t index)
{
    uint64_t s = run_seed ^ ((uint64_t)index * 0xD1B54A32D192ED03ull);
    return splitmix64(&s);
}

/* ---- scratch files and signals ------------------------------------------- */

static char live_path[4200];
static volatile sig_atomic_t live_path_set;
static volatile sig_atomic_t live_pid;
static struct sigaction old_int, old_term;
static int guard_depth;

/* Kills the writer and waits until it is gone (waitpid is async-signal-safe),
 * so that when this process dies of sig, none of its writer threads is
 * still running: a caller that saw it exit sees no writer left. */
static void on_fatal_signal(int sig)
{
    int saved = errno;
    if (live_pid > 0) {
        kill((pid_t)live_pid, SIGKILL);
        /* ECHILD: already reaped, or SIGCHLD ignored (then the kernel reaps
         * it once it has died). */
        while (waitpid((pid_t)live_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (live_path_set)
        unlink(live_path);
    sigaction(sig, sig == SIGINT ? &old_int : &old_term, NULL);
    raise(sig);   /* delivered to the previous handler once this one returns */
    errno = saved;
}

static void guard_enter(void)
{
    if (guard_depth++ > 0)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
}

static void guard_leave(void)
{
    if (--guard_depth > 0)
        return;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}

static pthread_once_t fiu_once = PTHREAD_ONCE_INIT;
static void fiu_start(void)
{
    fiu_init(0);
}

/* ---- the writer (child) ---------------------------------------------------- */

/* msg names the failing call; err is its negative errno. */
static _Noreturn void writer_setup_failed(struct crashsim_ledger *l, const char *msg, int err)
{
    snprintf(l->sh->error, sizeof l->sh->error, "%s", msg);
    atomic_store_explicit(&l->sh->append_rc, err, memory_order_release);
    atomic_store_explicit(&l->sh->writer, CRASHSIM_WRITER_SETUP_FAILED, memory_order_release);
    _exit(1);
}

static int writes_are_durable(enum wal_sync_method m)
{
    return m == WAL_SYNC_O_DSYNC || m == WAL_SYNC_O_DIRECT_DSYNC;
}

/* Enough for wal_log_append and libfiu, also under ASan; 256 threads of
 * the default 8 MiB would map 2 GiB for nothing. */
#define WRITER_STACK (512u << 10)

/* One writer thread: its share of the entries. */
struct writer_thread {
    pthread_t thread;
    struct wal_log *log;
    struct crashsim_ledger *l;
    uint64_t entries;
};

static void *writer_thread_main(void *arg)
{
    struct writer_thread *t = arg;
    struct shared *sh = t->l->sh;
    for (uint64_t i = 0; i < t->entries; i++) {
        uint64_t seq = 0, ack = 0;
        int rc = wal_log_append(t->log, &seq, &ack);                      /* A1 */
        if (rc < 0) {
            /* The first thread to fail reports; the log is failed for
             * every thread now, and the others just stop. */
            int none = 0;
            if (atomic_compare_exchange_strong_explicit(&sh->append_rc, &none, rc,
                                                        memory_order_acq_rel,
                                                        memory_order_relaxed)) {
                int err = 0;
                enum wal_op op = wal_log_failed_op(t->log, &err);
                atomic_store_explicit(&sh->append_op, (int)op, memory_order_release);
                int again = wal_log_append(t->log, NULL, NULL);
                atomic_store_explicit(&sh->append_rc_next, again, memory_order_release);
                atomic_store_explicit(&sh->writer, CRASHSIM_WRITER_APPEND_FAILED,
                                      memory_order_release);
            }
            break;
        }
        crashsim_ledger_ack(t->l, seq, ack);                              /* A2 */
    }
    return NULL;
}

static _Noreturn void writer_main(const struct crashsim_config *cfg, struct crashsim_ledger *l,
                                  const char *path, const struct crashsim_trial_opts *opts,
                                  pid_t parent)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    /* Past RLIMIT_FSIZE a write should fail with EFBIG, named like any other
     * I/O error, not kill the writer as a crash nobody asked for. */
    signal(SIGXFSZ, SIG_IGN);
    /* Die with the parent rather than wait forever for its SIGKILL. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    if (opts && opts->child_hook)
        opts->child_hook(opts->hook_arg);

    struct wal_file *f, *wf;
    struct wal_log *log;
    char msg[sizeof l->sh->error];
    int rc = wal_file_open(path, cfg->sync_method, &f, msg, sizeof msg);
    if (rc < 0)
        writer_setup_failed(l, msg, rc);
    if (cfg->prealloc &&
        (rc = wal_file_prealloc(f, cfg->entries * cfg->entry_size, msg, sizeof msg)) < 0)
        writer_setup_failed(l, msg, rc);
    rc = crashsim_file_wrap(f, l, writes_are_durable(cfg->sync_method), &wf);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "crashsim_file_wrap(%s): %s", path, strerror(-rc));
        writer_setup_failed(l, msg, rc);
    }
    rc = wal_log_open(&log, wf, &cfg->strategy, cfg->entry_size);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "wal_log_open(%s): %s", path, strerror(-rc));
        writer_setup_failed(l, msg, rc);
    }

    /* The threads start one after the other; the first may be appending
     * while the last is created, as clients connecting to a database. */
    unsigned nw = cfg->writers > 1 ? cfg->writers : 1;
    struct writer_thread *wt = calloc(nw, sizeof *wt);
    if (!wt)
        writer_setup_failed(l, "calloc(writer threads): Cannot allocate memory", -ENOMEM);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WRITER_STACK);
    atomic_store_explicit(&l->sh->writer, CRASHSIM_WRITER_RUNNING, memory_order_release);
    unsigned started = 0;
    for (unsigned i = 0; i < nw; i++) {
        wt[i].log = log;
        wt[i].l = l;
        wt[i].entries = cfg->entries / nw + (i < cfg->entries % nw);
        if (nw == 1)
            break;   /* no thread for the common case */
        if (wt[i].entries == 0)
            continue;
        rc = pthread_create(&wt[i].thread, &attr, writer_thread_main, &wt[i]);
        if (rc != 0) {
            snprintf(msg, sizeof msg, "pthread_create(writer %u of %u): %s", i + 1, nw,
                     strerror(rc));
            writer_setup_failed(l, msg, -rc);   /* _exit ends the threads started */
        }
        started = i + 1;
    }
    pthread_attr_destroy(&attr);
    if (nw == 1)
        writer_thread_main(&wt[0]);
    for (unsigned i = 0; i < started; i++)
        if (wt[i].entries)
            pthread_join(wt[i].thread, NULL);
    int running = CRASHSIM_WRITER_RUNNING;
    atomic_compare_exchange_strong_explicit(&l->sh->writer, &running, CRASHSIM_WRITER_DONE,
                                            memory_order_acq_rel, memory_order_relaxed);
    /* Nothing is closed or cleaned up: the only way out is SIGKILL. */
    for (;;)
        pause();
}

/* ---- one trial (parent) ---------------------------------------------------- */

static long proc_ms(const char *file, long fallback_ms)
{
    FILE *fp = fopen(file, "re");
    long cs;
    if (!fp)
        return fallback_ms;
    int ok = fscanf(fp, "%ld", &cs) == 1 && cs >= 0;
    fclose(fp);
    return ok ? cs * 10 : fallback_ms;
}

static void resolve_writeback(long expire_ms, long interval_ms, long *e, long *i)
{
    *e = expire_ms >= 0 ? expire_ms : proc_ms("/proc/sys/vm/dirty_expire_centisecs", 30000);
    *i = interval_ms >= 0 ? interval_ms
                          : proc_ms("/proc/sys/vm/dirty_writeback_centisecs", 5000);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
                           .tv_nsec = (long)(ns % 1000000000ull) };
    nanosleep(&ts, NULL);
}

static const char *op_call(enum wal_op op, enum wal_sync_method m)
{
    switch (op) {
    case WAL_OP_WRITE: return "pwrite";
    case WAL_OP_SYNC:
        return m == WAL_SYNC_FDATASYNC ? "fdatasync" : m == WAL_SYNC_FSYNC ? "fsync" : "sync";
    case WAL_OP_CLOSE: return "close";
    case WAL_OP_NONE: break;
    }
    return "wal_log_append";
}

static uint64_t view_ack_ns(const void *ctx, uint64_t seq)
{
    return crashsim_ledger_ack_ns(ctx, seq);
}

static int check_config(const struct crashsim_config *cfg, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (cfg->entries < 1 || cfg->entries > CRASHSIM_MAX_ENTRIES)
        bad = "entries";
    else if (cfg->entry_size < WAL_HEADER_SIZE || cfg->entry_size > WAL_MAX_RECORD)
        bad = "entry_size";
    else if (cfg->strategy.kind == WAL_BATCH && (cfg->strategy.interval_ms < WAL_BATCH_MIN_MS ||
                                                 cfg->strategy.interval_ms > WAL_BATCH_MAX_MS))
        bad = "strategy";
    else if ((unsigned)cfg->model > CRASHSIM_PROCESS)
        bad = "model";
    else if (!cfg->dir || !*cfg->dir)
        bad = "dir";
    else if (cfg->writers > CRASHSIM_MAX_WRITERS)
        bad = "writers";
    if (bad && err)
        snprintf(err, errlen, "crash config: invalid %s", bad);
    return bad ? -EINVAL : 0;
}

/* The batch flusher has nothing left to do: everything written is durable,
 * or a sync failed and the log stopped. */
static int quiescent(struct shared *sh)
{
    return atomic_load_explicit(&sh->syncs_failed, memory_order_acquire) > 0 ||
           atomic_load_explicit(&sh->durable_bytes, memory_order_acquire) >=
               atomic_load_explicit(&sh->written_bytes, memory_order_acquire);
}

static int reap(pid_t pid, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, 0);
        if (r == pid)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == ECHILD) {
            /* SIGCHLD ignored: the kernel reaps it; wait until it is gone. */
            while (kill(pid, 0) == 0)
                sleep_ns(20000);
            *status = SIGKILL;   /* as if killed: the writer's state tells the rest */
            return 0;
        }
        return r < 0 ? -errno : -ECHILD;
    }
}

int crashsim_trial(const struct crashsim_config *cfg, struct crashsim_ledger *l, uint64_t seed,
                   const struct crashsim_trial_opts *opts, struct crashsim_trial_result *out,
                   char *err, size_t errlen)
{
    static _Atomic unsigned scratch_counter;
    static const struct crashsim_trial_opts no_opts = {
        .writeback_expire_ms = -1, .writeback_interval_ms = -1,
    };
    if (!opts)
        opts = &no_opts;
    memset(out, 0, sizeof *out);
    out->seed = seed;
    if (err && errlen)
        err[0] = '\0';
    int rc = check_config(cfg, err, errlen);
    if (rc < 0)
        return rc;

    struct crashsim_ledger *own = NULL;
    if (!l) {
        rc = crashsim_ledger_create(cfg->entries, cfg->entry_size, &own);
        if (rc < 0) {
            if (err)
                snprintf(err, errlen, "mmap(ledger): %s", strerror(-rc));
            return rc;
        }
        l = own;
    }
    if (l->sh->entries < cfg->entries || l->sh->entry_size != cfg->entry_size) {
        if (err)
            snprintf(err, errlen, "crashsim_trial: ledger made for another configuration");
        crashsim_ledger_destroy(own);
        return -EINVAL;
    }
    crashsim_ledger_reset(l);
    pthread_once(&fiu_once, fiu_start);

    long expire_ms, interval_ms;
    resolve_writeback(opts->writeback_expire_ms, opts->writeback_interval_ms, &expire_ms,
                      &interval_ms);
    uint64_t rng = seed;
    out->target_acks = 1 + splitmix64(&rng) % cfg->entries;
    uint64_t extra_draw = splitmix64(&rng);
    uint64_t model_seed = splitmix64(&rng);

    char path[4200];
    snprintf(path, sizeof path, "%s/fsynclab-crash-%ld-%u.wal", cfg->dir, (long)getpid(),
             atomic_fetch_add(&scratch_counter, 1));

    guard_enter();
    memcpy(live_path, path, sizeof path);
    live_path_set = 1;
    uint64_t start = wal_now_ns();
    uint64_t deadline = opts->deadline_ns ? opts->deadline_ns : start + 60000000000ull;
    out->start_ns = start;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        if (err)
            snprintf(err, errlen, "fork: %s", strerror(-rc));
        goto done;
    }
    if (pid == 0)
        writer_main(cfg, l, path, opts, parent);
    live_pid = pid;

    /* Wait for the moment to crash. */
    struct shared *sh = l->sh;
    int status = 0, reaped = 0;
    uint64_t kill_at = 0;
    for (;;) {
        int w = atomic_load_explicit(&sh->writer, memory_order_acquire);
        if (w == CRASHSIM_WRITER_DIED || w == CRASHSIM_WRITER_APPEND_FAILED ||
            w == CRASHSIM_WRITER_SETUP_FAILED)
            break;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            reaped = 1;
            break;
        }
        uint64_t now = wal_now_ns();
        if (now >= deadline)
            break;
        if (opts->kill == CRASHSIM_KILL_WAIT && w == CRASHSIM_WRITER_DONE &&
            (cfg->strategy.kind != WAL_BATCH || quiescent(sh)))
            break;   /* nothing left that could reach a failure point */
        uint64_t nap = 20000;
        if (opts->kill == CRASHSIM_KILL_RANDOM) {
            if (!kill_at) {
                uint64_t acked = atomic_load_explicit(&sh->acked, memory_order_acquire);
                if (acked >= out->target_acks) {
                    /* A random fraction of two mean ack intervals past the target. */
                    uint64_t first = atomic_load_explicit(&sh->first_ack_ns,
                                                          memory_order_acquire);
                    uint64_t mean = acked > 1 && now > first ? (now - first) / (acked - 1)
                                                             : now - start;
                    if (mean > 500000000ull)
                        mean = 500000000ull;
                    kill_at = now + extra_draw % (2 * mean + 1);
                }
            }
            if (kill_at && now >= kill_at)
                break;
            if (kill_at && kill_at - now < nap)
                nap = kill_at - now;
        }
        sleep_ns(nap);
    }
    uint64_t crash = wal_now_ns();
    if (!reaped) {
        kill(pid, SIGKILL);
        rc = reap(pid, &status);
        if (rc < 0) {
            if (err)
                snprintf(err, errlen, "waitpid(%ld): %s", (long)pid, strerror(-rc));
            goto done;
        }
    }
    live_pid = 0;

    out->writer = (enum crashsim_writer)atomic_load_explicit(&sh->writer, memory_order_acquire);
    if (out->writer == CRASHSIM_WRITER_SETUP_FAILED) {
        rc = atomic_load(&sh->append_rc);
        if (rc >= 0)
            rc = -EIO;
        if (err)
            snprintf(err, errlen, "%s", sh->error);
        goto done;
    }
    if (out->writer == CRASHSIM_WRITER_STARTING) {
        /* The deadline came before the writer had its log open: no trial. */
        rc = -ETIMEDOUT;
        if (err)
            snprintf(err, errlen, "crash trial: the time budget ended before the writer started");
        goto done;
    }
    if (out->writer == CRASHSIM_WRITER_DIED) {
        crash = atomic_load_explicit(&sh->died_ns, memory_order_acquire);
    } else if (WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)) {
        rc = -ECHILD;
        if (err) {
            if (WIFEXITED(status))
                snprintf(err, errlen, "writer %ld: exited with status %d", (long)pid,
                         WEXITSTATUS(status));
            else
                snprintf(err, errlen, "writer %ld: killed by signal %d (%s)", (long)pid,
                         WTERMSIG(status), strsignal(WTERMSIG(status)));
        }
        goto done;
    }
    out->append_rc = atomic_load(&sh->append_rc);
    out->append_rc_next = atomic_load(&sh->append_rc_next);
    if (out->append_rc < 0 && err)
        snprintf(err, errlen, "%s(%s): %s",
                 op_call((enum wal_op)atomic_load(&sh->append_op), cfg->sync_method), path,
                 strerror(-out->append_rc));

    crashsim_ledger_state(l, &out->ledger);
    /* The writer may have run on for a moment after the parent read its
     * clock: an ack any of its threads got in counts as before the crash. */
    if (out->ledger.last_ack_ns > crash)
        crash = out->ledger.last_ack_ns;
    out->crash_ns = crash;

    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        if (err)
            snprintf(err, errlen, "open(%s): %s", path, strerror(-rc));
        goto done;
    }
    rc = crashsim_apply_model(fd, l, cfg->model, model_seed, crash, expire_ms, interval_ms,
                              &out->damage, err, errlen);
    if (rc == 0) {
        uint64_t max_sync = out->ledger.sync_max_ns;
        if (out->ledger.sync_inflight_ns && crash > out->ledger.sync_inflight_ns &&
            crash - out->ledger.sync_inflight_ns > max_sync)
            max_sync = crash - out->ledger.sync_inflight_ns;
        uint64_t es = cfg->entry_size;
        struct verifier_ledger vl = {
            .entry_size = cfg->entry_size,
            .written = (out->ledger.intent_bytes + es - 1) / es,
            .acked = out->ledger.acked_max_seq,
            .ack_ns = view_ack_ns,
            .ctx = l,
            .crash_ns = crash,
            .max_sync_ns = max_sync,
        };
        rc = verifier_check_trial(fd, &vl, &out->verdict, err, errlen);
    }
    close(fd);

done:
    if (unlink(path) < 0 && errno != ENOENT && rc == 0) {
        rc = -errno;
        if (err)
            snprintf(err, errlen, "unlink(%s): %s", path, strerror(-rc));
    }
    live_path_set = 0;
    live_pid = 0;
    guard_leave();
    crashsim_ledger_destroy(own);
    return rc;
}

/* ---- a run --------------------------------------------------------------- */

int crashsim_run(const struct crashsim_config *given, struct verifier_summary *out,
                 void (*progress)(void *arg, uint32_t done, uint32_t total), void *progress_arg,
                 char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    verifier_summary_init(out, &given->strategy);
    /* o_direct_dsync records are padded to the direct I/O alignment, as the
     * benchmark pads them; the ledger and the verifier see the padded size. */
    struct crashsim_config padded = *given;
    const struct crashsim_config *cfg = &padded;
    char msg[256];
    int rc = wal_record_size(given->dir ? given->dir : ".", given->sync_method, given->entry_size,
                             &padded.entry_size, msg, sizeof msg);
    if (rc < 0) {
        if (err)
            snprintf(err, errlen, "%s", msg);
        return rc;
    }
    rc = check_config(cfg, err, errlen);
    if (rc < 0)
        return rc;
    if (cfg->trials < 1 || cfg->trials > CRASHSIM_MAX_TRIALS || !(cfg->max_seconds > 0) ||
        cfg->max_seconds > CRASHSIM_MAX_SECONDS) {
        if (err)
            snprintf(err, errlen, "crash config: invalid %s",
                     cfg->max_seconds > 0 && cfg->max_seconds <= CRASHSIM_MAX_SECONDS
                         ? "trials" : "max_seconds");
        return -EINVAL;
    }
    struct crashsim_ledger *l;
    rc = crashsim_ledger_create(cfg->entries, cfg->entry_size, &l);
    if (rc < 0) {
        if (err)
            snprintf(err, errlen, "mmap(ledger): %s", strerror(-rc));
        return rc;
    }
    struct crashsim_trial_opts opts = { .kill = CRASHSIM_KILL_RANDOM };
    resolve_writeback(cfg->writeback_expire_ms, cfg->writeback_interval_ms,
                      &opts.writeback_expire_ms, &opts.writeback_interval_ms);
    opts.deadline_ns = wal_now_ns() + (uint64_t)(cfg->max_seconds * 1e9);

    guard_enter();
    for (uint32_t i = 0; i < cfg->trials; i++) {
        if (i > 0 && wal_now_ns() >= opts.deadline_ns)
            break;
        struct crashsim_trial_result r;
        uint64_t seed = crashsim_trial_seed(cfg->seed, i);
        rc = crashsim_trial(cfg, l, seed, &opts, &r, err, errlen);
        if (rc == -ETIMEDOUT && r.writer == CRASHSIM_WRITER_STARTING) {
            rc = 0;     /* the budget ended before this trial could start */
            if (err && errlen)
                err[0] = '\0';
            break;
        }
        if (rc == 0 && r.append_rc < 0)
            rc = r.append_rc;   /* a real I/O error: err names the call */
        if (rc < 0)
            break;
        verifier_summary_add(out, &r.verdict, seed);
        if (progress)
            progress(progress_arg, i + 1, cfg->trials);
    }
    guard_leave();
    crashsim_ledger_destroy(l);
    return rc;
}

/* ---- several strategies ------------------------------------------------------ */

struct progress_relay {
    void (*fn)(void *arg, size_t strategy, uint32_t done, uint32_t total);
    void *arg;
    size_t strategy;
};

static void relay_progress(void *arg, uint32_t done, uint32_t total)
{
    struct progress_relay *p = arg;
    p->fn(p->arg, p->strategy, done, total);
}

int crashsim_run_all(const struct crashsim_config *base, const struct wal_strategy *strategies,
                     size_t n, struct verifier_summary *out,
                     void (*progress)(void *arg, size_t strategy, uint32_t done, uint32_t total),
                     void *progress_arg, char *err, size_t errlen)
{
    uint64_t end = wal_now_ns() + (uint64_t)(base->max_seconds * 1e9);
    for (size_t i = 0; i < n; i++) {
        struct crashsim_config cfg = *base;
        uint64_t now = wal_now_ns();
        uint64_t share = now < end ? (end - now) / (n - i) : 0;
        /* A late strategy still gets a moment; if that is too short for a
         * trial, its summary says trials: 0 rather than nothing at all. */
        cfg.max_seconds = share > 50000000 ? (double)share / 1e9 : 0.05;
        cfg.strategy = strategies[i];
        struct progress_relay relay = { progress, progress_arg, i };
        int rc = crashsim_run(&cfg, &out[i], progress ? relay_progress : NULL, &relay, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}
