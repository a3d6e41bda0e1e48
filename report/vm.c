/* DESIGN: what `crash --vm` prints, built from the result vm/ hands over.
 * The writer's body is crash's crash_test_ok body, built by the same code
 * (report_crash_object) so that the two cannot drift apart: "model" is
 * "vm" (a real kernel, not a model), "trials" counts QEMU runs while the
 * loss fields count images, and each strategy adds the comparison with the
 * drop model.  A program's run (--target contract) has its own body,
 * crash_vm_target_ok, with counts per image.
 */
#include "report/report.h"
#include "report/internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

struct vm_reply {
    const struct report_vm_run *run;
    const struct report_vm_result *r;
};

static cJSON *vm_item(const void *ctx, size_t i)
{
    const struct vm_reply *rep = ctx;
    const struct report_vm_result *s = &rep->r[i];
    cJSON *o = report_crash_object("vm", s->trials, rep->run->trials,
                                   cJSON_CreateNumber(s->model_optimistic), &s->v);
    int ok = o && cJSON_AddNumberToObject(o, "images", s->images) &&
             cJSON_AddNumberToObject(o, "fsck_failed", s->fsck_failed) &&
             cJSON_AddNumberToObject(o, "log_missing", s->log_missing) &&
             cJSON_AddNumberToObject(o, "model_pessimistic", s->model_pessimistic) &&
             cJSON_AddNumberToObject(o, "predicted_lost_total", (double)s->predicted_lost_total) &&
             cJSON_AddNumberToObject(o, "acks_seen", (double)s->acks_seen) &&
             cJSON_AddNumberToObject(o, "syncs_seen", (double)s->syncs_seen) &&
             cJSON_AddNumberToObject(o, "boot_ms_max", round((double)s->boot_ns_max / 1e6));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int add_mount_opts(cJSON *e, const char *opts)
{
    return opts ? cJSON_AddStringToObject(e, "mount_opts", opts) != NULL
                : cJSON_AddNullToObject(e, "mount_opts") != NULL;
}

cJSON *report_vm_body(const struct bench_env *benv, const struct report_vm_run *run,
                      const struct report_vm_env *env, const struct report_vm_result *r,
                      size_t n)
{
    struct vm_reply rep = { run, r };
    cJSON *body = report_results_body("crash_test_ok", n, vm_item, &rep), *e = NULL;
    int ok = body && cJSON_AddStringToObject(body, "model", "vm") &&
             cJSON_AddNumberToObject(body, "seed", (double)run->seed) &&
             cJSON_AddNumberToObject(body, "entries", (double)run->entries) &&
             cJSON_AddNumberToObject(body, "entry_size", run->entry_size) &&
             cJSON_AddStringToObject(body, "sync_method", wal_sync_method_name(run->sync_method)) &&
             (e = report_add_environment(body, benv)) != NULL &&
             cJSON_AddStringToObject(e, "accel", env->accel) &&
             cJSON_AddStringToObject(e, "kernel", env->kernel) &&
             cJSON_AddStringToObject(e, "accel_probe", env->probe) &&
             cJSON_AddStringToObject(e, "fs", run->fs) && add_mount_opts(e, run->mount_opts) &&
             cJSON_AddNumberToObject(body, "writers", run->writers ? run->writers : 1);
    if (!ok) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

void report_print_vm_table(FILE *to, const struct report_vm_run *run,
                           const struct report_vm_env *env, const struct report_vm_result *s,
                           size_t n)
{
    fprintf(to, "%-12s %6s %6s %9s %9s %11s %8s %5s %6s %10s %11s\n", "strategy", "trials",
            "images", "acked", "lost max", "window max", "held", "fsck", "no-LOG", "optimistic",
            "pessimistic");
    for (size_t i = 0; i < n; i++) {
        char name[32];
        fprintf(to, "%-12s %6u %6u %9" PRIu64 " %9" PRIu64 " %8.3f ms %8s %5u %6u %10u %11u\n",
                wal_strategy_name(&s[i].v.strategy, name, sizeof name), s[i].trials, s[i].images,
                s[i].v.acked_total, s[i].v.acked_lost_max,
                verifier_summary_window_ms_max(&s[i].v), verifier_held_name(s[i].v.held),
                s[i].fsck_failed, s[i].log_missing, s[i].model_optimistic,
                s[i].model_pessimistic);
    }
    fprintf(to, "\nacked and lost count per image (%u images a trial at most).  optimistic: images\n"
            "where the kernel lost an ack the drop model kept; pessimistic: the reverse.\n",
            run->images_max);
    for (size_t i = 0; i < n; i++)
        if (s[i].fsck_failed) {
            char name[32];
            fprintf(to, "%s: %u images FAILED %s\n",
                    wal_strategy_name(&s[i].v.strategy, name, sizeof name), s[i].fsck_failed,
                    strcmp(run->fs, "ext4") == 0 ? "e2fsck -fn"
                    : "the check boot's mount or unmount, or the file system's check");
        }
    fprintf(to, "guest: kernel %s, accel %s (%s), %s%s%s\nseed %" PRIu64 " replays the kill instants "
            "and image choices.\n", env->kernel, env->accel, env->probe, run->fs,
            run->mount_opts ? " -o " : " (default mount options)",
            run->mount_opts ? run->mount_opts : "", run->seed);
}

static cJSON *model_cmp(const struct report_vm_model_cmp *m)
{
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddNumberToObject(o, "predicted_lost_total", (double)m->predicted_lost_total) &&
        cJSON_AddNumberToObject(o, "images_optimistic", m->optimistic) &&
        cJSON_AddNumberToObject(o, "images_pessimistic", m->pessimistic) &&
        cJSON_AddNumberToObject(o, "check_failed", m->check_failed))
        return o;
    cJSON_Delete(o);
    return NULL;
}

static int add_item(cJSON *o, const char *key, cJSON *item)
{
    if (item && cJSON_AddItemToObject(o, key, item))
        return 1;
    cJSON_Delete(item);
    return 0;
}

/* "recorder": what the recorder's drop and ext4 models predicted for the
 * images at the kill, or null; "recorder_reason": why not, or what the
 * journal could not see. */
static int add_recorder(cJSON *b, const struct report_vm_prog *s, const char *fs)
{
    if (!s->recorded)
        return cJSON_AddNullToObject(b, "recorder") &&
               cJSON_AddStringToObject(b, "recorder_reason", s->recorder_reason[0]
                   ? s->recorder_reason
                   : "the recorder does not run in the guest yet: no model's prediction for "
                     "these images");
    cJSON *r = cJSON_CreateObject();
    if (!add_item(b, "recorder", r))
        return 0;
    char why[160];
    snprintf(why, sizeof why, "the journals carry %" PRIu64 " flags: calls the recorder could "
             "not see or follow, which the models cannot know", s->journal_flags);
    return cJSON_AddNumberToObject(r, "trials_recorded", s->trials_recorded) &&
           cJSON_AddNumberToObject(r, "images_compared", s->images_compared) &&
           cJSON_AddStringToObject(r, "compared", "the images at the kill (last flush, end, "
                                   "subsets) against the model's image at the journal's end") &&
           cJSON_AddNumberToObject(r, "journal_flags", (double)s->journal_flags) &&
           cJSON_AddNumberToObject(r, "unknown_opens", (double)s->unknown_opens) &&
           add_item(r, "drop", model_cmp(&s->drop)) && add_item(r, "ext4", model_cmp(&s->ext4)) &&
           (strcmp(fs, "ext4") == 0 || add_item(r, fs, model_cmp(&s->fsm))) &&
           (s->journal_flags ? cJSON_AddStringToObject(b, "recorder_reason", why) != NULL
                             : cJSON_AddNullToObject(b, "recorder_reason") != NULL);
}

/* A figure in ms to the microsecond, or null when it does not apply. */
static int add_ms_or_null(cJSON *o, const char *key, int applies, double ms)
{
    if (!applies)
        return cJSON_AddNullToObject(o, key) != NULL;
    return add_item(o, key, report_json_float(round(ms * 1000.0) / 1000.0));
}

/* The promise (crash --target's for the target and settings) and the
 * verdict on it: "held" true, false or null, "held_reason" why (null when
 * it held). */
static int add_promise(cJSON *b, const struct report_vm_prog *s)
{
    int have = s->promised != NULL, window = have && s->promised_window_ms >= 0;
    return (have ? cJSON_AddStringToObject(b, "promised", s->promised) != NULL
                 : cJSON_AddNullToObject(b, "promised") != NULL) &&
           add_ms_or_null(b, "promised_window_ms", window, s->promised_window_ms) &&
           add_ms_or_null(b, "allowance_ms", window, s->allowance_ms) &&
           add_ms_or_null(b, "sync_ms_max", 1, s->sync_ms_max) &&
           add_ms_or_null(b, "loss_window_ms_max", 1, s->loss_window_ms_max) &&
           add_ms_or_null(b, "reach_ms_max", 1, s->reach_ms_max) &&
           cJSON_AddNumberToObject(b, "images_unchecked", s->images_unchecked) &&
           (have && s->held >= 0 ? cJSON_AddBoolToObject(b, "held", s->held) != NULL
                                 : cJSON_AddNullToObject(b, "held") != NULL) &&
           (!have && !s->held_reason[0]
                ? cJSON_AddStringToObject(b, "held_reason", "no promise was looked up for this "
                                          "run") != NULL
            : s->held_reason[0] ? cJSON_AddStringToObject(b, "held_reason", s->held_reason) != NULL
                                : cJSON_AddNullToObject(b, "held_reason") != NULL);
}

cJSON *report_vm_program_body(const struct report_vm_run *run, const struct report_vm_env *env,
                              const struct report_vm_prog *s)
{
    cJSON *b = cJSON_CreateObject(), *e;
    int ok = b && cJSON_AddStringToObject(b, "type", "crash_vm_target_ok") &&
             cJSON_AddStringToObject(b, "target", run->target ? run->target : "contract") &&
             cJSON_AddStringToObject(b, "model", "vm") &&
             cJSON_AddNumberToObject(b, "seed", (double)run->seed) &&
             cJSON_AddNumberToObject(b, "trials", s->trials) &&
             cJSON_AddNumberToObject(b, "images", s->images) &&
             cJSON_AddNumberToObject(b, "acks_seen", (double)s->acks_seen) &&
             cJSON_AddNumberToObject(b, "acked_total", (double)s->acked_total) &&
             cJSON_AddNumberToObject(b, "acked_lost_max", (double)s->lost_max) &&
             cJSON_AddNumberToObject(b, "acked_lost_total", (double)s->lost_total) &&
             cJSON_AddNumberToObject(b, "images_lost", s->images_lost) &&
             cJSON_AddNumberToObject(b, "fsck_failed", s->fsck_failed) &&
             cJSON_AddNumberToObject(b, "check_failed", s->check_failed) &&
             cJSON_AddNumberToObject(b, "boot_ms_max", (double)(s->boot_ns_max / 1000000)) &&
             cJSON_AddNumberToObject(b, "check_ms_per_image",
                                     s->images ? (double)(s->check_ns_total / s->images / 1000000) : 0) &&
             add_promise(b, s) && add_recorder(b, s, run->fs) &&
             (e = cJSON_AddObjectToObject(b, "environment")) != NULL &&
             cJSON_AddStringToObject(e, "fs", run->fs) && add_mount_opts(e, run->mount_opts) &&
             cJSON_AddNumberToObject(e, "memory_mib", run->memory_mib) &&
             cJSON_AddStringToObject(e, "root", "the host's /, read-only over virtio-9p; tmpfs "
                                     "on /tmp and /run; the data disk on /data") &&
             cJSON_AddStringToObject(e, "accel", env->accel) &&
             cJSON_AddStringToObject(e, "accel_probe", env->probe) &&
             cJSON_AddStringToObject(e, "kernel", env->kernel);
    if (!ok) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

static void print_promise(FILE *to, const struct report_vm_prog *s)
{
    if (!s->promised) {
        fprintf(to, "held          null: %s\n", s->held_reason[0] ? s->held_reason
                : "no promise was looked up for this run");
        return;
    }
    fprintf(to, "promised      %s", s->promised);
    if (s->promised_window_ms >= 0)
        fprintf(to, " (%.0f ms)", s->promised_window_ms);
    fprintf(to, "\nwindow max    %.1f ms: an image's cut minus the host's time of the oldest "
            "acknowledged key it lost\n", s->loss_window_ms_max);
    if (s->promised_window_ms > 0)
        fprintf(to, "allowance     %.1f ms: the promised %.0f ms plus the longest sync the block "
                "logs show, %.1f ms\n", s->allowance_ms, s->promised_window_ms, s->sync_ms_max);
    fprintf(to, "held          %s%s%s\n", s->held < 0 ? "null" : s->held ? "true" : "false",
            s->held_reason[0] ? ": " : "", s->held_reason);
}

void report_print_vm_program_table(FILE *to, const struct report_vm_run *run,
                                   const struct report_vm_env *env,
                                   const struct report_vm_prog *s)
{
    if (run->target)   /* a built-in target; the contract's table is as it was */
        fprintf(to, "target %s\n", run->target);
    fprintf(to, "%-8s %6s %6s %9s %9s %10s %11s %5s %6s\n", "fs", "trials", "images", "acked",
            "lost max", "lost total", "images lost", "fsck", "check");
    fprintf(to, "%-8s %6u %6u %9" PRIu64 " %9" PRIu64 " %10" PRIu64 " %11u %5u %6u\n",
            run->fs, s->trials, s->images, s->acked_total, s->lost_max, s->lost_total,
            s->images_lost, s->fsck_failed, s->check_failed);
    fprintf(to, "\nacked and lost count per image: acknowledged keys read before the image's "
            "cut,\nand those of them %s did not find.  fsck: images whose mount, unmount "
            "or\nchecker failed; check: images where %s failed.",
            run->target ? "the check" : "--check", run->target ? "the check" : "--check");
    if (!s->recorded) {
        if (s->recorder_reason[0])
            fprintf(to, "\nNo model's prediction: %s.\n", s->recorder_reason);
        else
            fprintf(to, "  No model's prediction:\nthe recorder does not run in the guest yet.\n");
    } else {
        fprintf(to, "\n\nthe same run recorded in the guest (LD_PRELOAD, journal over virtio-9p): "
                "%u trials,\n%u images at the kill against the model's image at the journal's "
                "end\n%-6s %14s %10s %11s %12s\n", s->trials_recorded, s->images_compared,
                "model", "predicted lost", "optimistic", "pessimistic", "check failed");
        const struct report_vm_model_cmp *m[2] = { &s->drop, &s->ext4 };
        for (int k = 0; k < 2; k++)
            fprintf(to, "%-6s %14" PRIu64 " %10u %11u %12u\n", k ? "ext4" : "drop",
                    m[k]->predicted_lost_total, m[k]->optimistic, m[k]->pessimistic,
                    m[k]->check_failed);
        if (strcmp(run->fs, "ext4") != 0)
            fprintf(to, "%-6s %14" PRIu64 " %10u %11u %12u\n", run->fs, s->fsm.predicted_lost_total,
                    s->fsm.optimistic, s->fsm.pessimistic, s->fsm.check_failed);
        fprintf(to, "optimistic: images where the real kernel lost an acknowledged key the "
                "model kept.\n");
        if (strcmp(run->fs, "ext4") != 0)
            fprintf(to, "The ext4 model follows ext4's rules: on %s a file renamed over another "
                    "without a sync\nwas left empty where it kept the new data "
                    "(auto_da_alloc is ext4's; docs/ground-truth.md);\nthe %s model has %s's "
                    "rule.\n", run->fs, run->fs, run->fs);
        if (s->journal_flags)
            fprintf(to, "WARNING: the journals carry %" PRIu64 " flags: calls the recorder "
                    "could not see or follow.\n", s->journal_flags);
    }
    print_promise(to, s);
    fprintf(to, "guest: kernel %s, accel %s (%s), %s%s%s, %u MiB, boot max %.1f s, check "
            "%.1f s an image\nseed %" PRIu64 " replays the kill instants and image choices.\n",
            env->kernel, env->accel, env->probe, run->fs, run->mount_opts ? " -o " : "",
            run->mount_opts ? run->mount_opts : "", run->memory_mib,
            (double)s->boot_ns_max / 1e9,
            s->images ? (double)s->check_ns_total / (double)s->images / 1e9 : 0.0, run->seed);
}
