/* rocksdb_worker: the rocksdb target's program, through RocksDB's C API.
 *
 *   FSYNCLAB_DATA=DIR fsynclab-rocksdb-worker run SYNC DISABLE_WAL MANUAL_WAL_FLUSH [PUTS]
 *       one Put of kN a write into DIR/db, printing `ack kN` after each
 *       returns, until it is killed (SYNC etc.: true|false); with PUTS
 *       (explore's bounded workload) it closes the database after that many
 *       and exits 0.
 *   FSYNCLAB_DATA=DIR fsynclab-rocksdb-worker prepare SYNC DISABLE_WAL MANUAL_WAL_FLUSH
 *       creates the database DIR/db and closes it (not recorded: RocksDB
 *       never syncs the directory that holds the one it creates, so a run
 *       from nothing loses it whole under a strict model, as Redis's
 *       appendonlydir is; the trial starts from an installed database).
 *   fsynclab-rocksdb-worker check DIR
 *       opens DIR/db as a restart would (WAL replay), prints `key K` for
 *       every key, then `ok`; a database that will not open prints
 *       `fail REASON` and exits 3.  No DIR/db at all is an empty database.
 *
 * DESIGN.  A program of its own (not in libfsynclab.a): the recorder is
 * preloaded at exec, so the workload needs its own process; the check runs
 * the same library the workload wrote with.
 */
#include <dirent.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int flag(const char *v)
{
    return strcmp(v, "true") == 0;
}

static int check(const char *dir)
{
    char path[4096], current[4200];
    snprintf(path, sizeof path, "%s/db", dir);
    snprintf(current, sizeof current, "%s/CURRENT", path);
    if (access(current, F_OK) != 0) {   /* never created, or its creation was lost */
        puts("ok");
        return 0;
    }
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_info_log_level(o, 4);   /* HEADER_LEVEL: no chatter */
    char *err = NULL;
    rocksdb_t *db = rocksdb_open(o, path, &err);
    if (err) {
        printf("fail rocksdb_open(%s): %s\n", path, err);
        return 3;
    }
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator(db, ro);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t len;
        const char *k = rocksdb_iter_key(it, &len);
        printf("key %.*s\n", (int)len, k);
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    if (err) {
        printf("fail iterating %s: %s\n", path, err);
        return 3;
    }
    puts("ok");
    return fflush(stdout) == 0 ? 0 : 1;
}

/* 1: this process has an io_uring descriptor or a Linux AIO ring: writes
 * the recorder cannot see.  A bounded run checks before it exits, since
 * fsynclab can no longer look at a process that has ended. */
static int aio_open(void)
{
    char path[300], link[128], line[512];
    int found = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n > 0 && (link[n] = '\0', strstr(link, "io_uring")))
            found = 1;
    }
    if (d)
        closedir(d);
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, "/[aio]") != NULL;
    if (f)
        fclose(f);
    return found;
}

static int run(const char *dir, const char *sync, const char *nowal, const char *manual, int prepare, long n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/db", dir);
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_info_log_level(o, 4);
    rocksdb_options_set_manual_wal_flush(o, flag(manual));
    char *err = NULL;
    rocksdb_t *db = rocksdb_open(o, path, &err);
    if (err) {
        fprintf(stderr, "rocksdb worker: rocksdb_open(%s): %s\n", path, err);
        return 1;
    }
    if (prepare) {
        rocksdb_close(db);
        rocksdb_options_destroy(o);
        return 0;
    }
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(wo, flag(sync));
    rocksdb_writeoptions_disable_WAL(wo, flag(nowal));
    char key[32];
    for (long k = 1; !n || k <= n; k++) {
        int len = snprintf(key, sizeof key, "k%ld", k);
        rocksdb_put(db, wo, key, (size_t)len, "v", 1, &err);
        if (err) {
            fprintf(stderr, "rocksdb worker: Put %s: %s\n", key, err);
            return 1;
        }
        if (printf("ack %s\n", key) < 0 || fflush(stdout) != 0)
            return 1;
    }
    if (aio_open()) {
        fprintf(stderr, "rocksdb worker: an io_uring or Linux AIO ring is open: writes may escape the recorder\n");
        return 5;
    }
    rocksdb_writeoptions_destroy(wo);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("FSYNCLAB_DATA");
    if (argc == 3 && strcmp(argv[1], "check") == 0)
        return check(argv[2]);
    long n = argc == 6 && strcmp(argv[1], "run") == 0 ? atol(argv[5]) : 0;
    if ((argc == 5 || (argc == 6 && n > 0)) && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "prepare") == 0) && dir)
        return run(dir, argv[2], argv[3], argv[4], strcmp(argv[1], "prepare") == 0, n);
    fprintf(stderr, "usage: FSYNCLAB_DATA=DIR fsynclab-rocksdb-worker run|prepare SYNC DISABLE_WAL MANUAL_WAL_FLUSH [PUTS]\n"
                    "       fsynclab-rocksdb-worker check DIR\n");
    return 2;
}
