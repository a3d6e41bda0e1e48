/* list: the operation list and its checks, and the error helper.
 *
 * The list copies each operation's fields, never its bytes or names: a
 * journal of gigabytes is read through its mapping.  Every check here is
 * one a producer could fail, so each names the operation and the fix.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerloss/internal.h"

int pl_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void pl_list_init(struct pl_list *l)
{
    memset(l, 0, sizeof *l);
    l->max_file = 1;   /* the root */
}

void pl_list_free(struct pl_list *l)
{
    free(l->ops);
    pl_list_init(l);
}

void pl_list_mark_base(struct pl_list *l)
{
    l->nbase = l->n;
}

static int pl_bad_name(const char *name)
{
    return !name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static const char *const kind_names[PL_KIND_MAX] = {
    [PL_WRITE] = "write", [PL_SETSIZE] = "setsize", [PL_CREATE] = "create", [PL_MKDIR] = "mkdir",
    [PL_SYMLINK] = "symlink", [PL_LINK] = "link", [PL_UNLINK] = "unlink", [PL_RENAME] = "rename",
    [PL_SYNC_BEGIN] = "sync begin", [PL_SYNC_END] = "sync end", [PL_CHMOD] = "chmod",
    [PL_FALLOCATE] = "fallocate",
};

static int pl_check(const struct pl_list *l, const struct pl_op *op, char *err, size_t errlen)
{
    size_t i = l->n;
    if (op->kind == 0 || op->kind >= PL_KIND_MAX)
        return PL_ERR(err, errlen, -EINVAL, "operation %zu: unknown kind %u", i, (unsigned)op->kind);
    const char *k = kind_names[op->kind];
    if (op->file >= PL_MAX_FILE || op->dir >= PL_MAX_FILE || op->dir2 >= PL_MAX_FILE)
        return PL_ERR(err, errlen, -EINVAL, "operation %zu (%s): file id over %u; number files densely from 1",
                      i, k, PL_MAX_FILE - 1);
    switch (op->kind) {
    case PL_WRITE:
        if (!op->file || (op->len && !op->data) || op->off + op->len < op->off)
            return PL_ERR(err, errlen, -EINVAL, "operation %zu (write): needs a file, and data for its %llu bytes",
                          i, (unsigned long long)op->len);
        return 0;
    case PL_SETSIZE:
    case PL_CHMOD:
        return op->file ? 0 : PL_ERR(err, errlen, -EINVAL, "operation %zu (%s): no file", i, k);
    case PL_FALLOCATE:
        if (!op->file || op->off + op->len < op->off
            || ((op->flags & PL_FA_COLLAPSE) && (op->flags & PL_FA_INSERT)))
            return PL_ERR(err, errlen, -EINVAL, "operation %zu (fallocate): needs a file, a range that does not "
                          "wrap, and at most one of collapse and insert", i);
        return 0;
    case PL_RENAME:
        if (!op->dir2 || pl_bad_name(op->name2))
            return PL_ERR(err, errlen, -EINVAL, "operation %zu (rename): the new name needs a directory and "
                          "one path component", i);
        /* fall through */
    case PL_CREATE:
    case PL_MKDIR:
    case PL_SYMLINK:
    case PL_LINK:
    case PL_UNLINK:
        if (!op->dir || pl_bad_name(op->name))
            return PL_ERR(err, errlen, -EINVAL, "operation %zu (%s): needs a directory and a name of one path "
                          "component (not empty, no '/', not . or ..)", i, k);
        if ((op->kind == PL_CREATE || op->kind == PL_MKDIR || op->kind == PL_SYMLINK || op->kind == PL_LINK)
            && op->file <= 1)
            return PL_ERR(err, errlen, -EINVAL, "operation %zu (%s): needs a file id above 1 (1 is the root)", i, k);
        if (op->kind == PL_SYMLINK && op->len && !op->data)
            return PL_ERR(err, errlen, -EINVAL, "operation %zu (symlink): no target bytes", i);
        return 0;
    case PL_SYNC_BEGIN:
        return op->flags <= PL_SYNC_ALL ? 0
               : PL_ERR(err, errlen, -EINVAL, "operation %zu (sync begin): unknown sync kind %u", i,
                        (unsigned)op->flags);
    case PL_SYNC_END:
        if (op->off >= i || l->ops[op->off].kind != PL_SYNC_BEGIN || l->ops[op->off].file != op->file)
            return PL_ERR(err, errlen, -EINVAL, "operation %zu (sync end): off must be the index of an earlier "
                          "sync begin of the same file", i);
        return 0;
    default:
        return 0;
    }
}

int pl_list_add(struct pl_list *l, const struct pl_op *op, char *err, size_t errlen)
{
    int rc = pl_check(l, op, err, errlen);
    if (rc)
        return rc;
    if (l->n >= PL_NEVER - 1)
        return PL_ERR(err, errlen, -E2BIG, "operation list: more than %u operations", PL_NEVER - 2);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        struct pl_op *g = realloc(l->ops, cap * sizeof *g);
        if (!g)
            return PL_ERR(err, errlen, -ENOMEM, "operation list: realloc: %s", strerror(ENOMEM));
        l->ops = g;
        l->cap = cap;
    }
    l->ops[l->n++] = *op;
    uint32_t ids[3] = {op->file, op->dir, op->dir2};
    for (int k = 0; k < 3; k++)
        if (ids[k] > l->max_file)
            l->max_file = ids[k];
    return 0;
}
