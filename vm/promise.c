/* DESIGN: a program's run in the guest judged against its promise.
 *
 * The promise is crash --target's, found by the target's name and its
 * --set settings through the targets' own setup (target_settings_check):
 * Redis everysec 1000 ms, always 0; SQLite FULL and EXTRA 0, WAL+NORMAL
 * integrity only; PostgreSQL off three times wal_writer_delay; a contract
 * its promised_window_ms (0 unless set).  A target added to
 * recorder/targets/ gets its promise here without a line of vm/.
 *
 * Each image's loss window (program.c) is its cut minus the host's time
 * of the oldest acknowledged key it lost.  The cut is the instant the
 * image stands for: the kill for the images of the cache at the kill
 * (last flush, end, subsets), the flush for an image at an earlier flush
 * (the last poll before the flush reached the block log).  Both the acks
 * and the cut are the host's times: an ack is timed when the host reads
 * its console line, after the program gave it, so a window is shorter than
 * the program's own by the console's lag, never longer.
 *
 * The allowance.  crash --target adds to a window promise the p99 of syncs
 * measured on the host before the trials; a guest's sync cannot be
 * measured there.  Here it is the longest sync the trials' block logs show
 * (vm_log_sync_ns_max), of those that ended after the first ack (the
 * program's start-up syncs do not delay an acknowledged key): a sync that
 * takes long delays the next one, and the promise is about the program's
 * schedule, not the disk's speed.  A
 * promise of 0 gets no allowance: any acknowledged key lost breaks it.
 *
 * held: false when an image's check failed (the program did not recover)
 * or a loss broke the promise; else null when an image could not be
 * checked, when no image held an ack before its cut, when the promise
 * gives no number, or when no image's acks reached back beyond the
 * allowance (no image could have shown a window too wide); else true.
 */
#include "vm/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/targets/targets.h"

int vm_promise_lookup(const struct vm_config *cfg, struct report_vm_prog *s, char *err,
                      size_t errlen)
{
    struct recorder_crash_config *rc = calloc(1, sizeof *rc);
    struct recorder_crash_result *res = calloc(1, sizeof *res);
    const char *name = cfg->target ? cfg->target : "contract";
    if (!target_known(name)) {   /* a target only the guest runs: no promise to judge */
        snprintf(s->held_reason, sizeof s->held_reason, "crash --target has no %s: no promise "
                 "to judge the run against", name);
        free(rc);
        free(res);
        return 0;
    }
    int r = rc && res ? 0 : -ENOMEM;
    if (r < 0)
        snprintf(err, errlen, "calloc: %s", strerror(ENOMEM));
    if (r == 0 && cfg->nsettings > RECORDER_MAX_SETTINGS) {
        snprintf(err, errlen, "--set: at most %u settings", RECORDER_MAX_SETTINGS);
        r = -EINVAL;
    }
    if (r == 0) {
        rc->target = name;
        rc->run_cmd = cfg->run_cmd;
        rc->check_cmd = cfg->check_cmd;
        rc->nsettings = cfg->nsettings;
        for (unsigned i = 0; i < cfg->nsettings; i++)
            rc->settings[i] = cfg->settings[i];   /* the strings are the caller's */
        res->promised_window_ms = -1;             /* as crash --target starts it */
        r = target_settings_check(rc, res, err, errlen);
    }
    if (r == 0) {
        s->promised = res->promised ? res->promised : "";
        s->promised_window_ms = res->promised_window_ms;
        s->integrity_only = res->integrity_only;
    }
    free(rc);
    free(res);
    return r;
}

uint64_t vm_log_sync_ns_max(const struct vm_trial *t, const struct vm_log *log)
{
    uint64_t max = 0;
    size_t first = SIZE_MAX;   /* the first write since the last durable point */
    for (size_t i = 0; i < log->n; i++) {
        const struct vm_log_entry *e = &log->entries[i];
        int flush = (e->flags & VM_LOG_FLUSH) != 0, fua = (e->flags & VM_LOG_FUA) != 0;
        if (first == SIZE_MAX && e->nr_sectors && !flush)
            first = i;
        if ((flush || fua) && first != SIZE_MAX) {
            uint64_t from = vm_log_seen_ns(t, &log->entries[first]), to = vm_log_seen_ns(t, e);
            if (to > from && to - from > max && to > t->first_ack_ns)
                max = to - from;
            first = SIZE_MAX;
        }
    }
    if (first != SIZE_MAX) {   /* a sync the kill interrupted */
        uint64_t from = vm_log_seen_ns(t, &log->entries[first]);
        if (t->kill_ns > from && t->kill_ns - from > max)
            max = t->kill_ns - from;
    }
    return max;
}

/* Why the promise broke, into s->held_reason; 0 when it did not. */
static int broken(struct report_vm_prog *s)
{
    char *why = s->held_reason;
    size_t len = sizeof s->held_reason;
    if (s->check_failed)
        snprintf(why, len, "%u image%s failed the check: the program did not recover from "
                 "them", s->check_failed, s->check_failed == 1 ? "" : "s");
    else if (s->integrity_only)
        return 0;
    else if (s->promised_window_ms == 0 && s->lost_max)
        snprintf(why, len, "%u image%s lost acknowledged keys (up to %llu), and the promise "
                 "allows none", s->images_lost, s->images_lost == 1 ? "" : "s",
                 (unsigned long long)s->lost_max);
    else if (s->promised_window_ms > 0 && s->loss_window_ms_max > s->allowance_ms)
        snprintf(why, len, "an image lost a key acknowledged %.1f ms before its cut, beyond "
                 "the allowance of %.1f ms (the promised %.0f ms plus the longest sync, "
                 "%.1f ms)", s->loss_window_ms_max, s->allowance_ms, s->promised_window_ms,
                 s->sync_ms_max);
    else
        return 0;
    return 1;
}

void vm_promise_verdict(struct report_vm_prog *s)
{
    char *why = s->held_reason;
    size_t len = sizeof s->held_reason;
    s->held = -1;
    s->allowance_ms = s->promised_window_ms > 0 ? s->promised_window_ms + s->sync_ms_max : 0;
    if (!s->promised) {
        if (!why[0])   /* else vm_promise_lookup said why */
            snprintf(why, len, "no promise was looked up for this run");
        return;
    }
    why[0] = 0;
    if (!s->trials || !s->acked_total)
        snprintf(why, len, "no image held a key acknowledged before its cut: nothing could "
                 "have been lost");
    else if (s->promised_window_ms < 0 && !s->integrity_only)
        snprintf(why, len, "the promise gives no number to judge");
    else if (broken(s))
        s->held = 0;
    else if (s->images_unchecked)
        snprintf(why, len, "%u image%s could not be mounted: what %s lost is unknown",
                 s->images_unchecked, s->images_unchecked == 1 ? "" : "s",
                 s->images_unchecked == 1 ? "it" : "they");
    else if (!s->integrity_only && s->promised_window_ms > 0 && s->reach_ms_max <= s->allowance_ms)
        snprintf(why, len, "no image's acknowledged keys reach back beyond the allowance "
                 "(%.1f ms; the widest %.1f ms before a cut): none could have shown the "
                 "promise broken; let the kill come later (FSYNCLAB_VM_KILL_WITHIN)",
                 s->allowance_ms, s->reach_ms_max);
    else
        s->held = 1;
}
