/* DESIGN: the HTML report, one file with everything in it.
 *
 * The page is built from a result as --json prints it, walked generically
 * so that a field added to a result shows without a change here: the
 * top-level scalars and objects are the settings and the environment;
 * every array of objects is a table (nested objects flattened to
 * "a.b"); every object with a "held" field gives a verdict line with the
 * promise next to it.  Images are read and inlined as base64 data: URIs;
 * the page loads nothing from anywhere (no script, font or style sheet of
 * another origin), so it opens offline and can be mailed as it is.
 */
#include "view/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* A scalar as text: numbers as %.15g, null as "null". */
static void scalar(FILE *f, const cJSON *v)
{
    char num[64];
    if (cJSON_IsString(v))
        esc(f, v->valuestring);
    else if (cJSON_IsBool(v))
        fputs(cJSON_IsTrue(v) ? "true" : "false", f);
    else if (cJSON_IsNumber(v)) {
        snprintf(num, sizeof num, "%.15g", v->valuedouble);
        fputs(num, f);
    } else
        fputs("null", f);
}

static int is_scalar(const cJSON *v)
{
    return !cJSON_IsObject(v) && !cJSON_IsArray(v);
}

/* A row per scalar of o, prefix naming the object it sits in. */
static void settings_rows(FILE *f, const cJSON *o, const char *prefix)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, o) {
        if (is_scalar(v)) {
            fputs("<tr><th>", f);
            if (prefix) {
                esc(f, prefix);
                fputc('.', f);
            }
            esc(f, v->string);
            fputs("</th><td>", f);
            scalar(f, v);
            fputs("</td></tr>\n", f);
        } else if (cJSON_IsObject(v) && !prefix) {
            settings_rows(f, v, v->string);
        }
    }
}

/* The cells of one object, in the order of the first row's keys. */
static void table_cells(FILE *f, const cJSON *row, const cJSON *head, int th)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, head) {
        if (cJSON_IsObject(k)) {
            const cJSON *sub = cJSON_GetObjectItemCaseSensitive(row, k->string), *kk;
            cJSON_ArrayForEach(kk, k) {
                if (!is_scalar(kk))
                    continue;
                fputs(th ? "<th>" : "<td>", f);
                if (th) {
                    esc(f, k->string);
                    fputc('.', f);
                    esc(f, kk->string);
                } else {
                    scalar(f, sub ? cJSON_GetObjectItemCaseSensitive(sub, kk->string) : NULL);
                }
                fputs(th ? "</th>" : "</td>", f);
            }
        } else if (is_scalar(k)) {
            fputs(th ? "<th>" : "<td>", f);
            if (th)
                esc(f, k->string);
            else
                scalar(f, cJSON_GetObjectItemCaseSensitive(row, k->string));
            fputs(th ? "</th>" : "</td>", f);
        }
    }
}

static void table(FILE *f, const cJSON *arr)
{
    const cJSON *head = cJSON_GetArrayItem(arr, 0), *row;
    fprintf(f, "<h2>");
    esc(f, arr->string ? arr->string : "results");
    fprintf(f, "</h2>\n<div class=\"wide\"><table class=\"grid\">\n<tr>");
    table_cells(f, head, head, 1);
    fputs("</tr>\n", f);
    cJSON_ArrayForEach(row, arr) {
        fputs("<tr>", f);
        table_cells(f, row, head, 0);
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
}

/* A verdict line for each object holding "held". */
static void verdicts(FILE *f, const cJSON *o, int *n)
{
    const cJSON *held = cJSON_GetObjectItemCaseSensitive(o, "held"), *v;
    if (held && is_scalar(held)) {
        const char *cls = cJSON_IsTrue(held) ? "held" : cJSON_IsFalse(held) ? "broken" : "null";
        if (!(*n)++)
            fputs("<h2>Verdicts</h2>\n<ul>\n", f);
        fprintf(f, "<li class=\"%s\"><b>", cls);
        const char *names[] = { "strategy", "target", "name" };
        for (size_t i = 0; i < 3; i++) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, names[i]);
            if (cJSON_IsString(name)) {
                esc(f, name->valuestring);
                break;
            }
        }
        fputs("</b>: held ", f);
        scalar(f, held);
        cJSON_ArrayForEach(v, o) {
            if (is_scalar(v) && (strstr(v->string, "promise") || strstr(v->string, "allowance") ||
                                 strstr(v->string, "window_ms_max"))) {
                fputs(" &middot; ", f);
                esc(f, v->string);
                fputs(" ", f);
                scalar(f, v);
            }
        }
        fputs("</li>\n", f);
    }
    cJSON_ArrayForEach(v, o) {
        if (cJSON_IsObject(v) || cJSON_IsArray(v))
            verdicts(f, v, n);
    }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The image at path as a data: URI, streamed in 3-byte groups. */
static int inline_image(FILE *f, const struct view_image *im, char *err, size_t errlen)
{
    FILE *in = fopen(im->path, "rb");
    if (!in) {
        int rc = -errno;
        if (err)
            snprintf(err, errlen, "open(%s): %s", im->path, strerror(-rc));
        return rc;
    }
    size_t n = strlen(im->path);
    int svg = n > 4 && strcasecmp(im->path + n - 4, ".svg") == 0;
    fprintf(f, "<figure><img alt=\"");
    esc(f, im->caption ? im->caption : im->path);
    fprintf(f, "\" src=\"data:image/%s;base64,", svg ? "svg+xml" : "png");
    unsigned char b[3];
    size_t got;
    while ((got = fread(b, 1, 3, in)) > 0) {
        unsigned v = (unsigned)b[0] << 16 | (got > 1 ? (unsigned)b[1] << 8 : 0) | (got > 2 ? b[2] : 0);
        fputc(b64[v >> 18 & 63], f);
        fputc(b64[v >> 12 & 63], f);
        fputc(got > 1 ? b64[v >> 6 & 63] : '=', f);
        fputc(got > 2 ? b64[v & 63] : '=', f);
    }
    int bad = ferror(in);
    fclose(in);
    if (bad) {
        if (err)
            snprintf(err, errlen, "read(%s): Input/output error", im->path);
        return -EIO;
    }
    fputs("\"><figcaption>", f);
    esc(f, im->caption ? im->caption : im->path);
    fputs("</figcaption></figure>\n", f);
    return 0;
}

static const char style[] =
    "body{font-family:sans-serif;margin:2em;color:#111;max-width:1400px}"
    "table{border-collapse:collapse;margin:0.5em 0}th,td{padding:2px 8px;text-align:left;"
    "border-bottom:1px solid #ddd;font-size:13px}table.grid th{background:#eef}"
    ".wide{overflow-x:auto}pre{background:#f4f4f4;padding:0.6em;white-space:pre-wrap}"
    "li.held{color:#060}li.broken{color:#b00}li.null{color:#555}"
    "img{max-width:100%;border:1px solid #ccc}figure{margin:1em 0}";

static void page(FILE *f, const cJSON *body, const char *title, const char *replay)
{
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    esc(f, title);
    fprintf(f, "</title>\n<style>%s</style></head><body>\n<h1>", style);
    esc(f, title);
    fputs("</h1>\n", f);
    if (replay) {
        fputs("<h2>Replay</h2>\n<pre>", f);
        esc(f, replay);
        fputs("</pre>\n<p>Built from the result's fields: what it does not record (a time "
              "budget, <code>--seconds</code>, <code>--cuts</code>, <code>--dir</code>) takes its "
              "default.</p>\n", f);
    }
    fputs("<h2>Settings and environment</h2>\n<table>\n", f);
    settings_rows(f, body, NULL);
    fputs("</table>\n", f);
    int n = 0;
    verdicts(f, body, &n);
    if (n)
        fputs("</ul>\n", f);
    const cJSON *v;
    cJSON_ArrayForEach(v, body) {
        if (cJSON_IsArray(v) && cJSON_IsObject(cJSON_GetArrayItem(v, 0)))
            table(f, v);
    }
}

int view_html_write(const char *out_path, const cJSON *body, const char *title, const char *replay,
                    const struct view_image *images, size_t n, char *err, size_t errlen)
{
    FILE *f = fopen(out_path, "we");
    if (!f) {
        int rc = -errno;
        if (err)
            snprintf(err, errlen, "open(%s): %s", out_path, strerror(-rc));
        return rc;
    }
    page(f, body, title, replay);
    int rc = 0;
    if (n)
        fputs("<h2>Timelines</h2>\n", f);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = inline_image(f, &images[i], err, errlen);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0 && rc == 0) {
        rc = -errno;
        if (err)
            snprintf(err, errlen, "write(%s): %s", out_path, strerror(-rc));
    }
    if (rc)
        unlink(out_path);
    return rc;
}
