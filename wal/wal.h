/* wal: the log under test.
 *
 * Three layers, each usable alone:
 *   - the record format (encode, decode, streaming recovery);
 *   - the storage seam: a file is an object behind a method table (pwrite,
 *     sync, close), so that crashsim can wrap the real file;
 *   - the log: appends records under a durability strategy (always,
 *     group, batch_<N>ms with a flusher thread, none) and keeps
 *     measurements;
 *   - scratch logs: their names, and their removal on SIGINT/SIGTERM.
 *
 * Every function that can fail returns 0 (or a count) on success and a
 * negative errno on failure.
 */
#ifndef FSYNCLAB_WAL_H
#define FSYNCLAB_WAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hist/hist.h"

/* Room for any path fsynclab builds: a data directory (PATH_MAX) plus a
 * scratch file name. */
#define WAL_PATH_MAX 4200

/* ---- record format ------------------------------------------------------
 * On disk, little-endian:
 *   u32 crc       CRC32 (zlib) over everything after it: length, seq, payload
 *   u32 length    payload bytes
 *   u64 seq       1, 2, 3, ... in append order
 *   payload
 */
#define WAL_HEADER_SIZE 16u
#define WAL_MAX_RECORD (1u << 20)   /* whole record, header included */

/* Who wrote a log: every record's CRC starts from the epoch's (so a
 * record from a log with another epoch is refused), and payloads are a
 * stream made from payload_seed and seq (so a verifier that knows the seed
 * can tell the bytes written from any others).  All zero is a valid id. */
struct wal_log_id {
    uint64_t epoch;
    uint64_t payload_seed;
};

/* Writes the record for seq with a payload of len bytes into out (which must
 * hold WAL_HEADER_SIZE + len bytes) for the log id (NULL: all zero).
 * Returns the record size. */
size_t wal_record_encode(unsigned char *out, const struct wal_log_id *id, uint64_t seq,
                         uint32_t len);

/* The CRC an epoch contributes, which decoding starts from. */
uint32_t wal_epoch_crc(uint64_t epoch);

/* Decodes the record at the start of buf (avail bytes) of a log whose epoch
 * has the CRC epoch_crc.  Returns the record size (> 0), 0 when buf holds
 * less than one whole record, or -EBADMSG when the length is impossible or
 * the CRC does not match. */
ssize_t wal_record_decode(const unsigned char *buf, size_t avail, uint32_t epoch_crc,
                          uint64_t *seq, const unsigned char **payload, uint32_t *len);

/* True when payload is exactly what wal_record_encode wrote for seq under a
 * payload seed of seed. */
int wal_payload_matches(const unsigned char *payload, uint32_t len, uint64_t seed, uint64_t seq);

enum wal_stop {
    WAL_STOP_END = 0,   /* the file ended on a record boundary */
    WAL_STOP_SHORT,     /* a last record was cut short */
    WAL_STOP_CORRUPT,   /* a record failed its CRC or had an impossible length */
    WAL_STOP_SEQ,       /* a valid record out of sequence (seq != previous + 1) */
};

struct wal_recovery {
    uint64_t records;       /* intact records handed back, seq 1..records */
    uint64_t valid_bytes;   /* bytes they occupy */
    enum wal_stop stop;
};

/* Reads the log of the given epoch in fd from offset 0 in order, with a
 * fixed buffer, and stops at the first record that is short, fails its CRC
 * (a record of another epoch does) or is out of sequence.  Calls
 * record(arg, seq, payload, len) for each record it hands back when record
 * is not NULL.  It trusts structure, CRC, epoch and sequence only: whether a
 * payload is the one written is for the caller to check. */
int wal_recover_fd(int fd, uint64_t epoch, struct wal_recovery *out,
                   void (*record)(void *arg, uint64_t seq, const unsigned char *payload,
                                  uint32_t len),
                   void *arg);

/* ---- storage seam -------------------------------------------------------- */
enum wal_sync_method {
    WAL_SYNC_FSYNC = 0,
    WAL_SYNC_FDATASYNC,
    WAL_SYNC_O_DSYNC,        /* open with O_DSYNC: each write is durable, sync is a no-op */
    WAL_SYNC_O_DIRECT_DSYNC, /* O_DIRECT | O_DSYNC: past the page cache; records must be
                                padded to wal_direct_alignment() */
};

struct wal_file;
struct wal_file_methods {
    /* Writes all len bytes at off (short writes and EINTR are completed). */
    int (*pwrite)(struct wal_file *f, const void *buf, size_t len, off_t off);
    /* Makes everything written so far durable. */
    int (*sync)(struct wal_file *f);
    /* Closes and frees f, whatever the result. */
    int (*close)(struct wal_file *f);
};
struct wal_file {
    const struct wal_file_methods *methods;
};

/* Creates (truncating) the file at path for appending under method, and
 * syncs its directory so that the creation itself is durable.
 * Messages name the failing call; errbuf may be NULL. */
int wal_file_open(const char *path, enum wal_sync_method method, struct wal_file **out,
                  char *errbuf, size_t errlen);
/* The descriptor behind a file made by wal_file_open. */
int wal_file_fd(const struct wal_file *f);

/* Reserves bytes for the file (fallocate), writes zeros over them and syncs
 * with fdatasync, so that later fdatasyncs need not update the file's size or
 * allocate blocks (what pg_test_fsync measures by preallocating). */
int wal_file_prealloc(struct wal_file *f, uint64_t bytes, char *errbuf, size_t errlen);

/* The alignment O_DIRECT needs for files in dir: statx's dio_offset_align
 * where the kernel reports it, else the file system's block size. */
int wal_direct_alignment(const char *dir, uint32_t *align);

/* The record size on disk for entry_size bytes under method in dir: the
 * same, or for o_direct_dsync padded up to the direct alignment.  -EINVAL
 * (with a message) when the padded size exceeds WAL_MAX_RECORD. */
int wal_record_size(const char *dir, enum wal_sync_method method, uint32_t entry_size,
                    uint32_t *out, char *errbuf, size_t errlen);

int wal_sync_method_parse(const char *name, enum wal_sync_method *out);
const char *wal_sync_method_name(enum wal_sync_method method);
#define WAL_SYNC_METHODS "fsync, fdatasync, o_dsync, o_direct_dsync"

/* ---- strategies ---------------------------------------------------------- */
enum wal_kind {
    WAL_ALWAYS = 0,   /* write, sync, then acknowledge */
    WAL_BATCH,        /* acknowledge after write; a flusher syncs every interval_ms */
    WAL_NONE,         /* write only; the kernel writes back when it likes */
    WAL_GROUP,        /* acknowledge once a sync that started after the write returned;
                         one sync serves every writer waiting (group commit) */
};

#define WAL_STRATEGIES "always, group, none, batch_<N>ms with N 1..10000"
#define WAL_BATCH_MIN_MS 1u
#define WAL_BATCH_MAX_MS 10000u

struct wal_strategy {
    enum wal_kind kind;
    unsigned interval_ms;   /* WAL_BATCH only */
};

/* Accepts exactly "always", "none", "group" and "batch_<N>ms" with N a whole
 * number from 1 to 10000 written without sign or leading zeros. */
int wal_strategy_parse(const char *name, struct wal_strategy *out);
/* The canonical name, e.g. "batch_10ms".  Returns buf. */
char *wal_strategy_name(const struct wal_strategy *s, char *buf, size_t len);
/* What s guarantees under sync method m: "every_write" (always, group, and
 * every strategy under o_dsync and o_direct_dsync, whose writes are durable
 * when they return), "every_<N>ms", "os_dependent".  Returns buf. */
char *wal_strategy_durability(const struct wal_strategy *s, enum wal_sync_method m, char *buf,
                              size_t len);
/* The promised loss window, likewise: "0ms", "<N>ms", "seconds". Returns buf. */
char *wal_strategy_window(const struct wal_strategy *s, enum wal_sync_method m, char *buf,
                          size_t len);
/* Whether every write under m is durable when it returns (O_DSYNC). */
int wal_sync_method_writes_durable(enum wal_sync_method m);

/* ---- the log ------------------------------------------------------------- */
enum wal_op { WAL_OP_NONE = 0, WAL_OP_WRITE, WAL_OP_SYNC, WAL_OP_CLOSE };

struct wal_stats {
    uint64_t appended;          /* records acknowledged */
    uint64_t syncs;             /* syncs that returned success */
    struct hist sync_ns;        /* their latency */
    /* Exposure: for each acknowledged record, the time from its
     * acknowledgement until a sync that started after its write returned
     * (0 when the sync returned before the acknowledgement).  The maximum
     * over all records that a sync covered. */
    uint64_t exposure_max_ns;
    uint64_t uncovered;         /* acknowledged records no sync covered */
    enum wal_op failed_op;      /* the first call that failed, WAL_OP_NONE if none */
    int error;                  /* its negative errno */
};

struct wal_log;

/* Starts a log on f (taking ownership of it) with records of record_size
 * bytes, header included (WAL_HEADER_SIZE .. WAL_MAX_RECORD; for
 * o_direct_dsync a multiple of the direct alignment).  For
 * WAL_BATCH it starts the flusher thread. */
int wal_log_open(struct wal_log **out, struct wal_file *f, const struct wal_strategy *s,
                 uint32_t record_size);
/* The same, writing records under id (wal_log_open: all zero). */
int wal_log_open_id(struct wal_log **out, struct wal_file *f, const struct wal_strategy *s,
                    uint32_t record_size, const struct wal_log_id *id);
/* Records from now on are written under id.  Only before the first
 * append: a crash trial's writer opens its log before its trial's id is
 * drawn (crashsim/writer.c).  -EBUSY once something was appended. */
int wal_log_set_id(struct wal_log *log, const struct wal_log_id *id);

/* Appends one record and returns once the strategy allows it to be
 * acknowledged.  *seq gets its sequence number and *ack_ns the
 * CLOCK_MONOTONIC time of the acknowledgement (either may be NULL).
 * Safe to call from several threads.  After any failed sync the log is
 * failed: this and every later call return that error, and nothing written
 * since the last successful sync is claimed durable. */
int wal_log_append(struct wal_log *log, uint64_t *seq, uint64_t *ack_ns);

/* Stops the flusher; for WAL_BATCH runs one last sync so every acknowledged
 * record is covered (a clean shutdown).  Closes the file, copies the
 * measurements to stats (may be NULL) and frees the log.  Returns the first
 * error the log met, if any. */
int wal_log_close(struct wal_log *log, struct wal_stats *stats);

/* Which seam call failed the log, and its negative errno; WAL_OP_NONE and
 * 0 while the log has not failed.  The caller, which knows the file and the
 * sync method, names the call ("fdatasync(%s): %s"). */
enum wal_op wal_log_failed_op(const struct wal_log *log, int *err);

/* Under WAL_GROUP: how many writers are inside wal_log_append, the leader
 * included, waiting for a sync to cover their records (0 otherwise). */
unsigned wal_log_group_waiting(const struct wal_log *log);

/* The call that op stands for under method, for messages such as
 * "fdatasync(path): Input/output error": "pwrite", "pwrite(O_DSYNC)",
 * "fsync", "fdatasync", "close", or "wal_log_append" for WAL_OP_NONE. */
const char *wal_op_call(enum wal_op op, enum wal_sync_method method);

/* How many of entries writer i (0-based) of nw appends: an equal share,
 * the first entries % nw writers one more. */
uint64_t wal_writer_share(uint64_t entries, unsigned nw, unsigned i);

/* ---- scratch logs ---------------------------------------------------------
 * One scratch log at a time is live per process.  While a guard is
 * entered, SIGINT and SIGTERM kill and reap the live child (if any), unlink
 * the live path (if any), restore the handlers found at the outermost enter
 * and raise the signal again.  Guards nest; not thread-safe (one run per
 * process). */
/* dir/fsynclab-<what>-<pid>-<n>.wal into buf; -ENAMETOOLONG if it does not fit. */
int wal_scratch_path(char *buf, size_t len, const char *dir, const char *what, unsigned n);
void wal_scratch_guard_enter(void);
void wal_scratch_guard_leave(void);
/* The path to remove on a signal; NULL: none. */
void wal_scratch_live(const char *path);
/* The child to kill and reap on a signal; 0: none. */
void wal_scratch_child(pid_t pid);
/* Up to WAL_GUARD_MAX process groups to kill (SIGKILL to -pgid) and reap on
 * a signal, and as many scratch directories to remove whole: add 1 lists
 * one (-ENOSPC when full, -ENAMETOOLONG for a path over WAL_PATH_MAX), add
 * 0 takes it off again.  For runners of other programs (a server's process
 * tree, a guest's QEMU and its disk copies). */
#define WAL_GUARD_MAX 8
int wal_scratch_group(pid_t pgid, int add);
int wal_scratch_tree(const char *dir, int add);
/* Scratch files of the caller's (paths[0..n), kept valid by it until it
 * calls this again with NULL), unlinked on a signal; a NULL or empty entry
 * is skipped.  For a runner with many at once (a guest's disk copies). */
void wal_scratch_list(const char *const *paths, size_t n);
/* The guard for a runner that checks for a stop in every wait: entered so,
 * the first SIGINT or SIGTERM is only noted (and interrupts a blocking
 * call with EINTR); wal_scratch_stopped() then returns it, 0 before, until
 * the next deferred enter.  The runner unwinds through its own kill, reap
 * and removal and ends by the signal itself.  A second signal takes the
 * immediate path (kill, reap, remove what is listed, end by the signal).
 * Nests with the plain guard; deferred while any deferred enter is not
 * left. */
void wal_scratch_guard_enter_deferred(void);
void wal_scratch_guard_leave_deferred(void);
int wal_scratch_stopped(void);

/* A sync (or, under O_DSYNC, a durable write) that returns faster than this
 * did not reach stable storage: no device flushes that fast.  Measured
 * here: eatmydata's fsync 0.4 us at the median, an ext4 fsync on this VM's
 * virtio disk 200 us or more. */
#define WAL_FAST_SYNC_NS 5000u

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t wal_now_ns(void);

#endif
