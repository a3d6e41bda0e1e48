/* DESIGN: can the syncs be trusted?  A disk or a layer that acknowledges a
 * flush it never did (eatmydata, a volatile write cache, a VM host cache
 * with flushes ignored) makes every strategy look durable and fast.  What
 * gives it away is speed: no device makes data durable in a few
 * microseconds.  The measured figures are still printed, under a WARNING
 * that names what was seen; crash trials judge nothing (held: null). */
#include "bench/bench.h"

#include <stdio.h>

static int warn(struct bench_env *env, const char *what, uint64_t p50_ns)
{
    if (env->warning[0])
        return 1;   /* tmpfs and the like already say why nothing is measured */
    snprintf(env->warning, sizeof env->warning,
             "%s returned in %.1f us (median): faster than any device flushes, so they do not "
             "reach stable storage (eatmydata? a volatile cache?); durability is not measured",
             what, (double)p50_ns / 1e3);
    return 1;
}

int bench_check_syncs(struct bench_env *env, const struct bench_config *cfg,
                      const struct bench_result *r, size_t n)
{
    int dsync = wal_sync_method_writes_durable(cfg->sync_method);
    uint64_t fastest = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        const struct hist *h = dsync ? &r[i].ack_ns : &r[i].wal.sync_ns;
        if (h->count == 0)
            continue;
        uint64_t p50 = hist_quantile(h, 0.5);
        if (p50 < fastest)
            fastest = p50;
    }
    if (fastest >= WAL_FAST_SYNC_NS)
        return 0;
    return warn(env, dsync ? "O_DSYNC writes" : "syncs", fastest);
}

int bench_check_crash_syncs(struct bench_env *env, const struct verifier_summary *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (out[i].syncs_untrusted)
            return warn(env, "syncs", out[i].calibration_sync_p50_ns);
    return 0;
}
