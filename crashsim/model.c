/* DESIGN: power-loss models, applied to the real file after the writer died.
 *
 * The file as the dead writer left it is the page cache's view: every
 * completed write is in it.  A model turns it into what a disk might hold
 * after the power failed, using only the ledger; the deciding is the
 * power-loss engine's (powerloss/, the same for the recorder's images).
 * This file is the producer: it hands the engine the file as an operation
 * list, the durable prefix (what a completed sync covered) as one synced
 * write and the tail after it as unsynced writes, and writes the state the
 * engine decides back into the file.
 *
 * The tail is one write (the engine cuts it into sectors of the file: 512
 * bytes, or 4096 with --sector-size; the first from the durable boundary,
 * as the disk sees them), except
 * under writeback, which needs each record's age (write_ns in the ledger):
 * there it is one write per record, stamped with its time.  Sectors are the
 * disk's atomic unit; records are not, so a model that keeps whole sectors
 * can still cut a record in two, which recovery must notice.
 *
 * What stays here, because it is this log's and not the engine's:
 *   torn     the last surviving sector was being written when the power
 *            went: with probability 1/2, from some byte on it holds noise
 *            (drawn from the seed after the engine's one draw);
 *   reorder  the file keeps its length (its size reached the disk; dropped
 *            sectors read as zeros);
 *   lie      only whole sectors of the synced prefix can survive (the
 *            engine is handed those), a prefix drawn uniformly between
 *            nothing and all of them.
 *
 * Every random choice comes from the seed, so a trial's damage replays.
 */
#include "crashsim/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerloss/powerloss.h"

/* crashsim's models among the engine's presets (powerloss/model.c names them). */
static const char *const models[] = { "drop", "torn", "reorder", "writeback", "process", "lie" };

int crashsim_model_check(const struct pl_model *m)
{
    for (size_t i = 0; m && i < sizeof models / sizeof models[0]; i++)
        if (strcmp(pl_model_name(m), models[i]) == 0)
            return 0;
    return -EINVAL;   /* a preset of the engine crash's log does not take (ext4), or a combination */
}

int crashsim_model_parse(const char *name, struct pl_model *out)
{
    struct pl_model m;
    if (!name || pl_model_parse(name, &m, NULL, 0) != 0 || crashsim_model_check(&m) != 0)
        return -EINVAL;
    *out = m;
    return 0;
}

static int fail(char *err, size_t errlen, const char *call, int rc)
{
    return PL_ERR(err, errlen, rc, "%s(crash log): %s", call, strerror(-rc));
}

static int read_all(int fd, unsigned char *buf, uint64_t len)
{
    for (uint64_t off = 0; off < len;) {
        ssize_t n = pread(fd, buf + off, (size_t)(len - off), (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        off += (uint64_t)n;
    }
    return 0;
}

static int write_all(int fd, const unsigned char *buf, uint64_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, (size_t)len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        buf += n;
        len -= (uint64_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int add(struct pl_list *pl, struct pl_op op)
{
    return pl_list_add(pl, &op, NULL, 0);
}

/* The log as an operation list: file 2, "log", empty in the snapshot. */
static int log_list(struct pl_list *pl, const struct crashsim_ledger *l, const struct pl_model *model,
                    unsigned sector, const unsigned char *bytes, uint64_t durable, uint64_t size,
                    size_t *tail)
{
    int rc = add(pl, (struct pl_op){.kind = PL_CREATE, .file = 2, .dir = 1, .name = "log"});
    pl_list_mark_base(pl);
    uint64_t synced = model->lie ? durable / sector * sector : durable;
    if (!rc && synced) {
        rc = add(pl, (struct pl_op){.kind = PL_WRITE, .file = 2, .len = synced, .data = bytes});
        rc = rc ? rc : add(pl, (struct pl_op){.kind = PL_SYNC_BEGIN, .file = 2});
        rc = rc ? rc : add(pl, (struct pl_op){.kind = PL_SYNC_END, .file = 2, .off = pl->n - 1});
    }
    *tail = pl->n;
    if (rc || size <= durable)
        return rc;
    if (model->tail != PL_TAIL_WRITEBACK)
        return add(pl, (struct pl_op){.kind = PL_WRITE, .file = 2, .off = durable, .len = size - durable,
                                      .data = bytes + durable});
    struct crashsim_ledger_state st;
    crashsim_ledger_state(l, &st);
    uint64_t es = st.entry_size;
    for (uint64_t s = durable / es + 1; !rc && (s - 1) * es < size; s++) {
        uint64_t w = crashsim_ledger_write_ns(l, s);
        uint64_t b = (s - 1) * es > durable ? (s - 1) * es : durable;
        uint64_t e = s * es < size ? s * es : size;
        if (w)   /* a record never written stays a hole */
            rc = add(pl, (struct pl_op){.kind = PL_WRITE, .ns = w, .file = 2, .off = b, .len = e - b,
                                        .data = bytes + b});
    }
    return rc;
}

/* crashsim's torn noise, drawn after the engine's one draw from the seed. */
static void garble(unsigned char *out, uint64_t end, uint64_t durable, uint64_t seed, unsigned sector,
                   struct crashsim_damage *d)
{
    uint64_t rng = seed;
    (void)pl_splitmix64(&rng);
    if (end <= durable || !(pl_splitmix64(&rng) & 1))
        return;
    uint64_t last_start = (end - 1) / sector * sector;
    if (last_start < durable)
        last_start = durable;
    uint64_t from = last_start + pl_splitmix64(&rng) % (end - last_start);
    for (uint64_t i = from; i < end; i++)
        out[i] = (unsigned char)pl_splitmix64(&rng);
    d->garbled_off = from;
    d->garbled_len = end - from;
}

/* Writes into fd only where out differs from what it held, then its length. */
static int write_back(int fd, const unsigned char *was, uint64_t was_len, const unsigned char *out, uint64_t len,
                      const char **call)
{
    uint64_t common = len < was_len ? len : was_len;
    for (uint64_t i = 0; i < common;) {
        if (was[i] == out[i]) {
            i++;
            continue;
        }
        uint64_t j = i;
        while (j < common && was[j] != out[j])
            j++;
        *call = "pwrite";
        int rc = write_all(fd, out + i, j - i, i);
        if (rc)
            return rc;
        i = j;
    }
    if (len > was_len) {
        *call = "pwrite";
        return write_all(fd, out + was_len, len - was_len, was_len);
    }
    *call = "ftruncate";
    while (len < was_len && ftruncate(fd, (off_t)len) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

static int decide(int fd, const struct crashsim_ledger *l, uint64_t seed,
                  uint64_t crash_ns, const struct pl_model *pm, unsigned char *bytes, struct crashsim_damage *d,
                  const char **call)
{
    struct pl_list pl;
    pl_list_init(&pl);
    struct pl_engine *e = NULL;
    struct pl_state st = {0};
    unsigned char *out = NULL;
    size_t tail = 0;
    *call = "crashsim_apply_model";
    int rc = log_list(&pl, l, pm, pm->sector, bytes, d->durable_bytes, d->size_before, &tail);
    rc = rc ? rc : pl_engine_new(&pl, &e, NULL, 0);
    rc = rc ? rc : pl_decide(e, pm, pl.n, crash_ns, seed, &st, NULL, 0);
    const unsigned char *data = NULL;
    size_t len = 0;
    rc = rc ? rc : pl_state_content(e, &st, 2, &data, &len, NULL, 0);
    if (!rc) {
        uint64_t out_len = pm->tail == PL_TAIL_REORDER && d->size_before > len ? d->size_before : len;
        out = calloc(out_len ? out_len : 1, 1);
        rc = out ? 0 : -ENOMEM;
        if (out) {
            memcpy(out, data, len);
            for (size_t i = 0; i < st.npieces; i++)
                if (st.pieces[i].op >= tail)
                    d->kept_bytes += st.pieces[i].to - st.pieces[i].from;
            if (pm->tail == PL_TAIL_TORN)
                garble(out, len, d->durable_bytes, seed, pm->sector, d);
            d->kept_bytes -= d->garbled_len;
            d->size_after = out_len;
            if (out_len > d->durable_bytes)
                d->zeroed_bytes = out_len - d->durable_bytes - d->kept_bytes - d->garbled_len;
            if (pm->lie)
                d->lied_bytes = d->durable_bytes - (out_len < d->durable_bytes ? out_len : d->durable_bytes);
            rc = write_back(fd, bytes, d->size_before, out, out_len, call);
        }
    }
    free(out);
    pl_state_free(&st);
    pl_engine_free(e);
    pl_list_free(&pl);
    return rc;
}

int crashsim_apply_model(int fd, const struct crashsim_ledger *l, const struct pl_model *model,
                         uint64_t seed, uint64_t crash_ns, long expire_ms, long interval_ms,
                         unsigned sector, struct crashsim_damage *out, char *err, size_t errlen)
{
    struct crashsim_damage d;
    memset(&d, 0, sizeof d);
    if (out)
        memset(out, 0, sizeof *out);
    if (crashsim_model_check(model) != 0
        || (model->tail == PL_TAIL_WRITEBACK && (expire_ms < 0 || interval_ms < 0)))
        return fail(err, errlen, "crashsim_apply_model", -EINVAL);
    struct pl_model pm = *model;
    pm.expire_ms = expire_ms;
    pm.interval_ms = interval_ms;
    if (sector && sector != pm.sector) {
        char num[16];
        snprintf(num, sizeof num, "%u", sector);
        if (pl_model_set_sector(&pm, num, NULL, 0) != 0)
            return fail(err, errlen, "crashsim_apply_model", -EINVAL);
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return fail(err, errlen, "fstat", -errno);
    struct crashsim_ledger_state st;
    crashsim_ledger_state(l, &st);
    d.size_before = (uint64_t)sb.st_size;
    d.durable_bytes = st.durable_bytes < d.size_before ? st.durable_bytes : d.size_before;
    d.tail_bytes = d.size_before - d.durable_bytes;
    unsigned char *bytes = malloc(d.size_before ? d.size_before : 1);
    if (!bytes)
        return fail(err, errlen, "malloc", -ENOMEM);
    const char *call = "pread";
    int rc = read_all(fd, bytes, d.size_before);
    if (!rc)
        rc = decide(fd, l, seed, crash_ns, &pm, bytes, &d, &call);
    free(bytes);
    if (rc < 0)
        return fail(err, errlen, call, rc);
    if (out)
        *out = d;
    return 0;
}
