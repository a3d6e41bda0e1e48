/* DESIGN: a small driver for crashsim_run, not a test: it measures how many
 * crash trials per second this machine runs and prints the summary as
 * key=value lines (tests/e2e/crash_trials.sh reads them).  Not built by
 * `make`; build and run it by hand:
 *
 *   make build/libfsynclab.a
 *   cc -std=c11 -O2 -I. -D_GNU_SOURCE -DFIU_ENABLE -o build/crash_rate \
 *      tests/crash_rate.c build/libfsynclab.a $(pkg-config --libs libcjson libfiu zlib) -pthread -lm
 *   build/crash_rate none drop 1000 200 [seed [dir [sync_method]]]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crashsim/crashsim.h"

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr,
                "usage: crash_rate STRATEGY MODEL ENTRIES TRIALS [SEED [DIR [SYNC_METHOD]]]\n");
        return 2;
    }
    struct crashsim_config cfg = {
        .entry_size = 128,
        .sync_method = WAL_SYNC_FDATASYNC,
        .seed = 1,
        .max_seconds = 600,
        .writeback_expire_ms = -1,
        .writeback_interval_ms = -1,
    };
    if (wal_strategy_parse(argv[1], &cfg.strategy) < 0 ||
        crashsim_model_parse(argv[2], &cfg.model) < 0) {
        fprintf(stderr, "crash_rate: bad strategy or model (models: %s)\n", CRASHSIM_MODELS);
        return 2;
    }
    cfg.entries = strtoull(argv[3], NULL, 10);
    cfg.trials = (uint32_t)strtoul(argv[4], NULL, 10);
    if (argc > 5)
        cfg.seed = strtoull(argv[5], NULL, 10);
    const char *env = getenv("FSYNCLAB_DIR");
    cfg.dir = argc > 6 ? argv[6] : env && *env ? env : ".";
    if (argc > 7 && wal_sync_method_parse(argv[7], &cfg.sync_method) < 0) {
        fprintf(stderr, "crash_rate: bad sync method (%s)\n", WAL_SYNC_METHODS);
        return 2;
    }
    const char *e = getenv("CRASH_WRITEBACK_EXPIRE_MS");
    if (e)
        cfg.writeback_expire_ms = strtol(e, NULL, 10);
    e = getenv("CRASH_WRITEBACK_INTERVAL_MS");
    if (e)
        cfg.writeback_interval_ms = strtol(e, NULL, 10);

    static struct verifier_summary s;
    char err[512];
    uint64_t t0 = wal_now_ns();
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    double secs = (double)(wal_now_ns() - t0) / 1e9;
    if (rc < 0) {
        fprintf(stderr, "crash_rate: %s\n", err);
        return 1;
    }
    char name[32];
    printf("strategy=%s\nmodel=%s\nentries=%" PRIu64 "\n", wal_strategy_name(&cfg.strategy, name,
           sizeof name), crashsim_model_name(cfg.model), cfg.entries);
    printf("trials=%" PRIu32 "\nseconds=%.3f\ntrials_per_sec=%.1f\n", s.trials, secs,
           s.trials / secs);
    printf("acked_lost_max=%" PRIu64 "\nacked_lost_mean=%.2f\n", s.acked_lost_max,
           verifier_summary_acked_lost_mean(&s));
    printf("loss_window_ms_max=%.3f\nloss_window_ms_p50=%.3f\n",
           verifier_summary_window_ms_max(&s), verifier_summary_window_ms_p50(&s));
    printf("promised_window_ms=%" PRId64 "\nheld=%s\ntrials_over_promise=%" PRIu32 "\n",
           s.promised_window_ms, verifier_held_name(s.held), s.trials_over_promise);
    printf("corrupt_recovered=%" PRIu64 "\nunacked_recovered=%" PRIu64 "\n", s.corrupt_recovered,
           s.unacked_recovered);
    printf("max_sync_ms=%.3f\nworst_seed=%" PRIu64 "\n", verifier_summary_max_sync_ms(&s),
           s.worst_seed);
    return 0;
}
