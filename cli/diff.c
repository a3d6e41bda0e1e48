/* DESIGN: `fsynclab diff A.json B.json`: two `bench --json` outputs (or two
 * node replies, whose body is the same), compared strategy by strategy as
 * FreeBSD's ministat compares two sets of runs: the difference, its 95%
 * interval, and "no difference proven" when the interval holds 0.  A result
 * with ops_per_sec_runs is that many runs; one without is a single run,
 * which proves nothing and says so.  Strategies are paired by name; two
 * files of one result each are compared whatever their names (always
 * against none).  It is a report: exit 0 whatever the verdict, 1 when a
 * file cannot be read, 2 on a usage error. */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_MAX_BYTES (16u << 20)

struct diff_set {
    char name[32];
    double runs[STATS_MAX_SAMPLES];
    size_t n;
};

struct diff_file {
    const char *path;
    struct diff_set sets[BENCH_MAX_STRATEGIES];
    size_t n;
};

/* One result object's runs into s; 0, or -EINVAL naming what is missing. */
static int take_result(const cJSON *r, struct diff_set *s, const char *path)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "strategy");
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(r, "ops_per_sec");
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(r, "ops_per_sec_runs");
    if (!cJSON_IsString(name) || !cJSON_IsNumber(ops)) {
        fprintf(stderr, "fsynclab: diff: %s: a result without strategy or ops_per_sec\n", path);
        return -EINVAL;
    }
    snprintf(s->name, sizeof s->name, "%s", name->valuestring);
    s->n = 0;
    if (!cJSON_IsArray(runs)) {
        s->runs[s->n++] = ops->valuedouble;
        return 0;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, runs) {
        if (!cJSON_IsNumber(v) || s->n == STATS_MAX_SAMPLES) {
            fprintf(stderr, "fsynclab: diff: %s: ops_per_sec_runs of %s is not a list of at "
                    "most %u numbers\n", path, s->name, STATS_MAX_SAMPLES);
            return -EINVAL;
        }
        s->runs[s->n++] = v->valuedouble;
    }
    return s->n ? 0 : -EINVAL;
}

static int load(const char *path, struct diff_file *f)
{
    f->path = path;
    f->n = 0;
    char *text = cli_read_file("diff", path, DIFF_MAX_BYTES);
    if (!text)
        return CLI_EXIT_RUN;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(doc, "body");   /* a node reply */
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(body ? body : doc, "results");
    int rc = 0;
    if (!cJSON_IsArray(results)) {
        fprintf(stderr, "fsynclab: diff: %s is not the output of fsynclab bench --json\n", path);
        rc = CLI_EXIT_RUN;
    }
    const cJSON *r, *list = rc ? NULL : results;
    cJSON_ArrayForEach(r, list) {
        if (f->n == BENCH_MAX_STRATEGIES || take_result(r, &f->sets[f->n], path) < 0) {
            rc = CLI_EXIT_RUN;
            break;
        }
        f->n++;
    }
    cJSON_Delete(doc);
    return rc;
}

static int compare(const char *label, const struct diff_set *a, const struct diff_set *b)
{
    struct stats_summary sa, sb;
    struct stats_diff d;
    if (stats_summarize(a->runs, a->n, &sa) < 0 || stats_summarize(b->runs, b->n, &sb) < 0 ||
        stats_diff(a->runs, a->n, b->runs, b->n, &d) < 0) {
        fprintf(stderr, "fsynclab: diff: %s: the runs are not finite numbers\n", label);
        return CLI_EXIT_RUN;
    }
    report_print_diff_row(stdout, label, &sa, &sb, &d);
    return 0;
}

static const struct diff_set *find(const struct diff_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->sets[i].name, name) == 0)
            return &f->sets[i];
    return NULL;
}

int cli_diff(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_usage_command(stdout, "diff");
        return 0;
    }
    if (argc != 3)
        return cli_usage_error("diff takes two files: fsynclab diff A.json B.json%s", "");
    static struct diff_file a, b;
    int rc = load(argv[1], &a);
    if (rc || (rc = load(argv[2], &b)))
        return rc;
    printf("A  %s\nB  %s\n\n", a.path, b.path);
    report_print_diff_header(stdout);
    if (a.n == 1 && b.n == 1 && strcmp(a.sets[0].name, b.sets[0].name) != 0) {
        char label[80];
        snprintf(label, sizeof label, "%s -> %s", a.sets[0].name, b.sets[0].name);
        rc = compare(label, &a.sets[0], &b.sets[0]);
        return rc ? rc : cli_flush();
    }
    for (size_t i = 0; i < a.n && !rc; i++) {
        const struct diff_set *other = find(&b, a.sets[i].name);
        if (other)
            rc = compare(a.sets[i].name, &a.sets[i], other);
        else
            printf("%-22s only in A\n", a.sets[i].name);
    }
    for (size_t i = 0; i < b.n && !rc; i++)
        if (!find(&a, b.sets[i].name))
            printf("%-22s only in B\n", b.sets[i].name);
    if (rc)
        return rc;
    printf("\nB - A: the median of every difference between a run of B and a run of A "
           "(Hodges-Lehmann),\nwith its exact 95%% interval (Mann-Whitney); \"no difference "
           "proven\" when it holds 0.\n");
    return cli_flush();
}
