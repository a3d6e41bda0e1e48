/* DESIGN: strategy names.  A name is parsed exactly as written (no case
 * folding, no sign, no leading zeros), so that every accepted name has one
 * spelling and a reply can echo the canonical form. */
#include "wal/wal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int wal_strategy_parse(const char *name, struct wal_strategy *out)
{
    if (strcmp(name, "always") == 0) {
        *out = (struct wal_strategy){ .kind = WAL_ALWAYS };
        return 0;
    }
    if (strcmp(name, "group") == 0) {
        *out = (struct wal_strategy){ .kind = WAL_GROUP };
        return 0;
    }
    if (strcmp(name, "none") == 0) {
        *out = (struct wal_strategy){ .kind = WAL_NONE };
        return 0;
    }
    if (strncmp(name, "batch_", 6) != 0)
        return -EINVAL;
    const char *p = name + 6;
    if (*p < '1' || *p > '9')   /* no sign, no leading zero, not empty */
        return -EINVAL;
    unsigned long n = 0;
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (unsigned long)(*p - '0');
        if (n > WAL_BATCH_MAX_MS)
            return -EINVAL;
        p++;
    }
    if (strcmp(p, "ms") != 0)
        return -EINVAL;
    *out = (struct wal_strategy){ .kind = WAL_BATCH, .interval_ms = (unsigned)n };
    return 0;
}

char *wal_strategy_name(const struct wal_strategy *s, char *buf, size_t len)
{
    switch (s->kind) {
    case WAL_ALWAYS: snprintf(buf, len, "always"); break;
    case WAL_BATCH: snprintf(buf, len, "batch_%ums", s->interval_ms); break;
    case WAL_NONE: snprintf(buf, len, "none"); break;
    case WAL_GROUP: snprintf(buf, len, "group"); break;
    }
    return buf;
}

int wal_sync_method_writes_durable(enum wal_sync_method m)
{
    return m == WAL_SYNC_O_DSYNC || m == WAL_SYNC_O_DIRECT_DSYNC;
}

/* Under O_DSYNC every write is durable when it returns, whatever the
 * strategy does after it: the labels follow from what the method and the
 * strategy guarantee together, not from the strategy's name alone. */
char *wal_strategy_durability(const struct wal_strategy *s, enum wal_sync_method m, char *buf,
                              size_t len)
{
    if (wal_sync_method_writes_durable(m)) {
        snprintf(buf, len, "every_write");
        return buf;
    }
    switch (s->kind) {
    case WAL_ALWAYS:
    case WAL_GROUP: snprintf(buf, len, "every_write"); break;
    case WAL_BATCH: snprintf(buf, len, "every_%ums", s->interval_ms); break;
    case WAL_NONE: snprintf(buf, len, "os_dependent"); break;
    }
    return buf;
}

char *wal_strategy_window(const struct wal_strategy *s, enum wal_sync_method m, char *buf,
                          size_t len)
{
    if (wal_sync_method_writes_durable(m)) {
        snprintf(buf, len, "0ms");
        return buf;
    }
    switch (s->kind) {
    case WAL_ALWAYS:
    case WAL_GROUP: snprintf(buf, len, "0ms"); break;
    case WAL_BATCH: snprintf(buf, len, "%ums", s->interval_ms); break;
    case WAL_NONE: snprintf(buf, len, "seconds"); break;
    }
    return buf;
}

const char *wal_op_call(enum wal_op op, enum wal_sync_method m)
{
    switch (op) {
    case WAL_OP_WRITE:
        return m == WAL_SYNC_O_DSYNC ? "pwrite(O_DSYNC)"
             : m == WAL_SYNC_O_DIRECT_DSYNC ? "pwrite(O_DIRECT|O_DSYNC)" : "pwrite";
    case WAL_OP_SYNC: return wal_sync_method_name(m);
    case WAL_OP_CLOSE: return "close";
    case WAL_OP_NONE: break;
    }
    return "wal_log_append";
}

uint64_t wal_writer_share(uint64_t entries, unsigned nw, unsigned i)
{
    if (nw == 0)
        nw = 1;
    return entries / nw + (i < entries % nw);
}
