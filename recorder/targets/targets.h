/* targets: crash trials of real programs (`crash --target`).
 *
 * DESIGN.  The programs (the contract, sqlite, redis, postgres, mariadb,
 * rocksdb, lmdb) sit behind one interface (struct target_ops, in
 * recorder/targets/internal.h): prepare a fresh data directory, run the
 * program under the recorder until the kill instant while timestamping
 * acknowledgements, and check an image.  crash.c does the rest (snapshot,
 * kill, cuts, images, counting) the same way for all of them.  This
 * header is what the command line uses: the run and its per-trial capture.
 */
#ifndef FSYNCLAB_RECORDER_TARGETS_H
#define FSYNCLAB_RECORDER_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "recorder/recorder.h"

struct target_ack {
    char *key;
    uint64_t ns;       /* CLOCK_MONOTONIC when fsynclab learnt of it */
};

/* A timeline's capture: after each trial's images, the trial as the
 * images judged it.  Everything points into the trial and is valid only
 * during the call.  cut[0] is the kill instant, cut[1..ncuts-1] the
 * earlier cut points; lost_at[k] how many acknowledged keys image k lacked;
 * lost[i] is 1 when the image at the kill lacked acks[i].key. */
struct target_trial_events {
    unsigned index;                          /* from 0 */
    const struct recorder_journal *journal;
    const char *data;                        /* the recorded root, for shorter names */
    const struct target_ack *acks;
    size_t nacks;
    const unsigned char *lost;
    uint64_t kill_ns;
    const uint64_t *cut, *lost_at;
    unsigned ncuts;
};
/* Set before target_crash_run (NULL: none); one run at a time. */
void target_crash_on_trial(void (*fn)(void *arg, const struct target_trial_events *ev), void *arg);
/* Runs cfg->trials crash trials and fills out.  Every process started is
 * killed with its process group and reaped before this returns. */
int target_crash_run(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                     char *err, size_t errlen);

/* What target_crash_run checks before a trial, alone: cfg->target is a
 * target, its --set keys are its own (each once) and their values taken
 * by its setup, which fills out's promise.  -EINVAL with the problem and
 * the fix in err.  For `crash --vm --target`, which runs the program in a
 * guest rather than through these adapters. */
int target_settings_check(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                          char *err, size_t errlen);
/* 1 when name is a target of crash --target (its promise can be looked up
 * with target_settings_check), else 0. */
int target_known(const char *name);

/* `fsynclab explore` (explore.c): one recorded run that ends by itself
 * after cfg->ops acknowledgements, then every crash point of it and the
 * states a disk can leave at each, checked and explained. */
int target_explore_run(const struct recorder_explore_config *cfg, struct recorder_explore_result *out,
                       char *err, size_t errlen);

#endif
