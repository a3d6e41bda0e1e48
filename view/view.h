/* view: pictures and pages for people.  The timeline of one crash trial,
 * drawn with cairo into a PNG or an SVG, and the self-contained HTML report.
 *
 * DESIGN.  A timeline is filled by streaming: the caller names its lanes,
 * then hands over every event (a mark at an instant, a span from one
 * instant to another) in any order; each is counted at once into its
 * lane's pixel column, so memory is lanes x kinds x columns, whatever the
 * number of events, and a column holding many marks is drawn as density
 * (a taller tick) instead of overlapping ticks.  view/ includes no other
 * fsynclab folder: the runners' adapters (cli/timeline.c) translate their
 * ledgers into lanes and marks.  docs/design.md says why cairo.
 *
 * Functions that can fail return 0 or a negative errno and name the
 * failing call in err.
 */
#ifndef FSYNCLAB_VIEW_H
#define FSYNCLAB_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* What a mark shows; each kind has its colour and its row in a lane. */
enum view_kind {
    VIEW_WRITE = 0,   /* a write reached the file, no completed sync covered it */
    VIEW_COVERED,     /* a write a completed sync covered before the cut */
    VIEW_FILE_WRITE,  /* a write, truncate or fallocate the recorder saw (target) */
    VIEW_CREATE,      /* a file was created (target) */
    VIEW_RENAME,      /* a rename (target) */
    VIEW_UNLINK,      /* an unlink (target) */
    VIEW_FLUSH,       /* a cache flush the virtual disk received (VM) */
    VIEW_ACK,         /* an acknowledgement that survived, or was never at risk */
    VIEW_LOST,        /* an acknowledged entry the image did not have */
    VIEW_KINDS
};

enum view_span {
    VIEW_SYNC = 0,      /* a sync from its call to its return */
    VIEW_SYNC_FAILED,   /* a sync that returned an error */
    VIEW_SYNC_OPEN,     /* a sync still in flight at the cut */
    VIEW_SPANS
};

#define VIEW_MAX_LANES 300
#define VIEW_MAX_INSTANTS 16
#define VIEW_MAX_SETTINGS 12

struct view_timeline;

/* A timeline of [t0_ns, t1_ns] (t1 > t0, any clock in ns). */
int view_timeline_new(uint64_t t0_ns, uint64_t t1_ns, struct view_timeline **out);
void view_timeline_free(struct view_timeline *tl);
/* The picture's title, and one "name value" settings line at a time (up to
 * VIEW_MAX_SETTINGS; more are dropped).  Strings are copied. */
void view_title(struct view_timeline *tl, const char *title);
void view_setting(struct view_timeline *tl, const char *line);
/* Adds a lane at the bottom; its index, or -ENOSPC past VIEW_MAX_LANES. */
int view_lane(struct view_timeline *tl, const char *name);
/* Events outside [t0, t1] are counted as outside and not drawn. */
void view_mark(struct view_timeline *tl, int lane, enum view_kind kind, uint64_t ns);
void view_span(struct view_timeline *tl, int lane, enum view_span kind, uint64_t begin_ns,
               uint64_t end_ns);
/* The power cut, drawn across every lane. */
void view_kill(struct view_timeline *tl, uint64_t ns);
/* An earlier instant an image was cut at (target), dotted across every lane. */
void view_instant(struct view_timeline *tl, uint64_t ns, const char *label);
/* The loss window: from the oldest lost acknowledgement to the cut. */
void view_window(struct view_timeline *tl, uint64_t from_ns, uint64_t to_ns);
/* A line under the picture: what was not seen, what was cut short. */
void view_note(struct view_timeline *tl, const char *note);
/* Marks of a kind drawn so far (tests, the legend). */
uint64_t view_count(const struct view_timeline *tl, enum view_kind kind);

/* Draws into path: PNG for .png, SVG for .svg (case does not matter). */
int view_timeline_draw(const struct view_timeline *tl, const char *path, char *err, size_t errlen);
/* 1 when path names a file view_timeline_draw can write (.png or .svg). */
int view_timeline_format_ok(const char *path);

/* ---- the HTML report -------------------------------------------------------
 * One page with nothing fetched from elsewhere: no script, no font, no
 * style sheet but its own; images inlined as data: URIs.  body is a
 * result as --json prints it; title heads the page; replay is the command
 * that runs it again (may be NULL); images (PNG or SVG files, n of them,
 * with a caption each) are read and inlined. */
struct view_image {
    const char *path;
    const char *caption;
};
int view_html_write(const char *out_path, const cJSON *body, const char *title, const char *replay,
                    const struct view_image *images, size_t n, char *err, size_t errlen);

#endif
