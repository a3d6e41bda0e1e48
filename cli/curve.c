/* DESIGN: `fsynclab curve`: measure every point (bench/curve.c), write the
 * files and print the table and a terminal plot (report/), then render the
 * SVG and PNG; without gnuplot, say how to render them later. */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void show_progress(void *arg, size_t point, size_t points, const char *phase)
{
    struct cli_progress *p = arg;
    if (cli_progress_due(p))
        fprintf(stderr, "\r  point %zu/%zu: %s   ", point + 1, points, phase);
}

/* Measures the points and writes the files; 0 or the exit status. */
static int measure(const struct bench_curve_config *cfg, const struct bench_env *env,
                   const char *out_dir)
{
    size_t n = bench_curve_points(cfg);
    struct bench_curve_point *points = calloc(n, sizeof *points);
    if (!points) {
        fprintf(stderr, "fsynclab: out of memory\n");
        return CLI_EXIT_RUN;
    }
    char err[512] = "";
    struct cli_progress p = { .start_ns = wal_now_ns() };
    int rc = bench_curve_run(cfg, points, show_progress, &p, err, sizeof err);
    cli_progress_end(&p);
    if (rc == 0)
        rc = report_curve_write(out_dir, env, cfg, points, n, cli_meta(), err, sizeof err);
    if (rc == 0)
        report_print_curve_table(stdout, cfg, points, n);
    free(points);
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err[0] ? err : strerror(-rc));
        return CLI_EXIT_RUN;
    }
    return 0;
}

/* The terminal plot, then the SVG and PNG. */
static int plot(const char *out_dir)
{
    char err[512] = "";
    int rc = report_curve_plot_text(out_dir, stdout, err, sizeof err);
    if (rc == 0)
        rc = report_curve_render(out_dir, err, sizeof err);
    if (rc == -ENOENT) {
        printf("wrote %s/curve.csv, curve.json and curve.gp; gnuplot is not installed, so no plot.\n"
               "To render: sudo apt-get install gnuplot-nox && (cd %s && gnuplot -e \"set terminal "
               "pngcairo size 960,640; set output 'curve.png'\" curve.gp)\n", out_dir, out_dir);
        return cli_flush();
    }
    if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err);
        return CLI_EXIT_RUN;
    }
    printf("wrote %s/curve.csv, curve.json, curve.gp, curve.svg and curve.png\n", out_dir);
    return cli_flush();
}

int cli_curve(int argc, char **argv)
{
    char default_intervals[] = BENCH_CURVE_DEFAULT_INTERVALS;
    struct cli o = { .entries = 50000, .entry_size = BENCH_DEFAULT_ENTRY_SIZE,
                     .sync_method = WAL_SYNC_FSYNC, .writers = 1, .trials = 10,
                     .out = "curve", .intervals = default_intervals };
    int rc = cli_parse(argc, argv, "curve", CLI_TAKES_CURVE, REPORT_ENTRIES, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.model_name && crashsim_model_parse(o.model_name, &o.model) < 0)
        return cli_usage_error("--model %s does not apply to curve (crash trials of fsynclab's own log): "
                               "it takes " CRASHSIM_MODELS, o.model_name);
    struct bench_curve_config cfg = { .entries = o.entries, .crash_entries = 1000,
                                      .trials = o.trials, .model = o.model, .seed = o.seed,
                                      .entry_size = o.entry_size, .sync_method = o.sync_method,
                                      .writers = o.writers, .prealloc = o.prealloc,
                                      .repeat = o.repeat };
    if ((rc = cli_parse_intervals(o.intervals, &cfg)))
        return rc;
    struct bench_env env;
    if ((rc = cli_probe_data_dir(o.dir, &cfg.dir, &env)))
        return rc;
    char err[512] = "";
    if (report_curve_prepare(o.out, err, sizeof err) < 0) {
        fprintf(stderr, "fsynclab: curve: %s\n", err);
        return CLI_EXIT_RUN;
    }
    report_print_curve_header(stdout, &env, &cfg);
    fflush(stdout);
    if ((rc = measure(&cfg, &env, o.out)))
        return rc;
    return plot(o.out);
}
