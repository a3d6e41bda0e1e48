/* DESIGN: the ledger shared by a trial's writer and its parent.
 *
 * The steps W1..A2 below are taken by the wrapper at the storage seam
 * (seam.c) and the writer threads (writer.c); the parent reads the ledger
 * after the kill (trial.c).  The argument that makes it trustworthy lives
 * here, next to the stores it is about.
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
#include "crashsim/internal.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static size_t round_page(uint64_t n)
{
    return (size_t)((n + CRASHSIM_PAGE - 1) / CRASHSIM_PAGE * CRASHSIM_PAGE);
}

int crashsim_ledger_create(uint64_t entries, uint32_t entry_size, struct crashsim_ledger **out)
{
    if (entries == 0 || entries > CRASHSIM_MAX_ENTRIES || entry_size == 0)
        return -EINVAL;
    struct crashsim_ledger *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->array_len = round_page(entries * sizeof(uint64_t));
    l->lane_len = round_page(entries * sizeof(uint16_t));
    l->map_len = CRASHSIM_HEADER_BYTES + 2 * l->array_len + l->lane_len +
                 round_page(CRASHSIM_SYNC_LOG * sizeof(struct crashsim_sync_rec));
    l->map = mmap(NULL, l->map_len, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (l->map == MAP_FAILED) {
        int e = errno;
        free(l);
        return -e;
    }
    l->sh = l->map;
    l->write_ns = (_Atomic uint64_t *)((char *)l->map + CRASHSIM_HEADER_BYTES);
    l->ack_ns = (_Atomic uint64_t *)((char *)l->map + CRASHSIM_HEADER_BYTES + l->array_len);
    l->ack_lane = (_Atomic uint16_t *)((char *)l->map + CRASHSIM_HEADER_BYTES + 2 * l->array_len);
    l->sync_log = (struct crashsim_sync_rec *)((char *)l->ack_lane + l->lane_len);
    l->sh->entries = entries;
    l->sh->entry_size = entry_size;
    *out = l;
    return 0;
}

static void clear_bytes(void *a, size_t bytes)
{
    if (bytes == 0)
        return;
    /* Large ranges go back to the kernel (shmem hands back zero pages). */
    if (bytes >= (4u << 20) && madvise((void *)a, round_page(bytes), MADV_REMOVE) == 0)
        return;
    memset((void *)a, 0, bytes);
}

void crashsim_ledger_reset(struct crashsim_ledger *l)
{
    struct crashsim_shared *sh = l->sh;
    uint64_t es = sh->entry_size;
    uint64_t touched = (atomic_load(&sh->intent_bytes) + es - 1) / es;
    uint64_t acked = atomic_load(&sh->acked_max_seq);
    if (acked > touched)
        touched = acked;
    if (touched > sh->entries)
        touched = sh->entries;
    clear_bytes((void *)l->write_ns, touched * sizeof(uint64_t));
    clear_bytes((void *)l->ack_ns, touched * sizeof(uint64_t));
    clear_bytes((void *)l->ack_lane, touched * sizeof(uint16_t));
    uint64_t syncs = atomic_load(&sh->sync_log_n);
    clear_bytes(l->sync_log, (syncs < CRASHSIM_SYNC_LOG ? syncs : CRASHSIM_SYNC_LOG) *
                                 sizeof(struct crashsim_sync_rec));
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
    struct crashsim_shared *sh = l->sh;
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

/* ---- the sync log and the lanes: a timeline's capture ---------------------
 * Not part of THE ORDERING ARGUMENT: nothing judged reads them.  A thread
 * runs one sync at a time, so the number of its sync in flight is its own
 * (thread-local); a kill between the number and the id leaves the record
 * unreadable (-ENOENT), never half-read. */
static _Thread_local unsigned lane_tls;
static _Thread_local uint64_t sync_tls;   /* the number + 1 of this thread's sync */

void crashsim_ledger_set_lane(unsigned lane)
{
    lane_tls = lane;
}

static void sync_log_begin(struct crashsim_shared *sh, struct crashsim_sync_rec *log,
                           uint64_t start_ns, uint64_t covered)
{
    uint64_t i = atomic_fetch_add_explicit(&sh->sync_log_n, 1, memory_order_relaxed);
    struct crashsim_sync_rec *r = &log[i % CRASHSIM_SYNC_LOG];
    atomic_store_explicit(&r->id, 0, memory_order_relaxed);
    atomic_store_explicit(&r->start_ns, start_ns, memory_order_relaxed);
    atomic_store_explicit(&r->end_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&r->covered, covered, memory_order_relaxed);
    atomic_store_explicit(&r->lane, lane_tls, memory_order_relaxed);
    atomic_store_explicit(&r->rc, 0, memory_order_relaxed);
    atomic_store_explicit(&r->id, i + 1, memory_order_release);
    sync_tls = i + 1;
}

static void sync_log_end(struct crashsim_sync_rec *log, uint64_t end_ns, int rc)
{
    uint64_t id = sync_tls;
    sync_tls = 0;
    if (!id)
        return;
    struct crashsim_sync_rec *r = &log[(id - 1) % CRASHSIM_SYNC_LOG];
    if (atomic_load_explicit(&r->id, memory_order_acquire) != id)
        return;   /* overwritten by a later lap of the ring */
    atomic_store_explicit(&r->rc, rc, memory_order_relaxed);
    atomic_store_explicit(&r->end_ns, end_ns ? end_ns : 1, memory_order_release);
}

uint64_t crashsim_ledger_sync_count(const struct crashsim_ledger *l)
{
    return atomic_load_explicit(&l->sh->sync_log_n, memory_order_acquire);
}

int crashsim_ledger_sync_event(const struct crashsim_ledger *l, uint64_t i,
                               struct crashsim_sync_event *out)
{
    const struct crashsim_sync_rec *r = &l->sync_log[i % CRASHSIM_SYNC_LOG];
    if (atomic_load_explicit(&r->id, memory_order_acquire) != i + 1)
        return -ENOENT;
    out->end_ns = atomic_load_explicit(&r->end_ns, memory_order_acquire);
    out->start_ns = atomic_load_explicit(&r->start_ns, memory_order_relaxed);
    out->covered = atomic_load_explicit(&r->covered, memory_order_relaxed);
    out->lane = atomic_load_explicit(&r->lane, memory_order_relaxed);
    out->rc = atomic_load_explicit(&r->rc, memory_order_relaxed);
    return 0;
}

unsigned crashsim_ledger_ack_lane(const struct crashsim_ledger *l, uint64_t seq)
{
    if (seq == 0 || seq > l->sh->entries)
        return 0;
    return atomic_load_explicit(&l->ack_lane[seq - 1], memory_order_acquire);
}

/* A slot's start: never 0 (free) nor CRASHSIM_SLOT_CLAIMED. */
static uint64_t slot_key(uint64_t start_ns)
{
    return start_ns == 0 ? 1 : start_ns == CRASHSIM_SLOT_CLAIMED ? CRASHSIM_SLOT_CLAIMED - 1 : start_ns;
}

uint64_t crashsim_ledger_sync_begin(struct crashsim_ledger *l, uint64_t start_ns)
{
    struct crashsim_shared *sh = l->sh;
    atomic_fetch_add_explicit(&sh->syncs_started, 1, memory_order_release);
    uint64_t covered = atomic_load_explicit(&sh->written_bytes, memory_order_acquire);
    /* Several syncs may be in flight at once (always with several writers:
     * each syncs outside the log's mutex), each in a slot of its own. */
    for (unsigned i = 0; i < CRASHSIM_SYNC_SLOTS; i++) {
        struct crashsim_sync_slot *s = &sh->slots[i];
        uint64_t free_slot = 0;
        if (atomic_load_explicit(&s->start_ns, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&s->start_ns, &free_slot, CRASHSIM_SLOT_CLAIMED,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed)) {
            atomic_store_explicit(&s->covered, covered, memory_order_relaxed);
            atomic_store_explicit(&s->start_ns, slot_key(start_ns), memory_order_release);
            break;
        }
    }
    sync_log_begin(sh, l->sync_log, start_ns, covered);
    return covered;
}

/* S3 without a slot: the sync's result, and covered made durable on success. */
void crashsim_publish_sync(struct crashsim_shared *sh, uint64_t covered, uint64_t start_ns,
                           uint64_t end_ns, int rc)
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
    struct crashsim_shared *sh = l->sh;
    crashsim_publish_sync(sh, covered, start_ns, end_ns, rc);
    sync_log_end(l->sync_log, end_ns, rc);
    /* Free the slot sync_begin took: two syncs that started in the same
     * nanosecond and cover the same prefix are interchangeable. */
    uint64_t key = slot_key(start_ns);
    for (unsigned i = 0; i < CRASHSIM_SYNC_SLOTS; i++) {
        struct crashsim_sync_slot *s = &sh->slots[i];
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
int crashsim_ledger_ack(struct crashsim_ledger *l, uint64_t seq, uint64_t ack_ns)
{
    struct crashsim_shared *sh = l->sh;
    if (seq == 0 || seq > sh->entries)
        return 0;
    if (ack_ns == 0)
        ack_ns = 1;
    store_max(&sh->acked_max_seq, seq);
    store_max(&sh->last_ack_ns, ack_ns);
    uint64_t none = 0;
    atomic_compare_exchange_strong_explicit(&sh->first_ack_ns, &none, ack_ns,
                                            memory_order_release, memory_order_relaxed);
    atomic_store_explicit(&l->ack_lane[seq - 1], (uint16_t)lane_tls, memory_order_relaxed);
    atomic_store_explicit(&l->ack_ns[seq - 1], ack_ns, memory_order_release);
    return atomic_fetch_add_explicit(&sh->acked, 1, memory_order_release) + 1 == sh->wake_acks;
}

void crashsim_ledger_wake(struct crashsim_ledger *l)
{
    atomic_store_explicit(&l->sh->wake, 1, memory_order_release);
    syscall(SYS_futex, &l->sh->wake, FUTEX_WAKE, 1, NULL, NULL, 0);
}

void crashsim_ledger_state(const struct crashsim_ledger *l, struct crashsim_ledger_state *out)
{
    struct crashsim_shared *sh = l->sh;
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
        if (start == CRASHSIM_SLOT_CLAIMED)
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
