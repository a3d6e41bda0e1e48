/* eio_kv: a tiny key log in two versions, for `crash --target contract
 * --fault` (docs/fsync-failures.md): what a program does with an EIO from
 * fdatasync decides what it loses.
 *
 *   eio_kv retry DIR   appends "keyN\n" to DIR/kv.log, fdatasyncs, prints
 *                      `ack keyN`; when the fdatasync fails it calls it
 *                      again until one succeeds, and acknowledges (the
 *                      mistake PostgreSQL made before 2018: on Linux the
 *                      second call succeeds and the data is gone).
 *   eio_kv fatal DIR   the same, but a failed fdatasync is fatal: it prints
 *                      `error keyN` (the client is told) and exits 1.
 *   eio_kv small DIR   as retry, with records of a line each ("keyN\n"):
 *                      several share a page (see below).
 *   eio_kv check DIR   prints every whole key line of DIR/kv.log.
 *
 * Each key is a 4096-byte record ("keyN", NULs, a newline), a page of its
 * own: on Linux a later write into the page of a write whose writeback
 * failed dirties the page again and saves it (the page cache still holds
 * the bytes), so a log of records smaller than a page would lose nothing
 * to a retry; page-sized records (as databases write) lose the record.
 * Runs until killed (or N keys, when a third argument gives N).  stdout
 * is line-buffered on purpose: each ack is one whole line the moment it
 * is given.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int kv_check(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/kv.log", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : 1;   /* nothing written yet: an empty store */
    /* A line at a time by hand, NULs skipped: a record is padded with them,
     * and a write lost to a failed fdatasync leaves a hole of zeros before
     * the next key (its file grew past it). */
    char line[256];
    size_t n = 0;
    for (int c; (c = getc(f)) != EOF;) {
        if (c == '\n') {
            if (n)
                printf("%.*s\n", (int)n, line);
            n = 0;
        } else if (c != '\0' && n < sizeof line - 1) {
            line[n++] = (char)c;
        }
    }   /* a torn last line (no newline) is no key */
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "retry") != 0 && strcmp(argv[1], "fatal") != 0 &&
                     strcmp(argv[1], "small") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: eio_kv retry|fatal|small|check DIR [N]\n");
        return 2;
    }
    if (strcmp(argv[1], "check") == 0)
        return kv_check(argv[2]);
    int small = strcmp(argv[1], "small") == 0, retry = small || strcmp(argv[1], "retry") == 0;
    long n = argc > 3 ? strtol(argv[3], NULL, 10) : -1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/kv.log", argv[2]);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "open(%s): %s\n", path, strerror(errno));
        return 1;
    }
    int dfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);   /* its name is durable too */
    if (dfd < 0 || fsync(dfd) != 0 || close(dfd) != 0) {
        fprintf(stderr, "fsync(%s): %s\n", argv[2], strerror(errno));
        return 1;
    }
    for (long i = 1; n < 0 || i <= n; i++) {
        static char line[4096];
        memset(line, 0, sizeof line);
        snprintf(line, sizeof line, "key%ld", i);
        line[sizeof line - 1] = '\n';
        int len = (int)sizeof line;
        if (small)
            len = snprintf(line, sizeof line, "key%ld\n", i);
        if (write(fd, line, (size_t)len) != len) {
            printf("error key%ld\n", i);
            fprintf(stderr, "write(%s): %s\n", path, strerror(errno));
            return 1;
        }
        while (fdatasync(fd) != 0) {
            fprintf(stderr, "fdatasync(%s): %s%s\n", path, strerror(errno), retry ? "; retrying" : "");
            if (!retry) {
                printf("error key%ld\n", i);
                return 1;
            }
        }
        printf("ack key%ld\n", i);
    }
    return 0;
}
