/* DESIGN: `fsynclab report RESULT.json [IMAGE...] --html OUT.html`, and
 * --html on the crash commands: one self-contained page (view/html.c)
 * from a result as --json prints it, with the timelines inlined.  The
 * replay command comes from the result's own fields (its seed, its
 * strategies or target and settings), so a page made later from a saved
 * result still says how to run it again. */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "view/view.h"

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* Appends to out: fmt takes the string a, or (a NULL) the number b. */
static size_t add(char *out, size_t at, size_t outlen, const char *fmt, const char *a,
                  unsigned long long b)
{
    if (at >= outlen)
        return at;
    int n = a ? snprintf(out + at, outlen - at, fmt, a) : snprintf(out + at, outlen - at, fmt, b);
    return n < 0 ? at : at + (size_t)n;
}

/* value for /bin/sh: in single quotes, each quote as '\''. */
static size_t quoted(char *out, size_t at, size_t outlen, const char *value)
{
    at = add(out, at, outlen, "%s", "'", 0);
    for (const char *p = value; *p && at < outlen; p++) {
        char one[2] = { *p, 0 };
        at = add(out, at, outlen, "%s", *p == '\'' ? "'\\''" : one, 0);
    }
    return add(out, at, outlen, "%s", "'", 0);
}

/* The command that runs body again; "" when the body does not say. */
void cli_replay_body(const cJSON *body, char *out, size_t outlen)
{
    size_t at = 0;
    out[0] = '\0';
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(body, "results"), *r;
    const char *target = str(body, "target");
    double seed = num(body, "seed", -1);
    if (seed < 0)
        return;
    at = add(out, at, outlen, "%s", "fsynclab crash", 0);
    if (target) {
        at = add(out, at, outlen, " --target %s", target, 0);
        const cJSON *set = cJSON_GetObjectItemCaseSensitive(body, "settings"), *kv;
        cJSON_ArrayForEach(kv, set) {
            if (!cJSON_IsString(kv))
                continue;
            int cmd = !strcmp(kv->string, "run") || !strcmp(kv->string, "check");
            at = add(out, at, outlen, cmd ? " --%s " : " --set %s=", kv->string, 0);
            at = quoted(out, at, outlen, kv->valuestring);
        }
        at = add(out, at, outlen, " --trials %llu", NULL, (unsigned long long)num(body, "trials", 3));
    } else if (cJSON_IsArray(results)) {
        const char *sep = " --strategies ";
        cJSON_ArrayForEach(r, results) {
            if (str(r, "strategy")) {
                at = add(out, at, outlen, "%s", sep, 0);
                at = add(out, at, outlen, "%s", str(r, "strategy"), 0);
                sep = ",";
            }
        }
        r = cJSON_GetArrayItem(results, 0);
        double trials = num(r, "trials_requested", num(r, "trials", 0));
        if (trials > 0)
            at = add(out, at, outlen, " --trials %llu", NULL, (unsigned long long)trials);
        if (num(body, "entries", 0) > 0)
            at = add(out, at, outlen, " --entries %llu", NULL,
                     (unsigned long long)num(body, "entries", 0));
        if (num(body, "entry_size", 0) > 0)
            at = add(out, at, outlen, " --entry-size %llu", NULL,
                     (unsigned long long)num(body, "entry_size", 0));
        if (str(body, "sync_method"))
            at = add(out, at, outlen, " --sync-method %s", str(body, "sync_method"), 0);
    }
    const char *model = str(body, "model");
    if (model && strcmp(model, "vm") == 0)   /* crash --vm: the kernel is the model */
        at = add(out, at, outlen, "%s", " --vm", 0);
    else if (model)
        at = add(out, at, outlen, " --model %s", model, 0);
    add(out, at, outlen, " --seed %llu", NULL, (unsigned long long)seed);
}

int cli_html(const char *path, const cJSON *body, const char *title,
             const struct view_image *images, size_t n)
{
    char replay[8192], err[512] = "";
    cli_replay_body(body, replay, sizeof replay);
    int rc = view_html_write(path, body, title, replay[0] ? replay : NULL, images, n, err,
                             sizeof err);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err);
        return CLI_EXIT_RUN;
    }
    return 0;
}

int cli_report(int argc, char **argv)
{
    struct cli o = { .rest = 1 };
    int rc = cli_parse(argc, argv, "report", CLI_TAKES_REPORT, REPORT_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.rest >= argc || !o.html)
        return cli_usage_error("report: give RESULT.json [TIMELINE.png|.svg ...] --html OUT.html%s", "");
    struct view_image images[16];
    size_t n = 0;
    for (int i = o.rest + 1; i < argc; i++) {
        if (n == 16 || !view_timeline_format_ok(argv[i]))
            return cli_usage_error(n == 16 ? "report: at most 16 images, not \"%s\""
                                            : "report: \"%s\" is not a .png or .svg image", argv[i]);
        images[n].path = argv[i];
        images[n++].caption = argv[i];
    }
    char *text = cli_read_file("report", argv[o.rest], 64u << 20);
    if (!text)
        return CLI_EXIT_RUN;
    cJSON *body = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        fprintf(stderr, "fsynclab: report: %s is not a JSON object (give the output of a "
                "command's --json)\n", argv[o.rest]);
        return CLI_EXIT_USAGE;
    }
    char title[512];
    snprintf(title, sizeof title, "fsynclab report: %s", argv[o.rest]);
    rc = cli_html(o.html, body, title, images, n);
    cJSON_Delete(body);
    return rc;
}
