/* What the recorder's Check tests share: a scratch directory per test,
 * small file helpers, and hand-made journals written record by record with
 * the journal format (preload/journal.h).  Header-only, so that each test
 * binary stays one .c file. */
#ifndef FSYNCLAB_TESTS_RECORDER_HAND_H
#define FSYNCLAB_TESTS_RECORDER_HAND_H

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "recorder/recorder.h"

static char scratch[PATH_MAX];

/* A fresh directory for one test: scratch/<name>. */
static inline const char *fresh(const char *name, char *out)
{
    ck_assert_int_lt(snprintf(out, PATH_MAX, "%s/%s", scratch, name), PATH_MAX);
    ck_assert_int_eq(recorder_tree_remove(out, NULL, 0), 0);
    ck_assert_int_eq(mkdir(out, 0755), 0);
    return out;
}

static inline char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    ck_assert_ptr_nonnull(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    if (len)
        *len = n;
    return buf;
}

static inline void spit(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- hand-made journals ---------------------------------------------------------- */
static FILE *jw;
static uint64_t jw_ns;

static inline void jrec(unsigned type, unsigned flags, int32_t aux, uint64_t handle, uint64_t off, uint64_t len,
                 const void *payload, size_t plen)
{
    struct recorder_rec r = {.size = (uint32_t)(RECORDER_HEADER + plen), .type = (uint16_t)type,
                             .flags = (uint16_t)flags, .pid = 7, .aux = aux, .ns = (jw_ns += 1000),
                             .handle = handle, .off = off, .len = len};
    ck_assert_uint_eq(fwrite(&r, RECORDER_HEADER, 1, jw), 1);
    if (plen)
        ck_assert_uint_eq(fwrite(payload, plen, 1, jw), 1);
}
static inline void jopen(uint64_t h, const char *path, int flags)
{
    jrec(RECORDER_OPEN, 0, flags, h, 0, 0, path, strlen(path) + 1);
}
static inline void jwrite(uint64_t h, uint64_t off, const char *data)
{
    jrec(RECORDER_WRITE, 0, 0, h, off, strlen(data), data, strlen(data));
}
static uint64_t jsync_id;
static inline void jsync(uint64_t h)
{
    jrec(RECORDER_SYNC_BEGIN, 0, 0, h, ++jsync_id, 0, NULL, 0);
    jrec(RECORDER_SYNC_END, 0, 0, h, jsync_id, 0, NULL, 0);
}
static inline void jname(unsigned type, const char *a, const char *b)
{
    char buf[512];
    size_t la = strlen(a) + 1, lb = b ? strlen(b) + 1 : 0;
    memcpy(buf, a, la);
    if (b)
        memcpy(buf + la, b, lb);
    jrec(type, 0, 0, 0, 0, 0, buf, la + lb);
}

struct hand {
    char dir[PATH_MAX], snap[PATH_MAX + 8], journal[PATH_MAX + 16];
};

static inline void hand_begin(struct hand *h, const char *name)
{
    fresh(name, h->dir);
    snprintf(h->snap, sizeof h->snap, "%s/snap", h->dir);
    snprintf(h->journal, sizeof h->journal, "%s/journal", h->dir);
    ck_assert_int_eq(mkdir(h->snap, 0755), 0);
    jw = fopen(h->journal, "wb");
    ck_assert_ptr_nonnull(jw);
    struct recorder_jhead head = {.magic = RECORDER_MAGIC, .version = RECORDER_VERSION,
                                  .header_size = RECORDER_JHEAD_SIZE};
    ck_assert_uint_eq(fwrite(&head, sizeof head, 1, jw), 1);
    jw_ns = 0;
}

/* Builds the image at at_ns (UINT64_MAX: all) under model into dir/<out>. */
static inline struct pl_model M(const char *name)
{
    struct pl_model m;
    char err[256];
    ck_assert_msg(pl_model_parse(name, &m, err, sizeof err) == 0, "%s", err);
    return m;
}

static inline const char *hand_image(struct hand *h, const char *model, uint64_t at_ns, uint64_t seed,
                              const char *out, char *path)
{
    if (jw) {
        ck_assert_int_eq(fclose(jw), 0);
        jw = NULL;
    }
    struct recorder_journal j;
    char err[256] = "";
    ck_assert_int_eq(recorder_journal_open(h->journal, &j, err, sizeof err), 0);
    ck_assert_int_lt(snprintf(path, PATH_MAX, "%s/%s", h->dir, out), PATH_MAX);
    ck_assert_int_eq(recorder_tree_remove(path, NULL, 0), 0);
    struct pl_model m = M(model);
    int rc = recorder_image_build(&j, h->snap, at_ns, &m, seed, path, NULL, err, sizeof err);
    ck_assert_msg(rc == 0, "image: %s", err);
    recorder_journal_close(&j);
    return path;
}

static inline void assert_content(const char *dir, const char *name, const char *want)
{
    char *got = slurp(dir, name, NULL);
    if (!want) {
        ck_assert_msg(got == NULL, "%s/%s should be gone, holds \"%s\"", dir, name, got);
        return;
    }
    ck_assert_msg(got != NULL, "%s/%s missing", dir, name);
    ck_assert_str_eq(got, want);
    free(got);
}


#endif
