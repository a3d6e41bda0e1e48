/* model: the flags of a power-loss model, the one table of names, the one parser.
 *
 * Every model fsynclab has had is a preset here:
 *   drop       POSIX: only what a completed sync covered      (crashsim, recorder)
 *   ext4       ext4 data=ordered: one ordered journal          (recorder)
 *   xfs        XFS: one ordered log, no data with it (a file renamed
 *              over another before its data was synced is empty)
 *   btrfs      Btrfs: as xfs, but a commit carries names, not another
 *              file's truncation                               (recorder)
 *   torn       drop, and a prefix of the unsynced tail, the last write
 *              cut at a sector                                 (crashsim, recorder)
 *   reorder    drop, and each unsynced operation, each sector of an
 *              unsynced write, on its own                      (crashsim, recorder)
 *   writeback  drop, and what the flusher had written back     (crashsim)
 *   process    everything written survives: the process died, not the
 *              machine                                         (crashsim)
 *   lie        the disk acknowledged flushes it did not keep   (crashsim)
 * Names join with '+' to combine a base rule with a tail ("ext4+torn"):
 * at most one tail, and lie excludes a tail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerloss/internal.h"

static const struct pl_model presets[] = {
    {"drop", PL_BASE_POSIX, PL_TAIL_NONE, 0, 512, 30000, 5000, 1},
    {"ext4", PL_BASE_EXT4, PL_TAIL_NONE, 0, 512, 30000, 5000, 1},
    {"xfs", PL_BASE_XFS, PL_TAIL_NONE, 0, 512, 30000, 5000, 1},
    {"btrfs", PL_BASE_BTRFS, PL_TAIL_NONE, 0, 512, 30000, 5000, 1},
    {"torn", PL_BASE_POSIX, PL_TAIL_TORN, 0, 512, 30000, 5000, 1},
    {"reorder", PL_BASE_POSIX, PL_TAIL_REORDER, 0, 512, 30000, 5000, 1},
    {"writeback", PL_BASE_POSIX, PL_TAIL_WRITEBACK, 0, 512, 30000, 5000, 1},
    {"process", PL_BASE_POSIX, PL_TAIL_ALL, 0, 512, 30000, 5000, 1},
    {"lie", PL_BASE_POSIX, PL_TAIL_NONE, 1, 512, 30000, 5000, 1},
};
#define NPRESETS (sizeof presets / sizeof presets[0])

static const struct pl_model *pl_preset(const char *name, size_t len)
{
    for (size_t i = 0; i < NPRESETS; i++)
        if (strlen(presets[i].name) == len && strncmp(presets[i].name, name, len) == 0)
            return &presets[i];
    return NULL;
}

int pl_model_parse(const char *name, struct pl_model *m, char *err, size_t errlen)
{
    if (!name || !*name)
        return PL_ERR(err, errlen, -EINVAL, "--model: empty; use one of %s", PL_MODELS);
    const char *plus = strchr(name, '+');
    const struct pl_model *p = pl_preset(name, plus ? (size_t)(plus - name) : strlen(name));
    if (!p)
        return PL_ERR(err, errlen, -EINVAL, "--model %s: unknown model; use one of %s (or a base and a tail "
                      "joined by '+', e.g. ext4+torn)", name, PL_MODELS);
    *m = *p;
    while (plus) {
        const char *s = plus + 1;
        plus = strchr(s, '+');
        const struct pl_model *q = pl_preset(s, plus ? (size_t)(plus - s) : strlen(s));
        if (!q)
            return PL_ERR(err, errlen, -EINVAL, "--model %s: unknown part '%.*s'; use one of %s", name,
                          (int)(plus ? (size_t)(plus - s) : strlen(s)), s, PL_MODELS);
        if (q->base != PL_BASE_POSIX) {
            if (m->base != PL_BASE_POSIX && m->base != q->base)
                return PL_ERR(err, errlen, -EINVAL, "--model %s: two base rules; keep one of ext4, xfs, "
                              "btrfs", name);
            m->base = q->base;
        }
        if (q->tail != PL_TAIL_NONE) {
            if (m->tail != PL_TAIL_NONE)
                return PL_ERR(err, errlen, -EINVAL, "--model %s: two tails; keep one of torn, reorder, "
                              "writeback, process", name);
            m->tail = q->tail;
        }
        m->lie |= q->lie;
    }
    if (m->lie && m->tail != PL_TAIL_NONE)
        return PL_ERR(err, errlen, -EINVAL, "--model %s: lie loses the whole unsynced tail; it does not "
                      "combine with a tail", name);
    if (strchr(name, '+'))
        m->name = name;   /* "ext4+torn" names itself (the caller's string must outlive m) */
    return 0;
}

int pl_model_set_sector(struct pl_model *m, const char *value, char *err, size_t errlen)
{
    if (value && strcmp(value, "512") == 0)
        m->sector = 512;
    else if (value && strcmp(value, "4096") == 0)
        m->sector = 4096;
    else
        return PL_ERR(err, errlen, -EINVAL, "--sector-size %s: use 512 or 4096", value ? value : "(none)");
    return 0;
}

const char *pl_model_name(const struct pl_model *m)
{
    return m->name ? m->name : "custom";
}
