/* target_postgres: PostgreSQL 15 (initdb, postgres; libpq), one row per commit.
 *
 * DESIGN.  initdb prepares the cluster before the snapshot (not recorded).
 * The server runs under the recorder in its own process group, listening
 * on a Unix socket only (listen_addresses = '', the socket in the trial
 * directory); the driver here INSERTs one row per transaction and takes
 * each command's completion as the acknowledgement.  PostgreSQL refuses to
 * run as root: when fsynclab is root, initdb and every server run as
 * `nobody` (setgid and setuid in the forked child), on directories handed
 * to it with chown.  The check starts an unrecorded server on the image
 * (crash recovery replays the WAL), lists the rows, and stops it.  A server
 * killed by SIGKILL leaves its System V segment behind: it is removed by
 * the id in postmaster.pid.
 */
#include <errno.h>
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

#include "recorder/targets/targets.h"

#define SET_ERR(...) ((void)(err ? snprintf(err, errlen, __VA_ARGS__) : 0))
#define PG_START_MS 60000
#define PG_BINDIR "/usr/lib/postgresql/15/bin"

/* Settings that are fsynclab's, not the server's. */
static int pg_own_setting(const char *key)
{
    return strcmp(key, "bindir") == 0;
}

static int pg_setup(const struct recorder_crash_config *cfg, struct recorder_crash_result *out, char *err,
                    size_t errlen)
{
    const char *sc = target_setting(cfg, "synchronous_commit", "on");
    char initdb[PATH_MAX];
    snprintf(initdb, sizeof initdb, "%s/initdb", target_setting(cfg, "bindir", PG_BINDIR));
    if (access(initdb, X_OK) != 0) {
        SET_ERR("postgres: %s: %s (set bindir=DIR)", initdb, strerror(errno));
        return -ENOENT;
    }
    if (strcasecmp(sc, "off") == 0) {
        /* "the maximum delay is three times wal_writer_delay" */
        double delay = atof(target_setting(cfg, "wal_writer_delay", "200"));
        out->promised = "off: at most three times wal_writer_delay";
        out->promised_window_ms = 3 * (delay > 0 ? delay : 200);
    } else if (strcasecmp(sc, "on") == 0 || strcasecmp(sc, "local") == 0 ||
               strcasecmp(sc, "remote_write") == 0 || strcasecmp(sc, "remote_apply") == 0) {
        out->promised = "on: a reported commit is durable";
        out->promised_window_ms = 0;
    } else {
        SET_ERR("postgres: synchronous_commit on|off|local|remote_write|remote_apply, not %s", sc);
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

static int pg_prepare(struct target_trial *t, char *err, size_t errlen)
{
    if (geteuid() == 0) {
        const struct passwd *pw = getpwnam("nobody");
        if (!pw) {
            SET_ERR("postgres refuses root and there is no user nobody");
            return -ENOENT;
        }
        t->uid = pw->pw_uid;
        t->gid = pw->pw_gid;
        t->drop_privileges = 1;
        int rc = recorder_tree_chown(t->base, t->uid, t->gid, err, errlen);
        if (rc)
            return rc;
    }
    char initdb[PATH_MAX];
    int st = 0, rc = pg_bin(t, "initdb", initdb, sizeof initdb);
    char *argv[] = {initdb, "-D", t->data, "-U", "postgres", "-A", "trust", "-N", NULL};
    if (rc == 0)
        rc = target_run_quiet(t, argv, t->drop_privileges, PG_START_MS, &st, err, errlen);
    if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        SET_ERR("initdb -D %s: status %d", t->data, st);
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

/* Connects once the server accepts connections; NULL if it died first. */
static PGconn *pg_connect(const char *sockdir, pid_t pid)
{
    char conninfo[PATH_MAX + 64];
    snprintf(conninfo, sizeof conninfo, "host=%s dbname=postgres user=postgres connect_timeout=5", sockdir);
    for (int waited = 0; waited < PG_START_MS; waited += 20) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return NULL;
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
    return NULL;
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

static void pg_stop(pid_t pid, int shm_id, int graceful)
{
    int st;
    if (graceful && kill(pid, SIGQUIT) == 0)   /* immediate shutdown */
        target_wait(pid, 10000, &st);
    target_kill_group(pid);
    if (shm_id >= 0)
        shmctl(shm_id, IPC_RMID, NULL);
}

static int pg_run(struct target_trial *t, char *err, size_t errlen)
{
    pid_t pid;
    int rc = pg_start(t, t->data, t->base, 1, &pid, err, errlen);
    if (rc)
        return rc;
    PGconn *c = pg_connect(t->base, pid);
    int shm_id = pg_shm_id(t->data);
    if (!c) {
        pg_stop(pid, shm_id, 0);
        SET_ERR("postgres on %s did not accept connections within %d ms", t->data, PG_START_MS);
        return -ETIMEDOUT;
    }
    PGresult *r = PQexec(c, "CREATE TABLE IF NOT EXISTS t(k bigint PRIMARY KEY)");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        SET_ERR("postgres CREATE TABLE: %s", PQerrorMessage(c));
        rc = -EIO;
    }
    PQclear(r);
    t->kill_ns = target_now_ns() + t->run_ns;
    char sql[64], key[32];
    for (long k = 1; rc == 0 && target_now_ns() < t->kill_ns; k++) {
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%ld)", k);
        r = PQexec(c, sql);
        uint64_t ns = target_now_ns();
        int acked = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!acked) {
            SET_ERR("postgres INSERT %ld: %s", k, PQerrorMessage(c));
            rc = -EIO;
            break;
        }
        int len = snprintf(key, sizeof key, "%ld", k);
        rc = target_ack(t, key, (size_t)len, ns);
    }
    uint64_t kill_ns = target_now_ns();
    pg_stop(pid, shm_id, 0);
    PQfinish(c);
    if (kill_ns < t->kill_ns || rc)
        t->kill_ns = kill_ns;
    return rc;
}

static int pg_check(struct target_trial *t, const char *image, struct target_keyset *found, int *ok, char *err,
                    size_t errlen)
{
    char sockdir[PATH_MAX + 16];
    snprintf(sockdir, sizeof sockdir, "%s/check", t->base);
    if (mkdir(sockdir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        SET_ERR("mkdir(%s): %s", sockdir, strerror(e));
        return -e;
    }
    if (t->drop_privileges && chown(sockdir, t->uid, t->gid) != 0) {
        int e = errno;
        SET_ERR("chown(%s): %s", sockdir, strerror(e));
        return -e;
    }
    pid_t pid;
    int rc = pg_start(t, image, sockdir, 0, &pid, err, errlen);
    if (rc)
        return rc;
    *ok = 0;
    PGconn *c = pg_connect(sockdir, pid);
    int shm_id = pg_shm_id(image);
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
    pg_stop(pid, shm_id, 1);
    if (rc)
        SET_ERR("recording a row: %s", strerror(-rc));
    return rc;
}

const struct target_ops target_postgres = {
    .name = "postgres",
    .setup = pg_setup,
    .prepare = pg_prepare,
    .run = pg_run,
    .check = pg_check,
};
