/* crash: crash trials against a real program, and their result.
 *
 * DESIGN.  A trial: a fresh data directory, the target's preparation
 * (not recorded), a snapshot copy, the program under the recorder until a
 * random instant, SIGKILL to its process group.  Then images at the kill
 * instant and at `cuts` earlier instants drawn between the first
 * acknowledgement and the kill; each image is judged against the acks
 * read before its own instant: lost = acknowledged then, absent from the
 * image; its loss window = the instant minus the ack time of the oldest
 * lost key.  A trial with no acknowledgement before its kill could not
 * have lost anything and is not valid.  `held` compares the worst image
 * with what the program's documentation promises; with no valid trial it
 * is null.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recorder/targets/targets.h"

#define SET_ERR(...) ((void)(err ? snprintf(err, errlen, __VA_ARGS__) : 0))

static const struct target_ops *crash_target(const char *name)
{
    static const struct target_ops *const all[] = {&target_contract, &target_sqlite, &target_redis,
                                                   &target_postgres,
                                                   &target_mariadb, &target_rocksdb, &target_lmdb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (name && strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

static uint64_t crash_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

struct crash_acc {
    double *windows;
    size_t nwindows, cap;
};

static int crash_window(struct crash_acc *a, double ms)
{
    if (a->nwindows == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        double *g = realloc(a->windows, cap * sizeof *g);
        if (!g)
            return -ENOMEM;
        a->windows = g;
        a->cap = cap;
    }
    a->windows[a->nwindows++] = ms;
    return 0;
}

/* One image at instant cut: build, check, count. */
static int crash_image(const struct target_ops *ops, struct target_trial *t,
                       const struct recorder_journal *j, uint64_t cut, uint64_t seed, unsigned k,
                       struct recorder_crash_result *out, struct crash_acc *acc, char *err,
                       size_t errlen)
{
    char img[PATH_MAX + 16], snap[PATH_MAX + 16];
    snprintf(img, sizeof img, "%s/img%u", t->base, k);
    snprintf(snap, sizeof snap, "%s/snap", t->base);
    struct recorder_image_stats st;
    uint64_t t0 = target_now_ns();
    int rc = recorder_image_build(j, snap, cut, t->cfg->model, seed, img, &st, err, errlen);
    if (rc)
        return rc;
    double ms = (double)(target_now_ns() - t0) / 1e6;
    if (ms > out->image_ms_max)
        out->image_ms_max = ms;
    if ((double)st.max_sync_ns / 1e6 > out->sync_ms_max)
        out->sync_ms_max = (double)st.max_sync_ns / 1e6;
    out->unknown_opens += st.unknown_opens;
    if (t->drop_privileges && (rc = recorder_tree_chown(img, t->uid, t->gid, err, errlen)) != 0)
        return rc;
    struct target_keyset found = {0};
    int ok = 0;
    rc = ops->check(t, img, &found, &ok, err, errlen);
    if (rc == 0) {
        uint64_t acked = 0, lost = 0, oldest = 0;
        for (size_t i = 0; i < t->nacks; i++) {
            if (t->acks[i].ns > cut)
                continue;
            acked++;
            if (!target_keyset_has(&found, t->acks[i].key)) {
                lost++;
                if (!oldest || t->acks[i].ns < oldest)
                    oldest = t->acks[i].ns;
            }
        }
        out->images++;
        out->recovered_ok += ok != 0;
        out->acked_total += acked;
        out->acked_lost_total += lost;
        if (lost > out->acked_lost_max)
            out->acked_lost_max = lost;
        if (lost)
            rc = crash_window(acc, (double)(cut - oldest) / 1e6);
    }
    target_keyset_free(&found);
    if (!t->cfg->keep) {
        int rm = recorder_tree_remove(img, rc ? NULL : err, errlen);
        rc = rc ? rc : rm;
    }
    return rc;
}

static void crash_flags(const struct recorder_journal *j, struct recorder_crash_result *out)
{
    for (size_t i = 0; i < j->n; i++) {
        const struct recorder_rec *r = j->recs[i];
        out->journal_ops += r->type == RECORDER_WRITE || r->type == RECORDER_SYNC_BEGIN ||
                            r->type == RECORDER_OPEN || r->type >= RECORDER_RENAME;
        if (r->type != RECORDER_FLAG)
            continue;
        if (!out->unseen_flags++)
            snprintf(out->unseen, sizeof out->unseen, "%s", (const char *)recorder_payload(r));
    }
    out->journal_bytes += j->bytes;
}

static int crash_trial(const struct target_ops *ops, struct target_trial *t, uint64_t *rng,
                       struct recorder_crash_result *out, struct crash_acc *acc, char *err,
                       size_t errlen)
{
    char snap[PATH_MAX + 16];
    snprintf(snap, sizeof snap, "%s/snap", t->base);
    int rc = 0;
    if (mkdir(t->base, 0755) != 0 || mkdir(t->data, 0700) != 0) {
        rc = -errno;
        SET_ERR("mkdir(%s): %s", t->base, strerror(-rc));
        return rc;
    }
    int jfd = open(t->journal, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (jfd < 0 || close(jfd) != 0) {
        rc = -errno;
        SET_ERR("open(%s): %s", t->journal, strerror(-rc));
        return rc;
    }
    if (ops->prepare && (rc = ops->prepare(t, err, errlen)) != 0)
        return rc;
    if ((rc = recorder_tree_copy(t->data, snap, err, errlen)) != 0)
        return rc;
    double frac = 0.25 + 0.75 * (double)(crash_rand(rng) >> 11) / 9007199254740992.0;
    t->run_ns = (uint64_t)(t->cfg->seconds * frac * 1e9);
    if ((rc = ops->run(t, err, errlen)) != 0)
        return rc;
    out->trials++;
    struct recorder_journal j;
    if ((rc = recorder_journal_open(t->journal, &j, err, errlen)) != 0)
        return rc;
    crash_flags(&j, out);
    uint64_t first = UINT64_MAX;
    for (size_t i = 0; i < t->nacks; i++)
        if (t->acks[i].ns <= t->kill_ns && t->acks[i].ns < first)
            first = t->acks[i].ns;
    if (first != UINT64_MAX) {
        out->trials_valid++;
        for (unsigned k = 0; rc == 0 && k <= t->cfg->cuts; k++) {
            uint64_t cut = t->kill_ns;
            if (k > 0 && t->kill_ns > first)
                cut = first + crash_rand(rng) % (t->kill_ns - first);
            rc = crash_image(ops, t, &j, cut, crash_rand(rng), k, out, acc, err, errlen);
        }
    }
    recorder_journal_close(&j);
    return rc;
}

static int crash_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void crash_verdict(struct recorder_crash_result *out, struct crash_acc *acc)
{
    if (acc->nwindows) {
        qsort(acc->windows, acc->nwindows, sizeof *acc->windows, crash_cmp);
        out->loss_window_ms_p50 = acc->windows[(acc->nwindows - 1) / 2];
        out->loss_window_ms_max = acc->windows[acc->nwindows - 1];
    }
    out->held = -1;
    if (!out->trials_valid || !out->acked_total)
        return;
    int recovered = out->recovered_ok == out->images;
    if (out->integrity_only)
        out->held = recovered;
    else if (out->promised_window_ms == 0)
        out->held = recovered && out->acked_lost_max == 0;
    else if (out->promised_window_ms > 0)   /* the window, plus one sync as it ran here */
        out->held = recovered && out->loss_window_ms_max <= out->promised_window_ms + out->sync_ms_max;
}

static int crash_validate(const struct recorder_crash_config *cfg, char *err, size_t errlen)
{
    if (!cfg->dir || cfg->trials < 1 || cfg->trials > RECORDER_MAX_TRIALS || cfg->cuts > RECORDER_MAX_CUTS ||
        !(cfg->seconds > 0 && cfg->seconds <= 3600)) {
        SET_ERR("crash: need --dir, 1..%u trials, 0..%u cuts, 0 < seconds <= 3600", RECORDER_MAX_TRIALS,
                RECORDER_MAX_CUTS);
        return -EINVAL;
    }
    return 0;
}

int target_crash_run(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const struct target_ops *ops = crash_target(cfg->target);
    if (!ops) {
        SET_ERR("unknown target %s (contract, sqlite, redis, postgres, mariadb, rocksdb, lmdb)", cfg->target ? cfg->target : "(none)");
        return -EINVAL;
    }
    int rc = crash_validate(cfg, err, errlen);
    if (rc)
        return rc;
    snprintf(out->target, sizeof out->target, "%s", ops->name);
    out->model = cfg->model;
    out->promised_window_ms = -1;
    if ((rc = ops->setup(cfg, out, err, errlen)) != 0)
        return rc;
    struct target_trial t = {.cfg = cfg, .uid = getuid(), .gid = getgid()};
    if ((rc = recorder_lib_path(t.lib, sizeof t.lib, err, errlen)) != 0)
        return rc;
    char run[PATH_MAX], dir[PATH_MAX];
    if (!realpath(cfg->dir, dir)) {   /* programs chdir: every path handed on is absolute */
        rc = -errno;
        SET_ERR("realpath(%s): %s", cfg->dir, strerror(-rc));
        return rc;
    }
    if ((size_t)snprintf(run, sizeof run, "%s/fsynclab-rec-%d", dir, (int)getpid()) >= sizeof run - 64) {
        SET_ERR("crash: directory name %s too long", dir);
        return -ENAMETOOLONG;
    }
    if ((rc = recorder_tree_remove(run, err, errlen)) != 0)
        return rc;
    if (mkdir(run, 0755) != 0) {
        rc = -errno;
        SET_ERR("mkdir(%s): %s", run, strerror(-rc));
        return rc;
    }
    struct crash_acc acc = {0};
    uint64_t rng = cfg->seed;
    target_guard(1);
    for (unsigned i = 0; rc == 0 && i < cfg->trials; i++) {
        if ((size_t)snprintf(t.base, sizeof t.base, "%s/t%u", run, i) >= sizeof t.base ||
            (size_t)snprintf(t.data, sizeof t.data, "%s/data", t.base) >= sizeof t.data ||
            (size_t)snprintf(t.journal, sizeof t.journal, "%s/journal", t.base) >= sizeof t.journal) {
            SET_ERR("crash: directory name %s too long", run);
            rc = -ENAMETOOLONG;
            break;
        }
        rc = crash_trial(ops, &t, &rng, out, &acc, err, errlen);
        for (size_t k = 0; k < t.nacks; k++)
            free(t.acks[k].key);
        t.nacks = 0;
    }
    free(t.acks);
    target_guard(0);
    if (!cfg->keep) {
        int rm = recorder_tree_remove(run, rc ? NULL : err, errlen);
        rc = rc ? rc : rm;
    }
    crash_verdict(out, &acc);
    free(acc.windows);
    return rc;
}
