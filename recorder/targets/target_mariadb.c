/* target_mariadb: MariaDB (mariadbd, InnoDB, the binary log; libmariadb),
 * one row per autocommit INSERT.
 *
 * DESIGN.  mariadb-install-db makes one data directory per crash run, not
 * recorded, which every trial copies.  The server runs under the recorder
 * in its own process group, on a Unix socket only (skip-networking), with
 * the binary log on; when fsynclab is root it runs as `nobody`, as
 * PostgreSQL does, on directories handed over with chown.  Each INSERT's
 * reply is the acknowledgement.  The check starts an unrecorded server on
 * the image (InnoDB crash recovery, then the binary log's XA recovery),
 * lists the rows and runs CHECK TABLE.
 *
 * What the recorder cannot see: InnoDB writes through io_uring or Linux
 * AIO by default, past any LD_PRELOAD.  fsynclab starts the server with
 * innodb_use_native_aio=0 (and innodb_flush_method=fsync with a buffered
 * log, so that no file is opened O_DIRECT) unless told otherwise, reads the
 * values back with SHOW VARIABLES, and looks for an io_uring descriptor or
 * an AIO ring in the running server: one found means writes escaped, and
 * the run gets no verdict.  setup keeps a pointer to the result for the
 * note that run fills (one crash run at a time in a process).
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <mysql.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"

#define MARIA_START_MS 60000
#define MARIA_INSTALL_MS 180000

/* The settings a run may change (target_check_keys refuses others); each
 * must read back as given (SHOW VARIABLES). */
static const char *const maria_keys[] = {"innodb_flush_log_at_trx_commit", "sync_binlog", "innodb_use_native_aio",
                                         "innodb_flush_method", "innodb_log_file_buffering", "innodb_doublewrite",
                                         "binlog_format", "innodb_buffer_pool_size", "innodb_log_file_size", NULL};
/* What fsynclab sets so that every write is seen, unless --set says otherwise. */
static const struct recorder_setting maria_defaults[] = {
    {"innodb_use_native_aio", "0"}, {"innodb_flush_method", "fsync"}, {"innodb_log_file_buffering", "ON"},
    {"innodb_log_file_size", "8M"}, {"innodb_buffer_pool_size", "32M"}};
/* The first three are there for the recorder; the sizes keep each trial's
 * copies small (the install's and the server's must agree, or the server
 * rebuilds its redo log at start). */
#define MARIA_NSEEN 3
#define MARIA_NDEFAULTS (sizeof maria_defaults / sizeof maria_defaults[0])

static struct {
    struct recorder_crash_result *out;
    int template_ready;
    int escaped;   /* an io_uring or AIO ring was found in a server */
    uint64_t inserts, insert_ns;   /* over all trials: the rate in the note */
} maria;

static int maria_one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(v, *allowed) == 0)
            return 1;
    return 0;
}


static int maria_validate(const struct recorder_crash_config *cfg, char *err, size_t errlen)
{
    static const char *const trx[] = {"0", "1", "2", NULL}, *const binlog[] = {"0", "1", NULL};
    static const char *const onoff[] = {"0", "1", "ON", "OFF", NULL};
    for (unsigned i = 0; i < cfg->nsettings; i++) {
        const char *k = cfg->settings[i].key, *v = cfg->settings[i].value;
        const char *const *allowed = strcmp(k, "innodb_flush_log_at_trx_commit") == 0 ? trx
                                     : strcmp(k, "sync_binlog") == 0                  ? binlog
                                     : strcmp(k, "innodb_use_native_aio") == 0        ? onoff
                                                                                      : NULL;
        if (allowed && !maria_one_of(v, allowed)) {
            (void)PL_ERR(err, errlen, 0, "mariadb: --set %s=%s: allowed values %s", k, v,
                    allowed == trx ? "0, 1, 2" : allowed == binlog ? "0, 1" : "0, 1, ON, OFF");
            return -EINVAL;
        }
        if (!*v) {
            (void)PL_ERR(err, errlen, 0, "mariadb: --set %s= has no value", k);
            return -EINVAL;
        }
    }
    return 0;
}

static int maria_setup(const struct recorder_crash_config *cfg, struct recorder_crash_result *out, char *err,
                       size_t errlen)
{
    int rc = maria_validate(cfg, err, errlen);
    out->async_io_checked = 1;
    if (rc)
        return rc;
    if (access("/usr/sbin/mariadbd", X_OK) != 0 || access("/usr/bin/mariadb-install-db", X_OK) != 0) {
        (void)PL_ERR(err, errlen, 0, "mariadb: mariadbd and mariadb-install-db are not installed (apt-get install mariadb-server)");
        return -ENOENT;
    }
    memset(&maria, 0, sizeof maria);
    maria.out = out;
    const char *trx = target_setting(cfg, "innodb_flush_log_at_trx_commit", "1");
    if (strcmp(trx, "1") == 0) {
        out->promised = "1: \"1 and 3 guarantees that after a crash, committed transactions will not be lost\"";
        out->promised_window_ms = 0;
    } else if (strcmp(trx, "2") == 0) {
        out->promised = "2: \"a OS or power outage can cause the last second's transactions to be lost\"";
        out->promised_window_ms = 1000;
    } else {
        out->promised = "0: \"a server crash can erase the last second of transactions\"";
        out->promised_window_ms = 1000;
    }
    return 0;
}

/* ---- the unprivileged user ---------------------------------------------------------- */
/* 0: uid can search and write dir; else names the first ancestor it cannot search. */
static int maria_reachable(const char *dir, uid_t uid, gid_t gid, char *bad, size_t badlen)
{
    pid_t c = fork();
    if (c == 0) {
        if (setgid(gid) != 0 || setuid(uid) != 0)
            _exit(2);
        _exit(access(dir, W_OK | X_OK) == 0 ? 0 : 1);
    }
    int st = 0;
    if (c < 0 || waitpid(c, &st, 0) != c)
        return -errno;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    snprintf(bad, badlen, "%s", dir);
    for (char *slash; (slash = strrchr(path, '/')) != NULL && slash != path;) {
        *slash = '\0';
        struct stat sb;
        if (stat(path, &sb) == 0 && !(sb.st_mode & S_IXOTH) && sb.st_uid != uid)
            snprintf(bad, badlen, "%s (mode %04o)", path, (unsigned)(sb.st_mode & 07777));
    }
    return -EACCES;
}

static int maria_user(struct target_trial *t, char *err, size_t errlen)
{
    if (geteuid() != 0)
        return 0;
    const struct passwd *pw = getpwnam("nobody");
    if (!pw) {
        (void)PL_ERR(err, errlen, 0, "mariadb: fsynclab is root and there is no user nobody to run the server as");
        return -ENOENT;
    }
    t->uid = pw->pw_uid;
    t->gid = pw->pw_gid;
    t->drop_privileges = 1;
    int rc = recorder_tree_chown(t->base, t->uid, t->gid, err, errlen);
    char bad[PATH_MAX + 32];
    if (rc == 0 && (rc = maria_reachable(t->base, t->uid, t->gid, bad, sizeof bad)) != 0)
        (void)PL_ERR(err, errlen, 0, "mariadb: the server runs as nobody (fsynclab is root) and cannot reach %s; give --dir a "
                "directory every user can search, e.g. --dir /var/tmp", bad);
    return rc;
}

/* The last line of file that holds needle (the server's own error), or "";
 * not the "Aborting" that follows the one that says why. */
static void maria_last_line(const char *file, const char *needle, char *out, size_t outlen)
{
    char line[512];
    out[0] = '\0';
    FILE *f = fopen(file, "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, needle) && !strstr(line, "Aborting")) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, outlen, "%s", line);
        }
    if (f)
        fclose(f);
}

/* ---- preparing: one mariadb-install-db a crash run ---------------------------------- */
static int maria_start(struct target_trial *t, const char *dir, const char *sockdir, int recorded, pid_t *pid,
                       char *err, size_t errlen);
static MYSQL *maria_connect(const char *sockdir, pid_t pid);
static int maria_no_server(struct target_trial *t, const char *sockdir, const char *dir, char *err, size_t errlen);

/* The data directory as an installed server leaves it: started once with
 * the trial's settings, the table made, shut down cleanly.  Files a fresh
 * install creates at its first start (the binary log's first file, the
 * table) would otherwise be new in every trial, and MariaDB does not sync
 * the directory that holds them. */
static int maria_first_start(struct target_trial *t, const char *tmpl, char *err, size_t errlen)
{
    pid_t pid;
    int rc = maria_start(t, tmpl, t->base, 0, &pid, err, errlen);
    if (rc)
        return rc;
    MYSQL *c = maria_connect(t->base, pid);
    int st = 0;
    if (!c)
        rc = maria_no_server(t, t->base, tmpl, err, errlen);
    else if (mysql_query(c, "CREATE DATABASE IF NOT EXISTS lab") != 0 ||
             mysql_query(c, "CREATE TABLE IF NOT EXISTS lab.t(k BIGINT PRIMARY KEY) ENGINE=InnoDB") != 0 ||
             mysql_query(c, "SHUTDOWN") != 0) {
        (void)PL_ERR(err, errlen, 0, "mariadb on %s: %s", tmpl, mysql_error(c));
        rc = -EIO;
    } else if (!target_wait(pid, MARIA_START_MS, &st) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        (void)PL_ERR(err, errlen, 0, "mariadb on %s: no clean shutdown to prepare the trials", tmpl);
        rc = -EIO;
    }
    mysql_close(c);
    target_kill_group(pid);
    return rc;
}

static int maria_template(struct target_trial *t, const char *tmpl, char *err, size_t errlen)
{
    if (mkdir(tmpl, 0700) != 0 || (t->drop_privileges && chown(tmpl, t->uid, t->gid) != 0)) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "mkdir(%s): %s", tmpl, strerror(e));
        return -e;
    }
    char datadir[PATH_MAX + 48];
    snprintf(datadir, sizeof datadir, "--datadir=%s", tmpl);
    char size[300];
    snprintf(size, sizeof size, "--innodb-log-file-size=%s", target_setting(t->cfg, "innodb_log_file_size", "8M"));
    char *argv[] = {"mariadb-install-db", "--no-defaults", datadir, "--auth-root-authentication-method=normal",
                    "--skip-test-db", "--skip-name-resolve", size, "--innodb-buffer-pool-size=32M",
                    "--innodb-use-native-aio=0", NULL};
    int st = 0, rc = target_run_quiet(t, argv, t->drop_privileges, MARIA_INSTALL_MS, &st, err, errlen);
    if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        char log[PATH_MAX + 16], last[512];
        snprintf(log, sizeof log, "%s/stderr.log", t->base);
        maria_last_line(log, "ERROR", last, sizeof last);
        (void)PL_ERR(err, errlen, 0, "mariadb-install-db %s: status %d%s%s", datadir, st, last[0] ? ": " : "", last);
        rc = -EIO;
    }
    return rc ? rc : maria_first_start(t, tmpl, err, errlen);
}

static int maria_prepare(struct target_trial *t, char *err, size_t errlen)
{
    int rc = maria_user(t, err, errlen);
    if (rc)
        return rc;
    char run[PATH_MAX], tmpl[PATH_MAX + 32];
    snprintf(run, sizeof run, "%s", t->base);
    snprintf(tmpl, sizeof tmpl, "%s/mariadb-template", dirname(run));
    if (!maria.template_ready) {
        if ((rc = recorder_tree_remove(tmpl, err, errlen)) != 0 || (rc = maria_template(t, tmpl, err, errlen)) != 0)
            return rc;
        maria.template_ready = 1;
    }
    if ((rc = recorder_tree_copy(tmpl, t->data, err, errlen)) == 0 && t->drop_privileges)
        rc = recorder_tree_chown(t->data, t->uid, t->gid, err, errlen);
    return rc;
}

/* ---- the server ------------------------------------------------------------------------ */
/* Starts mariadbd on dir, its socket, pid file and log in sockdir. */
static int maria_start(struct target_trial *t, const char *dir, const char *sockdir, int recorded, pid_t *pid,
                       char *err, size_t errlen)
{
    char paths[4][PATH_MAX + 32], sets[RECORDER_MAX_SETTINGS + MARIA_NDEFAULTS][300];
    char *argv[16 + RECORDER_MAX_SETTINGS + MARIA_NDEFAULTS];
    int n = 0;
    struct sockaddr_un sa;
    if (strlen(sockdir) + sizeof "/mariadb.sock" > sizeof sa.sun_path) {
        (void)PL_ERR(err, errlen, 0, "mariadb: the server's socket in %s would be longer than a Unix socket's %zu bytes; give a "
                "shorter --dir", sockdir, sizeof sa.sun_path);
        return -ENAMETOOLONG;
    }
    snprintf(paths[0], sizeof paths[0], "--datadir=%s", dir);
    snprintf(paths[1], sizeof paths[1], "--socket=%s/mariadb.sock", sockdir);
    snprintf(paths[2], sizeof paths[2], "--pid-file=%s/mariadb.pid", sockdir);
    snprintf(paths[3], sizeof paths[3], "--log-error=%s/mariadbd.err", sockdir);
    argv[n++] = "mariadbd", argv[n++] = "--no-defaults";
    for (int i = 0; i < 4; i++)
        argv[n++] = paths[i];
    argv[n++] = "--skip-networking", argv[n++] = "--skip-name-resolve";
    argv[n++] = "--log-bin=binlog", argv[n++] = "--server-id=1";   /* relative: the binary log is in dir */
    unsigned k = 0;
    for (unsigned i = 0; i < MARIA_NDEFAULTS; i++)
        if (!target_setting(t->cfg, maria_defaults[i].key, NULL))
            snprintf(sets[k], sizeof sets[k], "--%s=%s", maria_defaults[i].key, maria_defaults[i].value),
                argv[n++] = sets[k++];
    for (unsigned i = 0; i < t->cfg->nsettings; i++)
        snprintf(sets[k], sizeof sets[k], "--%s=%s", t->cfg->settings[i].key, t->cfg->settings[i].value),
            argv[n++] = sets[k++];
    argv[n] = NULL;
    return target_spawn(t, argv, NULL, recorded, t->drop_privileges, NULL, pid, err, errlen);
}

/* Connects once the server accepts connections; NULL if it died first. */
static MYSQL *maria_connect(const char *sockdir, pid_t pid)
{
    char sock[PATH_MAX + 32];
    snprintf(sock, sizeof sock, "%s/mariadb.sock", sockdir);
    for (int waited = 0; waited < MARIA_START_MS; waited += 20) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return NULL;
        MYSQL *c = mysql_init(NULL);
        unsigned timeout = 5;
        if (!c)
            return NULL;
        mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
        if (access(sock, F_OK) == 0 && mysql_real_connect(c, NULL, "root", "", NULL, 0, sock, 0))
            return c;
        mysql_close(c);
        usleep(20000);
    }
    return NULL;
}

/* Why a server did not come up: its own [ERROR] line; -EINVAL when it
 * refused a setting (a usage error). */
static int maria_no_server(struct target_trial *t, const char *sockdir, const char *dir, char *err, size_t errlen)
{
    char log[PATH_MAX + 32], last[512];
    snprintf(log, sizeof log, "%s/mariadbd.err", sockdir);
    maria_last_line(log, "[ERROR]", last, sizeof last);
    (void)t;
    (void)PL_ERR(err, errlen, 0, "mariadbd on %s did not accept connections%s%s", dir, last[0] ? ": " : "", last[0] ? last : "");
    return strstr(last, "unknown variable") || strstr(last, "unknown option") || strstr(last, "Invalid")
               ? -EINVAL
               : -ETIMEDOUT;
}

/* ---- the run: settings read back, AIO looked for, INSERTs ------------------------------ */
static unsigned long long maria_number(const char *v, int *ok)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : *end == 'G' || *end == 'g' ? 30 : 0;
    *ok = end != v && !errno && (end[shift ? 1 : 0] == '\0');
    return n << shift;
}

/* The server's value as given: ON is 1, OFF is 0, sizes in K/M/G are bytes. */
static int maria_same(const char *given, const char *reported)
{
    if (strcasecmp(given, reported) == 0)
        return 1;
    const char *g = strcasecmp(given, "ON") == 0 ? "1" : strcasecmp(given, "OFF") == 0 ? "0" : given;
    const char *r = strcasecmp(reported, "ON") == 0 ? "1" : strcasecmp(reported, "OFF") == 0 ? "0" : reported;
    int gok, rok;
    unsigned long long a = maria_number(g, &gok), b = maria_number(r, &rok);
    return gok && rok ? a == b : strcasecmp(g, r) == 0;
}

/* SHOW GLOBAL VARIABLES for one name; 0 and the value, or -ENOENT. */
static int maria_show(MYSQL *c, const char *key, char *val, size_t len)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SHOW GLOBAL VARIABLES LIKE '%s'", key);
    if (mysql_query(c, sql) != 0)
        return -EIO;
    MYSQL_RES *res = mysql_store_result(c);
    MYSQL_ROW row;
    int rc = -ENOENT;
    while (res && (row = mysql_fetch_row(res)) != NULL)
        if (row[0] && strcmp(row[0], key) == 0) {
            snprintf(val, len, "%s", row[1] ? row[1] : "");
            rc = 0;
        }
    mysql_free_result(res);
    return rc;
}

/* Reads back every setting fsynclab passed; the values go to the note. */
static int maria_verify(MYSQL *c, struct target_trial *t, char *note, size_t notelen, char *err, size_t errlen)
{
    size_t at = (size_t)snprintf(note, notelen, "the server reports");
    char val[256];
    for (unsigned i = 0; i < MARIA_NDEFAULTS + t->cfg->nsettings; i++) {
        const struct recorder_setting *s = i < MARIA_NDEFAULTS ? &maria_defaults[i]
                                                               : &t->cfg->settings[i - MARIA_NDEFAULTS];
        if (i < MARIA_NDEFAULTS && target_setting(t->cfg, s->key, NULL))
            continue;   /* given with --set: read back below */
        int rc = maria_show(c, s->key, val, sizeof val);
        if (rc == -ENOENT || (rc == 0 && !maria_same(s->value, val))) {
            (void)PL_ERR(err, errlen, 0, "mariadb: --set %s=%s, but the server reports %s", s->key, s->value,
                    rc ? "no such variable" : val);
            return -EINVAL;
        }
        if (rc) {
            (void)PL_ERR(err, errlen, 0, "mariadb SHOW VARIABLES: %s", mysql_error(c));
            return rc;
        }
        if (at < notelen)
            at += (size_t)snprintf(note + at, notelen - at, " %s=%s", s->key, val);
    }
    static const char *const shown[] = {"innodb_flush_log_at_trx_commit", "sync_binlog", "log_bin", NULL};
    for (int i = 0; shown[i]; i++)
        if (!target_setting(t->cfg, shown[i], NULL) && maria_show(c, shown[i], val, sizeof val) == 0 && at < notelen)
            at += (size_t)snprintf(note + at, notelen - at, " %s=%s", shown[i], val);
    return 0;
}

static void maria_note(struct target_trial *t, const char *reported, pid_t pid)
{
    struct recorder_crash_result *out = maria.out;
    if (target_aio_open(pid))
        maria.escaped = 1;
    int set_aio = 1;
    for (unsigned i = 0; i < MARIA_NSEEN; i++)
        set_aio &= !target_setting(t->cfg, maria_defaults[i].key, NULL);
    snprintf(out->note, sizeof out->note, "%s; %s; %s", reported,
             set_aio ? "fsynclab set innodb_use_native_aio=0, innodb_flush_method=fsync, "
                       "innodb_log_file_buffering=ON so that InnoDB writes by pwrite, which the recorder sees"
                     : "innodb_use_native_aio, innodb_flush_method or innodb_log_file_buffering as given",
             maria.escaped ? "the server had an io_uring or Linux AIO ring open: its writes escape the recorder, "
                             "no verdict"
                           : "no io_uring or AIO ring was open in the server");
    if (maria.escaped) {
        snprintf(out->target_null_reason, sizeof out->target_null_reason,
                 "the server had an io_uring or Linux AIO ring open: its writes escape the recorder");
    }
}

static int maria_inserts(struct target_trial *t, MYSQL *c, char *err, size_t errlen)
{
    if (mysql_query(c, "CREATE DATABASE IF NOT EXISTS lab") != 0 ||
        mysql_query(c, "CREATE TABLE IF NOT EXISTS lab.t(k BIGINT PRIMARY KEY) ENGINE=InnoDB") != 0) {
        (void)PL_ERR(err, errlen, 0, "mariadb CREATE TABLE: %s", mysql_error(c));
        return -EIO;
    }
    uint64_t start = target_now_ns();
    t->kill_ns = start + t->run_ns;
    char sql[64], key[32];
    int rc = 0;
    for (long k = 1; rc == 0 && target_now_ns() < t->kill_ns; k++, maria.inserts++) {
        snprintf(sql, sizeof sql, "INSERT INTO lab.t VALUES (%ld)", k);
        int failed = mysql_query(c, sql);
        uint64_t ns = target_now_ns();
        if (failed) {
            (void)PL_ERR(err, errlen, 0, "mariadb INSERT %ld: %s", k, mysql_error(c));
            return -EIO;
        }
        int len = snprintf(key, sizeof key, "%ld", k);
        rc = target_ack(t, key, (size_t)len, ns);
    }
    maria.insert_ns += target_now_ns() - start;
    return rc;
}

static int maria_run(struct target_trial *t, char *err, size_t errlen)
{
    pid_t pid;
    int rc = maria_start(t, t->data, t->base, 1, &pid, err, errlen);
    if (rc)
        return rc;
    MYSQL *c = maria_connect(t->base, pid);
    char reported[256];
    if (!c)
        rc = maria_no_server(t, t->base, t->data, err, errlen);
    if (rc == 0 && (rc = maria_verify(c, t, reported, sizeof reported, err, errlen)) == 0) {
        maria_note(t, reported, pid);
        rc = maria_inserts(t, c, err, errlen);
        size_t at = strlen(maria.out->note);
        if (maria.insert_ns && at < sizeof maria.out->note)
            snprintf(maria.out->note + at, sizeof maria.out->note - at, "; %.0f INSERTs/s under the recorder",
                     (double)maria.inserts * 1e9 / (double)maria.insert_ns);
    }
    uint64_t kill_ns = target_now_ns();
    target_kill_group(pid);
    mysql_close(c);
    if (kill_ns < t->kill_ns || rc)
        t->kill_ns = kill_ns;
    return rc;
}

/* ---- the check: restart on the image ---------------------------------------------------- */
static int maria_rows(MYSQL *c, struct target_keyset *found, int *ok)
{
    if (mysql_query(c, "SELECT k FROM lab.t") != 0) {
        unsigned e = mysql_errno(c);
        *ok = e == 1049 || e == 1146;   /* no database, no table: their creation was lost */
        return 0;
    }
    MYSQL_RES *res = mysql_use_result(c);
    MYSQL_ROW row;
    int rc = 0;
    while (res && rc == 0 && (row = mysql_fetch_row(res)) != NULL)
        rc = row[0] ? target_keyset_add(found, row[0]) : 0;
    int complete = res && mysql_errno(c) == 0;
    mysql_free_result(res);
    if (rc || !complete)
        return rc;
    if (mysql_query(c, "CHECK TABLE lab.t") != 0)
        return 0;
    res = mysql_store_result(c);
    const char *verdict = "";
    while (res && (row = mysql_fetch_row(res)) != NULL)
        verdict = row[3] && strcmp(row[2] ? row[2] : "", "status") == 0 ? row[3] : verdict;
    *ok = strcmp(verdict, "OK") == 0;
    mysql_free_result(res);
    return 0;
}

static int maria_check(struct target_trial *t, const char *image, struct target_keyset *found, int *ok, char *err,
                       size_t errlen)
{
    char sockdir[PATH_MAX + 16];
    snprintf(sockdir, sizeof sockdir, "%s/check", t->base);
    if ((mkdir(sockdir, 0700) != 0 && errno != EEXIST) ||
        (t->drop_privileges && chown(sockdir, t->uid, t->gid) != 0)) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "mkdir(%s): %s", sockdir, strerror(e));
        return -e;
    }
    pid_t pid;
    int rc = maria_start(t, image, sockdir, 0, &pid, err, errlen);
    if (rc)
        return rc;
    *ok = 0;
    MYSQL *c = maria_connect(sockdir, pid);
    if (c)
        rc = maria_rows(c, found, ok);
    target_kill_group(pid);
    mysql_close(c);
    if (rc)
        (void)PL_ERR(err, errlen, 0, "recording a row: %s", strerror(-rc));
    return rc;
}

const struct target_ops target_mariadb = {
    .name = "mariadb",
    .setup = maria_setup,
    .prepare = maria_prepare,
    .run = maria_run,
    .check = maria_check,
    .keys = maria_keys,
};
