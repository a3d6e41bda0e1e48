/* node's private parts, shared by node.c (reading, dispatch, replies) and
 * request.c (the handlers and their field checks).  Not an interface: no
 * other module includes it. */
#ifndef FSYNCLAB_NODE_INTERNAL_H
#define FSYNCLAB_NODE_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "node/node.h"

#define NODE_QUOTE_MAX 64   /* bytes of a client's string quoted back in an error text */

struct node {
    FILE *out;
    FILE *log;
    struct node_ops ops;
    char *id;               /* from init; NULL before */
    uint64_t next_msg_id;
    uint64_t lineno;
    int write_err;          /* negative errno of the first failed write */
};

/* One request being answered. */
struct node_req {
    const char *src;
    const char *dest;       /* NULL when absent or not a string */
    const cJSON *body;
    int has_msg_id;
    double msg_id;
};

void node_log(struct node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends payload (an object whose first key is "type"; consumed, NULL when
 * out of memory) as the reply to r, adding in_reply_to and msg_id after
 * the type. */
void node_reply(struct node *n, const struct node_req *r, cJSON *payload);
void node_reply_error(struct node *n, const struct node_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A client's string cut to NODE_QUOTE_MAX bytes on a character boundary
 * ("..." added), for quoting in an error text; out holds NODE_QUOTE_MAX + 4. */
void node_clip(const char *s, char *out, size_t cap);

/* The handlers (request.c). */
void node_handle_init(struct node *n, const struct node_req *r);
void node_handle_benchmark(struct node *n, const struct node_req *r);
void node_handle_crash(struct node *n, const struct node_req *r);

#endif
