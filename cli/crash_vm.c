/* DESIGN: `fsynclab crash --vm`: the same options as crash, but each
 * trial's writer runs in a QEMU guest on a real kernel and ext4 and QEMU is
 * killed (vm/, docs/ground-truth.md).  The guest kit comes from `make vm`
 * ($FSYNCLAB_VM_KIT, else build/vm); $FSYNCLAB_VM_ACCEL (auto, tcg, kvm)
 * skips the KVM probe; $FSYNCLAB_VM_KILL_WITHIN (seconds, default 1.5) is how
 * long after the first acknowledgement the kill may come, for experiments
 * that need the guest to run longer (docs/lab.md); $FSYNCLAB_VM_DIRSYNC=0 has
 * the guest create its file without syncing the directory, for the
 * experiment of docs/ground-truth.md.  --model does not
 * apply: the kernel is the model, and the drop model is what it is compared
 * with.  Defaults differ from crash's because a trial costs seconds: 3
 * trials, no time budget, and the guest appends until the kill
 * (VM_DEFAULT_ENTRIES). */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

static void show_progress(void *arg, size_t strategy, uint32_t done, uint32_t total)
{
    struct cli_progress *p = arg;
    if (!cli_progress_due(p))
        return;
    char name[32];
    fprintf(stderr, "\r  %-14s %u/%u guest trials   ",
            wal_strategy_name(&p->strategies[strategy], name, sizeof name), done, total);
}

int cli_crash_vm(const struct cli *o, const struct wal_strategy *strategies, size_t n)
{
    static struct vm_summary out[BENCH_MAX_STRATEGIES];
    struct vm_config cfg = { .entries = o->entries, .entry_size = o->entry_size,
                             .sync_method = o->sync_method, .writers = o->writers,
                             .trials = o->trials ? o->trials : 3, .seed = o->seed,
                             .max_seconds = o->max_seconds, .accel = getenv("FSYNCLAB_VM_ACCEL"),
                             .flush_images = VM_DEFAULT_FLUSH_IMAGES,
                             .subset_images = VM_DEFAULT_SUBSET_IMAGES };
    const char *dirsync = getenv("FSYNCLAB_VM_DIRSYNC");
    cfg.no_dirsync = dirsync && strcmp(dirsync, "0") == 0;
    const char *within = getenv("FSYNCLAB_VM_KILL_WITHIN");
    if (within && *within) {
        char *end;
        cfg.kill_within_s = strtod(within, &end);
        if (*end || !(cfg.kill_within_s > 0) || cfg.kill_within_s > 600)
            return cli_usage_error("FSYNCLAB_VM_KILL_WITHIN must be seconds above 0 and at "
                                   "most 600, not \"%s\"", within);
    }
    struct bench_env env;
    int rc = cli_probe_data_dir(o->dir, &cfg.dir, &env);
    if (rc)
        return rc;
    char err[512] = "";
    if (vm_kit_check(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "fsynclab: crash --vm: %s\n", err);
        return CLI_EXIT_RUN;
    }
    if (!o->json) {
        report_print_where(stdout, &env);
        printf("run           %u guest trials per strategy, %u-byte entries, sync by %s, "
               "%u writer%s, kit %s\n\n", cfg.trials, cfg.entry_size,
               wal_sync_method_name(cfg.sync_method), cfg.writers, cfg.writers > 1 ? "s" : "",
               vm_kit_dir(&cfg));
        fflush(stdout);
    }
    struct vm_env venv;
    struct cli_vm_capture *cap = NULL;   /* --timeline, --html */
    if ((o->timeline || o->html) && cli_vm_capture_new(o, strategies, n, &cfg, &cap) < 0)
        return CLI_EXIT_RUN;
    struct cli_progress p = { .start_ns = wal_now_ns(), .strategies = strategies };
    rc = vm_crash_run(&cfg, strategies, n, out, &venv, show_progress, &p, err, sizeof err);
    cli_progress_end(&p);
    if (rc == 0 && cap) {
        cJSON *body = o->html ? vm_crash_body(&env, &cfg, &venv, out, n) : NULL;
        int pictures = cli_vm_pictures(o, cap, body);
        cJSON_Delete(body);
        if (pictures) {
            cli_vm_capture_free(cap);
            return pictures;
        }
    }
    cli_vm_capture_free(cap);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: crash --vm: %s\n", err[0] ? err : strerror(-rc));
        return CLI_EXIT_RUN;
    }
    if (o->json)
        return cli_print_json(vm_crash_body(&env, &cfg, &venv, out, n));
    vm_print_table(stdout, &venv, &cfg, out, n);
    return cli_flush();
}
