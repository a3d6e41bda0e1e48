/* node: the Maelstrom protocol node.  One JSON message per line in, one
 * reply per answerable message out, logs on stderr; see docs/protocol.md.
 *
 * The disk work sits behind struct node_ops so that tests and fuzz targets
 * can drive the protocol without touching a file system.  Replies are
 * printed byte for byte as Python's json.dumps would print them.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef FSYNCLAB_NODE_H
#define FSYNCLAB_NODE_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "bench/bench.h"
#include "crashsim/crashsim.h"

#define NODE_MAX_LINE (1u << 20)   /* longer input lines are skipped */
#define NODE_MAX_DEPTH 64          /* deeper nesting is skipped */

/* Maelstrom error codes used in replies. */
#define NODE_ERR_NOT_SUPPORTED 10
#define NODE_ERR_MALFORMED 12
#define NODE_ERR_ABORT 14

/* The work a request can cause.  Same contracts as bench_run and
 * bench_env_probe, which are the defaults. */
struct node_ops {
    int (*benchmark)(const struct bench_config *cfg, const struct wal_strategy *strategies,
                     size_t n, struct bench_result *results, char *err, size_t errlen);
    int (*probe)(const char *dir, struct bench_env *env);
    /* Same contract as crashsim_run_all, the default. */
    int (*crash)(const struct crashsim_config *base, const struct wal_strategy *strategies,
                 size_t n, struct verifier_summary *out,
                 void (*progress)(void *arg, size_t strategy, uint32_t done, uint32_t total),
                 void *progress_arg, char *err, size_t errlen);
};

/* Limits of a crash_test request. */
#define NODE_CRASH_MAX_TRIALS 10000u
#define NODE_CRASH_MAX_ENTRIES 1000000ull
#define NODE_MAX_SEED 9007199254740991.0   /* 2^53 - 1: exact in a JSON number */

struct node;

/* A node writing replies to out.  ops NULL (or a NULL member) means the
 * real bench_run / bench_env_probe.  Returns NULL when out of memory. */
struct node *node_new(FILE *out, const struct node_ops *ops);
/* Where log lines go; stderr unless set. */
void node_set_log(struct node *n, FILE *log);
/* Handles one input line (without its newline; need not be NUL-terminated).
 * Writes at most one reply.  A failed write is remembered (node_run stops). */
void node_handle_line(struct node *n, const char *line, size_t len);
/* Serves lines from in until end of input.  Returns 0 at end of input,
 * -EPIPE (or another negative errno) when a reply could not be written,
 * -EIO when reading failed. */
int node_run(struct node *n, FILE *in);
void node_free(struct node *n);

/* Serves stdin/stdout until end of input, as fsynclab-node and `fsynclab
 * node` do: SIGPIPE ignored, a reader that goes away ends quietly (0), any
 * other write error is named on stderr under progname (1). */
int node_serve_stdio(const char *progname);

/* item as Python's json.dumps(obj) prints it (default separators,
 * ensure_ascii).  malloc'd, the caller frees; NULL when out of memory or the
 * tree holds an invalid item. */
char *node_json_print(const cJSON *item);
/* A number that prints as a Python float (repr: 0.1, 1e-05, 2.0), as a
 * cJSON_Raw.  NULL for NaN or infinity, or when out of memory. */
cJSON *node_json_float(double v);

/* The fsync_benchmark_ok body without in_reply_to and msg_id: "type",
 * "results", "environment", "sync_method", "entry_size".  This is also what
 * `fsynclab bench --json` prints.  NULL when out of memory. */
cJSON *node_benchmark_body(const struct bench_env *env, const struct bench_config *cfg,
                           const struct bench_result *results, size_t n);

/* The crash_test_ok body without in_reply_to and msg_id: "type", "results"
 * (out[i] for each strategy), "model", "seed", "entries", "entry_size",
 * "sync_method", "environment".  Also what `fsynclab crash --json` prints. */
cJSON *node_crash_body(const struct bench_env *env, const struct crashsim_config *base,
                       const struct verifier_summary *out, size_t n);

#endif
