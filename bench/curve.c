/* DESIGN: the durability-throughput curve.
 *
 * Every point is measured twice on this machine: its throughput by the
 * benchmark runner, its data-loss window by crash trials.  A crash trial only
 * shows a batch interval if the writer runs through several of them before
 * the kill, so each batch point's trials append at least three intervals'
 * worth of entries at the rate the benchmark just measured (capped at a
 * million); `none` gets as long as the longest batch, so that its window (the
 * whole unsynced run) sits to the right of every batch point.
 *
 * The output is plain files: CSV and JSON for tools, and a gnuplot script
 * with the data inline, so that it renders again without fsynclab.  gnuplot
 * is run as a separate program; where it is missing the script is still
 * written and the caller says how to render it.
 */
#include "bench/bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CRASH_ENTRIES_CAP 1000000ull
#define POINT_BENCH_SECONDS 4.0
#define POINT_CRASH_SECONDS 60.0

size_t bench_curve_points(const struct bench_curve_config *cfg)
{
    return cfg->n_intervals + 2;
}

static struct wal_strategy point_strategy(const struct bench_curve_config *cfg, size_t i)
{
    if (i == 0)
        return (struct wal_strategy){ .kind = WAL_ALWAYS };
    if (i <= cfg->n_intervals)
        return (struct wal_strategy){ .kind = WAL_BATCH, .interval_ms = cfg->intervals[i - 1] };
    return (struct wal_strategy){ .kind = WAL_NONE };
}

int bench_curve_run(const struct bench_curve_config *cfg, struct bench_curve_point *points,
                    void (*progress)(void *arg, size_t point, size_t points, const char *phase),
                    void *progress_arg, char *err, size_t errlen)
{
    size_t n = bench_curve_points(cfg);
    uint64_t longest = cfg->crash_entries;
    for (size_t i = 0; i < n; i++) {
        struct bench_curve_point *p = &points[i];
        memset(p, 0, sizeof *p);
        p->strategy = point_strategy(cfg, i);

        if (progress)
            progress(progress_arg, i, n, "bench");
        struct bench_config bc = { .entries = cfg->entries, .entry_size = cfg->entry_size,
                                   .sync_method = cfg->sync_method,
                                   .max_seconds = POINT_BENCH_SECONDS, .dir = cfg->dir,
                                   .writers = cfg->writers ? cfg->writers : 1,
                                   .prealloc = cfg->prealloc };
        static struct bench_result r;   /* two histograms: too big for a thread's stack */
        int rc = bench_run(&bc, &p->strategy, 1, &r, err, errlen);
        if (rc < 0)
            return rc;
        p->ops_per_sec = r.ops_per_sec;
        p->bench_entries = r.entries_written;

        uint64_t entries = cfg->crash_entries;
        if (p->strategy.kind == WAL_BATCH) {
            uint64_t three = p->ops_per_sec * 3 * p->strategy.interval_ms / 1000;
            if (three > entries)
                entries = three;
        } else if (p->strategy.kind == WAL_NONE) {
            entries = longest;
        }
        if (entries > CRASH_ENTRIES_CAP)
            entries = CRASH_ENTRIES_CAP;
        if (entries > longest)
            longest = entries;
        p->crash_entries = entries;

        if (progress)
            progress(progress_arg, i, n, "crash");
        struct crashsim_config cc = { .strategy = p->strategy, .entries = entries,
                                      .entry_size = cfg->entry_size,
                                      .sync_method = cfg->sync_method, .model = cfg->model,
                                      .seed = cfg->seed + i, .trials = cfg->trials,
                                      .max_seconds = POINT_CRASH_SECONDS, .dir = cfg->dir,
                                      .writeback_expire_ms = -1, .writeback_interval_ms = -1,
                                      .writers = cfg->writers, .prealloc = cfg->prealloc };
        rc = crashsim_run(&cc, &p->crash, NULL, NULL, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- files ------------------------------------------------------------------ */

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

static const char *held_json(enum verifier_held h)
{
    return h == VERIFIER_HELD_TRUE ? "true" : h == VERIFIER_HELD_FALSE ? "false" : "null";
}

static void write_csv(FILE *f, const struct bench_curve_point *p, size_t n)
{
    fprintf(f, "strategy,interval_ms,ops_per_sec,loss_window_ms_max,loss_window_ms_p50,"
               "acked_lost_max,acked_lost_mean,trials,promised_window_ms,held,crash_entries\n");
    for (size_t i = 0; i < n; i++) {
        char name[32], interval[16] = "", promised[24] = "";
        wal_strategy_name(&p[i].strategy, name, sizeof name);
        if (p[i].strategy.kind != WAL_NONE)
            snprintf(interval, sizeof interval, "%u", p[i].strategy.interval_ms);
        if (p[i].crash.promised_window_ms >= 0)
            snprintf(promised, sizeof promised, "%" PRId64, p[i].crash.promised_window_ms);
        fprintf(f, "%s,%s,%" PRIu64 ",%.3f,%.3f,%" PRIu64 ",%.3f,%u,%s,%s,%" PRIu64 "\n", name,
                interval, p[i].ops_per_sec, verifier_summary_window_ms_max(&p[i].crash),
                verifier_summary_window_ms_p50(&p[i].crash), p[i].crash.acked_lost_max,
                verifier_summary_acked_lost_mean(&p[i].crash), p[i].crash.trials, promised,
                p[i].crash.held == VERIFIER_HELD_NULL ? ""
                : p[i].crash.held == VERIFIER_HELD_TRUE ? "true" : "false",
                p[i].crash_entries);
    }
}

/* JSON by hand: every string here is a strategy, model or file-system name
 * that fsynclab chose, or an environment string escaped below. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void write_json(FILE *f, const struct bench_env *env, const struct bench_curve_config *cfg,
                       const struct bench_curve_point *p, size_t n)
{
    fprintf(f, "{\"points\": [");
    for (size_t i = 0; i < n; i++) {
        char name[32];
        wal_strategy_name(&p[i].strategy, name, sizeof name);
        fprintf(f, "%s{\"strategy\": \"%s\", \"interval_ms\": ", i ? ", " : "", name);
        if (p[i].strategy.kind == WAL_NONE)
            fprintf(f, "null");
        else
            fprintf(f, "%u", p[i].strategy.interval_ms);
        fprintf(f, ", \"ops_per_sec\": %" PRIu64 ", \"loss_window_ms_max\": %.3f, "
                   "\"loss_window_ms_p50\": %.3f, \"acked_lost_max\": %" PRIu64 ", "
                   "\"acked_lost_mean\": %.3f, \"trials\": %u, \"promised_window_ms\": ",
                p[i].ops_per_sec, verifier_summary_window_ms_max(&p[i].crash),
                verifier_summary_window_ms_p50(&p[i].crash), p[i].crash.acked_lost_max,
                verifier_summary_acked_lost_mean(&p[i].crash), p[i].crash.trials);
        if (p[i].crash.promised_window_ms < 0)
            fprintf(f, "null");
        else
            fprintf(f, "%" PRId64, p[i].crash.promised_window_ms);
        fprintf(f, ", \"held\": %s, \"crash_entries\": %" PRIu64 "}", held_json(p[i].crash.held),
                p[i].crash_entries);
    }
    fprintf(f, "], \"model\": \"%s\", \"seed\": %" PRIu64 ", \"entry_size\": %u, "
               "\"sync_method\": \"%s\", \"fs_type\": ", crashsim_model_name(cfg->model),
            cfg->seed, cfg->entry_size, wal_sync_method_name(cfg->sync_method));
    json_string(f, env->fs_type);
    fprintf(f, ", \"device\": ");
    json_string(f, env->device);
    fprintf(f, ", \"warning\": ");
    json_string(f, env->warning);
    fprintf(f, "}\n");
}

static int seed_strategy(const struct wal_strategy *s)
{
    return s->kind != WAL_BATCH || s->interval_ms == 10;
}

static void write_gnuplot(FILE *f, const struct bench_env *env,
                          const struct bench_curve_config *cfg,
                          const struct bench_curve_point *p, size_t n)
{
    /* A log axis has no zero: a window of 0 (always) is drawn at the left
     * edge, a decade below the smallest window measured, and labelled 0. */
    double min_pos = 0;
    for (size_t i = 0; i < n; i++) {
        double w = verifier_summary_window_ms_max(&p[i].crash);
        if (w > 0 && (min_pos == 0 || w < min_pos))
            min_pos = w;
    }
    double edge = min_pos > 0 ? min_pos / 10 : 0.01;

    double max_w = edge;
    for (size_t i = 0; i < n; i++) {
        double w = verifier_summary_window_ms_max(&p[i].crash);
        if (w > max_w)
            max_w = w;
    }

    fprintf(f, "# fsynclab curve: durability against throughput, measured on this machine.\n"
               "# Render: gnuplot -e \"set terminal pngcairo size 960,640; "
               "set output 'curve.png'\" curve.gp\n"
               "# columns: label, x = loss window max (ms; %g stands for 0), y = ops/sec, "
               "seed strategy (1/0), strategy\n$points << EOD\n", edge);
    for (size_t i = 0; i < n; i++) {
        char name[32], label[32];
        wal_strategy_name(&p[i].strategy, name, sizeof name);
        double w = verifier_summary_window_ms_max(&p[i].crash);
        /* batch points are labelled by interval alone: the legend names them */
        if (p[i].strategy.kind == WAL_BATCH)
            snprintf(label, sizeof label, "%u ms", p[i].strategy.interval_ms);
        else
            snprintf(label, sizeof label, "%s", name);
        fprintf(f, "\"%s\" %.6g %" PRIu64 " %d %s\n", label, w > 0 ? w : edge, p[i].ops_per_sec,
                seed_strategy(&p[i].strategy), name);
    }
    fprintf(f, "EOD\n\n");
    fprintf(f, "set title \"fsynclab: durability vs throughput on %s%s%s\\n"
               "%u-byte entries, %s, %s model, max over %u crash trials per point%s%s\" noenhanced\n",
            env->fs_type, env->device[0] ? " " : "", env->device, cfg->entry_size,
            wal_sync_method_name(cfg->sync_method), crashsim_model_name(cfg->model), cfg->trials,
            env->warning[0] ? "\\nWARNING: " : "", env->warning[0] ? env->warning : "");
    fprintf(f, "set xlabel \"data-loss window: how far back acknowledged writes were lost (ms, log; measured)\"\n"
               "set ylabel \"acknowledged writes per second (log; measured)\"\n"
               "set logscale xy\n"
               "set grid\n"
               "set key bottom right\n"
               "set xrange [%g:%g]\n"
               "set offsets 0, 0, graph 0.15, graph 0.1\n"
               "set xtics add (\"0\" %g)\n"
               "plot $points using 2:3 with lines lc rgb \"#999999\" notitle, \\\n"
               "     $points using 2:($4 == 0 ? $3 : 1/0) with points pt 7 ps 1.2 lc rgb \"#4477aa\" "
               "title \"batch_<N>ms, labelled by N\" noenhanced, \\\n"
               "     $points using 2:($4 == 1 ? $3 : 1/0) with points pt 5 ps 1.8 lc rgb \"#cc3311\" "
               "title \"the seed's three: always, batch_10ms, none\" noenhanced, \\\n"
               "     $points using 2:3:1 with labels left rotate by 40 offset 0.6,0.6 font \",9\" "
               "noenhanced notitle\n",
            edge / 1.5, max_w * 4, edge);
}

/* mkdir -p: the output folder and any parent missing. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char path[4096];
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

int bench_curve_write(const char *out_dir, const struct bench_env *env,
                      const struct bench_curve_config *cfg, const struct bench_curve_point *points,
                      size_t n, char *err, size_t errlen)
{
    int rc = make_dirs(out_dir, err, errlen);
    if (rc < 0)
        return rc;
    char path[4200];
    FILE *f;
    if (!(f = open_out(out_dir, "curve.csv", path, sizeof path, err, errlen)))
        return -errno;
    write_csv(f, points, n);
    if ((rc = close_out(f, path, err, errlen)) < 0)
        return rc;
    if (!(f = open_out(out_dir, "curve.json", path, sizeof path, err, errlen)))
        return -errno;
    write_json(f, env, cfg, points, n);
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
    char exe[4200], script[4200];
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

int bench_curve_render(const char *out_dir, char *err, size_t errlen)
{
    if (!quotable(out_dir, err, errlen))
        return -EINVAL;
    char setup[4400];
    snprintf(setup, sizeof setup, "set terminal svg size 960,640 dynamic; set output '%s/curve.svg'",
             out_dir);
    int rc = run_gnuplot(out_dir, setup, STDOUT_FILENO, err, errlen);
    if (rc < 0)
        return rc;
    snprintf(setup, sizeof setup, "set terminal pngcairo size 960,640; set output '%s/curve.png'",
             out_dir);
    return run_gnuplot(out_dir, setup, STDOUT_FILENO, err, errlen);
}

int bench_curve_plot_text(const char *out_dir, FILE *out, char *err, size_t errlen)
{
    fflush(out);
    return run_gnuplot(out_dir, "set terminal dumb size 110,32", fileno(out), err, errlen);
}
