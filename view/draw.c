/* DESIGN: the timeline on a cairo surface.
 *
 * Top to bottom: the title and the run's settings; one lane per writer
 * thread, file or guest; the loss window as a red double arrow with its
 * length; the time axis (ms from the start of the trial); the legend and
 * the notes.  The power cut is a red line through every lane, the loss
 * window a faint red band behind them, so that a reader can point at it
 * even where it is a few pixels wide, and its length is printed.  One
 * drawing function serves PNG (an image surface) and SVG (cairo's SVG
 * surface); text uses cairo's simple font API with DejaVu Sans, which
 * fontconfig substitutes when missing.
 */
#include "view/internal.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define LEFT 170.0
#define RIGHT 40.0
#define WIDTH (LEFT + VIEW_COLUMNS + RIGHT)

struct layout {
    double settings_y, plot_y, lane_h, plot_h, arrow_y, axis_y, legend_y, notes_y, height;
};

static struct layout layout_for(const struct view_timeline *tl)
{
    struct layout g;
    int rows = (tl->nsettings + 1) / 2;
    g.settings_y = 46;
    g.plot_y = g.settings_y + rows * 16 + 22;
    g.lane_h = tl->nlanes <= 8 ? 60 : tl->nlanes <= 24 ? 480.0 / tl->nlanes : 20;
    g.plot_h = (tl->nlanes ? tl->nlanes : 1) * g.lane_h;
    g.arrow_y = g.plot_y + g.plot_h + 18;
    g.axis_y = g.arrow_y + 22;
    g.legend_y = g.axis_y + 60;
    g.notes_y = g.legend_y + 4 * 18 + 8;
    g.height = g.notes_y + (tl->notes[0] ? 22 : 4);
    return g;
}

static double xof(const struct view_timeline *tl, uint64_t ns)
{
    if (ns < tl->t0)
        ns = tl->t0;
    if (ns > tl->t1)
        ns = tl->t1;
    return LEFT + (double)(ns - tl->t0) / (double)(tl->t1 - tl->t0) * VIEW_COLUMNS;
}

static void text(cairo_t *cr, double x, double y, double size, int bold, const char *s)
{
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, s);
}

static double text_width(cairo_t *cr, double size, const char *s)
{
    cairo_text_extents_t e;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

static void header(cairo_t *cr, const struct view_timeline *tl, const struct layout *g)
{
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, 12, 26, 17, 1, tl->title);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    for (int i = 0; i < tl->nsettings; i++)
        text(cr, 12 + (i % 2) * (WIDTH / 2), g->settings_y + (i / 2) * 16, 12, 0, tl->settings[i]);
}

/* The marks of one lane: each kind in its row, a tick a column. */
static void lane_marks(cairo_t *cr, const struct view_timeline *tl, const struct view_lane *l,
                       double top, double h)
{
    static const double row_top[3] = { 0.06, 0.36, 0.66 }, row_h = 0.30;
    for (int k = 0; k < VIEW_SPANS; k++) {
        const struct view_style *s = &view_span_style[k];
        for (int c = 0; c < VIEW_COLUMNS; c++) {
            if (l->cover[k][c] <= 0)
                continue;
            double a = l->cover[k][c] >= 1 ? 1 : 0.45 + 0.55 * l->cover[k][c];
            cairo_set_source_rgba(cr, s->r, s->g, s->b, a);
            cairo_rectangle(cr, LEFT + c, top + h * row_top[0], 1, h * row_h);
            cairo_fill(cr);
        }
    }
    for (int k = 0; k < VIEW_KINDS; k++) {
        const struct view_style *s = &view_kind_style[k];
        double base = top + h * (row_top[s->row] + row_h);
        cairo_set_source_rgb(cr, s->r, s->g, s->b);
        for (int c = 0; c < VIEW_COLUMNS; c++) {
            if (!l->count[k][c])
                continue;
            double d = view_density(tl, l->count[k][c]);
            if (k == VIEW_LOST && d < 0.8)
                d = 0.8;   /* a lost entry is never faint */
            double w = k == VIEW_LOST ? 2 : 1;
            cairo_rectangle(cr, LEFT + c - (w - 1) / 2, base - d * h * row_h, w, d * h * row_h);
        }
        cairo_fill(cr);
    }
}

static void lanes(cairo_t *cr, const struct view_timeline *tl, const struct layout *g)
{
    if (tl->have_window) {   /* behind everything: the window as a band */
        double a = xof(tl, tl->window_from), b = xof(tl, tl->window_to);
        cairo_set_source_rgba(cr, 0.95, 0.2, 0.2, 0.10);
        cairo_rectangle(cr, a - 1, g->plot_y, b - a + 2, g->plot_h);
        cairo_fill(cr);
    }
    double fs = g->lane_h < 24 ? 10 : 12;
    for (int i = 0; i < tl->nlanes; i++) {
        double top = g->plot_y + i * g->lane_h;
        cairo_set_source_rgba(cr, 0.5, 0.5, 0.5, 0.35);
        cairo_rectangle(cr, LEFT, top + g->lane_h - 0.5, VIEW_COLUMNS, 0.5);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        const char *name = tl->lanes[i]->name;
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        text(cr, LEFT - 8 - text_width(cr, fs, name), top + g->lane_h / 2 + fs / 3, fs, 0, name);
        lane_marks(cr, tl, tl->lanes[i], top, g->lane_h);
    }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, LEFT - 0.5, g->plot_y - 0.5, VIEW_COLUMNS + 1, g->plot_h + 1);
    cairo_stroke(cr);
}

static void instants(cairo_t *cr, const struct view_timeline *tl, const struct layout *g)
{
    static const double dash[] = { 3, 3 };
    double kill_x = tl->have_kill ? xof(tl, tl->kill_ns) : -1000;
    cairo_set_line_width(cr, 1);
    for (int i = 0; i < tl->ninstants; i++) {
        double x = floor(xof(tl, tl->instants[i].ns)) + 0.5;
        cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
        cairo_set_dash(cr, dash, 2, 0);
        cairo_move_to(cr, x, g->plot_y);
        cairo_line_to(cr, x, g->plot_y + g->plot_h);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        /* Inside the plot, staggered; left of the line near the right edge
         * or the power cut, so that no label runs over another. */
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        double w = text_width(cr, 10, tl->instants[i].label);
        double lx = x + 3 + w > LEFT + VIEW_COLUMNS || (kill_x > x && kill_x - x < w + 8) ? x - 3 - w : x + 3;
        double ly = g->plot_y + 11 + (i % 3) * 11;
        cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
        cairo_rectangle(cr, lx - 1, ly - 9, w + 2, 11);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        text(cr, lx, ly, 10, 0, tl->instants[i].label);
    }
    if (!tl->have_kill)
        return;
    double x = xof(tl, tl->kill_ns);
    cairo_set_source_rgb(cr, 0.85, 0, 0);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, x, g->plot_y - 6);
    cairo_line_to(cr, x, g->arrow_y + 6);
    cairo_stroke(cr);
    const char *label = "power cut";
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    double w = text_width(cr, 12, label);
    text(cr, x + 4 + w > LEFT + VIEW_COLUMNS ? x - 4 - w : x + 4, g->plot_y - 6, 12, 1, label);
}

static void arrow_head(cairo_t *cr, double x, double y, double dir)
{
    cairo_move_to(cr, x, y);
    cairo_line_to(cr, x - dir * 7, y - 4);
    cairo_line_to(cr, x - dir * 7, y + 4);
    cairo_close_path(cr);
    cairo_fill(cr);
}

static void format_ms(char *out, size_t n, double ms)
{
    if (ms >= 100)
        snprintf(out, n, "%.0f ms", ms);
    else if (ms >= 1)
        snprintf(out, n, "%.2f ms", ms);
    else
        snprintf(out, n, "%.3f ms", ms);
}

static void window_arrow(cairo_t *cr, const struct view_timeline *tl, const struct layout *g)
{
    if (!tl->have_window)
        return;
    double a = xof(tl, tl->window_from), b = xof(tl, tl->window_to), y = g->arrow_y;
    char len[32], label[80];
    format_ms(len, sizeof len, (double)(tl->window_to - tl->window_from) / 1e6);
    snprintf(label, sizeof label, "loss window %s", len);
    cairo_set_source_rgb(cr, 0.85, 0, 0);
    cairo_set_line_width(cr, 2);
    if (b - a >= 16) {
        cairo_move_to(cr, a + 6, y);
        cairo_line_to(cr, b - 6, y);
        cairo_stroke(cr);
        arrow_head(cr, a, y, -1);
        arrow_head(cr, b, y, 1);
    } else {   /* too narrow for two heads: point at it from the left */
        cairo_move_to(cr, a - 26, y);
        cairo_line_to(cr, a - 6, y);
        cairo_stroke(cr);
        arrow_head(cr, a, y, 1);
        cairo_rectangle(cr, a, y - 5, b - a > 1 ? b - a : 1, 10);
        cairo_fill(cr);
    }
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    double w = text_width(cr, 13, label);
    double x = b - a >= w + 20 ? (a + b - w) / 2 : a - 30 - w;
    if (x < 4)
        x = b + 10;
    text(cr, x, y - 6, 13, 1, label);
}

/* 1, 2 or 5 times a power of ten: about eight ticks over span_ms. */
static double tick_step(double span_ms)
{
    double raw = span_ms / 8, p = pow(10, floor(log10(raw)));
    return raw / p < 1.5 ? p : raw / p < 3.5 ? 2 * p : raw / p < 7.5 ? 5 * p : 10 * p;
}

static void axis(cairo_t *cr, const struct view_timeline *tl, const struct layout *g)
{
    double span = (double)(tl->t1 - tl->t0) / 1e6, step = tick_step(span);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, LEFT, g->axis_y + 0.5);
    cairo_line_to(cr, LEFT + VIEW_COLUMNS, g->axis_y + 0.5);
    cairo_stroke(cr);
    for (double t = 0; t <= span + step / 1e6; t += step) {
        double x = floor(LEFT + t / span * VIEW_COLUMNS) + 0.5;
        cairo_move_to(cr, x, g->axis_y);
        cairo_line_to(cr, x, g->axis_y + 5);
        cairo_stroke(cr);
        char s[32];
        snprintf(s, sizeof s, step < 1 ? "%.2f" : "%.0f", t);
        text(cr, x - text_width(cr, 11, s) / 2, g->axis_y + 18, 11, 0, s);
    }
    text(cr, LEFT, g->axis_y + 34, 12, 0,
         "ms from the start of the trial (tick height: marks in one pixel column, log scale)");
}

static void legend_item(cairo_t *cr, double x, double y, const struct view_style *s, int bar,
                        const char *label)
{
    cairo_set_source_rgb(cr, s->r, s->g, s->b);
    if (bar)
        cairo_rectangle(cr, x, y - 9, 18, 9);
    else
        cairo_rectangle(cr, x + 7, y - 11, 3, 12);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, x + 24, y, 12, 0, label);
}

static void legend(cairo_t *cr, const struct view_timeline *tl, const struct layout *g)
{
    int n = 0;
    char label[160];
    for (int k = 0; k < VIEW_SPANS; k++) {
        if (!tl->spans[k])
            continue;
        snprintf(label, sizeof label, "%s (%llu)", view_span_style[k].label,
                 (unsigned long long)tl->spans[k]);
        legend_item(cr, 12 + (n % 3) * (WIDTH / 3), g->legend_y + (n / 3) * 18,
                    &view_span_style[k], 1, label);
        n++;
    }
    for (int k = 0; k < VIEW_KINDS; k++) {
        if (!tl->total[k] && k != VIEW_LOST)
            continue;
        snprintf(label, sizeof label, "%s (%llu)", view_kind_style[k].label,
                 (unsigned long long)tl->total[k]);
        legend_item(cr, 12 + (n % 3) * (WIDTH / 3), g->legend_y + (n / 3) * 18,
                    &view_kind_style[k], 0, label);
        n++;
    }
    if (tl->notes[0]) {
        cairo_set_source_rgb(cr, 0.35, 0.1, 0.1);
        text(cr, 12, g->notes_y, 12, 0, tl->notes);
    }
}

/* The whole picture on cr. */
static void paint(cairo_t *cr, const struct view_timeline *tl, const struct layout *g)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    header(cr, tl, g);
    lanes(cr, tl, g);
    instants(cr, tl, g);
    window_arrow(cr, tl, g);
    axis(cr, tl, g);
    legend(cr, tl, g);
}

static int cairo_failed(cairo_status_t st, const char *call, const char *path, char *err,
                        size_t errlen)
{
    if (err)
        snprintf(err, errlen, "%s(%s): %s", call, path, cairo_status_to_string(st));
    return st == CAIRO_STATUS_WRITE_ERROR ? -EIO : st == CAIRO_STATUS_NO_MEMORY ? -ENOMEM : -EINVAL;
}

int view_draw(const struct view_timeline *tl, const char *path, int svg, char *err, size_t errlen)
{
    struct layout g = layout_for(tl);
    cairo_surface_t *s = svg ? cairo_svg_surface_create(path, WIDTH, g.height)
                             : cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)WIDTH,
                                                          (int)ceil(g.height));
    cairo_status_t st = cairo_surface_status(s);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return cairo_failed(st, svg ? "cairo_svg_surface_create" : "cairo_image_surface_create",
                            path, err, errlen);
    }
    cairo_t *cr = cairo_create(s);
    paint(cr, tl, &g);
    st = cairo_status(cr);
    cairo_destroy(cr);
    const char *call = "cairo_create";
    if (st == CAIRO_STATUS_SUCCESS && !svg) {
        call = "cairo_surface_write_to_png";
        st = cairo_surface_write_to_png(s, path);
    }
    cairo_surface_finish(s);
    if (st == CAIRO_STATUS_SUCCESS && svg) {
        call = "cairo_svg_surface_finish";
        st = cairo_surface_status(s);
    }
    cairo_surface_destroy(s);
    return st == CAIRO_STATUS_SUCCESS ? 0 : cairo_failed(st, call, path, err, errlen);
}
