/* cli/ci.c: what `crash` (fsynclab's own log) and `merge` add for CI
 * systems and shards (docs/scale.md): per-trial figures, the run's identity,
 * the command that replays a failure, JUnit cases, the failing status.
 * Internal to cli/. */
#ifndef FSYNCLAB_CLI_CI_H
#define FSYNCLAB_CLI_CI_H

#include "cli/cli.h"

/* One trial as the run saw it: enough to recompute its strategy's summary. */
struct cli_trial_row {
    uint32_t index;
    uint64_t seed;
    struct verifier_trial t;
    enum verifier_held held;      /* as judged by the run that ran it */
};

/* The trials of each strategy, in the order they ran (index order). */
struct cli_trials {
    const struct verifier_summary *out;   /* the run's summaries: row set = s - out */
    struct cli_trial_row *rows[BENCH_MAX_STRATEGIES];
    size_t n[BENCH_MAX_STRATEGIES], cap[BENCH_MAX_STRATEGIES];
    int oom;
};

/* crashsim_config.on_trial: arg is a struct cli_trials. */
void cli_trials_note(void *arg, const struct verifier_summary *s, uint32_t index, uint64_t seed,
                     const struct verifier_trial *t);
void cli_trials_free(struct cli_trials *c);

/* Whether a strategy's result fails a CI run: held false, or a record
 * handed back that was never written as it is. */
int cli_summary_failed(const struct verifier_summary *s);

/* The command line that runs cfg again (every option that shapes the trial
 * set; not --dir, --max-seconds, --json), "fsynclab crash --strategies ...". */
void cli_crash_command(const struct crashsim_config *cfg, const struct wal_strategy *strategies,
                       size_t n, char *buf, size_t len);
/* The one that replays trial index of strategy s alone. */
void cli_crash_replay(const struct crashsim_config *cfg, const struct verifier_summary *s,
                      uint32_t index, char *buf, size_t len);
/* The first failing trial of rows (held false or corrupt), or -1. */
long cli_first_failing(const struct cli_trial_row *rows, size_t n);

/* The replay of each failing strategy (replays[k], NULL when it did not
 * fail): cli_crash_replay of its first failing trial.  bufs holds them. */
void cli_crash_replays(const struct crashsim_config *cfg, const struct verifier_summary *out,
                       size_t n, const struct cli_trials *c, char (*bufs)[1024],
                       const char **replays);

/* Adds to a crash_test_ok body (CLI only: the node's reply is unchanged)
 * "replay" to each result (null when it did not fail), then "per_trial"
 * and "shard": {"command", "version", "index", "count"}. */
int cli_crash_json_extras(cJSON *body, size_t n, const struct cli_trials *c,
                          const char *const *replays, const char *command, uint32_t shard_index,
                          uint32_t shard_count);

/* Writes the JUnit report of a crash (or merged) result; 0 or CLI_EXIT_RUN. */
int cli_crash_junit(const char *path, const struct crashsim_config *cfg,
                    const struct verifier_summary *out, size_t n, const struct cli_trials *c,
                    const char *const *replays, double seconds);

/* The column names of "per_trial" rows. */
extern const char *const cli_trial_columns[];
#define CLI_TRIAL_COLUMNS 13

#endif
