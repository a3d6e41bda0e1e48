/* powerloss: what a disk can hold after a power cut, from what a program did.
 *
 * DESIGN.  The ground floor of fsynclab (it includes no other module).  A
 * producer (crashsim's ledger, the recorder's journal, the guest's reports)
 * turns what a program did into an operation list (struct pl_list): writes,
 * size changes, names, syncs, each with its time.  Files are stable ids
 * (inode-like, small dense integers; 1 is the root directory), names are
 * (directory id, name) entries, so hard links and renames over a file are
 * plain.  Bytes and names are held by reference (the producer's mapping
 * must outlive the list), so a journal streams in without a copy.
 *
 * A model (struct pl_model) is one set of flags, as SQLite's crash VFS
 * drives one write list from a sector size and device characteristics:
 * a base rule saying which operations a completed sync made durable (POSIX
 * `drop` or ext4 data=ordered), what happens to the rest (the unsynced
 * tail: nothing, a torn prefix, a reordered subset, everything, or the
 * writeback flusher's timers), whether completed flushes are kept (`lie`),
 * and a sector size.  Every model fsynclab names is a preset of these
 * flags (pl_model_parse; the table is in model.c).
 *
 * The engine (struct pl_engine) decides a state as a function of (list,
 * cut instant, model, seed): the operations that survive, whole or in
 * part (struct pl_piece), and a content hash of the tree they leave (names,
 * bytes, links), without writing anything; same inputs, same pieces, same
 * hash.  A state is always "the durable set under the base rule plus a
 * chosen part of the unsynced operations": pl_unsynced lists the candidates
 * and pl_keep builds the state for any subset of them, so exploration can
 * enumerate states systematically; the random models are built on it.
 * pl_state_write puts a state on disk as a directory tree, pl_state_content
 * hands one file's bytes (a single-file log).
 *
 * Functions that can fail return 0 or a negative errno, with a message in
 * err (when err is not NULL) naming the failing call or the bad input.
 */
#ifndef FSYNCLAB_POWERLOSS_H
#define FSYNCLAB_POWERLOSS_H

#include <stddef.h>
#include <stdint.h>

/* ---- helpers every module may use ------------------------------------------ */

/* The one pseudo-random step of fsynclab: every random choice derives from
 * a seed through this, so a trial's damage replays. */
static inline uint64_t pl_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The one error helper: formats into err (if not NULL) and returns rc, so
 * that `return PL_ERR(err, errlen, -errno, "open(%s): %s", p, strerror(errno))`
 * is one line.  (The errno is read before the call, as arguments are.) */
int pl_err(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define PL_ERR(err, errlen, rc, ...) pl_err((err), (errlen), (rc), __VA_ARGS__)

/* ---- the operation list ------------------------------------------------------ */

enum pl_kind {
    PL_WRITE = 1,   /* file, off, len, data; flags PL_O_SYNC / PL_O_DSYNC */
    PL_SETSIZE,     /* file, off = new size (ftruncate, O_TRUNC, fallocate growing it) */
    PL_CREATE,      /* file (a new id), dir, name; off = mode (0: 0644) */
    PL_MKDIR,       /* file (a new id), dir, name; off = mode (0: 0755) */
    PL_SYMLINK,     /* file (a new id), dir, name; data, len = the target */
    PL_LINK,        /* file, dir, name: one more name for file */
    PL_UNLINK,      /* dir, name (unlink and rmdir) */
    PL_RENAME,      /* dir, name -> dir2, name2 (replacing what name2 held) */
    PL_SYNC_BEGIN,  /* file (0: every file), flags = enum pl_sync */
    PL_SYNC_END,    /* off = index of its PL_SYNC_BEGIN in the list; rc = 0 or an errno */
    PL_CHMOD,       /* file (the root too), off = mode: inode metadata, durable with the file */
    PL_FALLOCATE,   /* file, off, len; flags = PL_FA_*: a data op that may change the size */
    PL_KIND_MAX
};

enum pl_sync {
    PL_SYNC_FSYNC = 0,   /* fsync of a file or a directory */
    PL_SYNC_FDATASYNC,   /* fdatasync: the file's data and its size */
    PL_SYNC_MSYNC,       /* msync(MS_SYNC) of a mapping of the file: as fdatasync */
    PL_SYNC_ALL,         /* sync(), or syncfs() of the file system under test */
};

/* PL_WRITE flags: the write was made through an O_SYNC / O_DSYNC
 * descriptor, so its bytes (and the size they need) were durable when it
 * returned: the record is made at its completion. */
#define PL_O_DSYNC 1u
#define PL_O_SYNC 2u
/* PL_WRITE: stores through a shared mapping, written back at a sync: they
 * never grow the file (bytes past its end at that point are lost). */
#define PL_W_MAPPED 4u
/* PL_RENAME: RENAME_EXCHANGE: the two names swap files (part OLD: name now
 * names what name2 held; part NEW: name2 names what name held). */
#define PL_RENAME_EXCHANGE 1u
/* PL_FALLOCATE flags, as fallocate(2)'s modes: 0 allocates (and grows the
 * file to off + len); KEEP_SIZE never grows it; PUNCH zeroes the range
 * within the size; ZERO zeroes it (and grows unless KEEP_SIZE); COLLAPSE
 * removes the range, the rest moving down; INSERT opens a hole at off. */
#define PL_FA_KEEP_SIZE 1u
#define PL_FA_PUNCH 2u
#define PL_FA_ZERO 4u
#define PL_FA_COLLAPSE 8u
#define PL_FA_INSERT 16u

struct pl_op {
    uint64_t ns;                  /* when it completed (any clock, the same for all) */
    uint8_t kind;                 /* enum pl_kind */
    uint8_t flags;
    int32_t rc;                   /* PL_SYNC_END: 0, or the errno the sync failed with */
    uint32_t file;
    uint32_t dir, dir2;
    const char *name, *name2;     /* NUL-terminated, by reference */
    uint64_t off, len;
    const unsigned char *data;    /* by reference */
};

struct pl_list {
    struct pl_op *ops;
    size_t n, cap;
    size_t nbase;       /* ops[0 .. nbase) are the snapshot: durable under every model */
    uint32_t max_file;  /* the largest id named */
};

/* The size a file of `size` bytes has after fallocate op o. */
static inline uint64_t pl_falloc_size(uint64_t size, const struct pl_op *o)
{
    if (o->flags & PL_FA_COLLAPSE)
        return o->off + o->len <= size ? size - o->len : size;
    if (o->flags & PL_FA_INSERT)
        return o->off < size ? size + o->len : size;
    if (!(o->flags & (PL_FA_KEEP_SIZE | PL_FA_PUNCH)) && o->off + o->len > size)
        return o->off + o->len;
    return size;
}

void pl_list_init(struct pl_list *l);
void pl_list_free(struct pl_list *l);
/* Appends a copy of *op (not of its bytes or names); -EINVAL with the
 * reason for an operation that cannot be (unknown kind, a sync end whose
 * begin is not an earlier begin of the same file, a name with a slash, ...). */
int pl_list_add(struct pl_list *l, const struct pl_op *op, char *err, size_t errlen);
/* Everything added so far is the snapshot the program started from. */
void pl_list_mark_base(struct pl_list *l);

/* ---- the model ---------------------------------------------------------------- */

/* POSIX: what a sync covered.  The others are one ordered metadata journal
 * that any committing sync carries whole (engine.c): EXT4 with
 * auto_da_alloc (a committed rename over a file carries the renamed file's
 * data); XFS without it; BTRFS commits names only (a size change of a
 * file is durable with that file's own sync), no data either. */
enum pl_base { PL_BASE_POSIX = 0, PL_BASE_EXT4, PL_BASE_XFS, PL_BASE_BTRFS, PL_BASE_MAX };
enum pl_tail {
    PL_TAIL_NONE = 0,   /* nothing unsynced survives */
    PL_TAIL_TORN,       /* a prefix in list order, the last write cut at a sector */
    PL_TAIL_REORDER,    /* each operation, each sector of a write, on its own (p = 1/2) */
    PL_TAIL_ALL,        /* everything (the process died, the kernel did not) */
    PL_TAIL_WRITEBACK,  /* what the flusher's last tick found older than expire */
};

struct pl_model {
    const char *name;         /* the preset's name (a combination: the string parsed), for output */
    enum pl_base base;
    enum pl_tail tail;
    int lie;                  /* completed flushes are not kept: a random prefix of them is */
    unsigned sector;          /* 512 or 4096 */
    long expire_ms, interval_ms;   /* PL_TAIL_WRITEBACK: the kernel's dirty_expire/writeback */
    /* Linux since 4.13: a sync that failed (rc != 0) left the pages it was
     * writing marked clean, so the writes it would have made durable are
     * gone from every later state, even after a later sync succeeds, unless
     * a later write dirtied their page (4 KiB of the file, whatever the
     * sector) again: the page, its dropped bytes included, then goes with
     * that write.  Off: the pages stay dirty and a later sync can still
     * save them.  Every preset has it on. */
    int eio_pages_clean;
};

#define PL_MODELS "drop, ext4, torn, reorder, writeback, process, lie, xfs, btrfs"
/* Fills *m with the preset `name` (sector 512, writeback 30000/5000 ms);
 * -EINVAL naming the allowed ones otherwise. */
int pl_model_parse(const char *name, struct pl_model *m, char *err, size_t errlen);
/* --sector-size: "512" or "4096", else -EINVAL naming them. */
int pl_model_set_sector(struct pl_model *m, const char *value, char *err, size_t errlen);
/* The preset's name, or "custom". */
const char *pl_model_name(const struct pl_model *m);

/* ---- the engine ------------------------------------------------------------------ */

/* A part of an operation that survives.  For a write, bytes [from, to) of
 * its payload; for a rename, part says which half (under drop the two
 * directories are synced apart); for everything else the whole op. */
enum pl_part { PL_PART_ALL = 0, PL_PART_OLD = 1, PL_PART_NEW = 2 };
struct pl_piece {
    uint32_t op;
    uint32_t part;      /* enum pl_part: a rename's old name's removal, or its new name;
                         * for one op, OLD comes before NEW */
    uint64_t from, to;  /* writes only; otherwise 0, 0 */
};

struct pl_state {
    uint64_t hash;                /* of the tree: names, kinds, bytes, links */
    size_t cut;                   /* ops[0 .. cut) happened before the power went */
    size_t durable;               /* pieces the base rule kept (before lie) */
    size_t extra;                 /* pieces of unsynced operations kept */
    uint64_t lied_pieces;         /* durable pieces lost to lie */
    struct pl_piece *pieces;      /* what survives, in list order */
    size_t npieces, cap;
    uint64_t files, dirs, bytes;  /* reachable from the root */
    uint64_t serial;              /* which materialization the engine holds */
};

struct pl_engine;

/* The list must not change while an engine uses it. */
int pl_engine_new(const struct pl_list *l, struct pl_engine **out, char *err, size_t errlen);
void pl_engine_free(struct pl_engine *e);
void pl_state_free(struct pl_state *st);

/* How many operations a cut at cut_ns keeps: the longest prefix of the
 * list stamped at or before cut_ns (UINT64_MAX: all). */
size_t pl_cut_at(const struct pl_engine *e, uint64_t cut_ns);

/* The state a power cut after ops[0 .. cut) leaves under m, drawn from
 * seed; crash_ns is the instant of the cut (the writeback timers' clock;
 * unused by the other models). */
int pl_decide(struct pl_engine *e, const struct pl_model *m, size_t cut, uint64_t crash_ns,
              uint64_t seed, struct pl_state *st, char *err, size_t errlen);

/* The operations of ops[0 .. cut) that m's base rule leaves unsynced, in
 * list order, as whole pieces (a write's whole payload; each half of a
 * rename on its own).  Valid until the next call on e. */
int pl_unsynced(struct pl_engine *e, const struct pl_model *m, size_t cut,
                const struct pl_piece **out, size_t *n, char *err, size_t errlen);

/* The state "durable under m's base rule, plus these": keep is a subset
 * of pl_unsynced's pieces (a write may be narrowed to a sub-range), in
 * list order.  lie and the tail flags of m are not applied. */
int pl_keep(struct pl_engine *e, const struct pl_model *m, size_t cut, const struct pl_piece *keep,
            size_t nkeep, struct pl_state *st, char *err, size_t errlen);

/* Writes st as a directory tree under dir (created; must not exist): the
 * names reachable from the root, their bytes, hard links as links. */
int pl_state_write(struct pl_engine *e, const struct pl_state *st, const char *dir, char *err,
                   size_t errlen);
/* The bytes file holds in st (whether or not a name reaches it; *data is
 * never NULL); valid until the next call on e. */
int pl_state_content(struct pl_engine *e, const struct pl_state *st, uint32_t file,
                     const unsigned char **data, size_t *len, char *err, size_t errlen);
/* Writes those bytes to path (created or truncated). */
int pl_state_write_file(struct pl_engine *e, const struct pl_state *st, uint32_t file,
                        const char *path, char *err, size_t errlen);

#endif
