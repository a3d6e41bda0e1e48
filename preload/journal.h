/* preload/journal.h: the journal format, the only interface of the
 * LD_PRELOAD library (the .c files of preload/, built apart as libfsynclab-rec.so).
 *
 * The library runs inside other programs, so it depends on no fsynclab
 * code; what reads a journal (recorder/) includes this header, never the
 * library's internals (preload/internal.h).
 *
 * Journal file: a 4096-byte header (struct recorder_jhead: magic, version;
 * the rest is the writers' lock, which serializes a data call that moves
 * a shared file offset with its record), then records.  Journal record: a
 * fixed 56-byte little-endian header, then `size - 56` payload bytes (data
 * written, or NUL-terminated paths).  Files are named by handles: an OPEN
 * record binds a handle (unique in the run: pid << 32 | counter) to the
 * file its path named at that point of the journal, so a file's identity
 * comes from its creation event, never from an inode.
 */
#ifndef FSYNCLAB_PRELOAD_JOURNAL_H
#define FSYNCLAB_PRELOAD_JOURNAL_H

#include <stdint.h>

#define RECORDER_ENV_ROOT "FSYNCLAB_REC_ROOT"
#define RECORDER_ENV_JOURNAL "FSYNCLAB_REC_JOURNAL"
#define RECORDER_ENV_LIB "FSYNCLAB_REC_LIB"     /* where the .so is, if not next to the binary */
#define RECORDER_LIB_NAME "libfsynclab-rec.so"
/* Faults to inject (recorder/fault.c writes it; the preload only decodes
 * it): entries joined by ';', each CLASS:ERRNO:N:GLOB, CLASS "sync"
 * (fsync, fdatasync, sync_file_range with SYNC_FILE_RANGE_WAIT_AFTER) or
 * "write" (write, pwrite, writev and their kin), ERRNO a number, N the
 * call to fail counting from 1 across every process of the run; with a
 * GLOB (syncs only), the Nth sync of a file whose path under the root
 * matches it (fnmatch without FNM_PATHNAME).  Only regular files under
 * the root are counted. */
#define RECORDER_ENV_FAULTS "FSYNCLAB_REC_FAULTS"
#define RECORDER_MAX_FAULTS 8

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
    RECORDER_FAULT,       /* an injected fault fired: handle, aux = errno returned, off = the
                             call's number, len = enum recorder_fault_call, flags = the
                             fault's index in RECORDER_ENV_FAULTS; a faulted sync also
                             has its SYNC_BEGIN and its SYNC_END with aux = the errno */
    RECORDER_OBJECT,      /* aux = an object number of this process image (from 1), bound to
                             the ELF file named by the payload: its path */
    RECORDER_ACK,         /* the program wrote `ack KEY` to its stdout; payload: KEY */
    RECORDER_TYPE_MAX
};

/* RECORDER_WRITE flags */
#define RECORDER_F_REPLACE 1u   /* the file is exactly the payload afterwards (stdio capture) */
#define RECORDER_F_MAPPED 2u    /* captured from a shared mapping (msync/fsync) */
/* RECORDER_SYNC_BEGIN kinds */
enum recorder_sync_kind { RECORDER_SYNC_FSYNC = 0, RECORDER_SYNC_FDATASYNC, RECORDER_SYNC_MSYNC,
                          RECORDER_SYNC_ALL };
/* RECORDER_FAULT: the call that failed */
enum recorder_fault_call { RECORDER_FAULT_FSYNC = 0, RECORDER_FAULT_FDATASYNC, RECORDER_FAULT_SYNC_RANGE,
                           RECORDER_FAULT_WRITE };

/* The journal file's first bytes.  An empty file is an empty journal (the
 * first preloaded process writes the header); anything else without the
 * magic is not a journal. */
#define RECORDER_MAGIC "FSYNCREC"
#define RECORDER_VERSION 2u   /* 2: the call site in each record header */
#define RECORDER_JHEAD_SIZE 4096u
struct recorder_jhead {
    char magic[8];
    uint32_t version;
    uint32_t header_size;     /* records start here */
    uint32_t lock_ready;      /* the preload initialized the lock below */
    uint32_t syncs, writes;   /* calls counted for RECORDER_ENV_FAULTS (atomic, every process) */
    uint32_t fired;           /* bit i: fault i fired */
    uint32_t matched[RECORDER_MAX_FAULTS];   /* syncs of files matching fault i's glob */
    /* preload only: where the next record goes, under the lock (0: the
     * file's size, read afresh); and the process-shared mutex */
    uint64_t end;
    unsigned char lock[RECORDER_JHEAD_SIZE - 40 - 4 * RECORDER_MAX_FAULTS];
};
_Static_assert(sizeof(struct recorder_jhead) == RECORDER_JHEAD_SIZE, "journal header is 4096 bytes");

#define RECORDER_HEADER 56u
/* Packed: records follow each other with no padding (the journal holds the
 * data plus 56 bytes a call), so a header in the mapping may sit at any
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
    /* The call site: the return address of the hooked call, as an offset
     * into object site_obj (a RECORDER_OBJECT record of the same process
     * image; after a fork, of its parent's).  0: not known. */
    uint32_t site_obj;
    uint32_t site_off;
};
_Static_assert(sizeof(struct recorder_rec) == RECORDER_HEADER, "journal header is 56 bytes");

static inline const void *recorder_payload(const struct recorder_rec *r)
{
    return (const unsigned char *)r + RECORDER_HEADER;
}

#endif
