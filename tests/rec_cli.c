/* rec_cli: a stand-in command line for the recorder until cli/ wires
 * `fsynclab record|image|crash`; the e2e scripts and docs/real-programs.md
 * runs use it.  Not part of the library.
 *
 * DESIGN.  Each subcommand parses its options into the library's config
 * and calls the one library function behind it; output is the library's
 * JSON body (printed with node_json_print, as the node would) or table.
 *   record --root DIR --journal FILE -- CMD ARGS...
 *   image --journal F --snapshot D --at MS|end --model M --out D [--seed N]
 *   crash --target NAME [--set K=V]... [--run CMD --check CMD] [--model M]
 *         [--trials T] [--seconds S] [--cuts K] [--seed N] [--dir D] [--json] [--keep]
 *   dump --journal F [--summary]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "node/node.h"
#include "recorder/recorder.h"

static int usage(void)
{
    fprintf(stderr, "usage: fsynclab-rec record|image|crash|dump [options]\n");
    return 2;
}

static const char *opt(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

static int has(int argc, char **argv, const char *name)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

static int cmd_record(int argc, char **argv)
{
    const char *root = opt(argc, argv, "--root", NULL), *journal = opt(argc, argv, "--journal", NULL);
    int i = 2;
    while (i < argc && strcmp(argv[i], "--") != 0)
        i++;
    if (!root || !journal || i + 1 >= argc)
        return usage();
    char err[512] = "";
    int st = 0;
    if (recorder_record(root, journal, argv + i + 1, &st, err, sizeof err) != 0) {
        fprintf(stderr, "fsynclab record: %s\n", err);
        return 1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmd_image(int argc, char **argv)
{
    const char *journal = opt(argc, argv, "--journal", NULL), *snap = opt(argc, argv, "--snapshot", NULL);
    const char *at = opt(argc, argv, "--at", "end"), *out = opt(argc, argv, "--out", NULL);
    enum recorder_model model;
    if (!journal || !snap || !out || recorder_model_parse(opt(argc, argv, "--model", "drop"), &model))
        return usage();
    char err[512] = "";
    struct recorder_journal j;
    if (recorder_journal_open(journal, &j, err, sizeof err) != 0) {
        fprintf(stderr, "fsynclab image: %s\n", err);
        return 1;
    }
    uint64_t at_ns = strcmp(at, "end") == 0 ? UINT64_MAX : (uint64_t)(strtod(at, NULL) * 1e6);
    struct recorder_image_stats st;
    int rc = recorder_image_build(&j, snap, at_ns, model, strtoull(opt(argc, argv, "--seed", "1"), NULL, 10),
                                  out, &st, err, sizeof err);
    recorder_journal_close(&j);
    if (rc) {
        fprintf(stderr, "fsynclab image: %s\n", err);
        return 1;
    }
    printf("records %llu files %llu dirs %llu bytes %llu unknown_opens %llu flags %llu\n",
           (unsigned long long)st.records, (unsigned long long)st.files, (unsigned long long)st.dirs,
           (unsigned long long)st.bytes, (unsigned long long)st.unknown_opens,
           (unsigned long long)st.flags);
    return 0;
}

static int cmd_dump(int argc, char **argv)
{
    const char *journal = opt(argc, argv, "--journal", NULL);
    char err[512] = "";
    struct recorder_journal j;
    if (!journal)
        return usage();
    if (recorder_journal_open(journal, &j, err, sizeof err) != 0) {
        fprintf(stderr, "fsynclab dump: %s\n", err);
        return 1;
    }
    unsigned long long data = 0;
    int quiet = has(argc, argv, "--summary");
    for (size_t i = 0; i < j.n; i++) {
        const struct recorder_rec *r = j.recs[i];
        if (r->type == RECORDER_WRITE)
            data += r->len;
        if (quiet)
            continue;
        int text = r->type == RECORDER_OPEN || r->type == RECORDER_FLAG || r->type >= RECORDER_RENAME ||
                   r->type == RECORDER_TRUNCATE_PATH;
        printf("%llu.%09llu %u %-14s h=%llx off=%llu len=%llu aux=%d fl=%u %s\n",
               (unsigned long long)(r->ns / 1000000000), (unsigned long long)(r->ns % 1000000000),
               r->pid, recorder_type_name(r->type), (unsigned long long)r->handle,
               (unsigned long long)r->off, (unsigned long long)r->len, r->aux, r->flags,
               text ? (const char *)recorder_payload(r) : "");
    }
    printf("%zu records, %zu bytes, %llu data bytes written, %.1f bytes a record beyond the data, %zu torn\n",
           j.n, j.bytes, data, j.n ? (double)(j.bytes - data) / (double)j.n : 0.0, j.torn_bytes);
    recorder_journal_close(&j);
    return 0;
}

static int cmd_crash(int argc, char **argv)
{
    struct recorder_crash_config cfg = {
        .target = opt(argc, argv, "--target", NULL),
        .run_cmd = opt(argc, argv, "--run", NULL),
        .check_cmd = opt(argc, argv, "--check", NULL),
        .trials = (unsigned)atoi(opt(argc, argv, "--trials", "3")),
        .seconds = atof(opt(argc, argv, "--seconds", "2")),
        .cuts = (unsigned)atoi(opt(argc, argv, "--cuts", "3")),
        .seed = strtoull(opt(argc, argv, "--seed", "1"), NULL, 10),
        .dir = opt(argc, argv, "--dir", getenv("FSYNCLAB_DIR") ? getenv("FSYNCLAB_DIR") : "."),
        .keep = has(argc, argv, "--keep"),
    };
    if (!cfg.target || recorder_model_parse(opt(argc, argv, "--model", "drop"), &cfg.model))
        return usage();
    for (int i = 2; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--set") != 0)
            continue;
        char *eq = strchr(argv[i + 1], '=');
        if (!eq || cfg.nsettings == RECORDER_MAX_SETTINGS)
            return usage();
        *eq = '\0';
        cfg.settings[cfg.nsettings].key = argv[i + 1];
        cfg.settings[cfg.nsettings++].value = eq + 1;
    }
    char err[512] = "";
    struct recorder_crash_result res;
    if (recorder_crash_run(&cfg, &res, err, sizeof err) != 0) {
        fprintf(stderr, "fsynclab crash: %s\n", err);
        return 1;
    }
    if (has(argc, argv, "--json")) {
        cJSON *body = recorder_crash_json(&cfg, &res);
        char *text = body ? node_json_print(body) : NULL;
        if (!text) {
            cJSON_Delete(body);
            return 1;
        }
        printf("%s\n", text);
        free(text);
        cJSON_Delete(body);
    } else {
        char line[1024];
        recorder_crash_table_head(line, sizeof line);
        printf("%s\n", line);
        recorder_crash_table_row(&cfg, &res, line, sizeof line);
        printf("%s\n", line);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "record") == 0)
        return cmd_record(argc, argv);
    if (strcmp(argv[1], "image") == 0)
        return cmd_image(argc, argv);
    if (strcmp(argv[1], "crash") == 0)
        return cmd_crash(argc, argv);
    if (strcmp(argv[1], "dump") == 0)
        return cmd_dump(argc, argv);
    return usage();
}
