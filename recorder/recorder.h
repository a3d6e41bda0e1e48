/* recorder: crash real programs.
 *
 * DESIGN.  A program runs with build/libfsynclab-rec.so preloaded
 * (recorder/preload*.c, built apart from libfsynclab.a).  The library
 * appends one record per mutating file-system call under one root
 * directory to one journal opened O_APPEND, each record with a single
 * writev, so the journal's order is a causal order across threads and
 * processes.  From a snapshot of the root taken before the program started
 * and the journal, recorder_image_build() makes the directory that a power
 * cut at instant T would leave under a model.  target_crash_run() (recorder/targets/) drives
 * whole trials against a target (the contract, sqlite, redis, postgres).
 *
 * Journal file: a 4096-byte header (struct recorder_jhead: magic, version;
 * the rest is the writers' lock, which serializes a data call that moves
 * a shared file offset with its record), then records.  Journal record: a
 * fixed 48-byte little-endian header, then `size - 48` payload bytes (data
 * written, or NUL-terminated paths).  Files are named
 * by handles: an OPEN record binds a handle (unique in the run: pid << 32 |
 * counter) to the file its path named at that point of the journal, so a
 * file's identity comes from its creation event, never from an inode.
 *
 * Functions that can fail return 0 or a negative errno, with a message
 * naming the failing call in err when err is not NULL.
 */
#ifndef FSYNCLAB_RECORDER_H
#define FSYNCLAB_RECORDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- the journal --------------------------------------------------------- */
#define RECORDER_ENV_ROOT "FSYNCLAB_REC_ROOT"
#define RECORDER_ENV_JOURNAL "FSYNCLAB_REC_JOURNAL"
#define RECORDER_ENV_LIB "FSYNCLAB_REC_LIB"     /* where the .so is, if not next to the binary */
#define RECORDER_LIB_NAME "libfsynclab-rec.so"

enum recorder_type {
    RECORDER_START = 1,   /* a process armed the recorder (after exec); aux = ppid */
    RECORDER_FORK,        /* a forked child; aux = parent pid */
    RECORDER_OPEN,        /* handle bound to path; aux = open flags, off = st_mode (0: not
                             known); payload: path */
    RECORDER_WRITE,       /* handle, off, len; payload: the len bytes written */
    RECORDER_TRUNCATE,    /* handle, off = new size */
    RECORDER_TRUNCATE_PATH, /* off = new size; payload: path */
    RECORDER_FALLOCATE,   /* handle, off, len, aux = mode (KEEP_SIZE: size unchanged) */
    RECORDER_SYNC_BEGIN,  /* handle (0: every file, sync/syncfs), off = sync id, aux = kind */
    RECORDER_SYNC_END,    /* same handle and id as its begin, aux = 0 or errno */
    RECORDER_RANGE_HINT,  /* sync_file_range: a writeback hint, never a durability point */
    RECORDER_RENAME,      /* aux = renameat2 flags; payload: old\0new\0 */
    RECORDER_UNLINK,      /* payload: path */
    RECORDER_MKDIR,       /* off = st_mode (0: not known); payload: path */
    RECORDER_RMDIR,       /* payload: path */
    RECORDER_LINK,        /* payload: old\0new\0 */
    RECORDER_FLAG,        /* something the recorder cannot see; payload: text */
    RECORDER_SYMLINK,     /* payload: target\0path\0 */
    RECORDER_CHMOD,       /* off = mode; handle (fchmod), or 0 and payload: path */
    RECORDER_TYPE_MAX
};

/* RECORDER_WRITE flags */
#define RECORDER_F_REPLACE 1u   /* the file is exactly the payload afterwards (stdio capture) */
#define RECORDER_F_MAPPED 2u    /* captured from a shared mapping (msync/fsync) */
/* RECORDER_SYNC_BEGIN kinds */
enum recorder_sync_kind { RECORDER_SYNC_FSYNC = 0, RECORDER_SYNC_FDATASYNC, RECORDER_SYNC_MSYNC,
                          RECORDER_SYNC_ALL };

/* The journal file's first bytes.  An empty file is an empty journal (the
 * first preloaded process writes the header); anything else without the
 * magic is not a journal. */
#define RECORDER_MAGIC "FSYNCREC"
#define RECORDER_VERSION 1u
#define RECORDER_JHEAD_SIZE 4096u
struct recorder_jhead {
    char magic[8];
    uint32_t version;
    uint32_t header_size;     /* records start here */
    uint32_t lock_ready;      /* the preload initialized the lock below */
    uint32_t reserved[3];
    unsigned char lock[RECORDER_JHEAD_SIZE - 32];   /* a process-shared mutex: preload only */
};
_Static_assert(sizeof(struct recorder_jhead) == RECORDER_JHEAD_SIZE, "journal header is 4096 bytes");

#define RECORDER_HEADER 48u
/* Packed: records follow each other with no padding (the journal holds the
 * data plus 48 bytes a call), so a header in the mapping may sit at any
 * address; packed makes the compiler read its fields unaligned. */
struct __attribute__((packed)) recorder_rec {
    uint32_t size;        /* header + payload */
    uint16_t type;
    uint16_t flags;
    uint32_t pid;
    int32_t aux;
    uint64_t ns;          /* CLOCK_MONOTONIC when the record was made */
    uint64_t handle;
    uint64_t off;
    uint64_t len;
};
_Static_assert(sizeof(struct recorder_rec) == RECORDER_HEADER, "journal header is 48 bytes");

const char *recorder_type_name(unsigned type);

/* A journal mapped read-only.  recs[i] points into the mapping; a torn
 * record at the end (a process killed in the middle of its writev) is left
 * out and counted in torn_bytes.  A file that is not a journal (no magic,
 * another version, a directory) is -EINVAL with a message. */
struct recorder_journal {
    const unsigned char *base;
    size_t bytes;
    const struct recorder_rec **recs;
    size_t n;
    size_t torn_bytes;
};
int recorder_journal_open(const char *path, struct recorder_journal *out, char *err, size_t errlen);
void recorder_journal_close(struct recorder_journal *j);
static inline const void *recorder_payload(const struct recorder_rec *r)
{
    return (const unsigned char *)r + RECORDER_HEADER;
}

/* ---- running a command under the recorder --------------------------------- */
/* The preload library's path: $FSYNCLAB_REC_LIB, else next to the running
 * binary (/proc/self/exe), else in the install's lib/fsynclab.  Fails with
 * -ENOENT when there is none. */
int recorder_lib_path(char *out, size_t outlen, char *err, size_t errlen);
/* Sets the environment of the calling process (call in a forked child
 * before exec) so that an exec arms the recorder on root into journal. */
int recorder_arm_env(const char *lib, const char *root, const char *journal);
/* Creates (or empties) a journal at path with its header; refuses a
 * non-empty file that is not a journal. */
int recorder_journal_create(const char *path, char *err, size_t errlen);
/* 1 when the ELF file at path has no program interpreter (a static binary
 * LD_PRELOAD cannot reach), 0 otherwise (not ELF, dynamic, unreadable). */
int recorder_elf_is_static(const char *path);
/* Runs argv under the recorder (in its own process group) and waits; the
 * exit status is in *status.  `fsynclab record`.  Checks first that root
 * is a directory, that the journal can be written (it is created afresh)
 * and that argv[0] can be run; a static binary gets a flag record and a
 * warning on stderr. */
int recorder_record(const char *root, const char *journal, char *const argv[], int *status,
                    char *err, size_t errlen);

/* ---- the crash image -------------------------------------------------------- */
enum recorder_model { RECORDER_DROP = 0, RECORDER_EXT4, RECORDER_TORN, RECORDER_REORDER };
#define RECORDER_MODELS "drop, ext4, torn, reorder"
int recorder_model_parse(const char *name, enum recorder_model *out);
const char *recorder_model_name(enum recorder_model m);

struct recorder_image_stats {
    uint64_t records;        /* journal records up to the cut */
    uint64_t files, dirs;    /* in the image */
    uint64_t bytes;          /* file bytes in the image */
    uint64_t unknown_opens;  /* opens of paths the journal never created (not seen) */
    uint64_t flags;          /* RECORDER_FLAG records up to the cut */
    uint64_t max_sync_ns;    /* longest completed sync up to the cut */
    uint64_t torn_bytes;     /* journal bytes after a torn record (counted in flags too) */
};

/* Builds into out_dir (created; must not exist) the root a power cut at
 * at_ns (CLOCK_MONOTONIC, as in the journal; UINT64_MAX: after the last
 * record) would leave, from snapshot_dir (the root before the program
 * started) and the journal.  seed drives torn/reorder.  stats may be NULL. */
int recorder_image_build(const struct recorder_journal *j, const char *snapshot_dir,
                         uint64_t at_ns, enum recorder_model model, uint64_t seed,
                         const char *out_dir, struct recorder_image_stats *stats,
                         char *err, size_t errlen);

/* ---- directory helpers ------------------------------------------------------ */
int recorder_tree_copy(const char *from, const char *to, char *err, size_t errlen);
int recorder_tree_remove(const char *path, char *err, size_t errlen);   /* absent: 0 */
int recorder_tree_chown(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen);

/* ---- crash trials against a target ------------------------------------------ */
#define RECORDER_MAX_SETTINGS 16
#define RECORDER_MAX_CUTS 64
#define RECORDER_MAX_TRIALS 10000

struct recorder_setting { const char *key, *value; };

struct recorder_crash_config {
    const char *target;        /* "contract", "sqlite", "redis", "postgres" */
    struct recorder_setting settings[RECORDER_MAX_SETTINGS];
    unsigned nsettings;
    const char *run_cmd, *check_cmd;   /* contract only */
    enum recorder_model model;
    unsigned trials;           /* 1 .. RECORDER_MAX_TRIALS */
    double seconds;            /* the longest a trial's program runs before the kill */
    unsigned cuts;             /* earlier cut points per trial, 0 .. RECORDER_MAX_CUTS */
    uint64_t seed;
    const char *dir;           /* scratch directory: trial data lives in dir/fsynclab-rec-<pid>/ */
    int keep;                  /* leave the trial directories behind */
    unsigned check_timeout_ms; /* a check or a server start; 0: 60 s */
};

/* A setting as the program reports it (CONFIG GET, SHOW, PRAGMA). */
struct recorder_setting_seen { char key[64], value[192]; };

struct recorder_crash_result {
    char target[32];
    enum recorder_model model;
    unsigned trials, trials_valid;   /* valid: the program acknowledged something before the kill */
    unsigned images, recovered_ok;
    uint64_t acked_total, acked_lost_max, acked_lost_total;
    double loss_window_ms_p50, loss_window_ms_max;   /* over images that lost something; 0 if none */
    double max_sync_ms;              /* longest sync the journals hold (not in the verdict) */
    double allowance_ms;             /* promise + calibration_sync_p99, fixed before the trials */
    double calibration_sync_p50_us, calibration_sync_p99_us;
    struct recorder_setting_seen applied[RECORDER_MAX_SETTINGS];
    unsigned napplied;
    unsigned invalid_no_ack, invalid_exited;   /* invalid trials by reason */
    char invalid_example[512];       /* the first invalid trial's reason, with its stderr */
    char held_null_reason[256];      /* why held is null */
    uint64_t journal_torn_bytes;
    unsigned runs_without_writes;    /* trials whose journal holds no write or sync */
    uint64_t check_foreign_max;      /* most check lines in one image that are no key of the run */
    char check_foreign[128];         /* the first of them */
    uint64_t ack_reads, ack_reads_partial;   /* reads of ack lines; those ending mid-line */
    int acks_bursty;                 /* most reads end mid-line: the program buffers stdout */
    const char *promised;            /* quoted from the program's documentation */
    double promised_window_ms;       /* < 0: the documentation gives no number */
    int integrity_only;              /* the promise is about recovering, not about loss */
    int held;                        /* 1, 0, or -1 (null: no trial could have shown otherwise) */
    uint64_t unseen_flags;           /* flag records: calls the recorder could not see */
    /* Set by a target that looks for open io_uring and AIO rings in its
     * program at run time: the recorder's "liburing is loaded" flags are
     * then answered (counted here) and do not void the verdict. */
    int async_io_checked;
    uint64_t unseen_flags_answered;
    char target_null_reason[200];    /* set by a target: why its runs give no verdict */
    char unseen[256];                /* the first of them */
    uint64_t unknown_opens;
    uint64_t journal_bytes, journal_ops;
    double image_ms_max;             /* longest image build */
    char note[512];                  /* what the target set or saw that the figures need beside them */
};

/* The result's JSON body and text table are report/'s: report_recorder_body,
 * report_print_recorder_table. */

#endif
