/* rec_seeded: a small store with three seeded durability bugs, for
 * `fsynclab explore` (tests/e2e/explore.sh) and the call-site test.
 *
 *   rec_seeded run BUG N   in the current directory: N keys, `ack K` after each
 *   rec_seeded check       prints the keys the directory holds, one a line
 *
 * DESIGN.  No fsynclab code: it stands for any program.  Each key goes to
 * three places, each made durable the careful way, and is acknowledged
 * only then:
 *   log      an append-only file (created and synced with its directory
 *            once at the start): append "K\n", fdatasync;
 *   state    every key so far: written to state.tmp, fsync, rename over
 *            state, fsync of the directory;
 *   kK       a file of its own: create, write "K\n", fsync, fsync of the
 *            directory.
 * BUG leaves out one sync: `file-fsync` the log's fdatasync,
 * `rename-data` the fsync of state.tmp before its rename, `dir-fsync` the
 * directory's fsync after creating kK; `none` is the correct program.
 * check prints a key only when all three places hold it (a line counts
 * once it ends in a newline: a torn append is not a key).  Each step
 * lives in a function of its own (never inlined), so a call site names it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYS_MAX 100000

static void must(int ok, const char *call)
{
    if (!ok) {
        fprintf(stderr, "rec_seeded: %s: %s\n", call, strerror(errno));
        exit(2);
    }
}

static void sync_dir(void)
{
    int d = open(".", O_RDONLY | O_DIRECTORY);
    must(d >= 0 && fsync(d) == 0 && close(d) == 0, "fsync(.)");
}

/* A macro, not a function: the write's call site is the step's own line. */
#define PUT(fd, text) must(write((fd), (text), strlen(text)) == (ssize_t)strlen(text), "write")

__attribute__((noinline)) static void log_append(int fd, int key, int bug)
{
    char line[32];
    snprintf(line, sizeof line, "%d\n", key);
    PUT(fd, line);
    if (!bug)
        must(fdatasync(fd) == 0, "fdatasync(log)");
}

__attribute__((noinline)) static void state_replace(int keys, int bug)
{
    int fd = open("state.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0, "open(state.tmp)");
    char line[32];
    for (int k = 1; k <= keys; k++) {
        snprintf(line, sizeof line, "%d\n", k);
        PUT(fd, line);
    }
    if (!bug)
        must(fsync(fd) == 0, "fsync(state.tmp)");
    must(close(fd) == 0, "close(state.tmp)");
    must(rename("state.tmp", "state") == 0, "rename(state.tmp, state)");
    sync_dir();
}

__attribute__((noinline)) static void file_create(int key, int bug)
{
    char name[32], line[32];
    snprintf(name, sizeof name, "k%d", key);
    snprintf(line, sizeof line, "%d\n", key);
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
    must(fd >= 0, "open(kK)");
    PUT(fd, line);
    must(fsync(fd) == 0 && close(fd) == 0, "fsync(kK)");
    if (!bug)
        sync_dir();
}

static int run(const char *bug, int n)
{
    int b_file = strcmp(bug, "file-fsync") == 0, b_rename = strcmp(bug, "rename-data") == 0,
        b_dir = strcmp(bug, "dir-fsync") == 0;
    if (!b_file && !b_rename && !b_dir && strcmp(bug, "none") != 0) {
        fprintf(stderr, "rec_seeded: BUG is none, file-fsync, dir-fsync or rename-data, not %s\n", bug);
        return 2;
    }
    int log = open("log", O_WRONLY | O_CREAT | O_APPEND, 0644);
    must(log >= 0 && fsync(log) == 0, "open(log)");
    sync_dir();
    for (int k = 1; k <= n; k++) {
        log_append(log, k, b_file);
        state_replace(k, b_rename);
        file_create(k, b_dir);
        printf("ack %d\n", k);
        fflush(stdout);
    }
    must(close(log) == 0, "close(log)");
    return 0;
}

/* The keys of a file of lines: have[k] |= bit for each whole line "k". */
static void keys_of(const char *path, unsigned char *have, unsigned bit)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[64];
    while (fgets(line, sizeof line, f)) {
        char *end;
        long k = strtol(line, &end, 10);
        if (*end == '\n' && end != line && k >= 1 && k < KEYS_MAX)
            have[k] |= (unsigned char)bit;
    }
    fclose(f);
}

static int check(void)
{
    static unsigned char have[KEYS_MAX];
    keys_of("log", have, 1);
    keys_of("state", have, 2);
    for (int k = 1; k < KEYS_MAX; k++) {
        char name[32];
        snprintf(name, sizeof name, "k%d", k);
        if (have[k] == 3)
            keys_of(name, have, 4);
        if (have[k] == 7)
            printf("%d\n", k);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "run") == 0) {
        int n = atoi(argv[3]);
        if (n < 1 || n >= KEYS_MAX) {
            fprintf(stderr, "rec_seeded: N is 1 to %d\n", KEYS_MAX - 1);
            return 2;
        }
        return run(argv[2], n);
    }
    if (argc == 2 && strcmp(argv[1], "check") == 0)
        return check();
    fprintf(stderr, "usage: rec_seeded run none|file-fsync|dir-fsync|rename-data N | rec_seeded check\n");
    return 2;
}
