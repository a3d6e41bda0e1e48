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
 * it and wraps the body in the envelope.  The handlers are in request.c. */
#include "node/internal.h"

#include "report/report.h"

#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAFE_INT 9007199254740991.0   /* 2^53 - 1: whole doubles up to here are exact */

void node_log(struct node *n, const char *fmt, ...)
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

void node_reply(struct node *n, const struct node_req *r, cJSON *payload)
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
    char *line = ok ? report_json_print(env) : NULL;
    if (line)
        write_line(n, line);
    else
        node_log(n, "out of memory building the reply to %s", r->src);
    free(line);
    cJSON_Delete(env);
    cJSON_Delete(body);
    cJSON_Delete(payload);
}

void node_clip(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s), max = NODE_QUOTE_MAX < cap - 4 ? NODE_QUOTE_MAX : cap - 4;
    if (n <= max) {
        memcpy(out, s, n + 1);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;   /* do not split a UTF-8 sequence */
    memcpy(out, s, max);
    memcpy(out + max, "...", 4);
}

void node_reply_error(struct node *n, const struct node_req *r, int code, const char *fmt, ...)
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
    node_reply(n, r, p);
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

static int is_whole(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == trunc(v->valuedouble) &&
           v->valuedouble >= lo && v->valuedouble <= hi;
}

static const struct {
    const char *type;
    void (*handle)(struct node *n, const struct node_req *r);
} handlers[] = {
    {"init", node_handle_init},
    {"fsync_benchmark", node_handle_benchmark},
    {"crash_test", node_handle_crash},
};

/* ---- dispatch ---------------------------------------------------------------- */

static void handle_json(struct node *n, const cJSON *msg)
{
    struct node_req r = {0};
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(msg, "src");
    const cJSON *dest = cJSON_GetObjectItemCaseSensitive(msg, "dest");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(msg, "body");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(body, "type");
    if (!cJSON_IsObject(msg)) {
        node_log(n, "skipped: not a JSON object");
        return;
    }
    if (!cJSON_IsString(src)) {
        node_log(n, "skipped: no string \"src\"");
        return;
    }
    if (!cJSON_IsObject(body)) {
        node_log(n, "skipped: no object \"body\"");
        return;
    }
    if (!cJSON_IsString(type)) {
        node_log(n, "skipped: body has no string \"type\"");
        return;
    }
    r.src = src->valuestring;
    r.dest = cJSON_IsString(dest) ? dest->valuestring : NULL;
    r.body = body;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "msg_id");
    if (id) {
        if (!is_whole(id, 0, MAX_SAFE_INT)) {
            node_reply_error(n, &r, NODE_ERR_MALFORMED, "msg_id must be a whole number from 0 to %.0f",
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
    char q[NODE_QUOTE_MAX + 4];
    node_clip(type->valuestring, q, sizeof q);
    node_reply_error(n, &r, NODE_ERR_NOT_SUPPORTED, "unsupported message type \"%s\"", q);
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
        node_log(n, "skipped: longer than %u bytes", NODE_MAX_LINE);
        return;
    }
    const char *why = screen((const unsigned char *)line, len);
    if (why) {
        node_log(n, "skipped: %s", why);
        return;
    }
    /* cJSON wants a terminated buffer; the caller's need not be. */
    char *copy = malloc(len + 1);
    if (!copy) {
        node_log(n, "skipped: out of memory");
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
        node_log(n, "skipped: not JSON");
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
            node_log(n, "skipped: longer than %u bytes", NODE_MAX_LINE);
        } else if (len > 0 || c != EOF) {
            node_handle_line(n, buf, len);
        }
    }
    free(buf);
    if (n->write_err)
        return n->write_err;
    if (ferror(in)) {
        node_log(n, "reading input failed");
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
