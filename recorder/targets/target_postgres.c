/* target_postgres: PostgreSQL 15 (initdb, postgres; libpq), one row per commit.
 *
 * DESIGN.  initdb prepares the cluster before the snapshot (not recorded).
 * The server runs under the recorder in its own process group, listening
 * on a Unix socket only (listen_addresses = '', the socket in the trial's
 * short socket directory); the driver here INSERTs one row per transaction and takes
 * each command's completion as the acknowledgement.  PostgreSQL refuses to
 * run as root: when fsynclab is root, initdb and every server run as
 * `nobody` (setgid and setuid in the forked child), on directories handed
 * to it with chown.  The check starts an unrecorded server on the image
 * (crash recovery replays the WAL), lists the rows, and stops it.  A server
 * killed by SIGKILL leaves its System V segment behind: it is removed by
 * the id in postmaster.pid, read after the kill.
 *
 * `nobody` must be able to reach the trial directory: under a 0700
 * directory (/root, a mktemp -d) initdb fails, so that is checked first, as
 * nobody, and the message names the directory and the fix.  What the
 * programs say (initdb's stderr, the server's FATAL line) ends every error.
 * Each --set is a server setting passed as -c (bindir is fsynclab's); once
 * the server is up, pg_settings must show it came from the command line,
 * and SHOW's value is what the result prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"

#define PG_BINDIR "/usr/lib/postgresql/15/bin"

/* The server settings that bear on durability, and bindir (fsynclab's). */
static const char *const pg_keys[] = {"synchronous_commit", "fsync", "full_page_writes", "wal_sync_method",
                                      "data_sync_retry",
                                      "wal_writer_delay", "wal_writer_flush_after", "commit_delay",
                                      "commit_siblings", "wal_level", "wal_buffers", "checkpoint_timeout",
                                      "max_wal_size", "shared_buffers", "bindir", NULL};

/* Settings that are fsynclab's, not the server's. */
static int pg_own_setting(const char *key)
{
    return strcmp(key, "bindir") == 0;
}

/* wal_writer_delay as PostgreSQL takes it: whole ms, or with ms or s. */
static int pg_delay_ms(const char *v, double *ms)
{
    char num[32];
    size_t n = strspn(v, "0123456789");
    const char *unit = v + n;
    double scale = !*unit || strcmp(unit, "ms") == 0 ? 1 : strcmp(unit, "s") == 0 ? 1000 : 0;
    if (!n || n >= sizeof num || !scale)
        return -EINVAL;
    snprintf(num, sizeof num, "%.*s", (int)n, v);
    if (target_number(num, 1, 10000, ms) != 0 || *ms * scale > 10000)
        return -EINVAL;
    *ms *= scale;
    return 0;
}

static int pg_setup(const struct recorder_crash_config *cfg, struct recorder_crash_result *out, char *err,
                    size_t errlen)
{
    const char *sc = target_setting(cfg, "synchronous_commit", "on");
    char initdb[PATH_MAX];
    snprintf(initdb, sizeof initdb, "%s/initdb", target_setting(cfg, "bindir", PG_BINDIR));
    if (access(initdb, X_OK) != 0) {
        (void)PL_ERR(err, errlen, 0, "postgres: %s: %s (set bindir=DIR)", initdb, strerror(errno));
        return -ENOENT;
    }
    const char *wd = target_setting(cfg, "wal_writer_delay", "200");
    double delay = 200;
    if (pg_delay_ms(wd, &delay) != 0) {
        (void)PL_ERR(err, errlen, 0, "--set wal_writer_delay: 1 to 10000 ms (200, 200ms, 1s), not \"%s\"", wd);
        return -EINVAL;
    }
    /* --fault: the data_sync_retry entry of the configuration chapter */
    out->fault.documented = strcasecmp(target_setting(cfg, "data_sync_retry", "off"), "on") == 0
        ? "data_sync_retry=on: \"report an error but continue to run so that the data flushing operation "
          "can be retried in a later checkpoint\""
        : "data_sync_retry=off: \"raise a PANIC-level error on failure to flush modified data files to the "
          "file system\"";
    if (strcasecmp(sc, "off") == 0) {
        /* "the maximum delay is three times wal_writer_delay" */
        out->promised = "off: at most three times wal_writer_delay";
        out->promised_window_ms = 3 * delay;
    } else if (strcasecmp(sc, "on") == 0 || strcasecmp(sc, "local") == 0 ||
               strcasecmp(sc, "remote_write") == 0 || strcasecmp(sc, "remote_apply") == 0) {
        out->promised = "on: a reported commit is durable";
        out->promised_window_ms = 0;
    } else {
        (void)PL_ERR(err, errlen, 0, "--set synchronous_commit: on, off, local, remote_write or remote_apply, not \"%s\"", sc);
        return -EINVAL;
    }
    return 0;
}

static int pg_bin(const struct target_trial *t, const char *name, char *out, size_t outlen)
{
    return (size_t)snprintf(out, outlen, "%s/%s", target_setting(t->cfg, "bindir", PG_BINDIR), name) >= outlen
               ? -ENAMETOOLONG
               : 0;
}

/* The System V segment a killed postmaster leaves: line 7 of postmaster.pid. */
static int pg_shm_id(const char *dir)
{
    char path[PATH_MAX + 32], line[256];
    snprintf(path, sizeof path, "%s/postmaster.pid", dir);
    FILE *f = fopen(path, "r");
    int id = -1;
    for (int n = 1; f && fgets(line, sizeof line, f); n++) {
        unsigned long key;
        if (n == 7 && sscanf(line, "%lu %d", &key, &id) != 2)
            id = -1;
    }
    if (f)
        fclose(f);
    return id;
}

/* Removes what a killed server on dir leaves in System V IPC: the
 * segment named in postmaster.pid, and any unattached segment of uid keyed
 * as PostgreSQL keys them, from the data directory's inode on (initdb's
 * bootstrap and single-user servers, killed, leave theirs). */
static void pg_free_ipc(const char *dir, uid_t uid)
{
    int id = pg_shm_id(dir);
    if (id >= 0)
        shmctl(id, IPC_RMID, NULL);
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return;
    for (unsigned k = 0; k < 8; k++) {   /* PostgreSQL tries the next key on a clash */
        struct shmid_ds ds;
        id = shmget((key_t)(sb.st_ino + k), 0, 0);
        if (id >= 0 && shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 0 && ds.shm_perm.uid == uid)
            shmctl(id, IPC_RMID, NULL);
    }
}

/* As nobody (a forked child that drops to t->uid), the first directory
 * above and including t->base it cannot search; its path is written to a
 * pipe.  "" when all can be reached. */
static int pg_reachable(struct target_trial *t, char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "pipe2: %s", strerror(e));
        return -e;
    }
    pid_t c = fork();
    if (c < 0) {
        int e = errno;
        close(p[0]), close(p[1]);
        (void)PL_ERR(err, errlen, 0, "fork: %s", strerror(e));
        return -e;
    }
    if (c == 0) {
        close(p[0]);
        if (setgid(t->gid) != 0 || setuid(t->uid) != 0)
            _exit(126);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s", t->base);
        for (char *s = path + 1;; s++) {   /* each prefix, shortest first */
            char keep = *s;
            if (keep == '/' || keep == '\0') {
                *s = '\0';
                if (access(path, X_OK) != 0) {
                    ssize_t w = write(p[1], path, strlen(path));
                    _exit(w < 0);
                }
                *s = keep;
            }
            if (!keep)
                _exit(0);
        }
    }
    close(p[1]);
    char bad[PATH_MAX] = "";
    ssize_t n, got = 0;
    while ((n = read(p[0], bad + got, sizeof bad - 1 - (size_t)got)) > 0)
        got += n;
    close(p[0]);
    bad[got] = '\0';
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR)
        ;
    if (!*bad)
        return 0;
    struct stat sb;
    unsigned mode = stat(bad, &sb) == 0 ? (unsigned)(sb.st_mode & 07777) : 0;
    (void)PL_ERR(err, errlen, 0, "postgres: user nobody cannot reach %s (mode %04o): PostgreSQL refuses root, so it runs as "
            "nobody, who needs search permission on every directory above the trials; give --dir a "
            "directory nobody can reach (e.g. --dir /var/tmp) or run chmod o+x %s",
            bad, mode, bad);
    return -EACCES;
}

static int pg_prepare(struct target_trial *t, char *err, size_t errlen)
{
    if (geteuid() == 0) {
        const struct passwd *pw = getpwnam("nobody");
        if (!pw) {
            (void)PL_ERR(err, errlen, 0, "postgres refuses root and there is no user nobody");
            return -ENOENT;
        }
        t->uid = pw->pw_uid;
        t->gid = pw->pw_gid;
        t->drop_privileges = 1;
        int rc = recorder_tree_chown(t->base, t->uid, t->gid, err, errlen);
        if (rc == 0)
            rc = recorder_tree_chown(t->sock, t->uid, t->gid, err, errlen);
        if (rc || (rc = pg_reachable(t, err, errlen)) != 0)
            return rc;
    }
    char initdb[PATH_MAX];
    int st = 0, rc = pg_bin(t, "initdb", initdb, sizeof initdb);
    char *argv[] = {initdb, "-D", t->data, "-U", "postgres", "-A", "trust", "-N", NULL};
    long log_from = target_log_size(t);
    if (rc == 0) {
        rc = target_run_quiet(t, argv, t->drop_privileges, target_timeout_ms(t), &st, err, errlen);
        pg_free_ipc(t->data, t->uid);   /* initdb killed (a signal, the timeout) leaves a segment */
    }
    if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        char how[64], tail[400];
        target_status_text(st, how, sizeof how);
        target_log_tail(t, log_from, tail, sizeof tail);
        (void)PL_ERR(err, errlen, 0, "initdb -D %s: %s: %s", t->data, how, *tail ? tail : "no message");
        rc = -EIO;
    }
    return rc;
}

/* Starts postgres on dir with its socket in sockdir. */
static int pg_start(struct target_trial *t, const char *dir, const char *sockdir, int recorded, pid_t *pid,
                    char *err, size_t errlen)
{
    char bin[PATH_MAX], sock[PATH_MAX + 32], sets[RECORDER_MAX_SETTINGS][256];
    char *argv[8 + 2 * RECORDER_MAX_SETTINGS];
    int n = 0, rc = pg_bin(t, "postgres", bin, sizeof bin);
    if (rc)
        return rc;
    snprintf(sock, sizeof sock, "unix_socket_directories=%s", sockdir);
    argv[n++] = bin, argv[n++] = "-D", argv[n++] = (char *)dir;
    argv[n++] = "-c", argv[n++] = "listen_addresses=";
    argv[n++] = "-c", argv[n++] = sock;
    for (unsigned i = 0; i < t->cfg->nsettings; i++) {
        if (pg_own_setting(t->cfg->settings[i].key))
            continue;
        snprintf(sets[i], sizeof sets[i], "%s=%s", t->cfg->settings[i].key, t->cfg->settings[i].value);
        argv[n++] = "-c", argv[n++] = sets[i];
    }
    argv[n] = NULL;
    return target_spawn(t, argv, NULL, recorded, t->drop_privileges, NULL, pid, err, errlen);
}

static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Connects once the server accepts connections; NULL when it died (its
 * FATAL line in err), never did within the start timeout, or fsynclab got
 * a signal. */
static PGconn *pg_connect(struct target_trial *t, const char *dir, const char *sockdir, pid_t pid,
                          long log_from, char *err, size_t errlen)
{
    char conninfo[PATH_MAX + 64];
    snprintf(conninfo, sizeof conninfo, "host=%s dbname=postgres user=postgres connect_timeout=5", sockdir);
    int limit = target_timeout_ms(t);
    for (int waited = 0; waited < limit && !target_stopped(); waited += 20) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            char how[64], tail[400];
            target_status_text(st, how, sizeof how);
            target_log_tail(t, log_from, tail, sizeof tail);
            (void)PL_ERR(err, errlen, 0, "postgres on %s ended at its start (%s): %s", dir, how, *tail ? tail : "no message");
            return NULL;
        }
        if (PQping(conninfo) == PQPING_OK) {
            PGconn *c = PQconnectdb(conninfo);
            if (PQstatus(c) == CONNECTION_OK) {
                PQsetNoticeProcessor(c, pg_quiet, NULL);
                return c;
            }
            PQfinish(c);
        }
        usleep(20000);
    }
    if (target_stopped())
        (void)PL_ERR(err, errlen, 0, "interrupted");
    else
        (void)PL_ERR(err, errlen, 0, "postgres on %s did not accept connections within %d ms (--check-timeout S)", dir, limit);
    return NULL;
}

/* Each --set as the server reports it; -EINVAL when one did not come from
 * the command line (the server did not take it). */
static int pg_applied(struct target_trial *t, PGconn *c, char *err, size_t errlen)
{
    const char *sc = target_setting(t->cfg, "synchronous_commit", NULL);
    unsigned n = t->cfg->nsettings;
    for (unsigned i = 0; i <= n; i++) {
        const char *key = i < n ? t->cfg->settings[i].key : "synchronous_commit";
        if (pg_own_setting(key) || (i == n && sc)) {
            if (i < n)
                target_applied(t->out, key, t->cfg->settings[i].value);
            continue;
        }
        const char *param[1] = {key};
        PGresult *r = PQexecParams(c, "SELECT current_setting(name), source FROM pg_settings WHERE name = $1",
                                   1, NULL, param, NULL, NULL, 0);
        int found = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        if (!found || (i < n && strcmp(PQgetvalue(r, 0, 1), "command line") != 0)) {
            (void)PL_ERR(err, errlen, 0, "postgres did not take --set %s=%s: %s", key, i < n ? t->cfg->settings[i].value : "",
                    found ? "pg_settings shows it from elsewhere" : PQerrorMessage(c));
            PQclear(r);
            return -EINVAL;
        }
        target_applied(t->out, key, PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    return 0;
}

/* Stops the server on dir and removes the segment it leaves (its id read
 * after the kill: the server may have written it after the start). */
static void pg_stop(const struct target_trial *t, pid_t pid, const char *dir, int graceful)
{
    int st;
    if (graceful && kill(pid, SIGQUIT) == 0)   /* immediate shutdown */
        target_wait(pid, 10000, &st);
    target_kill_group(pid);
    pg_free_ipc(dir, t->uid);
}

static int pg_run(struct target_trial *t, char *err, size_t errlen)
{
    pid_t pid;
    long log_from = target_log_size(t);
    int rc = pg_start(t, t->data, t->sock, 1, &pid, err, errlen);
    if (rc)
        return rc;
    PGconn *c = pg_connect(t, t->data, t->sock, pid, log_from, err, errlen);
    if (!c) {
        pg_stop(t, pid, t->data, 0);
        /* "FATAL: invalid value for parameter", "... requires a Boolean value": a --set (exit 2) */
        return target_stopped() ? -EINTR : err && strstr(err, "parameter \"") ? -EINVAL : -EIO;
    }
    if ((rc = pg_applied(t, c, err, errlen)) != 0) {
        pg_stop(t, pid, t->data, 0);
        PQfinish(c);
        return rc;
    }
    PGresult *r = PQexec(c, "CREATE TABLE IF NOT EXISTS t(k bigint PRIMARY KEY)");
    int failed = PQresultStatus(r) != PGRES_COMMAND_OK;   /* with --fault: a trial without an ack */
    if (failed && !target_client_error(t, target_now_ns(), PQerrorMessage(c), PQstatus(c) != CONNECTION_OK)) {
        (void)PL_ERR(err, errlen, 0, "postgres CREATE TABLE: %s", PQerrorMessage(c));
        rc = -EIO;
    }
    PQclear(r);
    t->kill_ns = target_now_ns() + t->run_ns;
    char sql[64], key[32];
    for (long k = 1; rc == 0 && !failed && target_running(t); k++) {
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%ld)", k);
        r = PQexec(c, sql);
        uint64_t ns = target_now_ns();
        int acked = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!acked && target_client_error(t, ns, PQerrorMessage(c), PQstatus(c) != CONNECTION_OK))
            break;   /* --fault: the error is the result */
        if (!acked) {
            (void)PL_ERR(err, errlen, 0, "postgres INSERT %ld: %s", k, PQerrorMessage(c));
            rc = -EIO;
            break;
        }
        int len = snprintf(key, sizeof key, "%ld", k);
        rc = target_ack(t, key, (size_t)len, ns);
        /* --fault: a checkpoint every 100 rows, so that the data files are
         * synced during the run (data_sync_retry is about those syncs) */
        if (rc == 0 && t->cfg->faults.n && k % 100 == 0) {
            r = PQexec(c, "CHECKPOINT");
            int done = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            if (!done && target_client_error(t, target_now_ns(), PQerrorMessage(c), PQstatus(c) != CONNECTION_OK) &&
                PQstatus(c) != CONNECTION_OK)
                break;   /* the server is gone; an error with the server up: go on */
        }
    }
    uint64_t kill_ns = target_now_ns();
    pg_stop(t, pid, t->data, 0);
    PQfinish(c);
    if (kill_ns < t->kill_ns || rc)
        t->kill_ns = kill_ns;
    return rc;
}

static int pg_check(struct target_trial *t, const char *image, struct target_keyset *found, int *ok, char *err,
                    size_t errlen)
{
    char sockdir[PATH_MAX + 16];
    snprintf(sockdir, sizeof sockdir, "%s/check", t->sock);
    if (mkdir(sockdir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "mkdir(%s): %s", sockdir, strerror(e));
        return -e;
    }
    if (t->drop_privileges && chown(sockdir, t->uid, t->gid) != 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "chown(%s): %s", sockdir, strerror(e));
        return -e;
    }
    pid_t pid;
    long log_from = target_log_size(t);
    int rc = pg_start(t, image, sockdir, 0, &pid, err, errlen);
    if (rc)
        return rc;
    *ok = 0;
    char why[512] = "";
    PGconn *c = pg_connect(t, image, sockdir, pid, log_from, why, sizeof why);
    if (!c && !strstr(why, "ended at its start")) {   /* a server that refuses the image: not recovered */
        pg_stop(t, pid, image, 0);
        (void)PL_ERR(err, errlen, 0, "%s", why);
        return target_stopped() ? -EINTR : -ETIMEDOUT;
    }
    if (c) {
        PGresult *r = PQexec(c, "SELECT k FROM t");
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            *ok = 1;
            for (int i = 0; rc == 0 && i < PQntuples(r); i++)
                rc = target_keyset_add(found, PQgetvalue(r, i, 0));
        } else {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            *ok = state && strcmp(state, "42P01") == 0;   /* no table: its creation was lost */
        }
        PQclear(r);
        PQfinish(c);
    }
    pg_stop(t, pid, image, 1);
    if (rc)
        (void)PL_ERR(err, errlen, 0, "recording a row: %s", strerror(-rc));
    return rc;
}

const struct target_ops target_postgres = {
    .name = "postgres",
    .keys = pg_keys,
    .setup = pg_setup,
    .prepare = pg_prepare,
    .run = pg_run,
    .check = pg_check,
};
