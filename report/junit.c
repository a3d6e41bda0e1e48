/* DESIGN: JUnit XML, the test report GitLab, GitHub Actions' reporters and
 * Jenkins read: one <testsuite> a run, one <testcase> a strategy or a
 * target's settings and model.  A broken promise is a <failure> whose
 * message is one line and whose text holds the figures and the command
 * that replays it; a verdict no trial could have contradicted (held null)
 * is <skipped> with the reason, so that it never shows as a pass.  Written
 * to FILE.tmp and renamed, so that a reader never finds half a report. */
#include "powerloss/powerloss.h"
#include "report/report.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* XML 1.0 text or attribute: the five entities; control bytes other than
 * tab and newline are not allowed in XML at all and become '?'. */
static void xml_put(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(c < 0x20 && c != '\n' && c != '\t' ? '?' : c, f); break;
        }
    }
}

static void write_case(FILE *f, const struct report_junit_case *c)
{
    fputs("  <testcase classname=\"", f);
    xml_put(f, c->classname);
    fputs("\" name=\"", f);
    xml_put(f, c->name);
    fprintf(f, "\" time=\"%.3f\"", c->seconds);
    if (!c->failed && !c->skipped) {
        fputs("/>\n", f);
        return;
    }
    fputs(">\n    <", f);
    fputs(c->failed ? "failure type=\"broken_promise\" message=\"" : "skipped message=\"", f);
    xml_put(f, c->message);
    if (c->failed) {
        fputs("\">", f);
        xml_put(f, c->text);
        fputs("</failure>\n", f);
    } else {
        fputs("\"/>\n", f);
    }
    fputs("  </testcase>\n", f);
}

int report_junit_write(const char *path, const char *suite, const struct report_junit_case *cases,
                       size_t n, double seconds, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        (void)PL_ERR(err, errlen, 0, "--junit %s: name too long", path);
        return -ENAMETOOLONG;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int rc = -errno;
        (void)PL_ERR(err, errlen, 0, "fopen(%s): %s", tmp, strerror(-rc));
        return rc;
    }
    size_t failures = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        failures += cases[i].failed != 0;
        skipped += !cases[i].failed && cases[i].skipped;
    }
    char stamp[32] = "", host[256] = "localhost";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"", f);
    xml_put(f, suite);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\" "
            "timestamp=\"%s\" hostname=\"", n, failures, skipped, seconds, stamp);
    xml_put(f, host);
    fputs("\">\n", f);
    for (size_t i = 0; i < n; i++)
        write_case(f, &cases[i]);
    fputs("</testsuite>\n</testsuites>\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        int rc = errno ? -errno : -EIO;
        (void)PL_ERR(err, errlen, 0, "write(%s): %s", tmp, strerror(-rc));
        unlink(tmp);
        return rc;
    }
    if (rename(tmp, path) != 0) {
        int rc = -errno;
        (void)PL_ERR(err, errlen, 0, "rename(%s, %s): %s", tmp, path, strerror(-rc));
        unlink(tmp);
        return rc;
    }
    return 0;
}
