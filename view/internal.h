/* view/internal.h: what the files of view/ share and nobody else uses.
 *   timeline.c  filling a timeline (the pixel-column counters)
 *   draw.c      drawing it with cairo
 *   html.c      the HTML report
 */
#ifndef FSYNCLAB_VIEW_INTERNAL_H
#define FSYNCLAB_VIEW_INTERNAL_H

#include "view/view.h"

/* The plot's width in pixels: one counter per column. */
#define VIEW_COLUMNS 1100

struct view_lane {
    char name[48];
    uint32_t count[VIEW_KINDS][VIEW_COLUMNS];
    float cover[VIEW_SPANS][VIEW_COLUMNS];   /* columns' worth of span in each */
};

struct view_timeline {
    uint64_t t0, t1;
    char title[160];
    char settings[VIEW_MAX_SETTINGS][120];
    int nsettings;
    char notes[512];
    struct view_lane *lanes[VIEW_MAX_LANES];
    int nlanes;
    uint32_t max_count;
    uint64_t total[VIEW_KINDS];
    uint64_t spans[VIEW_SPANS];
    uint64_t outside;
    uint64_t kill_ns;
    int have_kill;
    struct {
        uint64_t ns;
        char label[32];
    } instants[VIEW_MAX_INSTANTS];
    int ninstants;
    uint64_t window_from, window_to;
    int have_window;
};

struct view_style {
    const char *label;
    double r, g, b;
    int row;   /* 0 syncs, 1 the file, 2 acknowledgements */
};
extern const struct view_style view_kind_style[VIEW_KINDS];
extern const struct view_style view_span_style[VIEW_SPANS];

double view_density(const struct view_timeline *tl, uint32_t count);
/* draw.c: svg 1 for SVG, else PNG. */
int view_draw(const struct view_timeline *tl, const char *path, int svg, char *err, size_t errlen);

#endif
