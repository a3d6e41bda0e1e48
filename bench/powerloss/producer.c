/* The recorder as a producer (docs/performance.md): the time to turn a
 * journal of 10,000 records into the engine's operation list
 * (recorder_ops_build, the snapshot read included), states a second
 * decided and hashed from it, and the time to build one image directory
 * (recorder_image_build: producer, engine, tree written).  The journal is
 * written here with the journal format, shaped like a database's run: a
 * log appended 200 bytes at a time with an fdatasync every 8 appends, a
 * data file overwritten in 4 KiB pages and fsynced, and now and then a
 * checkpoint written to a new file, fsynced, renamed over the old one and
 * the directory fsynced.
 *
 *   pl_producer_bench [rounds] [scratch-dir]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "recorder/recorder.h"

#define NRECS 10000

static FILE *jw;
static uint64_t jw_ns, nrecs, sync_id;
static unsigned char page[4096];

static void rec(unsigned type, int32_t aux, uint64_t handle, uint64_t off, uint64_t len, const void *p, size_t plen)
{
    struct recorder_rec r = {.size = (uint32_t)(RECORDER_HEADER + plen), .type = (uint16_t)type, .pid = 7,
                             .aux = aux, .ns = jw_ns += 50000, .handle = handle, .off = off, .len = len};
    if (fwrite(&r, RECORDER_HEADER, 1, jw) != 1 || (plen && fwrite(p, plen, 1, jw) != 1)) {
        perror("pl_producer_bench: fwrite");
        exit(1);
    }
    nrecs++;
}

static void path_rec(unsigned type, int32_t aux, uint64_t handle, uint64_t off, const char *a, const char *b)
{
    char buf[128];
    size_t la = strlen(a) + 1, lb = b ? strlen(b) + 1 : 0;
    memcpy(buf, a, la);
    if (b)
        memcpy(buf + la, b, lb);
    rec(type, aux, handle, off, 0, buf, la + lb);
}

static void sync_(uint64_t h, int kind)
{
    rec(RECORDER_SYNC_BEGIN, kind, h, ++sync_id, 0, NULL, 0);
    rec(RECORDER_SYNC_END, 0, h, sync_id, 0, NULL, 0);
}

static void write_journal(const char *path)
{
    jw = fopen(path, "wb");
    struct recorder_jhead head = {.magic = RECORDER_MAGIC, .version = RECORDER_VERSION,
                                  .header_size = RECORDER_JHEAD_SIZE};
    if (!jw || fwrite(&head, sizeof head, 1, jw) != 1) {
        perror(path);
        exit(1);
    }
    for (size_t i = 0; i < sizeof page; i++)
        page[i] = (unsigned char)(i * 131 + 7);
    path_rec(RECORDER_OPEN, O_RDONLY | O_DIRECTORY, 1, 0, "", NULL);
    path_rec(RECORDER_OPEN, O_WRONLY | O_APPEND, 2, 0, "log", NULL);
    path_rec(RECORDER_OPEN, O_RDWR, 3, 0, "data", NULL);
    uint64_t log_off = 0, rng = 42, h = 10;
    unsigned appends = 0, k = 0;
    while (nrecs < NRECS - 12) {
        uint64_t r = pl_splitmix64(&rng) % 100;
        if (r < 70) {
            rec(RECORDER_WRITE, 0, 2, log_off, 200, page, 200);
            log_off += 200;
            if (++appends % 8 == 0)
                sync_(2, RECORDER_SYNC_FDATASYNC);
        } else if (r < 95) {
            rec(RECORDER_WRITE, 0, 3, (pl_splitmix64(&rng) % 16) * 4096, 4096, page, 4096);
            if (r < 80)
                sync_(3, RECORDER_SYNC_FSYNC);
        } else {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "ckpt.%u", k++);
            path_rec(RECORDER_OPEN, O_CREAT | O_WRONLY, ++h, 0100644, tmp, NULL);
            rec(RECORDER_WRITE, 0, h, 0, 1024, page, 1024);
            sync_(h, RECORDER_SYNC_FSYNC);
            path_rec(RECORDER_RENAME, 0, 0, 0, tmp, "checkpoint");
            sync_(1, RECORDER_SYNC_FSYNC);
        }
    }
    if (fclose(jw) != 0) {
        perror(path);
        exit(1);
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void put(const char *dir, const char *name, size_t len)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(page, 1, len, f) != len || fclose(f) != 0) {
        perror(p);
        exit(1);
    }
}

static _Noreturn void fail(const char *msg)
{
    fprintf(stderr, "pl_producer_bench: %s\n", msg);
    exit(1);
}

/* The journal to an operation list, `rounds` times (t[r] each); the last
 * list is left in o. */
static void time_producer(struct recorder_journal *j, const char *snap, int rounds, double *t,
                          struct recorder_ops *o)
{
    char err[512] = "";
    for (int r = 0; r < rounds; r++) {
        double t0 = now_s();
        if (recorder_ops_build(j, snap, o, err, sizeof err) != 0)
            fail(err);
        t[r] = now_s() - t0;
        if (r + 1 < rounds)
            recorder_ops_free(o);
    }
}

/* States decided and hashed from the producer's list: random cuts, torn. */
static double time_states(const struct recorder_ops *o)
{
    char err[512] = "";
    struct pl_engine *e;
    struct pl_model m;
    struct pl_state st = {0};
    if (pl_model_parse("torn", &m, err, sizeof err) != 0 ||
        pl_engine_new(&o->list, &e, err, sizeof err) != 0)
        fail(err);
    uint64_t rng = 7;
    double s0 = now_s();
    unsigned states = 2000;
    for (unsigned i = 0; i < states; i++) {
        size_t cut = o->list.nbase + pl_splitmix64(&rng) % (o->list.n - o->list.nbase + 1);
        if (pl_decide(e, &m, cut, jw_ns, i, &st, err, sizeof err) != 0)
            fail(err);
    }
    double per_s = states / (now_s() - s0);
    pl_state_free(&st);
    pl_engine_free(e);
    return per_s;
}

/* A whole image (producer, engine, tree written) under drop at the end,
 * `rounds` times (ti[r] each). */
static void time_images(struct recorder_journal *j, const char *snap, const char *img, int rounds,
                        double *ti)
{
    char err[512] = "";
    struct pl_model m;
    if (pl_model_parse("drop", &m, err, sizeof err) != 0)
        fail(err);
    for (int r = 0; r < rounds; r++) {
        if (recorder_tree_remove(img, err, sizeof err) != 0)
            fail(err);
        double t0 = now_s();
        if (recorder_image_build(j, snap, UINT64_MAX, &m, 1, img, NULL, err, sizeof err) != 0)
            fail(err);
        ti[r] = now_s() - t0;
    }
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    const char *scratch = argc > 2 ? argv[2] : "build/scratch";
    char dir[4096], snap[4200], journal[4200], img[4200], err[512] = "";
    if (rounds < 1 || rounds > 1000)
        rounds = 20;
    snprintf(dir, sizeof dir, "%s/pl-producer-bench-%ld", scratch, (long)getpid());
    snprintf(snap, sizeof snap, "%s/snap", dir);
    snprintf(journal, sizeof journal, "%s/journal", dir);
    snprintf(img, sizeof img, "%s/img", dir);
    if (mkdir(dir, 0755) != 0 || mkdir(snap, 0755) != 0) {
        perror(dir);
        return 1;
    }
    put(snap, "log", 0);
    put(snap, "data", 4096);
    put(snap, "checkpoint", 1024);
    write_journal(journal);
    struct recorder_journal j;
    if (recorder_journal_open(journal, &j, err, sizeof err) != 0)
        fail(err);
    double *t = calloc((size_t)rounds, sizeof *t), *ti = calloc((size_t)rounds, sizeof *ti);
    if (!t || !ti)
        fail("calloc(rounds): out of memory");
    struct recorder_ops o;
    time_producer(&j, snap, rounds, t, &o);
    size_t nops = o.list.n;
    double per_s = time_states(&o);
    recorder_ops_free(&o);
    time_images(&j, snap, img, rounds, ti);
    qsort(t, (size_t)rounds, sizeof *t, by_value);
    qsort(ti, (size_t)rounds, sizeof *ti, by_value);
    printf("recorder producer: a journal of %llu records (%zu bytes) -> %zu operations: median %.2f ms, "
           "min %.2f ms, max %.2f ms over %d rounds (snapshot read included)\n",
           (unsigned long long)j.n, j.bytes, nops, t[rounds / 2] * 1e3, t[0] * 1e3, t[rounds - 1] * 1e3,
           rounds);
    printf("recorder producer: %.0f states/s decided and hashed from its list (torn, random cuts)\n", per_s);
    printf("image build (producer + engine + tree written, drop, at the end): median %.2f ms, min %.2f ms, "
           "max %.2f ms over %d rounds\n", ti[rounds / 2] * 1e3, ti[0] * 1e3, ti[rounds - 1] * 1e3, rounds);
    recorder_journal_close(&j);
    free(t);
    free(ti);
    return recorder_tree_remove(dir, err, sizeof err) == 0 ? 0 : 1;
}
