/* DESIGN: the JSON body of `crash --vm`: the crash_test_ok body that
 * `crash --json` prints, built by the same code (report_crash_body) so the
 * two cannot drift apart, then amended: "model" is "vm" (a real kernel,
 * not a model), "trials" counts QEMU runs while the loss fields are per
 * image, and the comparison with the drop model is added per strategy.
 */
#include "vm/vm.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

static int set_string(cJSON *o, const char *key, const char *v)
{
    cJSON *s = cJSON_CreateString(v);
    if (!s)
        return 0;
    if (cJSON_GetObjectItemCaseSensitive(o, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(o, key, s) ? 1 : (cJSON_Delete(s), 0);
    return cJSON_AddItemToObject(o, key, s) ? 1 : (cJSON_Delete(s), 0);
}

static int set_number(cJSON *o, const char *key, double v)
{
    cJSON *s = cJSON_CreateNumber(v);
    if (!s)
        return 0;
    if (cJSON_GetObjectItemCaseSensitive(o, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(o, key, s) ? 1 : (cJSON_Delete(s), 0);
    return cJSON_AddItemToObject(o, key, s) ? 1 : (cJSON_Delete(s), 0);
}

static int amend_result(cJSON *o, const struct vm_summary *s)
{
    return set_string(o, "model", "vm") && set_number(o, "trials", s->trials) &&
           set_number(o, "images", s->images) &&
           set_number(o, "fsck_failed", s->fsck_failed) &&
           set_number(o, "log_missing", s->log_missing) &&
           set_number(o, "model_optimistic", s->model_optimistic) &&
           set_number(o, "model_pessimistic", s->model_pessimistic) &&
           set_number(o, "predicted_lost_total", (double)s->predicted_lost_total) &&
           set_number(o, "acks_seen", (double)s->acks_seen) &&
           set_number(o, "syncs_seen", (double)s->syncs_seen) &&
           set_number(o, "boot_ms_max", round((double)s->boot_ns_max / 1e6));
}

cJSON *vm_crash_body(const struct bench_env *benv, const struct vm_config *cfg,
                     const struct vm_env *env, const struct vm_summary *out, size_t n)
{
    struct verifier_summary *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = out[i].v;
    struct crashsim_config base = {
        .entries = cfg->entries ? cfg->entries : VM_DEFAULT_ENTRIES,
        .entry_size = cfg->entry_size, .sync_method = cfg->sync_method,
        .model = CRASHSIM_DROP, .seed = cfg->seed, .trials = cfg->trials,
    };
    cJSON *body = report_crash_body(benv, &base, v, n);
    free(v);
    cJSON *results = cJSON_GetObjectItemCaseSensitive(body, "results");
    cJSON *e = cJSON_GetObjectItemCaseSensitive(body, "environment");
    int ok = body && results && e && set_string(body, "model", "vm") &&
             set_number(body, "writers", cfg->writers ? cfg->writers : 1) &&
             set_string(e, "accel", env->accel) && set_string(e, "kernel", env->kernel) &&
             set_string(e, "accel_probe", env->probe) &&
             set_string(e, "fs", vm_fs_name(cfg)) &&
             (cfg->mount_opts ? set_string(e, "mount_opts", cfg->mount_opts)
                              : cJSON_AddNullToObject(e, "mount_opts") != NULL);
    for (size_t i = 0; ok && i < n; i++)
        ok = amend_result(cJSON_GetArrayItem(results, (int)i), &out[i]);
    if (!ok) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

void vm_print_table(FILE *to, const struct vm_env *env, const struct vm_config *cfg,
                    const struct vm_summary *s, size_t n)
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
            2 + cfg->flush_images + cfg->subset_images);
    for (size_t i = 0; i < n; i++)
        if (s[i].fsck_failed) {
            char name[32];
            fprintf(to, "%s: %u images FAILED %s\n",
                    wal_strategy_name(&s[i].v.strategy, name, sizeof name), s[i].fsck_failed,
                    strcmp(vm_fs_name(cfg), "ext4") == 0 ? "e2fsck -fn"
                    : "the check boot's mount or unmount, or the file system's check");
        }
    fprintf(to, "guest: kernel %s, accel %s (%s), %s%s%s\nseed %" PRIu64 " replays the kill instants "
            "and image choices.\n", env->kernel, env->accel, env->probe, vm_fs_name(cfg),
            cfg->mount_opts ? " -o " : " (default mount options)",
            cfg->mount_opts ? cfg->mount_opts : "", cfg->seed);
}
