/* node: the Maelstrom protocol node.  One JSON message per line in, one
 * reply per answerable message out, logs on stderr; see docs/protocol.md.
 *
 * The disk work sits behind struct node_ops so that tests and fuzz targets
 * can drive the protocol without touching a file system.  Replies are
 * printed byte for byte as Python's json.dumps would print them, by
 * report/, which also builds the result bodies.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef FSYNCLAB_NODE_H
#define FSYNCLAB_NODE_H

#include <stddef.h>
#include <stdio.h>

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

#endif
