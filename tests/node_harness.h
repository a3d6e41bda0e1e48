/* What the node's tests share: fakes of the disk work behind struct
 * node_ops, which count their calls so that a test can prove a rejected
 * request never reached the disk; the harness that feeds lines to
 * node_handle_line and keeps what it wrote; and the init exchange.  Reset
 * by setup and teardown (a checked fixture).  Header-only, like support.h,
 * so that each test binary stays one .c file. */
#ifndef FSYNCLAB_TESTS_NODE_HARNESS_H
#define FSYNCLAB_TESTS_NODE_HARNESS_H

#include "node/node.h"
#include "report/report.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fakes ------------------------------------------------------------- */

static int bench_calls, probe_calls, bench_rc;
static struct bench_config seen_cfg;
static char seen_dir[256];

static inline int fake_probe(const char *dir, struct bench_env *env)
{
    probe_calls++;
    memset(env, 0, sizeof *env);
    snprintf(env->dir, sizeof env->dir, "%s", dir);
    strcpy(env->fs_type, "ext4");
    strcpy(env->device, "/dev/vda1");
    env->dirty_expire_cs = 3000;
    env->dirty_writeback_cs = 500;
    return 0;
}

static inline int failing_probe(const char *dir, struct bench_env *env)
{
    (void)dir, (void)env;
    probe_calls++;
    return -ENOENT;
}

/* Result i is made from strategies[i] with values whose printed form is
 * known: one sample per histogram, so every quantile is that sample. */
static inline int fake_benchmark(const struct bench_config *cfg, const struct wal_strategy *s, size_t n,
                                 struct bench_result *res, char *err, size_t errlen)
{
    bench_calls++;
    seen_cfg = *cfg;
    snprintf(seen_dir, sizeof seen_dir, "%s", cfg->dir ? cfg->dir : "(null)");
    if (bench_rc < 0) {
        snprintf(err, errlen, "fsync: Input/output error");
        return bench_rc;
    }
    for (size_t i = 0; i < n; i++) {
        struct bench_result *r = &res[i];
        memset(r, 0, sizeof *r);
        r->strategy = s[i];
        r->entries_requested = cfg->entries;
        r->entries_written = cfg->entries - i;
        r->complete = i == 0;
        r->seconds = 1.23456 + (double)i;
        r->ops_per_sec = 1000 * (i + 1);
        hist_init(&r->ack_ns);
        hist_add(&r->ack_ns, 1500 + i);
        hist_init(&r->wal.sync_ns);
        if (s[i].kind != WAL_NONE) {
            hist_add(&r->wal.sync_ns, 2000000);
            r->wal.syncs = 7;
            r->wal.exposure_max_ns = 1234567;
        }
    }
    return 0;
}

/* crash_test's fake: records what it was asked, then fails (crash_rc < 0,
 * with crash_text if set) or fills each summary through the real
 * verifier_summary_add from trials whose printed figures are known (see
 * CRASH_RESULTS), chosen by the strategy's kind so that the reply's order
 * shows which answer went where.  crash_no_trials: every summary has 0
 * trials, as when the budget ran out before the first. */
static int crash_calls, crash_rc, crash_no_trials;
static const char *crash_text;
static struct crashsim_config seen_crash;
static char seen_crash_dir[256];
static size_t seen_crash_n;
static struct wal_strategy seen_crash_strategies[BENCH_MAX_STRATEGIES];

static inline void add_trial(struct verifier_summary *v, uint64_t acked, uint64_t lost, uint64_t window_ns,
                             uint64_t max_sync_ns, uint64_t unacked, uint64_t corrupt)
{
    struct verifier_trial t = {
        .written = acked + unacked, .acked = acked, .recovered = acked - lost + unacked,
        .acked_lost = lost, .oldest_lost_seq = lost ? acked - lost + 1 : 0,
        .loss_window_ns = window_ns, .unacked_recovered = unacked,
        .corrupt_recovered = corrupt, .max_sync_ns = max_sync_ns,
    };
    verifier_summary_add(v, &t, 1);
}

static inline int fake_crash(const struct crashsim_config *base, const struct wal_strategy *s, size_t n,
                             struct verifier_summary *out,
                             void (*progress)(void *arg, size_t strategy, uint32_t done, uint32_t total),
                             void *progress_arg, char *err, size_t errlen)
{
    (void)progress, (void)progress_arg;
    crash_calls++;
    seen_crash = *base;
    snprintf(seen_crash_dir, sizeof seen_crash_dir, "%s", base->dir ? base->dir : "(null)");
    seen_crash_n = n;
    memcpy(seen_crash_strategies, s, n * sizeof *s);
    if (crash_rc < 0) {
        if (crash_text)
            snprintf(err, errlen, "%s", crash_text);
        return crash_rc;
    }
    for (size_t i = 0; i < n; i++) {
        struct verifier_summary *v = &out[i];
        verifier_summary_init(v, &s[i]);
        if (crash_no_trials)
            continue;
        switch (s[i].kind) {
        case WAL_NONE:
            add_trial(v, 10, 7, 2000000, 0, 3, 0);
            break;
        case WAL_BATCH:   /* both losses within the allowance: 10 ms + a 3 ms sync p99 */
            verifier_summary_set_allowance(v, 13000000);
            v->calibration_sync_p50_ns = 1000000;
            v->calibration_sync_p99_ns = 3000000;
            add_trial(v, 50, 1, 12345678, 3000000, 0, 0);
            add_trial(v, 40, 2, 1499136, 1000000, 0, 0);   /* the middle of its histogram bucket */
            add_trial(v, 30, 0, 0, 0, 0, 0);
            break;
        case WAL_ALWAYS:
            add_trial(v, 100, 0, 0, 1234567, 0, 0);
            add_trial(v, 100, 0, 0, 0, 0, 0);
            break;
        case WAL_GROUP:
            add_trial(v, 30, 1, 2500000, 0, 0, 2);
            add_trial(v, 30, 1, 2500000, 0, 0, 0);
            add_trial(v, 30, 0, 0, 0, 0, 0);
            break;
        }
    }
    return 0;
}

static const struct node_ops fake_ops = {.benchmark = fake_benchmark, .probe = fake_probe,
                                         .crash = fake_crash};

/* ---- harness ------------------------------------------------------------ */

static char *out_buf, *log_buf;
static size_t out_len, log_len;

/* Feeds input (lines separated by '\n') through node_handle_line and
 * returns everything written to stdout; the log is left in log_buf. */
static inline const char *feed_ops(const char *input, const struct node_ops *ops)
{
    free(out_buf);
    free(log_buf);
    FILE *out = open_memstream(&out_buf, &out_len);
    FILE *log = open_memstream(&log_buf, &log_len);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(log);
    struct node *n = node_new(out, ops);
    ck_assert_ptr_nonnull(n);
    node_set_log(n, log);
    for (const char *p = input; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        node_handle_line(n, p, len);
        p += len + (nl != NULL);
    }
    node_free(n);
    fclose(out);
    fclose(log);
    return out_buf;
}

static inline const char *feed(const char *input)
{
    return feed_ops(input, &fake_ops);
}

static inline void setup(void)
{
    bench_calls = probe_calls = bench_rc = 0;
    crash_calls = crash_rc = crash_no_trials = 0;
    crash_text = NULL;
    memset(&seen_cfg, 0, sizeof seen_cfg);
    memset(&seen_crash, 0, sizeof seen_crash);
    seen_crash_n = 0;
    setenv("FSYNCLAB_DIR", "/fake/data/dir", 1);
}

static inline void teardown(void)
{
    free(out_buf);
    free(log_buf);
    out_buf = log_buf = NULL;
}

static inline void assert_prints(const cJSON *item, const char *want)
{
    char *got = report_json_print(item);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
}

/* The init request and its reply, byte for byte. */
#define INIT "{\"src\":\"c0\",\"dest\":\"n1\",\"body\":{\"type\":\"init\",\"msg_id\":1,\"node_id\":\"n1\",\"node_ids\":[\"n1\"]}}\n"
#define INIT_OK "{\"src\": \"n1\", \"dest\": \"c0\", \"body\": {\"type\": \"init_ok\", \"in_reply_to\": 1, \"msg_id\": 0}}\n"

#endif
