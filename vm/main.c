/* DESIGN: fsynclab-vm, a small driver for vm_crash_run until the command
 * line (cli/) exposes it as `fsynclab crash --vm`.  It takes crash's
 * options that make sense for a guest (--strategies, --writers,
 * --entry-size, --sync-method, --trials, --entries, --seed, --dir,
 * --max-seconds, --json) and the guest's own (--kit, --accel,
 * --kill-within, --flush-images, --subset-images), prints a table or the
 * JSON body, and exits 0, 1 (the run failed) or 2 (usage).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "node/node.h"
#include "vm/vm.h"

#define MAX_STRATEGIES 16

static int usage(const char *why)
{
    fprintf(stderr, "fsynclab-vm: %s\nusage: fsynclab-vm [--strategies LIST] [--writers W] "
            "[--entry-size B] [--sync-method M] [--trials T] [--entries N] [--seed S] [--dir D] "
            "[--max-seconds S] [--kit DIR] [--accel auto|tcg|kvm] [--kill-within S] "
            "[--flush-images K] [--subset-images R] [--json]\n", why);
    return 2;
}

static int whole(const char *s, unsigned long long lo, unsigned long long hi,
                 unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_strategies(char *list, struct wal_strategy *out, size_t *n)
{
    *n = 0;
    for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_STRATEGIES || wal_strategy_parse(tok, &out[*n]) < 0)
            return -1;
        (*n)++;
    }
    return *n ? 0 : -1;
}

static void print_table(const struct vm_summary *s, size_t n, const struct vm_env *env)
{
    printf("%-12s %6s %6s %9s %9s %10s %8s %6s %6s %11s %11s\n", "strategy", "trials", "images",
           "acked", "lost max", "window max", "held", "fsck", "no-LOG", "optimistic",
           "pessimistic");
    for (size_t i = 0; i < n; i++) {
        char name[32];
        printf("%-12s %6u %6u %9" PRIu64 " %9" PRIu64 " %7.3f ms %8s %6u %6u %11u %11u\n",
               wal_strategy_name(&s[i].v.strategy, name, sizeof name), s[i].trials, s[i].images,
               s[i].v.acked_total, s[i].v.acked_lost_max, verifier_summary_window_ms_max(&s[i].v),
               verifier_held_name(s[i].v.held), s[i].fsck_failed, s[i].log_missing,
               s[i].model_optimistic, s[i].model_pessimistic);
    }
    printf("\naccel %s (%s), kernel %s\n", env->accel, env->probe, env->kernel);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "strategies", 1, NULL, 's' }, { "writers", 1, NULL, 'w' },
        { "entry-size", 1, NULL, 'b' }, { "sync-method", 1, NULL, 'm' },
        { "trials", 1, NULL, 'T' },     { "entries", 1, NULL, 'e' },
        { "seed", 1, NULL, 'S' },       { "dir", 1, NULL, 'd' },
        { "max-seconds", 1, NULL, 't' }, { "kit", 1, NULL, 'k' },
        { "accel", 1, NULL, 'a' },      { "kill-within", 1, NULL, 'K' },
        { "flush-images", 1, NULL, 'F' }, { "subset-images", 1, NULL, 'R' },
        { "json", 0, NULL, 'j' },       { 0, 0, 0, 0 },
    };
    char list[512] = "always,group,batch_10ms,none";
    struct vm_config cfg = { .entry_size = 128, .sync_method = WAL_SYNC_FSYNC, .writers = 1,
                             .trials = 3, .seed = wal_now_ns() % 9007199254740992ull,
                             .flush_images = VM_DEFAULT_FLUSH_IMAGES,
                             .subset_images = VM_DEFAULT_SUBSET_IMAGES };
    int json = 0, c;
    unsigned long long v;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 's': snprintf(list, sizeof list, "%s", optarg); break;
        case 'w': bad = whole(optarg, 1, 256, &v); cfg.writers = (unsigned)v; break;
        case 'b': bad = whole(optarg, WAL_HEADER_SIZE, 65536, &v); cfg.entry_size = (uint32_t)v; break;
        case 'm': bad = wal_sync_method_parse(optarg, &cfg.sync_method) < 0; break;
        case 'T': bad = whole(optarg, 1, 10000, &v); cfg.trials = (uint32_t)v; break;
        case 'e': bad = whole(optarg, 1, 10000000, &v); cfg.entries = v; break;
        case 'S': bad = whole(optarg, 0, 9007199254740991ull, &v); cfg.seed = v; break;
        case 'd': cfg.dir = optarg; break;
        case 't': cfg.max_seconds = atof(optarg); bad = !(cfg.max_seconds > 0); break;
        case 'k': cfg.kit = optarg; break;
        case 'a': cfg.accel = optarg; break;
        case 'K': cfg.kill_within_s = atof(optarg); bad = !(cfg.kill_within_s > 0); break;
        case 'F': bad = whole(optarg, 0, 20, &v); cfg.flush_images = (unsigned)v; break;
        case 'R': bad = whole(optarg, 0, 20, &v); cfg.subset_images = (unsigned)v; break;
        case 'j': json = 1; break;
        default: return usage("unknown option");
        }
        if (bad)
            return usage(argv[optind - 1]);
    }
    if (optind < argc)
        return usage("unexpected argument");
    struct wal_strategy st[MAX_STRATEGIES];
    size_t n;
    if (parse_strategies(list, st, &n) < 0)
        return usage("--strategies: allowed: " WAL_STRATEGIES);
    cfg.dir = bench_data_dir(cfg.dir);
    struct bench_env benv;
    if (bench_env_probe(cfg.dir, &benv) < 0) {
        fprintf(stderr, "fsynclab-vm: statfs(%s): %s\n", cfg.dir, strerror(errno));
        return 1;
    }
    static struct vm_summary out[MAX_STRATEGIES];
    struct vm_env env;
    char err[512] = "";
    int rc = vm_crash_run(&cfg, st, n, out, &env, NULL, NULL, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "fsynclab-vm: %s\n", err[0] ? err : strerror(-rc));
        return 1;
    }
    if (json) {
        cJSON *body = vm_crash_body(&benv, &cfg, &env, out, n);
        char *text = body ? node_json_print(body) : NULL;
        cJSON_Delete(body);
        if (!text)
            return 1;
        printf("%s\n", text);
        free(text);
    } else {
        print_table(out, n, &env);
        printf("seed %" PRIu64 " (kill instants and image choices)\n", cfg.seed);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
