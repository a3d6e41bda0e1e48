/* sqlite_worker: the sqlite target's program: one row per transaction into
 * $FSYNCLAB_DATA/db.sqlite, printing `ack N` after each commit returns.
 *
 * DESIGN.  A separate program (not part of libfsynclab.a) because the
 * recorder is preloaded at exec: the workload must run in a process of its
 * own.  argv: journal_mode synchronous.  Prints `setting KEY VALUE` for
 * both as SQLite reports them (PRAGMA) and exits 3 when one was not taken
 * (journal_mode=WAL on a file system without shared memory gives
 * "delete").  Runs until it is killed, or with a third argument N
 * (explore's bounded workload) ends after N commits.  A commit that fails
 * (an injected fault, --fault) is told to the client as `error N MESSAGE`
 * and the next row is tried: what SQLite does after it is the result;
 * after 50 failures in a row it exits 4 (SQLite refuses further writes).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static int fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "sqlite worker: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("FSYNCLAB_DATA");
    long n = argc == 4 ? atol(argv[3]) : 0;
    if ((argc != 3 && (argc != 4 || n < 1)) || !dir) {
        fprintf(stderr, "usage: FSYNCLAB_DATA=DIR fsynclab-sqlite-worker JOURNAL_MODE SYNCHRONOUS [COMMITS]\n");
        return 2;
    }
    char path[4096], pragmas[256];
    snprintf(path, sizeof path, "%s/db.sqlite", dir);
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=%s; PRAGMA synchronous=%s;"
             "CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY, v BLOB);",
             argv[1], argv[2]);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return fail(db, "sqlite3_open");
    if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, pragmas);
    static const char *const syncs[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
    const char *mode = NULL;
    int sync = -1;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        mode = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        sync = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (!mode || sync < 0 || sync > 3)
        return fail(db, "PRAGMA journal_mode, synchronous");
    printf("setting journal_mode %s\nsetting synchronous %s\n", mode, syncs[sync]);
    if (fflush(stdout) != 0)
        return 1;
    if (strcasecmp(mode, argv[1]) != 0 || strcasecmp(syncs[sync], argv[2]) != 0) {
        fprintf(stderr, "sqlite worker: asked journal_mode=%s synchronous=%s, SQLite reports %s and %s\n",
                argv[1], argv[2], mode, syncs[sync]);
        return 3;
    }
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?, randomblob(100))", -1, &ins, NULL) != SQLITE_OK)
        return fail(db, "prepare");
    for (long k = 1, failed = 0; !n || k <= n; k++) {
        sqlite3_bind_int64(ins, 1, k);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            sqlite3_reset(ins);
            if (printf("error %ld %s\n", k, sqlite3_errmsg(db)) < 0 || fflush(stdout) != 0)
                return 1;
            if (++failed == 50)
                return 4;
            continue;
        }
        failed = 0;
        sqlite3_reset(ins);
        if (printf("ack %ld\n", k) < 0 || fflush(stdout) != 0)
            return 1;
    }
    sqlite3_finalize(ins);
    return sqlite3_close(db) == SQLITE_OK ? 0 : fail(db, "sqlite3_close");
}
