/* lmdb_worker: the lmdb target's program.
 *
 *   FSYNCLAB_DATA=DIR fsynclab-lmdb-worker run FLAGS [COMMITS]
 *       one write transaction a key (kN) into the environment DIR/db,
 *       printing `ack kN` after each mdb_txn_commit returns, until it is
 *       killed.  FLAGS: none, MDB_NOSYNC, MDB_NOMETASYNC or MDB_WRITEMAP.
 *       With COMMITS (explore's bounded workload) it closes the environment
 *       after that many and exits 0 (mdb_env_close does not sync: what
 *       MDB_NOSYNC left unsynced stays so).
 *   FSYNCLAB_DATA=DIR fsynclab-lmdb-worker prepare FLAGS
 *       creates DIR/db and the environment in it, then closes it (not
 *       recorded: the trial starts from an installed database, whose
 *       directory entries are durable).
 *   fsynclab-lmdb-worker check DIR
 *       opens the environment as a restart would, prints `key K` for every
 *       key, then `ok`; an environment that does not open, or a tree that
 *       cannot be read, prints `fail REASON` and exits 3.  No DIR/db/data.mdb
 *       is an empty database.
 *
 * DESIGN.  With MDB_WRITEMAP the map is small (WRITEMAP_BYTES, a few
 * thousand keys): LMDB grows the file to the map size and msyncs all of it
 * at each commit, and the recorder copies what a msync covers into its
 * journal.  Without it the map is only read, and writes go by pwrite.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITEMAP_BYTES (128u << 10)
#define MAP_BYTES (64u << 20)

static int fail(const char *what, int rc)
{
    printf("fail %s: %s\n", what, mdb_strerror(rc));
    return 3;
}

static int check(const char *dir)
{
    char path[4096], data[4200];
    snprintf(path, sizeof path, "%s/db", dir);
    snprintf(data, sizeof data, "%s/data.mdb", path);
    if (access(data, F_OK) != 0) {
        puts("ok");
        return 0;
    }
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    int rc = mdb_env_create(&env);   /* the map size is the file's own */
    if (rc || (rc = mdb_env_open(env, path, 0, 0644)) != 0)
        return fail("mdb_env_open", rc);
    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
        return fail("mdb_txn_begin", rc);
    if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0)
        return fail("mdb_dbi_open", rc);
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
        return fail("mdb_cursor_open", rc);
    MDB_val k, v;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
        printf("key %.*s\n", (int)k.mv_size, (const char *)k.mv_data);
    if (rc != MDB_NOTFOUND)
        return fail("mdb_cursor_get", rc);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    puts("ok");
    return fflush(stdout) == 0 ? 0 : 1;
}

static int run(const char *dir, const char *flags, int prepare, long commits)
{
    unsigned f = strcmp(flags, "MDB_NOSYNC") == 0       ? MDB_NOSYNC
                 : strcmp(flags, "MDB_NOMETASYNC") == 0 ? MDB_NOMETASYNC
                 : strcmp(flags, "MDB_WRITEMAP") == 0   ? MDB_WRITEMAP
                                                        : 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/db", dir);
    if (prepare && mkdir(path, 0755) != 0) {
        perror("lmdb worker: mkdir");
        return 1;
    }
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, f == MDB_WRITEMAP ? WRITEMAP_BYTES : MAP_BYTES);
    if (rc || (rc = mdb_env_open(env, path, f, 0644)) != 0) {
        fprintf(stderr, "lmdb worker: mdb_env_open(%s): %s\n", path, mdb_strerror(rc));
        return 1;
    }
    if (prepare) {
        mdb_env_close(env);
        return 0;
    }
    char key[32];
    for (long n = 1; !commits || n <= commits; n++) {
        int len = snprintf(key, sizeof key, "k%ld", n);
        MDB_val k = {(size_t)len, key}, v = {1, "v"};
        if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 || (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 ||
            (rc = mdb_put(txn, dbi, &k, &v, 0)) != 0 || (rc = mdb_txn_commit(txn)) != 0) {
            fprintf(stderr, "lmdb worker: transaction %s: %s\n", key, mdb_strerror(rc));
            return 1;   /* MDB_MAP_FULL ends the run: acks stop, the trial is still judged */
        }
        if (printf("ack %s\n", key) < 0 || fflush(stdout) != 0)
            return 1;
    }
    mdb_env_close(env);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("FSYNCLAB_DATA");
    if (argc == 3 && strcmp(argv[1], "check") == 0)
        return check(argv[2]);
    long n = argc == 4 && strcmp(argv[1], "run") == 0 ? atol(argv[3]) : 0;
    if ((argc == 3 || (argc == 4 && n > 0)) && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "prepare") == 0) && dir)
        return run(dir, argv[2], strcmp(argv[1], "prepare") == 0, n);
    fprintf(stderr, "usage: FSYNCLAB_DATA=DIR fsynclab-lmdb-worker run|prepare none|MDB_NOSYNC|MDB_NOMETASYNC|MDB_WRITEMAP [COMMITS]\n"
                    "       fsynclab-lmdb-worker check DIR\n");
    return 2;
}

#ifdef FSYNCLAB_TEST_HIDDEN_MAP
/* The mutation tests/e2e/targets_db.sh builds: this worker's own mmap and
 * msync (which liblmdb resolves to before the preload library) go straight
 * to the kernel, so the recorder never learns of the mapping and the lmdb
 * target must say it could not judge. */
#include <sys/syscall.h>
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}
int msync(void *addr, size_t len, int flags)
{
    return (int)syscall(SYS_msync, addr, len, flags);
}
#endif
