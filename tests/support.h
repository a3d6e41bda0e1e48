/* What the Check tests share: where scratch files go, and a check that a
 * test left none of its own behind.  Header-only, so that each test binary
 * stays one .c file; every function is static inline. */
#ifndef FSYNCLAB_TESTS_SUPPORT_H
#define FSYNCLAB_TESTS_SUPPORT_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerloss/powerloss.h"

/* The engine's preset `name` (drop, torn, ...), for a config's .model. */
static inline struct pl_model support_model(const char *name)
{
    struct pl_model m;
    ck_assert_msg(pl_model_parse(name, &m, NULL, 0) == 0, "no model %s", name);
    return m;
}

/* $FSYNCLAB_DIR (make check sets it to build/scratch), made if missing:
 * never /tmp, which may be tmpfs. */
static inline const char *support_scratch_dir(void)
{
    const char *dir = getenv("FSYNCLAB_DIR");
    if (!dir || !*dir)
        dir = "build/scratch";
    mkdir(dir, 0755);
    return dir;
}

/* dir/test-<what>-<pid>.wal into buf (WAL_PATH_MAX bytes or more). */
static inline void support_scratch_file(char *buf, size_t len, const char *what)
{
    snprintf(buf, len, "%s/test-%s-%ld.wal", support_scratch_dir(), what, (long)getpid());
}

/* Fails when dir holds a file whose name starts with prefix. */
static inline void support_assert_none_left(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        ck_assert_msg(strncmp(e->d_name, prefix, strlen(prefix)) != 0, "left behind: %s/%s",
                      dir, e->d_name);
    closedir(d);
}

/* A fresh directory dir/test-<what>-<pid> under the scratch directory into
 * buf; fails the test if it exists already. */
static inline void support_make_dir(char *buf, size_t len, const char *what)
{
    snprintf(buf, len, "%s/test-%s-%ld", support_scratch_dir(), what, (long)getpid());
    ck_assert_int_eq(mkdir(buf, 0755), 0);
}

/* Removes dir, failing the test if anything was left in it. */
static inline void support_rmdir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int left = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            left++;
    closedir(d);
    ck_assert_int_eq(left, 0);
    ck_assert_int_eq(rmdir(dir), 0);
}

#endif
