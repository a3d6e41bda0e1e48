/* engine: which operations a base rule makes durable, and the models.
 *
 * DESIGN.  Once per list and base rule, one forward pass gives every
 * operation the index of the first sync end that made it durable
 * (dur[i]; dur2[i] for the removal of a rename's old name), so that a cut
 * after ops[0 .. cut) keeps exactly the ops with dur[i] < cut: deciding a
 * state is then one pass over the cut, whatever the model.  Syncs are
 * taken in the order they end, so the first to cover an op is the one
 * that made it durable; per file and per directory a pointer remembers
 * how far the earlier syncs reached, so the pass is linear.
 *
 *   POSIX (drop)  A completed fsync/fdatasync/msync of a file makes its
 *                 data ops (writes, size changes) before the sync's begin
 *                 durable; of a directory, the changes of its entries
 *                 (create, link, unlink, each half of a rename); sync()
 *                 and syncfs(), everything.  An O_SYNC/O_DSYNC write is
 *                 durable itself.  A failed sync promises nothing; and
 *                 (eio_pages_clean, Linux since 4.13) the writes of its
 *                 file it would have made durable are lost: the kernel
 *                 marked their pages clean, so no later sync or flusher
 *                 writes them (lost[i]: the failed sync end), unless a
 *                 later write dirtied their 4 KiB page again: the page
 *                 cache still held the bytes, so that page goes with the
 *                 later write (eio.c).
 *                 Only a failed sync of one file drops writes: a failed
 *                 sync() or directory fsync does not say which file
 *                 failed, and size changes stay (metadata, not pages).
 *   ext4          data=ordered, one journal.  Metadata (names, size
 *                 changes, new inodes) becomes durable at the next
 *                 commit, which sync() and an O_SYNC write start, an
 *                 fsync (of a file or a directory) when its inode changed
 *                 since the last commit (any write, size change, chmod,
 *                 name change: jbd2 waits for the inode's last transaction
 *                 and starts none when it is committed), and an fdatasync
 *                 (msync, O_DSYNC write) only when its file has metadata
 *                 the data needs that is not committed yet (a size change,
 *                 an extending write, fallocate, its creation; for a
 *                 directory its entries): an fdatasync of a pure
 *                 overwrite commits nothing.  chmod and fallocate are
 *                 metadata: a commit carries them whole.  A commit carries no file data
 *                 (delayed allocation: data reaches the disk through its
 *                 file's sync), except auto_da_alloc: a rename over an
 *                 existing file, once committed, carries the data written
 *                 to the renamed file before it.  Left out: the periodic
 *                 5-second commit and the flusher (pessimistic: such data
 *                 may survive on a real kernel), auto_da_alloc's flush at
 *                 close after a truncate to 0 (there is no close op), an
 *                 collapse/insert-range flushing the file's dirty
 *                 data first (pessimistic), and the journal's own torn
 *                 commits (a commit is atomic).
 *   xfs           ext4's journal rule without auto_da_alloc: XFS's log
 *                 force carries every metadata change before it (names,
 *                 size changes, chmod, fallocate) when a sync asks for
 *                 one, with the same triggers, and no file data: a file's
 *                 on-disk size grows when its data's I/O completes, so an
 *                 unsynced file renamed over another, or created, comes
 *                 out empty once the name is committed.  Measured in the
 *                 guest (docs/ground-truth.md).  Left out: XFS's flush at
 *                 close of a file truncated to 0 (no close op), the log's
 *                 own periodic push (pessimistic), and the flusher.
 *   btrfs         as xfs, but a commit carries the names only (another
 *                 file's truncation, fallocate or chmod is durable with
 *                 that file's own sync), and only the fsync of a file new
 *                 in the running transaction commits: Btrfs's fsync writes
 *                 a log tree of the inode it syncs, and of its parent
 *                 directory (so the names) only when the inode was made
 *                 in this transaction.  A transaction ends at sync() or
 *                 syncfs() and every 30 s: a file made before the last
 *                 sync(), or more than 30 s before the fsync, is old, and
 *                 its fsync commits nothing but itself.  A directory's
 *                 fsync makes its own entries durable, as under drop.
 *                 Measured: g's fsync carried a rename, not f's
 *                 truncation, when g was a second old; after a syncfs,
 *                 or 35 s, it carried nothing.  Left out: the timer's
 *                 exact instant (the kernel commits 30 to 60 s after a
 *                 transaction began; a file made in that window may be
 *                 old or new), the parent directories the log walks (the
 *                 model commits every earlier name), fsyncs Btrfs turns
 *                 into a full transaction commit (pessimistic), and the
 *                 commit's own writes of other inodes' sizes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "powerloss/internal.h"

int pl_grow(struct pl_piece **v, size_t *cap)
{
    size_t c = *cap ? *cap * 2 : 256;
    struct pl_piece *g = realloc(*v, c * sizeof *g);
    if (!g)
        return -ENOMEM;
    *v = g;
    *cap = c;
    return 0;
}

static int pl_is_name_op(unsigned kind)
{
    return kind == PL_CREATE || kind == PL_MKDIR || kind == PL_SYMLINK || kind == PL_LINK || kind == PL_UNLINK
           || kind == PL_RENAME;
}

/* Ops on a file's own inode, in its per-file list: a sync of it covers them. */
static int pl_is_file_op(unsigned kind)
{
    return kind == PL_WRITE || kind == PL_SETSIZE || kind == PL_FALLOCATE || kind == PL_CHMOD;
}

/* What ext4's journal carries at a commit. */
static int pl_is_meta(unsigned kind)
{
    return kind == PL_SETSIZE || kind == PL_FALLOCATE || kind == PL_CHMOD || pl_is_name_op(kind);
}

/* ---- building the engine ---------------------------------------------------------- */

/* Types of ids, and checks that need the whole list. */
static int pl_types(struct pl_engine *e, char *err, size_t errlen)
{
    const struct pl_op *ops = e->l->ops;
    uint8_t *made = calloc(e->nfiles, 1);
    if (!made)
        return -ENOMEM;
    e->ftype[1] = PL_T_DIR;
    made[1] = 1;
    int rc = 0;
    for (size_t i = 0; i < e->n && !rc; i++) {
        const struct pl_op *o = &ops[i];
        if (o->dir)
            e->ftype[o->dir] = PL_T_DIR;
        if (o->dir2)
            e->ftype[o->dir2] = PL_T_DIR;
        if (o->kind == PL_CREATE || o->kind == PL_MKDIR || o->kind == PL_SYMLINK) {
            if (made[o->file])
                rc = PL_ERR(err, errlen, -EINVAL, "operation %zu: file id %u is created twice; give each "
                            "new file a new id", i, o->file);
            made[o->file] = 1;
            e->ftype[o->file] = o->kind == PL_MKDIR ? PL_T_DIR : o->kind == PL_SYMLINK ? PL_T_LINK : PL_T_FILE;
        }
    }
    for (size_t i = 0; i < e->n && !rc; i++) {
        const struct pl_op *o = &ops[i];
        if ((o->kind == PL_WRITE || o->kind == PL_SETSIZE || o->kind == PL_FALLOCATE)
            && e->ftype[o->file] != PL_T_FILE)
            rc = PL_ERR(err, errlen, -EINVAL, "operation %zu: a %s of id %u, which is a directory or a "
                        "symbolic link", i, o->kind == PL_WRITE ? "write" : "size change", o->file);
        if ((o->kind == PL_CREATE || o->kind == PL_MKDIR || o->kind == PL_SYMLINK || o->kind == PL_LINK)
            && (o->dir == o->file || (o->kind != PL_MKDIR && e->ftype[o->file] == PL_T_DIR)))
            rc = PL_ERR(err, errlen, -EINVAL, "operation %zu: id %u is used both as a file and a directory", i,
                        o->file);
    }
    free(made);
    return rc;
}

/* Resolves names as the program saw them: which file a rename moved and
 * which it replaced, which an unlink removed. */
static void pl_resolve(struct pl_engine *e)
{
    const struct pl_op *ops = e->l->ops;
    e->gen++;
    for (size_t i = 0; i < e->n; i++) {
        const struct pl_op *o = &ops[i];
        switch (o->kind) {
        case PL_CREATE:
        case PL_MKDIR:
        case PL_SYMLINK:
        case PL_LINK:
            pl_map_put(e, o->dir, o->name, e->nh[i], o->file);
            break;
        case PL_UNLINK:
            e->res[i] = pl_map_get(e, o->dir, o->name, e->nh[i]);
            if (e->res[i])
                pl_map_put(e, o->dir, o->name, e->nh[i], 0);
            break;
        case PL_RENAME: {
            uint32_t a = pl_map_get(e, o->dir, o->name, e->nh[i]);
            uint32_t b = pl_map_get(e, o->dir2, o->name2, e->nh2[i]);
            if (!a || a == b || (!b && (o->flags & PL_RENAME_EXCHANGE)))
                break;   /* unknown source, or a rename onto another link of the same file: nothing */
            e->res[i] = a;
            e->over[i] = b;
            pl_map_put(e, o->dir, o->name, e->nh[i], o->flags & PL_RENAME_EXCHANGE ? b : 0);
            pl_map_put(e, o->dir2, o->name2, e->nh2[i], a);
            break;
        }
        default:
            break;
        }
    }
}

/* Per file its data ops, per directory its entry changes, ext4's metadata. */
static int pl_index(struct pl_engine *e)
{
    const struct pl_op *ops = e->l->ops;
    size_t nf = e->nfiles;
    e->fstart = calloc(nf + 1, sizeof *e->fstart);
    e->dstart = calloc(nf + 1, sizeof *e->dstart);
    if (!e->fstart || !e->dstart)
        return -ENOMEM;
    size_t nd = 0, nfo = 0;
    for (size_t i = 0; i < e->n; i++) {
        const struct pl_op *o = &ops[i];
        if (pl_is_file_op(o->kind)) {
            e->fstart[o->file + 1]++;
            nfo++;
        } else if (pl_is_name_op(o->kind)) {
            e->dstart[o->dir + 1]++;
            nd++;
            if (o->kind == PL_RENAME && o->dir2 != o->dir) {
                e->dstart[o->dir2 + 1]++;
                nd++;
            }
        }
        if (pl_is_meta(o->kind))
            e->nmeta++;
    }
    for (size_t f = 0; f < nf; f++) {
        e->fstart[f + 1] += e->fstart[f];
        e->dstart[f + 1] += e->dstart[f];
    }
    e->fops = malloc((nfo + 1) * sizeof *e->fops);
    e->dops = malloc((nd + 1) * sizeof *e->dops);
    e->meta = malloc((e->nmeta + 1) * sizeof *e->meta);
    uint32_t *fpos = malloc((nf + 1) * sizeof *fpos), *dpos = malloc((nf + 1) * sizeof *dpos);
    if (!e->fops || !e->dops || !e->meta || !fpos || !dpos) {
        free(fpos);
        free(dpos);
        return -ENOMEM;
    }
    memcpy(fpos, e->fstart, nf * sizeof *fpos);
    memcpy(dpos, e->dstart, nf * sizeof *dpos);
    size_t nm = 0;
    for (size_t i = 0; i < e->n; i++) {
        const struct pl_op *o = &ops[i];
        if (pl_is_file_op(o->kind))
            e->fops[fpos[o->file]++] = (uint32_t)i;
        else if (pl_is_name_op(o->kind)) {
            e->dops[dpos[o->dir]++] = (uint32_t)i;
            if (o->kind == PL_RENAME && o->dir2 != o->dir)
                e->dops[dpos[o->dir2]++] = (uint32_t)i;
        }
        if (pl_is_meta(o->kind))
            e->meta[nm++] = (uint32_t)i;
    }
    free(fpos);
    free(dpos);
    return 0;
}

int pl_engine_new(const struct pl_list *l, struct pl_engine **out, char *err, size_t errlen)
{
    *out = NULL;
    struct pl_engine *e = calloc(1, sizeof *e);
    if (!e)
        return PL_ERR(err, errlen, -ENOMEM, "powerloss engine: calloc: %s", strerror(ENOMEM));
    e->l = l;
    e->n = l->n;
    e->nfiles = l->max_file + 1;
    size_t nnames = 0;
    for (size_t i = 0; i < l->n; i++)
        nnames += pl_is_name_op(l->ops[i].kind) ? 1 : 0;
    e->mapcap = 64;
    while (e->mapcap < 2 * (nnames + 1))
        e->mapcap *= 2;
    e->ftype = calloc(e->nfiles, 1);
    e->res = calloc(e->n + 1, sizeof *e->res);
    e->over = calloc(e->n + 1, sizeof *e->over);
    e->nh = calloc(e->n + 1, sizeof *e->nh);
    e->nh2 = calloc(e->n + 1, sizeof *e->nh2);
    e->bufs = calloc(e->nfiles, sizeof *e->bufs);
    e->map = calloc(e->mapcap, sizeof *e->map);
    e->ents = malloc(e->mapcap * sizeof *e->ents);
    int rc = -ENOMEM;
    if (!e->ftype || !e->res || !e->over || !e->nh || !e->nh2 || !e->bufs || !e->map || !e->ents)
        goto fail;
    rc = pl_types(e, err, errlen);
    if (rc)
        goto fail;
    for (size_t i = 0; i < l->n; i++) {
        const struct pl_op *o = &l->ops[i];
        if (pl_is_name_op(o->kind))
            e->nh[i] = pl_name_hash(o->dir, o->name);
        if (o->kind == PL_RENAME)
            e->nh2[i] = pl_name_hash(o->dir2, o->name2);
    }
    pl_resolve(e);
    rc = pl_index(e);
    if (rc)
        goto fail;
    *out = e;
    return 0;
fail:
    pl_engine_free(e);
    return rc == -ENOMEM ? PL_ERR(err, errlen, rc, "powerloss engine: out of memory for %zu operations", l->n)
                         : rc;
}

void pl_engine_free(struct pl_engine *e)
{
    if (!e)
        return;
    for (uint32_t f = 0; e->bufs && f < e->nfiles; f++)
        free(e->bufs[f].data);
    free(e->bufs);
    free(e->ftype);
    free(e->res);
    free(e->over);
    free(e->nh);
    free(e->nh2);
    free(e->fstart);
    free(e->fops);
    free(e->dstart);
    free(e->dops);
    free(e->meta);
    for (int b = 0; b < PL_BASE_MAX; b++) {
        free(e->dur[b]);
        free(e->dur2[b]);
        free(e->lost[b]);
        free(e->eio[b]);
        free(e->rvpage[b]);
        free(e->rvop[b]);
    }
    free(e->map);
    free(e->ents);
    free(e->cand);
    free(e->ldur);
    free(e->lcand);
    free(e->lpick);
    free(e);
}

void pl_state_free(struct pl_state *st)
{
    free(st->pieces);
    memset(st, 0, sizeof *st);
}

size_t pl_cut_at(const struct pl_engine *e, uint64_t cut_ns)
{
    size_t i = e->l->nbase;
    while (i < e->n && e->l->ops[i].ns <= cut_ns)
        i++;
    return i;
}
