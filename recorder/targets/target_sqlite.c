/* target_sqlite: SQLite through libsqlite3, one row per transaction.
 *
 * DESIGN.  The workload runs in fsynclab-sqlite-worker under the recorder
 * and acknowledges through the contract's `ack KEY` lines; the check opens
 * the image read-write in this process (so that SQLite replays a WAL or
 * rolls back a hot journal, as a restart would), runs PRAGMA
 * integrity_check and lists the rows.  A missing database is a database
 * that starts empty: recovered, with every acknowledged row lost.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"


static int sqlite_one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcasecmp(v, *allowed) == 0)
            return 1;
    return 0;
}

static const char *const sqlite_keys[] = {"journal_mode", "synchronous", NULL};

static int sqlite_setup(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                        char *err, size_t errlen)
{
    static const char *const modes[] = {"WAL", "DELETE", "TRUNCATE", "PERSIST", NULL};
    static const char *const syncs[] = {"FULL", "NORMAL", "OFF", "EXTRA", NULL};
    const char *mode = target_setting(cfg, "journal_mode", "WAL");
    const char *sync = target_setting(cfg, "synchronous", "FULL");
    if (!sqlite_one_of(mode, modes)) {
        (void)PL_ERR(err, errlen, 0, "--set journal_mode: WAL, DELETE, TRUNCATE or PERSIST, not \"%s\"", mode);
        return -EINVAL;
    }
    if (!sqlite_one_of(sync, syncs)) {
        (void)PL_ERR(err, errlen, 0, "--set synchronous: FULL, NORMAL, OFF or EXTRA, not \"%s\"", sync);
        return -EINVAL;
    }
    int wal = strcasecmp(mode, "WAL") == 0;
    if (strcasecmp(sync, "FULL") == 0 || strcasecmp(sync, "EXTRA") == 0) {
        out->promised = "FULL: a committed transaction survives power loss";
        out->promised_window_ms = 0;
    } else if (strcasecmp(sync, "NORMAL") == 0 && wal) {
        out->promised = "WAL+NORMAL: always consistent; a commit may roll back after power loss";
        out->integrity_only = 1;
    } else if (strcasecmp(sync, "NORMAL") == 0) {
        out->promised = "NORMAL: a very small chance of corruption on power loss";
    } else {
        out->promised = "OFF: the database may corrupt on power loss";
    }
    /* --fault: the result codes page */
    out->fault.documented = "SQLITE_IOERR_FSYNC: \"an I/O error in the VFS layer while trying to flush "
                            "previously written content ... into persistent storage\"";
    return 0;
}

static int sqlite_run(struct target_trial *t, char *err, size_t errlen)
{
    char worker[PATH_MAX];
    int rc = target_helper(t, "fsynclab-sqlite-worker", worker, sizeof worker);
    if (rc) {
        (void)PL_ERR(err, errlen, 0, "fsynclab-sqlite-worker next to %s: %s", t->lib, strerror(-rc));
        return rc;
    }
    char env[PATH_MAX + 32];
    snprintf(env, sizeof env, "FSYNCLAB_DATA=%s", t->data);
    char *envv[] = {env, NULL};
    char ops[24];
    snprintf(ops, sizeof ops, "%u", t->ops);   /* explore: the worker ends after that many commits */
    char *argv[] = {worker, (char *)target_setting(t->cfg, "journal_mode", "WAL"),
                    (char *)target_setting(t->cfg, "synchronous", "FULL"), t->ops ? ops : NULL, NULL};
    int fd;
    pid_t pid;
    long log_from = target_log_size(t);
    if ((rc = target_spawn(t, argv, envv, 1, 0, &fd, &pid, err, errlen)) != 0)
        return rc;
    t->kill_ns = target_now_ns() + t->run_ns;
    rc = target_read_acks(t, fd, err, errlen);
    uint64_t kill_ns = target_now_ns();
    if (t->exited && !target_wait(pid, 500, &t->exit_status))
        t->exit_status = -1;
    target_kill_group(pid);
    target_drain_acks(t, fd);
    close(fd);
    if (kill_ns < t->kill_ns)
        t->kill_ns = kill_ns;
    int said_no = t->exit_status >= 0 && WIFEXITED(t->exit_status) && WEXITSTATUS(t->exit_status) == 3;
    int ended_well = t->ops && t->exit_status >= 0 && WIFEXITED(t->exit_status) && WEXITSTATUS(t->exit_status) == 0;
    /* The worker runs until killed: an end is its failure, unless explore
     * bounded the workload (it ends well), or with --fault a result
     * (SQLite refused further writes). */
    if (rc == 0 && t->exited && !ended_well && (!t->cfg->faults.n || said_no)) {
        char tail[400], how[64];
        target_log_tail(t, log_from, tail, sizeof tail);
        target_status_text(t->exit_status, how, sizeof how);
        (void)PL_ERR(err, errlen, 0, "fsynclab-sqlite-worker ended (%s): %s", how, *tail ? tail : "no message");
        /* 3: SQLite did not take a setting; that is the --set's fault (exit 2) */
        rc = t->exit_status >= 0 && WIFEXITED(t->exit_status) && WEXITSTATUS(t->exit_status) == 3 ? -EINVAL : -EIO;
    }
    return rc;
}

static int sqlite_check(struct target_trial *t, const char *image, struct target_keyset *found, int *ok,
                        char *err, size_t errlen)
{
    (void)t;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/db.sqlite", image);
    *ok = 0;
    if (access(path, F_OK) != 0) {
        *ok = 1;
        return 0;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        goto out;   /* not recovered: *ok stays 0 */
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        goto out;
    int intact = sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    st = NULL;
    if (!intact)
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT k FROM t", -1, &st, NULL) != SQLITE_OK) {
        /* no table: the database was created but its first commit is gone */
        *ok = strstr(sqlite3_errmsg(db), "no such table") != NULL;
        goto out;
    }
    int step = SQLITE_ERROR;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = target_keyset_add(found, (const char *)sqlite3_column_text(st, 0));
    *ok = rc == 0 && step == SQLITE_DONE;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc)
        (void)PL_ERR(err, errlen, 0, "recording a row: %s", strerror(-rc));
    return rc;
}

const struct target_ops target_sqlite = {
    .name = "sqlite",
    .keys = sqlite_keys,
    .setup = sqlite_setup,
    .run = sqlite_run,
    .check = sqlite_check,
};
