/* make bench: how long a timeline of N acknowledgements (default 100,000)
 * takes to fill and to draw, PNG and SVG, on synthetic events shaped like a
 * batch_10ms trial: one write and one ack per entry over two seconds, a
 * sync every 10 ms, the last 2% lost.  Prints one line per format; the
 * figures go in docs/performance.md.  Usage: timeline_draw DIR [N] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "view/view.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int one(const char *path, unsigned long n)
{
    double t0 = now_ms();
    const unsigned long long span = 2000000000ull, kill = span - span / 40;
    struct view_timeline *tl;
    if (view_timeline_new(0, span, &tl) < 0)
        return 1;
    view_title(tl, "timeline_draw: synthetic batch_10ms trial");
    view_setting(tl, "synthetic events");
    int file = view_lane(tl, "the log file: writes"), w = view_lane(tl, "writer thread 1");
    int fl = view_lane(tl, "the log's flusher");
    for (unsigned long i = 0; i < n; i++) {
        unsigned long long t = kill * i / n;
        int lost = t > kill - 20000000ull;
        view_mark(tl, file, lost ? VIEW_WRITE : VIEW_COVERED, t);
        view_mark(tl, w, lost ? VIEW_LOST : VIEW_ACK, t + 1000);
    }
    for (unsigned long long t = 0; t < kill; t += 10000000ull)
        view_span(tl, fl, VIEW_SYNC, t, t + 1500000ull);
    view_kill(tl, kill);
    view_window(tl, kill - 20000000ull, kill);
    double t1 = now_ms();
    char err[256];
    if (view_timeline_draw(tl, path, err, sizeof err) < 0) {
        fprintf(stderr, "timeline_draw: %s\n", err);
        return 1;
    }
    double t2 = now_ms();
    printf("timeline of %lu acknowledgements: filled in %.1f ms, %s drawn in %.1f ms, total %.1f ms\n",
           n, t1 - t0, path, t2 - t1, t2 - t0);
    view_timeline_free(tl);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: timeline_draw DIR [N]\n");
        return 2;
    }
    unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    char png[4096], svg[4096];
    snprintf(png, sizeof png, "%s/timeline-bench.png", argv[1]);
    snprintf(svg, sizeof svg, "%s/timeline-bench.svg", argv[1]);
    /* The first drawing pays for fontconfig's start-up: shown on its own. */
    return one(png, n) || one(png, n) || one(svg, n);
}
