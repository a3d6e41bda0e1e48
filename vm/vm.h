/* vm: ground truth from a real kernel (`fsynclab crash --vm`).
 *
 * The writer (fsynclab's own wal/, built static as vm/guest/main.c) runs in
 * a small QEMU guest on a real ext4.  Its virtual disk goes through QEMU's
 * blklogwrites driver, which logs every write and flush the guest sends in
 * the dm-log-writes format.  The host reads the guest's acknowledgements
 * off the serial console and timestamps them, kills QEMU with SIGKILL at a
 * random instant (the guest's page cache is gone, as in a power cut), and
 * rebuilds the disk as it could be after the cut by replaying the log onto
 * the empty base image: up to the last flush, up to the end, up to earlier
 * flushes, and random subsets of the writes after the last flush.  Each
 * image is checked with e2fsck, the log file is read out with debugfs, and
 * fsynclab's recovery and verifier count the acknowledged entries lost.
 * The same trial's guest ledger (acks and completed syncs) gives what the
 * drop model predicts; the two are compared image by image.
 *
 * The kit (kernel, initramfs, base image) is built by `make vm` into
 * $(BUILD)/vm (vm/mkkit.sh).  Functions return 0 or a negative errno, with
 * a message naming the failing call in err.
 */
#ifndef FSYNCLAB_VM_H
#define FSYNCLAB_VM_H

#include <stddef.h>
#include <stdint.h>

#include "recorder/recorder.h"
#include "report/report.h"
#include "verifier/verifier.h"
#include "wal/wal.h"

/* ---- a run ----------------------------------------------------------------- */
#define VM_DEFAULT_ENTRIES 200000ull
#define VM_DEFAULT_FLUSH_IMAGES 3u
#define VM_DEFAULT_SUBSET_IMAGES 3u
#define VM_DEFAULT_KILL_WITHIN_S 1.5

/* A timeline's capture: one trial as the host saw it, handed over after
 * its images were judged; everything is valid only during the call. */
struct vm_sync_seen {
    uint64_t host_ns;             /* when the host read the line */
    uint64_t covered;             /* records 1..covered were written before it began */
    uint64_t dur_ns;              /* as the guest timed it */
};
struct vm_trial_events {
    const struct wal_strategy *strategy;
    unsigned index;                   /* the trial, from 0 */
    uint64_t seed;
    uint64_t start_ns, ready_ns, kill_ns;
    const uint64_t *ack_ns;           /* [entries + 1]: host time of seq's ack, 0: none */
    uint64_t entries;
    const struct vm_sync_seen *syncs; /* the guest's completed syncs, as read by the host */
    size_t n_syncs;
    const uint64_t *flush_ns;         /* each flush in the block log: the last poll at which
                                         the log did not hold it yet (0: unknown) */
    size_t n_flushes;
    uint64_t recovered, lost;         /* of the image that lost the most acknowledged seqs */
    const char *image;                /* which image that was */
};

struct vm_config {
    const char *kit;              /* vmlinux, initramfs.cpio, base.img; NULL: $FSYNCLAB_VM_KIT or build/vm */
    const char *dir;              /* scratch files (disk copy, write log, images) */
    const char *qemu;             /* NULL: qemu-system-x86_64 from PATH */
    const char *accel;            /* NULL or "auto": probe KVM, then TCG; "tcg"; "kvm" */
    uint64_t entries;             /* the guest writes at most this many a trial (0: default) */
    uint32_t entry_size;
    enum wal_sync_method sync_method;
    unsigned writers;             /* 0 or 1: one */
    uint32_t trials;              /* per strategy */
    uint64_t seed;
    unsigned flush_images;        /* K images at random earlier flushes */
    unsigned subset_images;       /* R images of random subsets after the last flush */
    double kill_within_s;         /* kill within this after the first ack (0: default) */
    double max_seconds;           /* no trial starts after this (0: no limit) */
    int no_dirsync;               /* the guest creates its file without syncing the directory */
    /* Called after each trial (a timeline's capture); NULL: not called. */
    void (*trial_done)(void *arg, const struct vm_trial_events *ev);
    void *trial_done_arg;
    const char *fs;               /* "ext4" (NULL), "xfs" or "btrfs" */
    const char *mount_opts;       /* -o of the guest's mounts, NULL: the defaults */
    /* crash --vm --target contract (program.c) */
    const char *run_cmd, *check_cmd;
    unsigned memory_mib;          /* the guest's memory (0: VM_PROGRAM_MEMORY_MIB) */
    int record;                   /* also record the run in the guest (LD_PRELOAD) and judge
                                     the images at the kill by the drop and ext4 models */
    const char *target;           /* what run_cmd is, for the report: NULL "contract", or a
                                     built-in target (vm_target_commands) */
    /* --set: the target's settings, whose promise (target_settings_check,
     * by the target's name) the images are judged against. */
    const struct recorder_setting *settings;
    unsigned nsettings;
};
#define VM_PROGRAM_MEMORY_MIB 512u

/* ---- any program in the guest (program.c) ---------------------------------------
 * The contract's --run command runs in the guest on the data disk (the
 * host's root read-only over virtio-9p); each image is checked in one
 * check boot a trial with --check.  Counts are per image.  The run is
 * judged against the promise crash --target states for cfg->target and
 * cfg->settings: s->held, with s->held_reason when null.  -EINVAL with the
 * problem in err when the settings are not the target's. */
int vm_program_run(const struct vm_config *cfg, struct report_vm_prog *s, struct report_vm_env *env,
                   void (*progress)(void *arg, uint32_t done, uint32_t total), void *progress_arg,
                   char *err, size_t errlen);

/* ---- built-in targets in the guest (targets.c) -------------------------------------
 * The run and check commands of a built-in target (sqlite, redis) for
 * vm_program_run: its worker, from this binary's directory on the shared
 * root, with settings already checked (target_settings_check).  -ENOENT
 * with why in err when the target does not run in the guest or a program
 * it needs is missing. */
int vm_target_commands(const char *target, const struct recorder_setting *settings, unsigned n,
                       char *run, size_t runlen, char *check, size_t checklen, char *err,
                       size_t errlen);
/* The targets that run in the guest, for messages. */
#define VM_TARGETS "contract, sqlite, redis, postgres"

/* The file systems the kit has (VM_FILESYSTEMS, for messages), and 0 when
 * fs is one of them.  Mount options: letters, digits and "=,_.:-" only
 * (they travel on the kernel command line), at most VM_MOUNT_OPTS_MAX. */
#define VM_FILESYSTEMS "ext4, xfs, btrfs"
#define VM_MOUNT_OPTS_MAX 100
int vm_fs_valid(const char *fs);
int vm_mount_opts_valid(const char *opts);
/* cfg's file system, "ext4" when none was given. */
const char *vm_fs_name(const struct vm_config *cfg);

/* Runs cfg->trials trials for each of the n strategies; out[i] answers
 * strategies[i].  progress (may be NULL) is called after each trial.
 * QEMU runs in its own process group and is killed and reaped whatever
 * happens, also on SIGINT/SIGTERM (wal's scratch guard kills it, removes
 * the scratch directory cfg->dir/fsynclab-vm-<pid> and passes the signal
 * on).  -ENOENT with a message when
 * the kit or QEMU is missing. */
int vm_crash_run(const struct vm_config *cfg, const struct wal_strategy *strategies, size_t n,
                 struct report_vm_result *out, struct report_vm_env *env,
                 void (*progress)(void *arg, size_t strategy, uint32_t done, uint32_t total),
                 void *progress_arg, char *err, size_t errlen);

/* The kit directory cfg uses (cfg->kit, $FSYNCLAB_VM_KIT, build/vm). */
const char *vm_kit_dir(const struct vm_config *cfg);
/* 0 when the kit and QEMU are there; else -ENOENT and why in err. */
int vm_kit_check(const struct vm_config *cfg, char *err, size_t errlen);

/* The run's settings as report/ prints them (the defaults resolved). */
void vm_report_run(const struct vm_config *cfg, struct report_vm_run *out);

#endif
