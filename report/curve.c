/* DESIGN: the curve's files.  Plain files: CSV and JSON for tools (the
 * JSON through the one writer, report_json_print), and a gnuplot script with
 * the data inline, so that the plot renders again without fsynclab.
 * gnuplot runs as a separate program; where it is missing the script is
 * still written and the caller says how to render it. */
#include "report/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static FILE *open_out(const char *dir, const char *name, char *path, size_t len, char *err,
                      size_t errlen)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "we");
    if (!f)
        snprintf(err, errlen, "fopen(%s): %s", path, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *path, char *err, size_t errlen)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        int e = errno ? errno : EIO;
        snprintf(err, errlen, "write(%s): %s", path, strerror(e));
        return -e;
    }
    return 0;
}

void report_curve_ops_interval(const struct bench_curve_point *p, double *low, double *high)
{
    *low = *high = (double)p->ops_per_sec;
    if (p->ops.n > 1) {
        *low = p->ops.ci_low;
        *high = p->ops.ci_high;
    }
}

void report_curve_window_spread(const struct bench_curve_point *p, double *p10, double *p90)
{
    *p10 = (double)hist_quantile(&p->crash.loss_window_ns, 0.1) / 1e6;
    *p90 = (double)hist_quantile(&p->crash.loss_window_ns, 0.9) / 1e6;
}

int report_curve_has_window(const struct bench_curve_point *p)
{
    return p->crash.trials_valid > 0;
}

/* "%.3f" of v, or "" for a point without a valid trial: missing, not 0. */
static const char *csv_ms(char *buf, size_t len, int present, double v)
{
    if (present)
        snprintf(buf, len, "%.3f", v);
    else
        buf[0] = '\0';
    return buf;
}

/* The columns after crash_entries are the intervals: new ones go last so
 * that a reader of the older columns by position still reads them.  A
 * point without a valid crash trial leaves its loss columns empty. */
static void write_csv(FILE *f, const struct bench_curve_point *p, size_t n)
{
    fprintf(f, "strategy,interval_ms,ops_per_sec,loss_window_ms_max,loss_window_ms_p50,"
               "acked_lost_max,acked_lost_mean,trials,promised_window_ms,held,crash_entries,"
               "ops_per_sec_ci_low,ops_per_sec_ci_high,runs,loss_window_ms_p10,"
               "loss_window_ms_p90,trials_valid,allowance_ms\n");
    for (size_t i = 0; i < n; i++) {
        char name[32], interval[16] = "", promised[24] = "", allowance[24] = "";
        char wmax[24], wp50[24], lost[24] = "", mean[24], p10s[24], p90s[24];
        double lo, hi, p10, p90;
        int has = report_curve_has_window(&p[i]);
        report_curve_ops_interval(&p[i], &lo, &hi);
        report_curve_window_spread(&p[i], &p10, &p90);
        wal_strategy_name(&p[i].strategy, name, sizeof name);
        if (p[i].strategy.kind != WAL_NONE)
            snprintf(interval, sizeof interval, "%u", p[i].strategy.interval_ms);
        if (p[i].crash.promised_window_ms >= 0)
            snprintf(promised, sizeof promised, "%" PRId64, p[i].crash.promised_window_ms);
        if (p[i].crash.promised_window_ms >= 0)
            snprintf(allowance, sizeof allowance, "%.3f", (double)p[i].crash.allowance_ns / 1e6);
        if (has)
            snprintf(lost, sizeof lost, "%" PRIu64, p[i].crash.acked_lost_max);
        fprintf(f, "%s,%s,%" PRIu64 ",%s,%s,%s,%s,%u,%s,%s,%" PRIu64 ",%.0f,%.0f,%zu,%s,%s,%u,%s\n",
                name, interval, p[i].ops_per_sec,
                csv_ms(wmax, sizeof wmax, has, verifier_summary_window_ms_max(&p[i].crash)),
                csv_ms(wp50, sizeof wp50, has, verifier_summary_window_ms_p50(&p[i].crash)), lost,
                csv_ms(mean, sizeof mean, has, verifier_summary_acked_lost_mean(&p[i].crash)),
                p[i].crash.trials, promised,
                p[i].crash.held == VERIFIER_HELD_NULL ? ""
                : p[i].crash.held == VERIFIER_HELD_TRUE ? "true" : "false",
                p[i].crash_entries, lo, hi, p[i].ops.n ? p[i].ops.n : 1,
                csv_ms(p10s, sizeof p10s, has, p10), csv_ms(p90s, sizeof p90s, has, p90),
                p[i].crash.trials_valid, allowance);
    }
}

static int add_or_null(cJSON *o, const char *key, int present, double v)
{
    return present ? cJSON_AddNumberToObject(o, key, v) != NULL
                   : cJSON_AddNullToObject(o, key) != NULL;
}

static int add_ms(cJSON *o, const char *key, double ms)
{
    if (isnan(ms))   /* not measured: no valid crash trial */
        return cJSON_AddNullToObject(o, key) != NULL;
    cJSON *f = report_json_float(round(ms * 1e3) / 1e3);
    if (f && cJSON_AddItemToObject(o, key, f))
        return 1;
    cJSON_Delete(f);
    return 0;
}

static cJSON *number_list(const double *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *x = cJSON_CreateNumber(v[i]);
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static int add_list(cJSON *o, const char *key, const double *v, size_t n)
{
    cJSON *a = number_list(v, n);
    if (a && cJSON_AddItemToObject(o, key, a))
        return 1;
    cJSON_Delete(a);
    return 0;
}

/* Every run, the median's interval, the window's p10-p90: after the older
 * keys, so that they keep their places. */
static int add_intervals(cJSON *o, const struct bench_curve_point *p)
{
    double runs[BENCH_MAX_REPEAT], ci[2], spread[2];
    size_t n = p->ops.n ? p->ops.n : 1;
    for (size_t k = 0; k < n; k++)
        runs[k] = p->ops.n ? (double)p->run_ops_per_sec[k] : (double)p->ops_per_sec;
    report_curve_ops_interval(p, &ci[0], &ci[1]);
    ci[0] = round(ci[0]);
    ci[1] = round(ci[1]);
    report_curve_window_spread(p, &spread[0], &spread[1]);
    if (!report_curve_has_window(p))
        spread[0] = spread[1] = NAN;
    return add_list(o, "ops_per_sec_runs", runs, n) && add_list(o, "ops_per_sec_ci95", ci, 2) &&
           add_ms(o, "ops_per_sec_ci_coverage", p->ops.n > 1 ? p->ops.ci_coverage : 0) &&
           add_ms(o, "loss_window_ms_p10", spread[0]) && add_ms(o, "loss_window_ms_p90", spread[1]);
}

static cJSON *point_object(const struct bench_curve_point *p)
{
    char name[32];
    const struct verifier_summary *c = &p->crash;
    /* Without a valid trial nothing was seen: null, never 0. */
    double none = report_curve_has_window(p) ? 0 : NAN;
    cJSON *o = cJSON_CreateObject();
    int ok = o &&
        cJSON_AddStringToObject(o, "strategy", wal_strategy_name(&p->strategy, name, sizeof name)) &&
        add_or_null(o, "interval_ms", p->strategy.kind != WAL_NONE, p->strategy.interval_ms) &&
        cJSON_AddNumberToObject(o, "ops_per_sec", (double)p->ops_per_sec) &&
        add_ms(o, "loss_window_ms_max", verifier_summary_window_ms_max(c) + none) &&
        add_ms(o, "loss_window_ms_p50", verifier_summary_window_ms_p50(c) + none) &&
        add_or_null(o, "acked_lost_max", report_curve_has_window(p), (double)c->acked_lost_max) &&
        add_ms(o, "acked_lost_mean", verifier_summary_acked_lost_mean(c) + none) &&
        cJSON_AddNumberToObject(o, "trials", c->trials) &&
        add_or_null(o, "promised_window_ms", c->promised_window_ms >= 0,
                    (double)c->promised_window_ms) &&
        (c->held == VERIFIER_HELD_NULL ? cJSON_AddNullToObject(o, "held") != NULL
                                       : cJSON_AddBoolToObject(o, "held",
                                                               c->held == VERIFIER_HELD_TRUE) != NULL) &&
        cJSON_AddNumberToObject(o, "crash_entries", (double)p->crash_entries) &&
        add_intervals(o, p) &&
        cJSON_AddNumberToObject(o, "trials_valid", c->trials_valid) &&
        (c->promised_window_ms < 0 ? cJSON_AddNullToObject(o, "allowance_ms") != NULL
                                   : add_ms(o, "allowance_ms", (double)c->allowance_ns / 1e6));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* {"points": [...], "model", "seed", "entry_size", "sync_method", "fs_type",
 * "device", "warning"}, printed by the one JSON writer. */
static char *curve_json(const struct bench_env *env, const struct bench_curve_config *cfg,
                        const struct bench_curve_point *p, size_t n,
                        const struct report_meta *meta)
{
    cJSON *root = cJSON_CreateObject(), *list = cJSON_CreateArray();
    int ok = root && list && cJSON_AddItemToObject(root, "points", list);
    if (!ok)
        cJSON_Delete(list);
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *o = point_object(&p[i]);
        ok = o && cJSON_AddItemToArray(list, o);
        if (!ok)
            cJSON_Delete(o);
    }
    ok = ok && cJSON_AddStringToObject(root, "model", pl_model_name(&cfg->model)) &&
         cJSON_AddNumberToObject(root, "seed", (double)cfg->seed) &&
         cJSON_AddNumberToObject(root, "entry_size", cfg->entry_size) &&
         cJSON_AddStringToObject(root, "sync_method", wal_sync_method_name(cfg->sync_method)) &&
         cJSON_AddStringToObject(root, "fs_type", env->fs_type) &&
         cJSON_AddStringToObject(root, "device", env->device) &&
         cJSON_AddStringToObject(root, "warning", env->warning) &&
         (!meta || report_add_meta(root, meta));
    char *text = ok ? report_json_print(root) : NULL;
    cJSON_Delete(root);
    return text;
}

static int seed_strategy(const struct wal_strategy *s)
{
    return s->kind != WAL_BATCH || s->interval_ms == 10;
}

/* The data block: one row a point; column 10 says whether the point has a
 * window at all (a valid crash trial), and the plot leaves it out if not. */
static void gp_data(FILE *f, const struct bench_curve_point *p, size_t n, double edge)
{
    fprintf(f, "# fsynclab curve: durability against throughput, measured on this machine.\n"
               "# Render: gnuplot -e \"set terminal pngcairo size 960,640; "
               "set output 'curve.png'\" curve.gp\n"
               "# columns: label, x = loss window max (ms; %g stands for 0), y = ops/sec (median),\n"
               "# seed strategy (1/0), strategy, y low, y high (the median's interval),\n"
               "# x low, x high (the window's p10 and p90 over the trials),\n"
               "# valid (1/0: 0 when no crash trial was valid, so no window; not drawn)\n"
               "$points << EOD\n", edge);
    for (size_t i = 0; i < n; i++) {
        char name[32], label[32];
        wal_strategy_name(&p[i].strategy, name, sizeof name);
        double w = verifier_summary_window_ms_max(&p[i].crash);
        /* batch points are labelled by interval alone: the legend names them */
        if (p[i].strategy.kind == WAL_BATCH)
            snprintf(label, sizeof label, "%u ms", p[i].strategy.interval_ms);
        else
            snprintf(label, sizeof label, "%s", name);
        double lo, hi, p10, p90;
        report_curve_ops_interval(&p[i], &lo, &hi);
        report_curve_window_spread(&p[i], &p10, &p90);
        fprintf(f, "\"%s\" %.6g %" PRIu64 " %d %s %.0f %.0f %.6g %.6g %d\n", label,
                w > 0 ? w : edge, p[i].ops_per_sec, seed_strategy(&p[i].strategy), name, lo, hi,
                p10 > edge ? p10 : edge, p90 > edge ? p90 : edge,   /* 0 and below: the edge */
                report_curve_has_window(&p[i]));
    }
    fprintf(f, "EOD\n\n");
}

/* The title's last line: the points left out, or "". */
static void gp_missing(const struct bench_curve_point *p, size_t n, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && at + 40 < len; i++) {
        char name[32];
        if (report_curve_has_window(&p[i]))
            continue;
        at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "\\nnot drawn (no valid crash trial): ",
                               wal_strategy_name(&p[i].strategy, name, sizeof name));
    }
}

static void write_gnuplot(FILE *f, const struct bench_env *env,
                          const struct bench_curve_config *cfg,
                          const struct bench_curve_point *p, size_t n)
{
    /* A log axis has no zero: a window of 0 (always) is drawn at the left
     * edge, a decade below the smallest window measured, and labelled 0. */
    double min_pos = 0, max_w = 0;
    for (size_t i = 0; i < n; i++) {
        double w = verifier_summary_window_ms_max(&p[i].crash);
        if (report_curve_has_window(&p[i]) && w > 0 && (min_pos == 0 || w < min_pos))
            min_pos = w;
        if (report_curve_has_window(&p[i]) && w > max_w)
            max_w = w;
    }
    double edge = min_pos > 0 ? min_pos / 10 : 0.01;
    max_w = max_w > edge ? max_w : edge;

    /* the bars' legend says what they cover, which 3 runs make 75%, not 95% */
    char bars[160], missing[256];
    size_t runs = n ? p[0].ops.n : 0;
    if (runs > 1)
        snprintf(bars, sizeof bars, "bars: ops/s, the median's interval (%.1f%% with %zu runs); "
                 "window, p10-p90 of the trials", 100 * p[0].ops.ci_coverage, runs);
    else
        snprintf(bars, sizeof bars, "bars: window, p10-p90 of the trials (one benchmark run)");
    gp_missing(p, n, missing, sizeof missing);

    gp_data(f, p, n, edge);
    fprintf(f, "set title \"fsynclab: durability vs throughput on %s%s%s\\n"
               "%u-byte entries, %s, %s model, max over %u crash trials per point%s%s%s\" noenhanced\n",
            env->fs_type, env->device[0] ? " " : "", env->device, cfg->entry_size,
            wal_sync_method_name(cfg->sync_method), pl_model_name(&cfg->model), cfg->trials,
            env->warning[0] ? "\\nWARNING: " : "", env->warning[0] ? env->warning : "", missing);
    fprintf(f, "set xlabel \"data-loss window: how far back acknowledged writes were lost (ms, log; measured)\"\n"
               "set ylabel \"acknowledged writes per second (log; measured)\"\n"
               "set logscale xy\n"
               "set grid\n"
               "set xrange [%g:%g]\n"
               "set offsets 0, 0, graph 0.15, graph 0.1\n"
               "set xtics add (\"0\" %g)\n"
               "set bars 1.5\n"
               "x(valid) = valid != 0 ? $2 : 1/0\n", edge / 1.5, max_w * 4, edge);
    /* fsynclab's terminal plot sets fsynclab_text: letters have no error bars
     * worth drawing, and a key inside the frame would cover the points. */
    fprintf(f, "if (exists(\"fsynclab_text\")) {\n"
               "  set key outside below left Left reverse samplen 1\n"
               "  plot $points using (x($10)):3 with lines notitle, \\\n"
               "       $points using (x($10)):($4 == 0 ? $3 : 1/0) with points pt \"o\" "
               "title \"batch_<N>ms, labelled by N\" noenhanced, \\\n"
               "       $points using (x($10)):($4 == 1 ? $3 : 1/0) with points pt \"#\" "
               "title \"the seed's three: always, batch_10ms, none\" noenhanced, \\\n"
               "       $points using (x($10)):3:1 with labels left offset 1,0 noenhanced notitle\n"
               "} else {\n"
               "  set key bottom right\n"
               "  plot $points using (x($10)):3 with lines lc rgb \"#999999\" notitle, \\\n"
               "       $points using (x($10)):3:8:9:6:7 with xyerrorbars pt -1 lw 1.5 lc rgb \"#222222\" "
               "title \"%s\" noenhanced, \\\n"
               "       $points using (x($10)):($4 == 0 ? $3 : 1/0) with points pt 7 ps 1.2 lc rgb \"#4477aa\" "
               "title \"batch_<N>ms, labelled by N\" noenhanced, \\\n"
               "       $points using (x($10)):($4 == 1 ? $3 : 1/0) with points pt 5 ps 1.8 lc rgb \"#cc3311\" "
               "title \"the seed's three: always, batch_10ms, none\" noenhanced, \\\n"
               "       $points using (x($10)):3:1 with labels left rotate by 40 offset 0.6,0.6 font \",9\" "
               "noenhanced notitle\n"
               "}\n", bars);
}

/* gnuplot strings are in single quotes: refuse a directory name that would
 * end one early rather than build a broken command. */
static int quotable(const char *dir, char *err, size_t errlen)
{
    if (strchr(dir, '\'')) {
        snprintf(err, errlen, "cannot render into %s: its name holds a quote", dir);
        return 0;
    }
    return 1;
}

int report_curve_renderable(const char *out_dir, char *err, size_t errlen)
{
    return quotable(out_dir, err, errlen) ? 0 : -EINVAL;
}

static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char path[WAL_PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            snprintf(err, errlen, "mkdir(%s): %s", path, strerror(e));
            return -e;
        }
        *p = c;
        if (c == '\0')
            return 0;
    }
}

int report_curve_prepare(const char *out_dir, char *err, size_t errlen)
{
    int rc = report_curve_renderable(out_dir, err, errlen);
    if (rc == 0 && (rc = make_dirs(out_dir, err, errlen)) < 0) {
        size_t len = strlen(err);
        snprintf(err + len, errlen - len, ": give --out a directory that can be written");
    }
    if (rc < 0)
        return rc;
    char probe[WAL_PATH_MAX];
    if (snprintf(probe, sizeof probe, "%s/.fsynclab-probe-XXXXXX", out_dir) >= (int)sizeof probe) {
        snprintf(err, errlen, "--out %s: the path is too long", out_dir);
        return -ENAMETOOLONG;
    }
    int fd = mkstemp(probe);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot write in %s (open: %s): give --out a directory that can be written",
                 out_dir, strerror(e));
        return -e;
    }
    close(fd);
    unlink(probe);
    return 0;
}

int report_curve_write(const char *out_dir, const struct bench_env *env,
                      const struct bench_curve_config *cfg, const struct bench_curve_point *points,
                      size_t n, const struct report_meta *meta, char *err, size_t errlen)
{
    int rc = make_dirs(out_dir, err, errlen);
    if (rc < 0)
        return rc;
    char path[WAL_PATH_MAX];
    FILE *f;
    if (!(f = open_out(out_dir, "curve.csv", path, sizeof path, err, errlen)))
        return -errno;
    write_csv(f, points, n);
    if ((rc = close_out(f, path, err, errlen)) < 0)
        return rc;
    char *json = curve_json(env, cfg, points, n, meta);
    if (!json) {
        snprintf(err, errlen, "curve.json: out of memory");
        return -ENOMEM;
    }
    f = open_out(out_dir, "curve.json", path, sizeof path, err, errlen);
    if (f)
        fprintf(f, "%s\n", json);
    free(json);
    if (!f)
        return -errno;
    if ((rc = close_out(f, path, err, errlen)) < 0)
        return rc;
    if (!(f = open_out(out_dir, "curve.gp", path, sizeof path, err, errlen)))
        return -errno;
    write_gnuplot(f, env, cfg, points, n);
    return close_out(f, path, err, errlen);
}

/* ---- gnuplot ----------------------------------------------------------------- */

/* The gnuplot to run: $FSYNCLAB_GNUPLOT (tests point it elsewhere), else
 * gnuplot on PATH.  NULL when there is none. */
static const char *find_gnuplot(char *buf, size_t len)
{
    const char *env = getenv("FSYNCLAB_GNUPLOT");
    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, len, "%.*s/gnuplot", (int)n, n ? path : ".");
        if (access(buf, X_OK) == 0)
            return buf;
        path += n + (path[n] == ':');
    }
    return NULL;
}

/* Runs gnuplot -e SETUP out_dir/curve.gp with stdout going to out_fd. */
static int run_gnuplot(const char *out_dir, const char *setup, int out_fd, char *err, size_t errlen)
{
    char exe[WAL_PATH_MAX], script[WAL_PATH_MAX];
    const char *gp = find_gnuplot(exe, sizeof exe);
    if (!gp) {
        snprintf(err, errlen, "gnuplot is not installed");
        return -ENOENT;
    }
    snprintf(script, sizeof script, "%s/curve.gp", out_dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -errno;
    }
    if (pid == 0) {
        if (out_fd != STDOUT_FILENO)
            dup2(out_fd, STDOUT_FILENO);
        execl(gp, "gnuplot", "-e", setup, script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errlen, "waitpid(gnuplot): %s", strerror(errno));
            return -errno;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "gnuplot %s failed (status %d)", script,
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return -EIO;
    }
    return 0;
}


int report_curve_render(const char *out_dir, char *err, size_t errlen)
{
    if (!quotable(out_dir, err, errlen))
        return -EINVAL;
    char setup[WAL_PATH_MAX + 128];
    snprintf(setup, sizeof setup, "set terminal svg size 960,640 dynamic; set output '%s/curve.svg'",
             out_dir);
    int rc = run_gnuplot(out_dir, setup, STDOUT_FILENO, err, errlen);
    if (rc < 0)
        return rc;
    snprintf(setup, sizeof setup, "set terminal pngcairo size 960,640; set output '%s/curve.png'",
             out_dir);
    return run_gnuplot(out_dir, setup, STDOUT_FILENO, err, errlen);
}

int report_curve_plot_text(const char *out_dir, FILE *out, char *err, size_t errlen)
{
    fflush(out);
    return run_gnuplot(out_dir, "fsynclab_text = 1; set terminal dumb size 110,32", fileno(out),
                       err, errlen);
}
