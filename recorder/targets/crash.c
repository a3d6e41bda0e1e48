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
 * have lost anything and is not valid; why (the run's exit status and
 * the end of its stderr) is kept.  `held` compares the worst image with
 * what the program's documentation promises, a window judged against the
 * window plus a sync measured before the trials (target_calibrate.c).  It
 * is null, with the reason, when no trial could have shown otherwise:
 * no valid trial, a run that wrote and synced nothing under its data
 * directory, calls the recorder could not see, torn journal bytes, or a
 * check that printed lines that are no key of the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"


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

/* A timeline's capture (target_crash_on_trial): the images' cuts and the
 * keys the kill image lacked, handed over after each trial. */
static struct {
    void (*fn)(void *arg, const struct target_trial_events *ev);
    void *arg;
    unsigned char *lost;
    uint64_t cut[RECORDER_MAX_CUTS + 1], lost_at[RECORDER_MAX_CUTS + 1];
} crash_ev;

void target_crash_on_trial(void (*fn)(void *arg, const struct target_trial_events *ev), void *arg)
{
    crash_ev.fn = fn;
    crash_ev.arg = arg;
}

static void crash_ev_note(unsigned k, uint64_t cut, size_t i, uint64_t lost)
{
    if (k <= RECORDER_MAX_CUTS) {
        crash_ev.cut[k] = cut;
        crash_ev.lost_at[k] = lost;
    }
    if (k == 0 && crash_ev.lost && i != SIZE_MAX)
        crash_ev.lost[i] = 1;
}

static void crash_ev_trial(const struct target_trial *t, const struct recorder_journal *j,
                           unsigned index, unsigned ncuts)
{
    if (crash_ev.fn && crash_ev.lost) {
        struct target_trial_events ev = { index, j, t->data, t->acks, t->nacks, crash_ev.lost,
                                          t->kill_ns, crash_ev.cut, crash_ev.lost_at, ncuts };
        crash_ev.fn(crash_ev.arg, &ev);
    }
    free(crash_ev.lost);
    crash_ev.lost = NULL;
}

struct crash_acc {
    double *windows;
    size_t nwindows, cap;
    struct target_keyset acked;   /* every key the trial's run acknowledged */
};

/* An image of a careful program holds at most a few keys written but not
 * yet acknowledged at the kill; more than this many lines that are no key
 * of the run means the check does not list keys. */
#define CRASH_FOREIGN_MAX 16

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

/* Lines of the check that are no key the run acknowledged. */
static void crash_foreign(const struct target_keyset *found, const struct target_keyset *acked,
                          struct recorder_crash_result *out)
{
    uint64_t n = 0;
    for (size_t i = 0; i < found->cap; i++) {
        const char *k = found->slots[i];
        if (!k || target_keyset_has(acked, k))
            continue;
        if (!n++ && !out->check_foreign[0])
            snprintf(out->check_foreign, sizeof out->check_foreign, "%s", k);
    }
    if (n > out->check_foreign_max)
        out->check_foreign_max = n;
}

/* One image at instant cut from the trial's operation list (o, built from
 * j in list_ns): build, check, count.  The list is built once a trial and
 * its time counted in the trial's first image. */
static int crash_image(const struct target_ops *ops, struct target_trial *t, const struct recorder_journal *j,
                       const struct recorder_ops *o, uint64_t list_ns, uint64_t cut, uint64_t seed, unsigned k,
                       struct recorder_crash_result *out, struct crash_acc *acc, char *err, size_t errlen)
{
    char img[PATH_MAX + 16];
    snprintf(img, sizeof img, "%s/img%u", t->base, k);
    struct recorder_image_stats st;
    uint64_t t0 = target_now_ns();
    int rc = recorder_image_from_ops(o, j, cut, &t->cfg->model, seed, img, &st, err, errlen);
    if (rc)
        return rc;
    double ms = (double)(target_now_ns() - t0 + (k == 0 ? list_ns : 0)) / 1e6;
    if (ms > out->image_ms_max)
        out->image_ms_max = ms;
    if ((double)st.max_sync_ns / 1e6 > out->max_sync_ms)
        out->max_sync_ms = (double)st.max_sync_ns / 1e6;
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
                crash_ev_note(k, cut, i, lost);
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
        crash_ev_note(k, cut, SIZE_MAX, lost);
        if (lost)
            rc = crash_window(acc, (double)(cut - oldest) / 1e6);
        crash_foreign(&found, &acc->acked, out);
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
    uint64_t changes = 0;
    for (size_t i = 0; i < j->n; i++) {
        const struct recorder_rec *r = j->recs[i];
        /* the object and ack records say where calls came from and what the program promised */
        int named = r->type >= RECORDER_RENAME && r->type != RECORDER_OBJECT && r->type != RECORDER_ACK;
        changes += r->type == RECORDER_WRITE || r->type == RECORDER_SYNC_BEGIN || named;
        out->journal_ops += r->type == RECORDER_WRITE || r->type == RECORDER_SYNC_BEGIN ||
                            r->type == RECORDER_OPEN || named;
        if (r->type != RECORDER_FLAG)
            continue;
        if (!out->unseen_flags++)
            snprintf(out->unseen, sizeof out->unseen, "%s", (const char *)recorder_payload(r));
        if (out->async_io_checked &&
            strstr((const char *)recorder_payload(r), "asynchronous I/O escapes the recorder"))
            out->unseen_flags_answered++;
    }
    out->journal_bytes += j->bytes;
    out->journal_torn_bytes += j->torn_bytes;
    out->runs_without_writes += changes == 0;
}

/* Why a trial is not valid: the run ended before any ack, or acked nothing. */
static void crash_invalid(const struct target_trial *t, long log_from, struct recorder_crash_result *out)
{
    char tail[400], why[128], how[64];
    target_log_tail(t, log_from, tail, sizeof tail);
    if (t->exited) {
        out->invalid_exited++;
        target_status_text(t->exit_status, how, sizeof how);
        if (t->exit_status < 0)
            snprintf(why, sizeof why, "the run closed its stdout before any ack");
        else
            snprintf(why, sizeof why, "the run ended before any ack (%s)", how);
    } else {
        out->invalid_no_ack++;
        snprintf(why, sizeof why, "no ack before the kill");
    }
    if (!out->invalid_example[0])
        snprintf(out->invalid_example, sizeof out->invalid_example, "%.100s%s%.380s", why,
                 *tail ? "; its stderr ends: " : "", tail);
}

/* The images of a valid trial (first: its first ack): at the kill and at
 * cuts earlier instants, all from one operation list. */
static int crash_images(const struct target_ops *ops, struct target_trial *t, const struct recorder_journal *j,
                        uint64_t first, uint64_t *rng, struct recorder_crash_result *out, struct crash_acc *acc,
                        char *err, size_t errlen)
{
    char snap[PATH_MAX + 16];
    snprintf(snap, sizeof snap, "%s/snap", t->base);
    struct recorder_ops o;
    uint64_t t0 = target_now_ns();
    int rc = recorder_ops_build(j, snap, &o, err, errlen);
    if (rc)
        return rc;
    uint64_t list_ns = target_now_ns() - t0;
    for (unsigned k = 0; rc == 0 && k <= t->cfg->cuts; k++) {
        uint64_t cut = t->kill_ns;
        if (k > 0 && t->kill_ns > first)
            cut = first + pl_splitmix64(rng) % (t->kill_ns - first);
        rc = crash_image(ops, t, j, &o, list_ns, cut, pl_splitmix64(rng), k, out, acc, err, errlen);
        if (rc == 0 && target_stopped()) {
            (void)PL_ERR(err, errlen, 0, "interrupted");
            rc = -EINTR;
        }
    }
    recorder_ops_free(&o);
    return rc;
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
        (void)PL_ERR(err, errlen, 0, "mkdir(%s): %s", t->base, strerror(-rc));
        return rc;
    }
    int jfd = open(t->journal, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (jfd < 0 || close(jfd) != 0) {
        rc = -errno;
        (void)PL_ERR(err, errlen, 0, "open(%s): %s", t->journal, strerror(-rc));
        return rc;
    }
    if (ops->prepare && (rc = ops->prepare(t, err, errlen)) != 0)
        return rc;
    if ((rc = recorder_tree_copy(t->data, snap, err, errlen)) != 0)
        return rc;
    double frac = 0.25 + 0.75 * (double)(pl_splitmix64(rng) >> 11) / 9007199254740992.0;
    t->run_ns = (uint64_t)(t->cfg->seconds * frac * 1e9);
    t->exited = 0;
    t->exit_status = -1;
    t->client_errors = 0;
    t->client_error_ns = 0;
    t->conn_lost = 0;
    long log_from = target_log_size(t);
    if ((rc = ops->run(t, err, errlen)) != 0)
        return rc;
    if (target_stopped()) {
        (void)PL_ERR(err, errlen, 0, "interrupted");
        return -EINTR;
    }
    out->trials++;
    for (size_t i = 0; i < t->nacks; i++)
        if ((rc = target_keyset_add(&acc->acked, t->acks[i].key)) != 0) {
            (void)PL_ERR(err, errlen, 0, "recording an ack: %s", strerror(-rc));
            return rc;
        }
    for (size_t i = 0; i < t->late.cap; i++)
        if (t->late.slots[i] && (rc = target_keyset_add(&acc->acked, t->late.slots[i])) != 0) {
            (void)PL_ERR(err, errlen, 0, "recording an ack: %s", strerror(-rc));
            return rc;
        }
    target_keyset_free(&t->late);
    struct recorder_journal j;
    if ((rc = recorder_journal_open(t->journal, &j, err, errlen)) != 0)
        return rc;
    crash_flags(&j, out);
    if (t->cfg->faults.n && (rc = target_fault_trial(ops, t, &j, out, err, errlen)) != 0) {
        recorder_journal_close(&j);
        return rc;
    }
    uint64_t first = UINT64_MAX;
    for (size_t i = 0; i < t->nacks; i++)
        if (t->acks[i].ns <= t->kill_ns && t->acks[i].ns < first)
            first = t->acks[i].ns;
    if (first != UINT64_MAX && crash_ev.fn)
        crash_ev.lost = calloc(t->nacks + 1, 1);   /* none: no timeline for this trial */
    if (first != UINT64_MAX) {
        out->trials_valid++;
        rc = crash_images(ops, t, &j, first, rng, out, acc, err, errlen);
    } else {
        crash_invalid(t, log_from, out);
    }
    if (rc == 0)
        crash_ev_trial(t, &j, out->trials - 1, t->cfg->cuts + 1);
    free(crash_ev.lost);
    crash_ev.lost = NULL;
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
    out->acks_bursty = out->ack_reads >= 4 && out->ack_reads_partial * 2 > out->ack_reads;
    out->held = -1;
    char *why = out->held_null_reason;
    size_t len = sizeof out->held_null_reason;
    if (!out->trials_valid || !out->acked_total)
        snprintf(why, len, "no valid trial: no run acknowledged anything before its kill");
    else if (out->runs_without_writes)
        snprintf(why, len, "%u run%s wrote and synced nothing under the data directory",
                 out->runs_without_writes, out->runs_without_writes == 1 ? "" : "s");
    else if (out->target_null_reason[0])
        snprintf(why, len, "%s", out->target_null_reason);
    else if (out->unseen_flags > out->unseen_flags_answered)
        snprintf(why, len, "the recorder could not see %llu call%s (first: %.150s)",
                 (unsigned long long)out->unseen_flags, out->unseen_flags == 1 ? "" : "s", out->unseen);
    else if (out->journal_torn_bytes)
        snprintf(why, len, "the journals end in %llu torn bytes", (unsigned long long)out->journal_torn_bytes);
    else if (out->check_foreign_max > CRASH_FOREIGN_MAX)
        snprintf(why, len, "the check printed %llu lines in one image that are no key of the run (first: %s)",
                 (unsigned long long)out->check_foreign_max, out->check_foreign);
    else if (out->promised_window_ms < 0 && !out->integrity_only)
        snprintf(why, len, "the promise gives no number to judge");
    if (why[0])
        return;
    int recovered = out->recovered_ok == out->images;
    if (out->integrity_only)
        out->held = recovered;
    else if (out->promised_window_ms == 0)
        out->held = recovered && out->acked_lost_max == 0;
    else   /* the window, plus one sync as measured before the trials */
        out->held = recovered && out->loss_window_ms_max <= out->allowance_ms;
}

static int crash_validate(const struct recorder_crash_config *cfg, char *err, size_t errlen)
{
    if (!cfg->dir || cfg->trials < 1 || cfg->trials > RECORDER_MAX_TRIALS || cfg->cuts > RECORDER_MAX_CUTS ||
        !(cfg->seconds > 0 && cfg->seconds <= 3600)) {
        (void)PL_ERR(err, errlen, 0, "crash: need --dir, 1..%u trials, 0..%u cuts, 0 < seconds <= 3600", RECORDER_MAX_TRIALS,
                RECORDER_MAX_CUTS);
        return -EINVAL;
    }
    return 0;
}

/* A short directory for the trials' Unix sockets: $TMPDIR (when short) or
 * /tmp, fsynclab-sock-XXXXXX, searchable by the unprivileged user a
 * server may run as; each trial's sockets are in a 0700 directory of it. */
static int crash_sock_root(char *out, size_t outlen, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || tmp[0] != '/' || strlen(tmp) > 48)
        tmp = "/tmp";
    snprintf(out, outlen, "%s/fsynclab-sock-XXXXXX", tmp);
    if (!mkdtemp(out) || chmod(out, 0711) != 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "mkdtemp(%s): %s", out, strerror(e));
        return -e;
    }
    return 0;
}

/* dir/fsynclab-rec-<pid>, made afresh, into run. */
static int crash_run_dir(const struct recorder_crash_config *cfg, char *run, size_t runlen, char *err,
                         size_t errlen)
{
    char dir[PATH_MAX];
    int rc;
    if (!realpath(cfg->dir, dir)) {   /* programs chdir: every path handed on is absolute */
        rc = -errno;
        (void)PL_ERR(err, errlen, 0, "realpath(%s): %s", cfg->dir, strerror(-rc));
        return rc;
    }
    if ((size_t)snprintf(run, runlen, "%s/fsynclab-rec-%d", dir, (int)getpid()) >= runlen - 64) {
        (void)PL_ERR(err, errlen, 0, "crash: directory name %s too long", dir);
        return -ENAMETOOLONG;
    }
    if ((rc = recorder_tree_remove(run, err, errlen)) != 0)
        return rc;
    if (mkdir(run, 0755) != 0) {
        rc = -errno;
        (void)PL_ERR(err, errlen, 0, "mkdir(%s): %s", run, strerror(-rc));
        return rc;
    }
    return 0;
}

static int crash_trials(const struct target_ops *ops, struct target_trial *t, const char *run,
                        const char *sockroot, struct recorder_crash_result *out, struct crash_acc *acc,
                        char *err, size_t errlen)
{
    uint64_t rng = t->cfg->seed;
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < t->cfg->trials; i++) {
        if ((size_t)snprintf(t->base, sizeof t->base, "%s/t%u", run, i) >= sizeof t->base ||
            (size_t)snprintf(t->data, sizeof t->data, "%s/data", t->base) >= sizeof t->data ||
            (size_t)snprintf(t->journal, sizeof t->journal, "%s/journal", t->base) >= sizeof t->journal ||
            (size_t)snprintf(t->sock, sizeof t->sock, "%s/t%u", sockroot, i) >= sizeof t->sock) {
            (void)PL_ERR(err, errlen, 0, "crash: directory name %s too long", run);
            return -ENAMETOOLONG;
        }
        if (mkdir(t->sock, 0700) != 0) {
            rc = -errno;
            (void)PL_ERR(err, errlen, 0, "mkdir(%s): %s", t->sock, strerror(-rc));
            return rc;
        }
        rc = crash_trial(ops, t, &rng, out, acc, err, errlen);
        int rm = recorder_tree_remove(t->sock, rc ? NULL : err, errlen);
        rc = rc ? rc : rm;
        for (size_t k = 0; k < t->nacks; k++)
            free(t->acks[k].key);
        t->nacks = 0;
        target_keyset_free(&acc->acked);
        target_keyset_free(&t->late);
    }
    return rc;
}

int target_crash_run(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const struct target_ops *ops = crash_target(cfg->target);
    if (!ops) {
        (void)PL_ERR(err, errlen, 0, "unknown target %s (contract, sqlite, redis, postgres, mariadb, rocksdb, lmdb)", cfg->target ? cfg->target : "(none)");
        return -EINVAL;
    }
    int rc = crash_validate(cfg, err, errlen);
    if (rc || (rc = target_check_keys(ops, cfg, err, errlen)) != 0)
        return rc;
    snprintf(out->target, sizeof out->target, "%s", ops->name);
    out->model = cfg->model;
    out->promised_window_ms = -1;
    if ((rc = ops->setup(cfg, out, err, errlen)) != 0)
        return rc;
    struct target_trial t = {.cfg = cfg, .uid = getuid(), .gid = getgid(), .out = out};
    char run[PATH_MAX];
    if ((rc = recorder_lib_path(t.lib, sizeof t.lib, err, errlen)) != 0 ||
        (rc = crash_run_dir(cfg, run, sizeof run, err, errlen)) != 0)
        return rc;
    char sockroot[80];
    if ((rc = crash_sock_root(sockroot, sizeof sockroot, err, errlen)) != 0) {
        recorder_tree_remove(run, NULL, 0);
        return rc;
    }
    struct crash_acc acc = {0};
    target_guard(1);
    rc = target_calibrate(run, &out->calibration_sync_p50_us, &out->calibration_sync_p99_us, err, errlen);
    out->allowance_ms = out->promised_window_ms < 0 ? 0
                                                    : out->promised_window_ms + out->calibration_sync_p99_us / 1e3;
    if (rc == 0)
        rc = crash_trials(ops, &t, run, sockroot, out, &acc, err, errlen);
    free(t.acks);
    out->ack_reads = t.ack_reads;
    out->ack_reads_partial = t.ack_reads_partial;
    target_reap_all();   /* whatever an error or a signal left running */
    int sig = target_stopped();
    int rmsock = recorder_tree_remove(sockroot, rc ? NULL : err, errlen);
    rc = rc ? rc : rmsock;
    if (!cfg->keep) {
        int rm = recorder_tree_remove(run, rc ? NULL : err, errlen);
        rc = rc ? rc : rm;
    } else {
        fprintf(stderr, "fsynclab: --keep: the trial directories are in %s\n", run);
    }
    target_guard(0);
    if (sig) {   /* end by the signal, as its default action would have */
        fprintf(stderr, "fsynclab: %s: every program stopped and reaped, %s\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM", cfg->keep ? "trial directories kept" : "trial directories removed");
        signal(sig, SIG_DFL);
        raise(sig);
    }
    crash_verdict(out, &acc);
    if (cfg->faults.n)
        target_fault_verdict(out);
    free(acc.windows);
    return rc;
}

/* explore.c's way to the same steps (recorder/targets/internal.h). */
const struct target_ops *target_find(const char *name)
{
    return crash_target(name);
}

int target_run_dir(const struct recorder_crash_config *cfg, char *run, size_t runlen, char *err, size_t errlen)
{
    return crash_run_dir(cfg, run, runlen, err, errlen);
}

int target_sock_root(char *out, size_t outlen, char *err, size_t errlen)
{
    return crash_sock_root(out, outlen, err, errlen);
}

void target_journal_flags(const struct recorder_journal *j, struct recorder_crash_result *out)
{
    crash_flags(j, out);
}
