/* DESIGN: libFuzzer target for the protocol node.
 *
 * The input is split into lines and each goes through node_handle_line, so
 * sequences (init, then a benchmark) are reachable, with the real
 * screening, parsing, envelope checks, field validation and dispatch.  Only
 * the disk work is replaced, through struct node_ops: the fake probe,
 * benchmark and crash trials hand back canned results, or fail, depending on
 * the first byte of the input, so that error paths and the reply printer are
 * fuzzed too.  Every node_ops member needs a fake here: a NULL one means the
 * real thing, which would write files (and fork) on every input.
 *
 * Beyond what ASan and UBSan catch, the target checks the promises a client
 * relies on, and aborts (a finding) when one breaks:
 *   - a line gets exactly one reply (one line) or, when it cannot be
 *     answered, exactly one "skipped" log line and no reply; blank lines
 *     get neither; "out of memory" never happens here, so its log line
 *     means a reply was lost (e.g. a body that failed to build);
 *   - every reply parses as JSON and is an object with string "src" and
 *     "dest" and an object "body" whose "type" is a string;
 *   - a rejected request never reached the disk (no probe or benchmark call
 *     for an "error" reply with code 12).
 *
 * Build and run with `make fuzz` (clang only). */
#include <cjson/cJSON.h>

#include "node/node.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mode;          /* what the fakes do for this input */
static int disk_calls;    /* probe and benchmark calls for the current line */

static int fake_probe(const char *dir, struct bench_env *env)
{
    disk_calls++;
    memset(env, 0, sizeof *env);
    if (mode == 1)
        return -ENOENT;
    snprintf(env->dir, sizeof env->dir, "%s", dir);
    /* Odd bytes in strings the node copies into replies: they must still
     * come out as valid JSON. */
    snprintf(env->fs_type, sizeof env->fs_type, "%s", mode == 2 ? "x\"\\\x01\xc3\xa9\xff" : "ext4");
    snprintf(env->device, sizeof env->device, "/dev/vda");
    env->dirty_expire_cs = mode == 3 ? -1 : 3000;
    env->dirty_writeback_cs = 500;
    return 0;
}

static int fake_benchmark(const struct bench_config *cfg, const struct wal_strategy *s, size_t n,
                          struct bench_result *res, char *err, size_t errlen)
{
    disk_calls++;
    if (mode == 4) {
        snprintf(err, errlen, "fsync(%s/fsynclab-bench-1-0.wal): %s", cfg->dir, strerror(EIO));
        return -EIO;
    }
    if (mode == 5)
        return -ENOSPC;   /* no text: the node must fall back to strerror */
    for (size_t i = 0; i < n; i++) {
        struct bench_result *r = &res[i];
        memset(r, 0, sizeof *r);
        r->strategy = s[i];
        r->record_size = cfg->entry_size;
        r->entries_requested = cfg->entries;
        r->entries_written = cfg->entries - (i % 2 ? cfg->entries / 2 : 0);
        r->complete = r->entries_written == cfg->entries;
        /* Extremes the printer must survive: huge, tiny, not finite. */
        r->seconds = mode == 6 ? 1e308 * 10 : mode == 7 ? 5e-324 : cfg->max_seconds / (double)(i + 1);
        r->ops_per_sec = mode == 6 ? UINT64_MAX : cfg->entries * (i + 1);
        hist_init(&r->ack_ns);
        hist_add(&r->ack_ns, mode == 6 ? UINT64_MAX / 2 : 1000 + cfg->entries % 7919);
        hist_init(&r->wal.sync_ns);
        if (s[i].kind != WAL_NONE) {
            hist_add(&r->wal.sync_ns, 2000000 + i);
            r->wal.syncs = cfg->entries;
            r->wal.exposure_max_ns = mode == 6 ? UINT64_MAX : (uint64_t)s[i].interval_ms * 1000000;
        }
    }
    return 0;
}

static int fake_crash(const struct crashsim_config *base, const struct wal_strategy *s, size_t n,
                      struct verifier_summary *out,
                      void (*progress)(void *arg, size_t strategy, uint32_t done, uint32_t total),
                      void *progress_arg, char *err, size_t errlen)
{
    disk_calls++;
    if (mode == 4) {
        snprintf(err, errlen, "fdatasync(%s/fsynclab-crash-1-0.wal): %s", base->dir, strerror(EIO));
        return -EIO;
    }
    if (mode == 5)
        return -ENOSPC;
    for (size_t i = 0; i < n; i++) {
        struct verifier_summary *v = &out[i];
        verifier_summary_init(v, &s[i]);
        /* As a run cut short by its budget can report: any trial count up
         * to the one asked for, 0 included. */
        v->trials = mode == 6 ? 0 : base->trials - (uint32_t)(i % 2 ? base->trials / 2 : 0);
        v->acked_total = base->entries * v->trials;
        v->acked_lost_total = mode == 7 ? v->acked_total : v->acked_total / 3;
        v->acked_lost_max = mode == 6 ? UINT64_MAX : base->entries / 2;
        v->loss_window_ns_max = mode == 6 ? UINT64_MAX : (uint64_t)s[i].interval_ms * 1000000 + 1;
        hist_add(&v->loss_window_ns, v->loss_window_ns_max);
        v->held = s[i].kind == WAL_NONE ? VERIFIER_HELD_NULL
                : mode == 7 ? VERIFIER_HELD_FALSE : VERIFIER_HELD_TRUE;
        v->trials_over_promise = mode == 7 ? v->trials : 0;
        v->max_sync_ns = 1500000;
        v->worst_seed = base->seed;
        if (progress)
            progress(progress_arg, i, v->trials, base->trials);
    }
    return 0;
}

static void check_reply(const char *line, size_t len)
{
    cJSON *msg = cJSON_ParseWithLength(line, len);
    if (!msg) {
        fprintf(stderr, "reply is not JSON: %.*s\n", (int)len, line);
        abort();
    }
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(msg, "body");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(body, "type");
    if (!cJSON_IsObject(msg) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "src")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "dest")) || !cJSON_IsObject(body) ||
        !cJSON_IsString(type)) {
        fprintf(stderr, "reply lacks src, dest or body.type: %.*s\n", (int)len, line);
        abort();
    }
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(body, "code");
    if (strcmp(type->valuestring, "error") == 0 && cJSON_IsNumber(code) &&
        code->valuedouble == NODE_ERR_MALFORMED && disk_calls > 0) {
        fprintf(stderr, "a request refused with code 12 reached the disk: %.*s\n", (int)len, line);
        abort();
    }
    cJSON_Delete(msg);
}

static int blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return 0;
    return 1;
}

static void fail(const char *why, const char *line, size_t len)
{
    fprintf(stderr, "%s; the line: %.*s\n", why, (int)(len > 500 ? 500 : len), line);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The node reads its data directory from here; the fakes never touch
     * it. */
    setenv("FSYNCLAB_DIR", "build/fuzz-no-disk", 1);
    mode = size > 0 ? data[0] % 8 : 0;

    char *out_buf = NULL, *log_buf = NULL;
    size_t out_len = 0, log_len = 0;
    FILE *out = open_memstream(&out_buf, &out_len);
    FILE *log = open_memstream(&log_buf, &log_len);
    if (!out || !log)
        abort();
    static const struct node_ops ops = {
        .benchmark = fake_benchmark, .probe = fake_probe, .crash = fake_crash,
    };
    struct node *n = node_new(out, &ops);
    if (!n)
        abort();
    node_set_log(n, log);

    const char *p = (const char *)data, *end = p + size;
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t before = out_len, log_before = log_len;
        disk_calls = 0;
        node_handle_line(n, p, len);
        fflush(out);
        fflush(log);
        /* memstream buffers are NUL-terminated after a flush */
        const char *logged = log_buf ? log_buf + log_before : "";
        if (strstr(logged, "out of memory"))
            fail("a reply was lost (\"out of memory\" logged)", p, len);
        if (out_len > before) {
            const char *reply = out_buf + before;
            size_t rlen = out_len - before;
            const char *first_nl = memchr(reply, '\n', rlen);
            if (!first_nl || first_nl != reply + rlen - 1)
                fail("one line gave more than one reply line", p, len);
            if (strstr(logged, "skipped"))
                fail("a line was both answered and skipped", p, len);
            check_reply(reply, rlen - 1);
        } else if (!blank(p, len)) {
            const char *skip = strstr(logged, "skipped");
            if (!skip || strchr(skip, '\n') != log_buf + log_len - 1)
                fail("a line got neither a reply nor one \"skipped\" log line", p, len);
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    node_free(n);
    fclose(out);
    fclose(log);
    free(out_buf);
    free(log_buf);
    return 0;
}
