/* The power-loss engine's speed (docs/performance.md): states a second
 * decided and content-hashed for a run of 10,000 operations, under each
 * model and through the keep-set API, and the time to write one state to
 * disk.  The run is synthetic but shaped like a database's: a log appended
 * 200 bytes at a time with an fdatasync every 8 appends, a data file
 * overwritten in 4 KiB pages and fsynced, and now and then a checkpoint
 * written to a new file, fsynced, renamed over the old one and the
 * directory fsynced.
 *
 *   pl_bench [states] [scratch-dir]
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "powerloss/powerloss.h"

#define NOPS 10000

static unsigned char payload[1 << 16];
static char names[64][16];
static struct pl_list L;
static uint64_t now_ns;
static char err[512];

static void add(struct pl_op o)
{
    o.ns = now_ns += 50000;   /* 50 us apart: a 10,000-op run lasts half a second */
    if (pl_list_add(&L, &o, err, sizeof err) != 0) {
        fprintf(stderr, "pl_bench: %s\n", err);
        exit(1);
    }
}

static void sync_(uint32_t f, unsigned kind)
{
    add((struct pl_op){.kind = PL_SYNC_BEGIN, .file = f, .flags = (uint8_t)kind});
    add((struct pl_op){.kind = PL_SYNC_END, .file = f, .off = L.n - 1});
}

static void build(void)
{
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (unsigned char)(i * 131 + 7);
    pl_list_init(&L);
    add((struct pl_op){.kind = PL_CREATE, .file = 2, .dir = 1, .name = "log"});
    add((struct pl_op){.kind = PL_CREATE, .file = 3, .dir = 1, .name = "data"});
    add((struct pl_op){.kind = PL_WRITE, .file = 3, .off = 0, .len = 65536, .data = payload});
    add((struct pl_op){.kind = PL_CREATE, .file = 4, .dir = 1, .name = "checkpoint"});
    pl_list_mark_base(&L);
    uint64_t log_off = 0, rng = 42;
    uint32_t next_id = 5, ckpt = 4;
    unsigned appends = 0, k = 0;
    while (L.n < NOPS - 8) {
        uint64_t r = pl_splitmix64(&rng) % 100;
        if (r < 70) {
            add((struct pl_op){.kind = PL_WRITE, .file = 2, .off = log_off, .len = 200,
                               .data = payload + log_off % 60000});
            log_off += 200;
            if (++appends % 8 == 0)
                sync_(2, PL_SYNC_FDATASYNC);
        } else if (r < 95) {
            uint64_t page = pl_splitmix64(&rng) % 16;
            add((struct pl_op){.kind = PL_WRITE, .file = 3, .off = page * 4096, .len = 4096,
                               .data = payload + page * 1024});
            if (r < 80)
                sync_(3, PL_SYNC_FSYNC);
        } else {
            snprintf(names[k % 64], sizeof names[0], "ckpt.%u", k);
            add((struct pl_op){.kind = PL_CREATE, .file = next_id, .dir = 1, .name = names[k % 64]});
            add((struct pl_op){.kind = PL_WRITE, .file = next_id, .off = 0, .len = 1024,
                               .data = payload + k * 64});
            sync_(next_id, PL_SYNC_FSYNC);
            add((struct pl_op){.kind = PL_RENAME, .dir = 1, .name = names[k % 64], .dir2 = 1,
                               .name2 = "checkpoint"});
            sync_(1, PL_SYNC_FSYNC);
            ckpt = next_id++;
            k++;
        }
    }
    (void)ckpt;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Exit with the engine's message. */
static _Noreturn void fail(void)
{
    fprintf(stderr, "pl_bench: %s\n", err);
    exit(1);
}

/* Decides and hashes `states` states of each model at cuts drawn uniformly
 * over the run, after a warm-up; prints states/s and how many of the first
 * hundred were distinct. */
static void time_models(struct pl_engine *e, unsigned states, struct pl_state *st)
{
    printf("%-22s %12s %12s %14s\n", "model", "states/s", "us/state", "distinct/100");
    const char *models[] = {"drop", "ext4", "torn", "reorder", "writeback", "lie", "process"};
    uint64_t *hashes = malloc(states * sizeof *hashes);
    if (!hashes) {
        snprintf(err, sizeof err, "malloc(%u hashes): out of memory", states);
        fail();
    }
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        struct pl_model m;
        if (pl_model_parse(models[k], &m, err, sizeof err) != 0)
            fail();
        uint64_t rng = 7;
        for (unsigned i = 0; i < 50; i++)   /* warm up: buffers grown, pages touched */
            pl_decide(e, &m, L.n, L.ops[L.n - 1].ns, i, st, err, sizeof err);
        double t0 = seconds();
        for (unsigned i = 0; i < states; i++) {
            size_t cut = L.nbase + pl_splitmix64(&rng) % (L.n - L.nbase + 1);
            uint64_t at = cut ? L.ops[cut - 1].ns : 0;
            if (pl_decide(e, &m, cut, at, i, st, err, sizeof err) != 0)
                fail();
            hashes[i] = st->hash;
        }
        double dt = seconds() - t0;
        unsigned distinct = 0;
        for (unsigned i = 0; i < 100 && i < states; i++) {
            int seen = 0;
            for (unsigned j = 0; j < i && !seen; j++)
                seen = hashes[j] == hashes[i];
            distinct += !seen;
        }
        printf("%-22s %12.0f %12.1f %14u\n", models[k], states / dt, dt / states * 1e6, distinct);
    }
    free(hashes);
}

/* Exploration's shape: at a cut inside the run, every prefix of the
 * unsynced operations through the keep-set API. */
static void time_keep_prefixes(struct pl_engine *e, unsigned states, struct pl_state *st)
{
    struct pl_model m;
    const struct pl_piece *c;
    size_t n;
    size_t cut = L.n - 3;   /* inside the run, so something is unsynced */
    if (pl_model_parse("drop", &m, err, sizeof err) != 0 ||
        pl_unsynced(e, &m, cut, &c, &n, err, sizeof err) != 0)
        fail();
    struct pl_piece *keep = malloc((n + 1) * sizeof *keep);
    if (!keep) {
        snprintf(err, sizeof err, "malloc(%zu pieces): out of memory", n + 1);
        fail();
    }
    memcpy(keep, c, n * sizeof *keep);
    double t0 = seconds();
    for (unsigned i = 0; i < states; i++)
        if (pl_keep(e, &m, cut, keep, i % (n + 1), st, err, sizeof err) != 0)
            fail();
    double dt = seconds() - t0;
    printf("%-22s %12.0f %12.1f %14s\n", "drop keep-set prefix", states / dt, dt / states * 1e6, "-");
    free(keep);
}

/* One state written to disk, the best of 20. */
static void time_state_write(struct pl_engine *e, struct pl_state *st, const char *scratch)
{
    struct pl_model m;
    if (pl_model_parse("process", &m, err, sizeof err) != 0 ||
        pl_decide(e, &m, L.n, L.ops[L.n - 1].ns, 1, st, err, sizeof err) != 0)
        fail();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/pl-bench-%ld", scratch, (long)getpid());
    double best = 1e9;
    for (int r = 0; r < 20; r++) {
        double t0 = seconds();
        if (pl_state_write(e, st, dir, err, sizeof err) != 0)
            fail();
        double dt = seconds() - t0;
        best = dt < best ? dt : best;
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    printf("write one state (%llu files, %llu bytes) to %s: %.2f ms (best of 20, no fsync)\n",
           (unsigned long long)st->files, (unsigned long long)st->bytes, scratch, best * 1e3);
}

int main(int argc, char **argv)
{
    unsigned states = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000;
    const char *scratch = argc > 2 ? argv[2] : getenv("FSYNCLAB_DIR") ? getenv("FSYNCLAB_DIR") : "build/scratch";
    if (states == 0) {
        fprintf(stderr, "usage: pl_bench [states > 0] [scratch-dir]\n");
        return 2;
    }
    build();
    struct pl_engine *e;
    if (pl_engine_new(&L, &e, err, sizeof err) != 0)
        fail();
    printf("powerloss engine: %zu operations, %u states per model, cuts uniform over the run\n", L.n, states);
    struct pl_state st = {0};
    time_models(e, states, &st);
    time_keep_prefixes(e, states, &st);
    time_state_write(e, &st, scratch);
    pl_state_free(&st);
    pl_engine_free(e);
    pl_list_free(&L);
    return 0;
}
