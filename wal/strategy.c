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

char *wal_strategy_durability(const struct wal_strategy *s, char *buf, size_t len)
{
    switch (s->kind) {
    case WAL_ALWAYS:
    case WAL_GROUP: snprintf(buf, len, "every_write"); break;
    case WAL_BATCH: snprintf(buf, len, "every_%ums", s->interval_ms); break;
    case WAL_NONE: snprintf(buf, len, "os_dependent"); break;
    }
    return buf;
}

char *wal_strategy_window(const struct wal_strategy *s, char *buf, size_t len)
{
    switch (s->kind) {
    case WAL_ALWAYS:
    case WAL_GROUP: snprintf(buf, len, "0ms"); break;
    case WAL_BATCH: snprintf(buf, len, "%ums", s->interval_ms); break;
    case WAL_NONE: snprintf(buf, len, "seconds"); break;
    }
    return buf;
}
