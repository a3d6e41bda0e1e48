/* vm/'s own: what its files (and tests/test_vm.c) share; no other module
 * includes it.  The command line's interface is vm/vm.h. */
#ifndef FSYNCLAB_VM_INTERNAL_H
#define FSYNCLAB_VM_INTERNAL_H

#include "vm/vm.h"

#include <stdio.h>

/* The guest's memory for a program (cfg->memory_mib, else VM_PROGRAM_MEMORY_MIB). */
unsigned vm_memory_mib(const struct vm_config *cfg);

/* ---- the write log (dm-log-writes format, little-endian) -----------------
 * Sector 0: u64 magic, u64 version (1), u64 nr_entries, u32 sector size.
 * From sector 1, each entry: one sector holding u64 sector, u64 nr_sectors,
 * u64 flags, u64 data_len (rest zero), then nr_sectors sectors of data.
 * Sector numbers count sectors of the header's size. */
#define VM_LOG_MAGIC 0x6a736677736872ull
#define VM_LOG_FLUSH 1u
#define VM_LOG_FUA 2u
#define VM_LOG_DISCARD 4u
#define VM_LOG_MARK 8u

struct vm_log_entry {
    uint64_t sector, nr_sectors, flags;
    uint64_t data_off;        /* byte offset of the entry's data in the log file */
    uint64_t end_off;         /* byte offset just past the entry (header and data) */
};

struct vm_log {
    uint32_t sector_size;
    uint64_t header_entries;  /* the header's count: lags after a kill */
    struct vm_log_entry *entries;
    size_t n;
    int dropped_short;        /* a last entry ran past the end of the file and was dropped */
    size_t *flushes;          /* indexes of FLUSH entries, in order */
    size_t n_flushes;
};

/* Reads the log in fd: the header, then entries until an invalid or empty
 * entry or the end of the file, whatever the header's count says (it is
 * rewritten only at flushes).  An entry whose data would run past the end
 * is dropped.  disk_bytes (0: no limit) is the disk's size: an entry that
 * would write past it an entry beyond is invalid and ends the scan.  -EBADMSG when the
 * header is not a version 1 dm-log-writes header. */
int vm_log_parse(int fd, uint64_t disk_bytes, struct vm_log *out, char *err, size_t errlen);
void vm_log_free(struct vm_log *log);

/* Applies entries [0, upto) of log (read from log_fd) to the disk image in
 * img_fd, skipping entry i when skip && skip[i].  A DISCARD writes zeros. */
int vm_log_replay(const struct vm_log *log, int log_fd, int img_fd, size_t upto,
                  const unsigned char *skip, char *err, size_t errlen);

struct vm_size_seen {
    uint64_t before_ns;           /* the last poll at which the log was smaller */
    uint64_t size;                /* the size seen at the next poll */
};

/* What the host saw of one trial. */
struct vm_trial {
    uint64_t entries;             /* seqs 1..entries may be acknowledged */
    uint64_t *ack_ns;             /* [entries + 1]: host time of seq's ack line, 0: none */
    uint64_t acks;
    struct vm_sync_seen *syncs;
    size_t n_syncs, cap_syncs;
    uint64_t *begins;             /* host times of the b lines: syncs that began */
    size_t n_begins, cap_begins;
    struct vm_size_seen *sizes;
    size_t n_sizes, cap_sizes;
    uint64_t start_ns, ready_ns, first_ack_ns, kill_ns;
    uint32_t record_size;          /* from the R line: the entry size, padded for O_DIRECT */
    int done;                     /* the writer acknowledged every entry */
    char error[200];              /* an E line, or "" */
    /* A program's `ack KEY` lines (program.c): each goes here, counted in acks. */
    void (*on_key)(void *ctx, const char *key, uint64_t now);
    void *key_ctx;
    char tail[400];               /* the console's last bytes, for messages */
};

struct vm_guest_args {
    const char *qemu, *accel, *kit;
    const char *disk, *wlog, *errlog;   /* scratch paths */
    char append[1024];                   /* the kernel command line's fsl_* part */
    double kill_after_s;                 /* the kill comes this long after the first ack */
    double boot_timeout_s;
    /* A check boot (vm_guest_check): out is the output disk, images the
     * disks it mounts in turn (at most VM_CHECK_MAX). */
    const char *out;
    const char *const *images;
    size_t n_images;
    int root9p;                   /* the host's root, read-only over virtio-9p */
    const char *share;            /* NULL, or a host directory the guest may write over
                                     virtio-9p (tag fslshare): the recorder's journal */
    unsigned memory_mib;          /* 0: 256 */
};
#define VM_CHECK_MAX 15
#define VM_CHECK_SLOT (64ull << 20)   /* a /LOG's slot on the output disk */

/* A trial's start, the same for the writer (run.c) and a program
 * (program.c): a fresh copy of cfg's base image at f->disk, an empty write
 * log at f->wlog, and the fields of a both fill alike (QEMU, accelerator,
 * kit, the files, boot_timeout_s, the kill's delay drawn from seed within
 * cfg->kill_within_s); the rest of a is zero. */
struct vm_trial_files {
    const char *disk, *wlog, *errlog;
};
int vm_trial_start(const struct vm_config *cfg, const struct report_vm_env *env,
                   const struct vm_trial_files *f, uint64_t seed, double boot_timeout_s,
                   struct vm_guest_args *a, char *err, size_t errlen);

/* Boots the guest, reads its console into t (which has entries and ack_ns
 * set up), kills QEMU's process group kill_after_s after the first ack (or
 * once the writer is done) and reaps it.  Returns 0, or an error with the
 * console's or QEMU's last words in err. */
int vm_guest_trial(const struct vm_guest_args *a, struct vm_trial *t, char *err, size_t errlen);
/* A check boot: the guest mounts a->images in turn and copies each /LOG
 * to its slot of a->out; each console line (F, M, U, E) goes to line(ctx,
 * text).  Returns 0 once the guest said C, else an error (timeout, QEMU's
 * last words).  QEMU is killed and reaped either way. */
int vm_guest_check(const struct vm_guest_args *a, void (*line)(void *ctx, const char *text),
                   void *ctx, char *err, size_t errlen);
/* What a check boot found of one image (check.c). */
struct vm_checked {
    int mounted, mount_failed, umount_failed, has_log, fsck_failed;
    uint64_t size;                /* of /LOG */
};
/* Checks the n images (XFS, Btrfs) in one check boot with out as the
 * output disk, then runs the file system's checker on the host on each. */
int vm_check_images(const struct vm_config *cfg, const struct report_vm_env *env,
                    const char *const *images, size_t n, const char *out, const char *errlog,
                    struct vm_checked *res, char *err, size_t errlen);
/* Copies image i's /LOG (size bytes) out of the output disk to dump. */
int vm_check_extract(const char *out, size_t i, uint64_t size, const char *dump, char *err,
                     size_t errlen);
/* Probes KVM (a short boot that must print a line in time), fills env. */
void vm_accel_probe(const struct vm_config *cfg, const char *errlog, struct report_vm_env *env);
/* Handles one console line into t at host time now. */
void vm_trial_line(struct vm_trial *t, const char *line, uint64_t now);
/* A run's scratch files live in sub = dir/fsynclab-vm-<pid> (made 0700),
 * which wal's signal guard removes whole on SIGINT/SIGTERM after killing
 * and reaping QEMU's process group and any checker vm_exec runs.
 * vm_scratch_close removes the n paths and sub and leaves the guard. */
#define VM_SCRATCH_DIR_MAX (WAL_PATH_MAX - 64)   /* room for the file names in it */
int vm_scratch_open(const char *dir, char *sub, size_t len, char *err, size_t errlen);
void vm_scratch_close(const char *sub, const char *const *paths, size_t n);

/* The drop model against an image for a cut at cut_ns: acks the host read
 * by then, the widest sync it had seen complete by then (covered), and the
 * recovered prefix of the image. */
struct vm_compare {
    uint64_t covered;          /* records 1..covered: kept, says the model */
    uint64_t predicted_lost;   /* acked seqs above covered */
    uint64_t real_lost;        /* acked seqs above recovered */
    uint64_t optimistic;       /* acked seqs the model kept and the image lost */
    uint64_t pessimistic;      /* acked seqs the model lost and the image kept */
    uint64_t max_sync_ns;      /* longest sync by the cut, one still running at it included */
};
void vm_compare(const struct vm_trial *t, uint64_t cut_ns, uint64_t recovered,
                struct vm_compare *out);

/* The images of a trial (run.c): which log entries each replays. */
struct vm_plan {
    int kind;                     /* last_flush, end, subset, flush */
    size_t upto;                  /* entries [0, upto) */
    uint64_t cut;                 /* acks read by then count */
    int subset;                   /* writes after the last flush kept at random */
};
/* The time by which log entry e had certainly not reached the log: the
 * last poll at which the log ended before it (the kill when no poll saw it). */
uint64_t vm_log_seen_ns(const struct vm_trial *t, const struct vm_log_entry *e);
size_t vm_plan_images(const struct vm_config *cfg, const struct vm_trial *t,
                      const struct vm_log *log, uint64_t *rng, struct vm_plan *out, size_t cap);
int vm_build_image(const char *img, const char *base, const struct vm_log *log, int wlog_fd,
                   const struct vm_plan *pl, uint64_t *rng, char *err, size_t errlen);
int vm_copy_file(const char *from, const char *to, char *err, size_t errlen);
void vm_base_image(const struct vm_config *cfg, char *buf, size_t len);

/* Runs argv (stdout and stderr to /dev/null) and returns its exit status
 * (0..255), or a negative errno when it could not run or was killed. */
int vm_exec(const char *const *argv);
/* The same in directory cwd (NULL: here) with stdout to the file out
 * (NULL: /dev/null); the command is ended after 300 s. */
int vm_exec_in(const char *const *argv, const char *cwd, const char *out);
/* Removes path and everything under it. */
void vm_remove_tree(const char *path);

/* ---- the recorder in the guest (predict.c) ----------------------------------
 * `crash --vm --target contract` runs --run under `fsynclab record` in the
 * guest, its journal on a host directory shared writable over virtio-9p
 * (tag fslshare, never the data disk), and judges the images at the kill
 * by the recorder's models as well as by the real kernel. */
struct vm_keys {
    char **v;                     /* sorted */
    size_t n;
};
void vm_keys_free(struct vm_keys *k);
int vm_keys_has(const struct vm_keys *k, const char *key);
/* Writes the guest's run script to path: mount the share, then `fsynclab
 * record` (this binary, with the recorder's library) of /bin/sh inner.
 * -ENOTSUP with why in err when the recorder cannot run in the guest. */
int vm_record_script(const char *path, const char *inner, char *err, size_t errlen);
/* The image `fsynclab image --model model` builds from journal and the
 * snapshot snap into out (made afresh), and the keys the check script
 * prints in it.  *check_failed when the check exits non-zero; *flags and
 * *unknown are the image's counts of flags and unknown opens. */
int vm_model_keys(const char *journal, const char *snap, const char *out, const char *model,
                  const char *check, struct vm_keys *keys, uint64_t *flags, uint64_t *unknown,
                  int *check_failed, char *err, size_t errlen);
/* The recorder's model of file system fs when it has one besides drop and
 * ext4 (the third model set beside the kernel: "xfs", "btrfs"), else NULL. */
const char *vm_fs_model(const char *fs);

/* ---- the target's promise (promise.c) ----------------------------------------
 * The promise crash --target states for cfg->target ("contract" when NULL)
 * and cfg->settings, looked up through the targets' own setup
 * (target_settings_check), into s.  -EINVAL with the problem in err. */
int vm_promise_lookup(const struct vm_config *cfg, struct report_vm_prog *s, char *err,
                      size_t errlen);
/* The longest sync one trial's block log shows, as the host's polls timed
 * it: from the first write after a FLUSH or FUA write to the next one, the
 * one the kill interrupted included (its writes after the last, to the
 * kill); only those that ended after t->first_ack_ns. */
uint64_t vm_log_sync_ns_max(const struct vm_trial *t, const struct vm_log *log);
/* s->held and s->held_reason from s's counts, windows and promise. */
void vm_promise_verdict(struct report_vm_prog *s);

#endif
