/* DESIGN: the node reads one line at a time into a fixed 1 MiB buffer (a
 * longer line is drained and skipped, so no input can make it allocate
 * without bound), screens the raw bytes (UTF-8, nesting depth, stray
 * control bytes: things cJSON would accept or check too late), parses with
 * cJSON and checks the envelope.  Lines without a usable envelope cannot be
 * answered and are only logged.  Everything else gets exactly one reply:
 * a handler's reply or an error.
 *
 * Handlers sit in a table keyed by message type and build a reply body
 * whose first key is "type"; reply() puts in_reply_to and msg_id right after
 * it and wraps the body in the envelope.  fsync_benchmark validates every
 * field before any disk work, which goes through struct node_ops. */
#include "node/node.h"

#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAFE_INT 9007199254740991.0   /* 2^53 - 1: whole doubles up to here are exact */
#define STRATEGIES_ALLOWED "allowed: " WAL_STRATEGIES   /* the list wal_strategy_parse takes */
#define QUOTE_MAX 64   /* bytes of a client's string quoted back in an error text */

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
struct req {
    const char *src;
    const char *dest;       /* NULL when absent or not a string */
    const cJSON *body;
    int has_msg_id;
    double msg_id;
};

static void logf_(struct node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(n->log, "fsynclab-node: line %llu: ", (unsigned long long)n->lineno);
    vfprintf(n->log, fmt, ap);
    fputc('\n', n->log);
    fflush(n->log);
    va_end(ap);
}

/* ---- output -------------------------------------------------------------- */

static void write_line(struct node *n, const char *s)
{
    if (n->write_err)
        return;
    errno = 0;
    if (fputs(s, n->out) == EOF || fputc('\n', n->out) == EOF || fflush(n->out) == EOF)
        n->write_err = errno ? -errno : -EIO;
}

/* Sends payload (an object whose first key is "type", consumed) as the
 * reply to r, adding in_reply_to and msg_id after the type. */
static void reply(struct node *n, const struct req *r, cJSON *payload)
{
    cJSON *env = cJSON_CreateObject(), *body = cJSON_CreateObject();
    int ok = env && body && payload;
    const char *src = n->id ? n->id : r->dest ? r->dest : "n0";
    uint64_t msg_id = n->next_msg_id++;

    ok = ok && cJSON_AddStringToObject(env, "src", src) &&
         cJSON_AddStringToObject(env, "dest", r->src);
    /* Move the payload's items over so that the keys land in order. */
    cJSON *type = ok ? cJSON_DetachItemViaPointer(payload, payload->child) : NULL;
    ok = ok && type && cJSON_AddItemToObject(body, type->string, type);
    if (!ok)
        cJSON_Delete(type);
    if (ok && r->has_msg_id)
        ok = cJSON_AddNumberToObject(body, "in_reply_to", r->msg_id) != NULL;
    ok = ok && cJSON_AddNumberToObject(body, "msg_id", (double)msg_id);
    while (ok && payload->child) {
        cJSON *item = cJSON_DetachItemViaPointer(payload, payload->child);
        if (!cJSON_AddItemToObject(body, item->string, item)) {
            cJSON_Delete(item);
            ok = 0;
        }
    }
    if (ok) {
        ok = cJSON_AddItemToObject(env, "body", body);
        if (ok)
            body = NULL;
    }
    char *line = ok ? node_json_print(env) : NULL;
    if (line)
        write_line(n, line);
    else
        logf_(n, "out of memory building the reply to %s", r->src);
    free(line);
    cJSON_Delete(env);
    cJSON_Delete(body);
    cJSON_Delete(payload);
}

/* A client's string, cut to QUOTE_MAX bytes on a character boundary, for
 * quoting in an error text. */
static void clip(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s), max = QUOTE_MAX < cap - 4 ? QUOTE_MAX : cap - 4;
    if (n <= max) {
        memcpy(out, s, n + 1);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;   /* do not split a UTF-8 sequence */
    memcpy(out, s, max);
    memcpy(out + max, "...", 4);
}

static void reply_error(struct node *n, const struct req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_error(struct node *n, const struct req *r, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    cJSON *p = cJSON_CreateObject();
    if (p && (!cJSON_AddStringToObject(p, "type", "error") ||
              !cJSON_AddNumberToObject(p, "code", code) ||
              !cJSON_AddStringToObject(p, "text", text))) {
        cJSON_Delete(p);
        p = NULL;
    }
    reply(n, r, p);
}

/* ---- input screening ------------------------------------------------------ */

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* True when s[0..n) is a number as JSON (RFC 8259) writes it:
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?  cJSON hands the run to
 * strtod, which also takes 01, 1. and -.5; Python's json refuses them. */
static int json_number(const unsigned char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && is_digit(s[i]))
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i == n;
}

/* Rejects what cJSON would take but the node must not: bytes that are not
 * UTF-8, raw control bytes or non-ASCII outside strings (including a BOM,
 * which cJSON skips), control bytes inside strings, \u0000 (a C string
 * cannot carry it), numbers JSON does not allow (01, 1., -.5), and nesting
 * deeper than NODE_MAX_DEPTH.  Returns NULL or why the line is refused. */
static const char *screen(const unsigned char *s, size_t len)
{
    int in_str = 0;
    unsigned depth = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (!in_str) {
            if (c == '"')
                in_str = 1;
            else if (c == '[' || c == '{') {
                if (++depth > NODE_MAX_DEPTH)
                    return "nested deeper than 64";
            } else if (c == ']' || c == '}') {
                if (depth > 0)
                    depth--;
            } else if (c == '-' || is_digit(c)) {
                /* The whole run cJSON would give strtod; in valid JSON that
                 * is exactly one number. */
                size_t end = i;
                while (end < len && (is_digit(s[end]) || s[end] == '-' || s[end] == '+' ||
                                     s[end] == '.' || s[end] == 'e' || s[end] == 'E'))
                    end++;
                if (!json_number(s + i, end - i))
                    return "not JSON (a number with leading zeros, a bare point or a stray sign)";
                i = end - 1;
            } else if (c >= 0x80)
                return "not JSON (non-ASCII byte outside a string)";
            else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r')
                return "not JSON (control byte)";
            continue;
        }
        if (c == '"') {
            in_str = 0;
        } else if (c == '\\') {
            if (i + 5 < len && s[i + 1] == 'u' && s[i + 2] == '0' && s[i + 3] == '0' &&
                s[i + 4] == '0' && s[i + 5] == '0')
                return "string holds \\u0000, which the node does not accept";
            i++;   /* the escaped byte; cJSON checks the escape itself */
        } else if (c < 0x20) {
            return "not JSON (control byte in a string)";
        } else if (c >= 0x80) {
            size_t need = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                        : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            if (need == 0 || i + need > len)
                return "invalid UTF-8";
            uint32_t v = c & (0xff >> (need + 1));
            for (size_t k = 1; k < need; k++) {
                if ((s[i + k] & 0xc0) != 0x80)
                    return "invalid UTF-8";
                v = v << 6 | (s[i + k] & 0x3f);
            }
            static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
            if (v < min[need] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                return "invalid UTF-8";
            i += need - 1;
        }
    }
    return NULL;
}

/* ---- field validation ------------------------------------------------------ */

static int is_whole(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == trunc(v->valuedouble) &&
           v->valuedouble >= lo && v->valuedouble <= hi;
}

/* ---- handlers -------------------------------------------------------------- */

static void handle_init(struct node *n, const struct req *r)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r->body, "node_id");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(r->body, "node_ids");
    if (!cJSON_IsString(id) || id->valuestring[0] == '\0') {
        reply_error(n, r, NODE_ERR_MALFORMED, "node_id must be a non-empty string");
        return;
    }
    if (ids) {
        const cJSON *e;
        int ok = cJSON_IsArray(ids);
        cJSON_ArrayForEach(e, ids) ok = ok && cJSON_IsString(e);
        if (!ok) {
            reply_error(n, r, NODE_ERR_MALFORMED, "node_ids must be a list of strings");
            return;
        }
    }
    char *copy = strdup(id->valuestring);
    if (!copy) {
        logf_(n, "out of memory");
        return;
    }
    free(n->id);
    n->id = copy;
    cJSON *p = cJSON_CreateObject();
    if (p && !cJSON_AddStringToObject(p, "type", "init_ok")) {
        cJSON_Delete(p);
        p = NULL;
    }
    reply(n, r, p);
}

/* Checks an fsync_benchmark body into cfg and strategies (which holds
 * BENCH_MAX_STRATEGIES).  Returns the count, or 0 after replying with an
 * error. */
static size_t parse_benchmark(struct node *n, const struct req *r, struct bench_config *cfg,
                              struct wal_strategy *strategies, uint64_t max_entries)
{
    const cJSON *b = r->body;
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(b, "entries");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(b, "strategies");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(b, "entry_size");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(b, "sync_method");
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(b, "max_seconds");
    char q[QUOTE_MAX + 4];

    if (!entries || !is_whole(entries, 1, (double)max_entries)) {
        reply_error(n, r, NODE_ERR_MALFORMED, "entries %s a whole number from 1 to %llu",
                    entries ? "must be" : "is required:", (unsigned long long)max_entries);
        return 0;
    }
    int count = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (count < 1 || count > BENCH_MAX_STRATEGIES) {
        reply_error(n, r, NODE_ERR_MALFORMED,
                    "strategies %s a list of 1 to %d strategy names; " STRATEGIES_ALLOWED,
                    list ? "must be" : "is required:", BENCH_MAX_STRATEGIES);
        return 0;
    }
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        if (!cJSON_IsString(e)) {
            reply_error(n, r, NODE_ERR_MALFORMED,
                        "strategies[%zu] must be a string; " STRATEGIES_ALLOWED, i);
            return 0;
        }
        if (wal_strategy_parse(e->valuestring, &strategies[i]) < 0) {
            clip(e->valuestring, q, sizeof q);
            reply_error(n, r, NODE_ERR_MALFORMED,
                        "strategies[%zu]: unknown strategy \"%s\"; " STRATEGIES_ALLOWED, i, q);
            return 0;
        }
        i++;
    }
    cfg->entry_size = BENCH_DEFAULT_ENTRY_SIZE;
    if (size) {
        if (!is_whole(size, WAL_HEADER_SIZE, WAL_MAX_RECORD)) {
            reply_error(n, r, NODE_ERR_MALFORMED, "entry_size must be a whole number from %u to %u",
                        WAL_HEADER_SIZE, WAL_MAX_RECORD);
            return 0;
        }
        cfg->entry_size = (uint32_t)size->valuedouble;
    }
    cfg->sync_method = WAL_SYNC_FSYNC;
    if (method) {
        if (!cJSON_IsString(method)) {
            reply_error(n, r, NODE_ERR_MALFORMED,
                        "sync_method must be a string; allowed: " WAL_SYNC_METHODS);
            return 0;
        }
        if (wal_sync_method_parse(method->valuestring, &cfg->sync_method) < 0) {
            clip(method->valuestring, q, sizeof q);
            reply_error(n, r, NODE_ERR_MALFORMED,
                        "sync_method: unknown method \"%s\"; allowed: " WAL_SYNC_METHODS, q);
            return 0;
        }
    }
    cfg->max_seconds = BENCH_DEFAULT_SECONDS;
    if (secs) {
        if (!cJSON_IsNumber(secs) || !isfinite(secs->valuedouble) || !(secs->valuedouble > 0) ||
            secs->valuedouble > BENCH_MAX_SECONDS) {
            reply_error(n, r, NODE_ERR_MALFORMED,
                        "max_seconds must be a number greater than 0 and at most %g",
                        BENCH_MAX_SECONDS);
            return 0;
        }
        cfg->max_seconds = secs->valuedouble;
    }
    const cJSON *writers = cJSON_GetObjectItemCaseSensitive(b, "writers");
    const cJSON *prealloc = cJSON_GetObjectItemCaseSensitive(b, "prealloc");
    cfg->writers = 1;
    if (writers) {
        if (!is_whole(writers, 1, BENCH_MAX_WRITERS)) {
            reply_error(n, r, NODE_ERR_MALFORMED, "writers must be a whole number from 1 to %u",
                        BENCH_MAX_WRITERS);
            return 0;
        }
        cfg->writers = (unsigned)writers->valuedouble;
    }
    if (prealloc) {
        if (!cJSON_IsBool(prealloc)) {
            reply_error(n, r, NODE_ERR_MALFORMED, "prealloc must be true or false");
            return 0;
        }
        cfg->prealloc = cJSON_IsTrue(prealloc);
    }
    cfg->entries = (uint64_t)entries->valuedouble;
    return i;
}

static void handle_benchmark(struct node *n, const struct req *r)
{
    struct bench_config cfg = {0};
    struct wal_strategy strategies[BENCH_MAX_STRATEGIES];
    size_t count = parse_benchmark(n, r, &cfg, strategies, BENCH_MAX_ENTRIES);
    if (count == 0)
        return;

    cfg.dir = bench_data_dir(NULL);   /* never from the request: clients name no paths */
    struct bench_env env;
    memset(&env, 0, sizeof env);
    int rc = n->ops.probe(cfg.dir, &env);
    if (rc < 0) {
        reply_error(n, r, NODE_ERR_ABORT, "cannot examine the data directory %s: %s", cfg.dir,
                    strerror(-rc));
        return;
    }
    struct bench_result *results = calloc(count, sizeof *results);   /* ~60 KiB each */
    if (!results) {
        reply_error(n, r, NODE_ERR_ABORT, "out of memory for %zu results", count);
        return;
    }
    char err[512] = "";
    rc = n->ops.benchmark(&cfg, strategies, count, results, err, sizeof err);
    if (rc < 0) {
        logf_(n, "fsync_benchmark failed: %s", err[0] ? err : strerror(-rc));
        reply_error(n, r, NODE_ERR_ABORT, "%s", err[0] ? err : strerror(-rc));
    } else {
        reply(n, r, node_benchmark_body(&env, &cfg, results, count));
    }
    free(results);
}

/* Checks a crash_test body: the fields it shares with fsync_benchmark
 * (entries capped lower), then trials, model, seed and the writeback
 * model's settings. */
static size_t parse_crash(struct node *n, const struct req *r, struct crashsim_config *cfg,
                          struct wal_strategy *strategies)
{
    const cJSON *b = r->body;
    struct bench_config common = {0};
    size_t count = parse_benchmark(n, r, &common, strategies, NODE_CRASH_MAX_ENTRIES);
    if (count == 0)
        return 0;
    const cJSON *trials = cJSON_GetObjectItemCaseSensitive(b, "trials");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(b, "model");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(b, "seed");
    const cJSON *expire = cJSON_GetObjectItemCaseSensitive(b, "writeback_expire_ms");
    const cJSON *interval = cJSON_GetObjectItemCaseSensitive(b, "writeback_interval_ms");
    char q[QUOTE_MAX + 4];
    if (!trials || !is_whole(trials, 1, NODE_CRASH_MAX_TRIALS)) {
        reply_error(n, r, NODE_ERR_MALFORMED, "trials %s a whole number from 1 to %u",
                    trials ? "must be" : "is required:", NODE_CRASH_MAX_TRIALS);
        return 0;
    }
    cfg->model = CRASHSIM_DROP;
    if (model) {
        if (!cJSON_IsString(model)) {
            reply_error(n, r, NODE_ERR_MALFORMED, "model must be a string; allowed: " CRASHSIM_MODELS);
            return 0;
        }
        if (crashsim_model_parse(model->valuestring, &cfg->model) < 0) {
            clip(model->valuestring, q, sizeof q);
            reply_error(n, r, NODE_ERR_MALFORMED,
                        "model: unknown model \"%s\"; allowed: " CRASHSIM_MODELS, q);
            return 0;
        }
    }
    if (seed && !is_whole(seed, 0, NODE_MAX_SEED)) {
        reply_error(n, r, NODE_ERR_MALFORMED, "seed must be a whole number from 0 to %.0f",
                    NODE_MAX_SEED);
        return 0;
    }
    /* No seed: one from the clock, reported in the reply so the run replays. */
    cfg->seed = seed ? (uint64_t)seed->valuedouble
                     : wal_now_ns() % ((uint64_t)NODE_MAX_SEED + 1);
    cfg->writeback_expire_ms = -1;
    cfg->writeback_interval_ms = -1;
    if (expire) {
        if (!is_whole(expire, 0, 3600000)) {
            reply_error(n, r, NODE_ERR_MALFORMED,
                        "writeback_expire_ms must be a whole number from 0 to 3600000");
            return 0;
        }
        cfg->writeback_expire_ms = (long)expire->valuedouble;
    }
    if (interval) {
        if (!is_whole(interval, 1, 3600000)) {
            reply_error(n, r, NODE_ERR_MALFORMED,
                        "writeback_interval_ms must be a whole number from 1 to 3600000");
            return 0;
        }
        cfg->writeback_interval_ms = (long)interval->valuedouble;
    }
    cfg->entries = common.entries;
    cfg->entry_size = common.entry_size;
    cfg->sync_method = common.sync_method;
    cfg->max_seconds = common.max_seconds;
    cfg->writers = common.writers;
    cfg->prealloc = common.prealloc;
    cfg->trials = (uint32_t)trials->valuedouble;
    return count;
}

static void handle_crash(struct node *n, const struct req *r)
{
    struct crashsim_config cfg = {0};
    struct wal_strategy strategies[BENCH_MAX_STRATEGIES];
    size_t count = parse_crash(n, r, &cfg, strategies);
    if (count == 0)
        return;

    cfg.dir = bench_data_dir(NULL);   /* never from the request: clients name no paths */
    struct bench_env env;
    memset(&env, 0, sizeof env);
    int rc = n->ops.probe(cfg.dir, &env);
    if (rc < 0) {
        reply_error(n, r, NODE_ERR_ABORT, "cannot examine the data directory %s: %s", cfg.dir,
                    strerror(-rc));
        return;
    }
    struct verifier_summary *out = calloc(count, sizeof *out);
    if (!out) {
        reply_error(n, r, NODE_ERR_ABORT, "out of memory for %zu results", count);
        return;
    }
    char err[512] = "";
    rc = n->ops.crash(&cfg, strategies, count, out, NULL, NULL, err, sizeof err);
    if (rc < 0) {
        logf_(n, "crash_test failed: %s", err[0] ? err : strerror(-rc));
        reply_error(n, r, NODE_ERR_ABORT, "%s", err[0] ? err : strerror(-rc));
    } else {
        reply(n, r, node_crash_body(&env, &cfg, out, count));
    }
    free(out);
}

static const struct {
    const char *type;
    void (*handle)(struct node *n, const struct req *r);
} handlers[] = {
    {"init", handle_init},
    {"fsync_benchmark", handle_benchmark},
    {"crash_test", handle_crash},
};

/* ---- the benchmark reply ---------------------------------------------------- */

static double us(uint64_t ns)
{
    return (double)ns / 1e3;   /* whole ns are exactly 3 decimals of a microsecond */
}

static double ms3(uint64_t ns)
{
    return (double)((ns + 500) / 1000) / 1e3;   /* to the microsecond, in ms */
}

static int add_float(cJSON *o, const char *key, double v)
{
    cJSON *f = node_json_float(isfinite(v) ? v : 0);
    if (f && cJSON_AddItemToObject(o, key, f))
        return 1;
    cJSON_Delete(f);
    return 0;
}

/* cs * 10 as an integer, null when unknown (negative). */
static int add_cs_ms(cJSON *o, const char *key, long cs)
{
    return cs < 0 ? cJSON_AddNullToObject(o, key) != NULL
                  : cJSON_AddNumberToObject(o, key, (double)cs * 10) != NULL;
}

static cJSON *result_object(const struct bench_env *env, const struct bench_result *res)
{
    char name[32], dur[32], win[32];
    const struct hist *ack = &res->ack_ns, *sync = &res->wal.sync_ns;
    double secs = isfinite(res->seconds) ? round(res->seconds * 1e3) / 1e3 : 0;
    cJSON *o = cJSON_CreateObject();
    int ok = o &&
        cJSON_AddStringToObject(o, "strategy", wal_strategy_name(&res->strategy, name, sizeof name)) &&
        cJSON_AddNumberToObject(o, "ops_per_sec", (double)res->ops_per_sec) &&
        cJSON_AddStringToObject(o, "durability", wal_strategy_durability(&res->strategy, dur, sizeof dur)) &&
        cJSON_AddStringToObject(o, "data_loss_window", wal_strategy_window(&res->strategy, win, sizeof win)) &&
        cJSON_AddNumberToObject(o, "entries", (double)res->entries_written) &&
        cJSON_AddNumberToObject(o, "entries_requested", (double)res->entries_requested) &&
        cJSON_AddBoolToObject(o, "complete", res->complete != 0) &&
        add_float(o, "seconds", secs) &&
        add_float(o, "ack_p50_us", us(hist_quantile(ack, 0.5))) &&
        add_float(o, "ack_p99_us", us(hist_quantile(ack, 0.99))) &&
        add_float(o, "ack_max_us", us(hist_quantile(ack, 1.0))) &&
        cJSON_AddNumberToObject(o, "syncs", (double)res->wal.syncs) &&
        add_float(o, "sync_p50_us", us(hist_quantile(sync, 0.5))) &&
        add_float(o, "sync_p99_us", us(hist_quantile(sync, 0.99))) &&
        add_float(o, "sync_max_us", us(hist_quantile(sync, 1.0)));
    if (ok && res->strategy.kind == WAL_NONE) {
        /* No sync ever covers a record: the bound is the kernel's writeback. */
        long a = env->dirty_expire_cs, b = env->dirty_writeback_cs;
        ok = add_cs_ms(o, "writeback_bound_ms", a < 0 || b < 0 ? -1 : a + b);
    } else if (ok) {
        ok = add_float(o, "exposure_ms", ms3(res->wal.exposure_max_ns));
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* {"type": type, "results": [item(ctx, 0), ..., item(ctx, n - 1)]}; NULL when
 * out of memory. */
static cJSON *results_body(const char *type, size_t n,
                           cJSON *(*item)(const void *ctx, size_t i), const void *ctx)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *list = NULL;
    int ok = body && cJSON_AddStringToObject(body, "type", type) &&
             (list = cJSON_CreateArray()) && cJSON_AddItemToObject(body, "results", list);
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *o = item(ctx, i);
        ok = o && cJSON_AddItemToArray(list, o);
        if (!ok)
            cJSON_Delete(o);
    }
    if (!ok) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

/* Adds "environment": {"fs_type", "device", "warning"} to body and returns
 * it for more keys; NULL when out of memory. */
static cJSON *add_environment(cJSON *body, const struct bench_env *env)
{
    cJSON *e = cJSON_CreateObject();
    if (!e || !cJSON_AddItemToObject(body, "environment", e)) {
        cJSON_Delete(e);
        return NULL;
    }
    int ok = cJSON_AddStringToObject(e, "fs_type", env->fs_type) &&
             cJSON_AddStringToObject(e, "device", env->device) &&
             cJSON_AddStringToObject(e, "warning", env->warning);
    return ok ? e : NULL;
}

struct bench_reply {
    const struct bench_env *env;
    const struct bench_result *results;
};

static cJSON *bench_item(const void *ctx, size_t i)
{
    const struct bench_reply *r = ctx;
    return result_object(r->env, &r->results[i]);
}

cJSON *node_benchmark_body(const struct bench_env *env, const struct bench_config *cfg,
                           const struct bench_result *results, size_t n)
{
    struct bench_reply r = { env, results };
    cJSON *body = results_body("fsync_benchmark_ok", n, bench_item, &r);
    cJSON *e = body ? add_environment(body, env) : NULL;
    int ok = e && add_cs_ms(e, "dirty_expire_ms", env->dirty_expire_cs) &&
             add_cs_ms(e, "dirty_writeback_ms", env->dirty_writeback_cs) &&
             cJSON_AddStringToObject(body, "sync_method", wal_sync_method_name(cfg->sync_method)) &&
             cJSON_AddNumberToObject(body, "entry_size", cfg->entry_size);
    if (!ok) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

static cJSON *crash_object(const struct crashsim_config *cfg, const struct verifier_summary *v)
{
    char name[32];
    cJSON *o = cJSON_CreateObject();
    int ok = o &&
        cJSON_AddStringToObject(o, "strategy", wal_strategy_name(&v->strategy, name, sizeof name)) &&
        cJSON_AddStringToObject(o, "model", crashsim_model_name(cfg->model)) &&
        cJSON_AddNumberToObject(o, "trials", v->trials) &&
        cJSON_AddNumberToObject(o, "acked_lost_max", (double)v->acked_lost_max) &&
        add_float(o, "acked_lost_mean", round(verifier_summary_acked_lost_mean(v) * 1e3) / 1e3) &&
        add_float(o, "loss_window_ms_max", round(verifier_summary_window_ms_max(v) * 1e3) / 1e3) &&
        add_float(o, "loss_window_ms_p50", round(verifier_summary_window_ms_p50(v) * 1e3) / 1e3) &&
        (v->promised_window_ms < 0 ? cJSON_AddNullToObject(o, "promised_window_ms") != NULL
                                   : cJSON_AddNumberToObject(o, "promised_window_ms",
                                                             (double)v->promised_window_ms) != NULL) &&
        (v->held == VERIFIER_HELD_NULL ? cJSON_AddNullToObject(o, "held") != NULL
                                       : cJSON_AddBoolToObject(o, "held",
                                                               v->held == VERIFIER_HELD_TRUE) != NULL) &&
        cJSON_AddNumberToObject(o, "corrupt_recovered", (double)v->corrupt_recovered) &&
        cJSON_AddNumberToObject(o, "trials_requested", cfg->trials) &&
        cJSON_AddNumberToObject(o, "acked_total", (double)v->acked_total) &&
        cJSON_AddNumberToObject(o, "acked_lost_total", (double)v->acked_lost_total) &&
        cJSON_AddNumberToObject(o, "unacked_recovered", (double)v->unacked_recovered) &&
        cJSON_AddNumberToObject(o, "trials_over_promise", v->trials_over_promise) &&
        add_float(o, "max_sync_ms", round(verifier_summary_max_sync_ms(v) * 1e3) / 1e3);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

struct crash_reply {
    const struct crashsim_config *base;
    const struct verifier_summary *out;
};

static cJSON *crash_item(const void *ctx, size_t i)
{
    const struct crash_reply *r = ctx;
    return crash_object(r->base, &r->out[i]);
}

cJSON *node_crash_body(const struct bench_env *env, const struct crashsim_config *base,
                       const struct verifier_summary *out, size_t n)
{
    struct crash_reply r = { base, out };
    cJSON *body = results_body("crash_test_ok", n, crash_item, &r);
    int ok = body && cJSON_AddStringToObject(body, "model", crashsim_model_name(base->model)) &&
             cJSON_AddNumberToObject(body, "seed", (double)base->seed) &&
             cJSON_AddNumberToObject(body, "entries", (double)base->entries) &&
             cJSON_AddNumberToObject(body, "entry_size", base->entry_size) &&
             cJSON_AddStringToObject(body, "sync_method", wal_sync_method_name(base->sync_method)) &&
             add_environment(body, env);
    if (!ok) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

/* ---- dispatch ---------------------------------------------------------------- */

static void handle_json(struct node *n, const cJSON *msg)
{
    struct req r = {0};
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(msg, "src");
    const cJSON *dest = cJSON_GetObjectItemCaseSensitive(msg, "dest");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(msg, "body");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(body, "type");
    if (!cJSON_IsObject(msg)) {
        logf_(n, "skipped: not a JSON object");
        return;
    }
    if (!cJSON_IsString(src)) {
        logf_(n, "skipped: no string \"src\"");
        return;
    }
    if (!cJSON_IsObject(body)) {
        logf_(n, "skipped: no object \"body\"");
        return;
    }
    if (!cJSON_IsString(type)) {
        logf_(n, "skipped: body has no string \"type\"");
        return;
    }
    r.src = src->valuestring;
    r.dest = cJSON_IsString(dest) ? dest->valuestring : NULL;
    r.body = body;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "msg_id");
    if (id) {
        if (!is_whole(id, 0, MAX_SAFE_INT)) {
            reply_error(n, &r, NODE_ERR_MALFORMED, "msg_id must be a whole number from 0 to %.0f",
                        MAX_SAFE_INT);
            return;
        }
        r.has_msg_id = 1;
        r.msg_id = id->valuedouble;
    }
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        if (strcmp(type->valuestring, handlers[i].type) == 0) {
            handlers[i].handle(n, &r);
            return;
        }
    }
    char q[QUOTE_MAX + 4];
    clip(type->valuestring, q, sizeof q);
    reply_error(n, &r, NODE_ERR_NOT_SUPPORTED, "unsupported message type \"%s\"", q);
}

void node_handle_line(struct node *n, const char *line, size_t len)
{
    n->lineno++;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
        i++;
    if (i == len)
        return;   /* blank lines are not messages */
    if (len > NODE_MAX_LINE) {
        logf_(n, "skipped: longer than %u bytes", NODE_MAX_LINE);
        return;
    }
    const char *why = screen((const unsigned char *)line, len);
    if (why) {
        logf_(n, "skipped: %s", why);
        return;
    }
    /* cJSON wants a terminated buffer; the caller's need not be. */
    char *copy = malloc(len + 1);
    if (!copy) {
        logf_(n, "skipped: out of memory");
        return;
    }
    memcpy(copy, line, len);
    copy[len] = '\0';
    const char *end = NULL;
    cJSON *msg = cJSON_ParseWithLengthOpts(copy, len, &end, 0);
    if (msg && end) {
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end != '\0') {
            cJSON_Delete(msg);
            msg = NULL;
        }
    }
    if (!msg)
        logf_(n, "skipped: not JSON");
    else
        handle_json(n, msg);
    cJSON_Delete(msg);
    free(copy);
}

/* ---- lifecycle ---------------------------------------------------------------- */

struct node *node_new(FILE *out, const struct node_ops *ops)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->out = out;
    n->log = stderr;
    n->ops.benchmark = ops && ops->benchmark ? ops->benchmark : bench_run;
    n->ops.probe = ops && ops->probe ? ops->probe : bench_env_probe;
    n->ops.crash = ops && ops->crash ? ops->crash : crashsim_run_all;
    return n;
}

void node_set_log(struct node *n, FILE *log)
{
    n->log = log ? log : stderr;
}

int node_run(struct node *n, FILE *in)
{
    char *buf = malloc(NODE_MAX_LINE + 1);
    if (!buf)
        return -ENOMEM;
    int c = 0;
    while (!n->write_err && c != EOF) {
        size_t len = 0;
        int over = 0;
        while ((c = getc_unlocked(in)) != EOF && c != '\n') {
            if (len < NODE_MAX_LINE)
                buf[len++] = (char)c;
            else
                over = 1;   /* keep draining to the newline */
        }
        if (over) {
            n->lineno++;
            logf_(n, "skipped: longer than %u bytes", NODE_MAX_LINE);
        } else if (len > 0 || c != EOF) {
            node_handle_line(n, buf, len);
        }
    }
    free(buf);
    if (n->write_err)
        return n->write_err;
    if (ferror(in)) {
        logf_(n, "reading input failed");
        return -EIO;
    }
    return 0;
}

void node_free(struct node *n)
{
    if (!n)
        return;
    free(n->id);
    free(n);
}

int node_serve_stdio(const char *progname)
{
    signal(SIGPIPE, SIG_IGN);
    struct node *n = node_new(stdout, NULL);
    if (!n) {
        fprintf(stderr, "%s: out of memory\n", progname);
        return 1;
    }
    int rc = node_run(n, stdin);
    node_free(n);
    if (rc == -EPIPE || rc == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", progname, strerror(-rc));
    return 1;
}
