/* DESIGN: power-loss models, applied to the real file after the writer died.
 *
 * The file as the dead writer left it is the page cache's view: every
 * completed write is in it.  A model turns it into what a disk might hold
 * after the power failed, using only the ledger: the durable prefix (what a
 * completed sync covered) is never touched, and the tail after it is cut
 * into units, each a 512-byte sector as the disk sees them (the first unit
 * starts at the durable boundary, which may lie inside a sector; the last
 * may end with the file).  Sectors are the disk's atomic unit; records are
 * not, so a model that keeps whole sectors can still cut a record in two,
 * which recovery must notice.
 *
 * The lie model is the one that touches the durable prefix: a disk that
 * acknowledges a flush from a volatile write cache (a cheap SSD, a VM host
 * cache, eatmydata) loses what the cache held when the power goes.  What
 * survives is a prefix of the file, sector-aligned, of a length drawn
 * uniformly between nothing and the whole synced prefix: the drive had
 * written its cache out in order, up to some point.  Real caches also
 * reorder; this keeps the model simple and still makes `always` lose, which
 * is what it must show.
 *
 * The writeback model works per record instead, because what it needs is
 * each record's age (write_ns in the ledger): the kernel flusher wakes every
 * interval and writes back what has been dirty for longer than expire.
 *
 * Every random choice comes from the seed, so a trial's damage replays.
 */
#include "crashsim/crashsim.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    enum crashsim_model model;
} models[] = {
    { "drop", CRASHSIM_DROP },
    { "torn", CRASHSIM_TORN },
    { "reorder", CRASHSIM_REORDER },
    { "writeback", CRASHSIM_WRITEBACK },
    { "process", CRASHSIM_PROCESS },
    { "lie", CRASHSIM_LIE },
};

int crashsim_model_parse(const char *name, enum crashsim_model *out)
{
    for (size_t i = 0; name && i < sizeof models / sizeof models[0]; i++) {
        if (strcmp(name, models[i].name) == 0) {
            *out = models[i].model;
            return 0;
        }
    }
    return -EINVAL;
}

const char *crashsim_model_name(enum crashsim_model model)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (models[i].model == model)
            return models[i].name;
    return "unknown";
}

static uint64_t next_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int fail(char *err, size_t errlen, const char *call, int rc)
{
    if (err)
        snprintf(err, errlen, "%s(crash log): %s", call, strerror(-rc));
    return rc;
}

/* The call that failed, for the message (one model runs at a time per thread). */
static _Thread_local const char *failed_call;

static int write_all(int fd, const unsigned char *buf, uint64_t len, uint64_t off)
{
    failed_call = "pwrite";
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, (size_t)len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        buf += n;
        len -= (uint64_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int zero_range(int fd, uint64_t off, uint64_t len)
{
    static const unsigned char zeros[65536];
    while (len > 0) {
        uint64_t n = len < sizeof zeros ? len : sizeof zeros;
        int rc = write_all(fd, zeros, n, off);
        if (rc < 0)
            return rc;
        off += n;
        len -= n;
    }
    return 0;
}

static int truncate_to(int fd, uint64_t size)
{
    failed_call = "ftruncate";
    while (ftruncate(fd, (off_t)size) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

/* The end of the tail unit that starts at off. */
static uint64_t unit_end(uint64_t off, uint64_t size)
{
    uint64_t e = (off / CRASHSIM_SECTOR + 1) * CRASHSIM_SECTOR;
    return e < size ? e : size;
}

static int model_torn(int fd, struct crashsim_damage *d, uint64_t *rng)
{
    uint64_t start = d->durable_bytes, size = d->size_before;
    uint64_t units = 0;
    for (uint64_t off = start; off < size; off = unit_end(off, size))
        units++;
    uint64_t keep = units ? next_rand(rng) % (units + 1) : 0;
    uint64_t end = start, last_start = start;
    for (uint64_t i = 0; i < keep; i++) {
        last_start = end;
        end = unit_end(end, size);
    }
    int rc = truncate_to(fd, end);
    if (rc < 0)
        return rc;
    d->kept_bytes = end - start;
    d->size_after = end;
    if (keep > 0 && (next_rand(rng) & 1)) {
        /* The last surviving sector was being written when the power went:
         * from some byte on it holds noise. */
        uint64_t from = last_start + next_rand(rng) % (end - last_start);
        unsigned char noise[CRASHSIM_SECTOR];
        for (uint64_t i = 0; i < end - from; i++)
            noise[i] = (unsigned char)next_rand(rng);
        rc = write_all(fd, noise, end - from, from);
        if (rc < 0)
            return rc;
        d->garbled_off = from;
        d->garbled_len = end - from;
        d->kept_bytes -= end - from;
    }
    return 0;
}

static int model_reorder(int fd, struct crashsim_damage *d, uint64_t *rng)
{
    uint64_t size = d->size_before;
    for (uint64_t off = d->durable_bytes; off < size;) {
        uint64_t end = unit_end(off, size);
        if (next_rand(rng) & 1) {
            d->kept_bytes += end - off;
        } else {
            int rc = zero_range(fd, off, end - off);
            if (rc < 0)
                return rc;
            d->zeroed_bytes += end - off;
        }
        off = end;
    }
    d->size_after = size;
    return 0;
}

static int model_writeback(int fd, const struct crashsim_ledger *l, struct crashsim_damage *d,
                           uint64_t *rng, uint64_t crash_ns, long expire_ms, long interval_ms)
{
    struct crashsim_ledger_state st;
    crashsim_ledger_state(l, &st);
    uint64_t es = st.entry_size;
    uint64_t start = d->durable_bytes, size = d->size_before;
    uint64_t keep_end = start;

    /* The last flusher tick at or before the crash; ticks fall on a random
     * phase of the interval.  Whatever was written expire before it went
     * out (and earlier ticks wrote only older data, a subset). */
    int any = interval_ms > 0;
    uint64_t cutoff = 0;
    if (any) {
        uint64_t interval = (uint64_t)interval_ms * 1000000ull;
        uint64_t expire = (uint64_t)expire_ms * 1000000ull;
        uint64_t phase = next_rand(rng) % interval;
        any = crash_ns >= phase;
        if (any) {
            uint64_t tick = crash_ns - (crash_ns - phase) % interval;
            any = tick >= expire;
            cutoff = tick - expire;
        }
    }
    uint64_t first = start / es + 1, last = (size + es - 1) / es;
    if (any) {
        for (uint64_t s = first; s <= last; s++) {
            uint64_t w = crashsim_ledger_write_ns(l, s);
            if (w && w <= cutoff) {
                uint64_t e = s * es < size ? s * es : size;
                if (e > keep_end)
                    keep_end = e;
            }
        }
        /* Younger records before the last survivor are holes. */
        for (uint64_t s = first; s <= last && (s - 1) * es < keep_end; s++) {
            uint64_t w = crashsim_ledger_write_ns(l, s);
            uint64_t b = (s - 1) * es > start ? (s - 1) * es : start;
            uint64_t e = s * es < keep_end ? s * es : keep_end;
            if (w && w <= cutoff) {
                d->kept_bytes += e - b;
            } else {
                int rc = zero_range(fd, b, e - b);
                if (rc < 0)
                    return rc;
                d->zeroed_bytes += e - b;
            }
        }
    }
    int rc = truncate_to(fd, keep_end);
    if (rc < 0)
        return rc;
    d->size_after = keep_end;
    return 0;
}

int crashsim_apply_model(int fd, const struct crashsim_ledger *l, enum crashsim_model model,
                         uint64_t seed, uint64_t crash_ns, long expire_ms, long interval_ms,
                         struct crashsim_damage *out, char *err, size_t errlen)
{
    struct crashsim_damage d;
    memset(&d, 0, sizeof d);
    if (out)
        memset(out, 0, sizeof *out);
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return fail(err, errlen, "fstat", -errno);
    struct crashsim_ledger_state st;
    crashsim_ledger_state(l, &st);
    d.size_before = (uint64_t)sb.st_size;
    d.durable_bytes = st.durable_bytes < d.size_before ? st.durable_bytes : d.size_before;
    d.tail_bytes = d.size_before - d.durable_bytes;
    d.size_after = d.size_before;
    uint64_t rng = seed;
    int rc = 0;
    failed_call = "crashsim_apply_model";
    switch (model) {
    case CRASHSIM_PROCESS:
        d.kept_bytes = d.tail_bytes;
        break;
    case CRASHSIM_DROP:
        rc = truncate_to(fd, d.durable_bytes);
        d.size_after = d.durable_bytes;
        break;
    case CRASHSIM_TORN:
        rc = model_torn(fd, &d, &rng);
        break;
    case CRASHSIM_LIE: {
        uint64_t sectors = d.durable_bytes / CRASHSIM_SECTOR;
        uint64_t keep = next_rand(&rng) % (sectors + 1) * CRASHSIM_SECTOR;
        rc = truncate_to(fd, keep);
        d.size_after = keep;
        d.lied_bytes = d.durable_bytes - keep;
        break;
    }
    case CRASHSIM_REORDER:
        rc = model_reorder(fd, &d, &rng);
        break;
    case CRASHSIM_WRITEBACK:
        if (expire_ms < 0 || interval_ms < 0) {
            rc = -EINVAL;
            break;
        }
        rc = model_writeback(fd, l, &d, &rng, crash_ns, expire_ms, interval_ms);
        break;
    default:
        rc = -EINVAL;
    }
    if (rc < 0)
        return fail(err, errlen, failed_call, rc);
    if (out)
        *out = d;
    return 0;
}
