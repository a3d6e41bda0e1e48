/* rec_ext4: the ext4 points of issue 20, as one small program that runs
 * both in the crash --vm guest on a real ext4 and under `fsynclab record`
 * on the host, so that tests/e2e/vm_ext4.sh can set the real kernel's
 * images beside the ext4 model's image of the same steps.
 *
 * DESIGN.  No fsynclab code: it stands for any program.  Every call is
 * checked and a failure exits 1 naming it.
 * argv: DIR run [--wait] | DIR rename-cut [--wait] | DIR check.
 *   run    makes f, g, k and old durable (each fsync'd, then the directory),
 *          then, in this order:
 *            10      ftruncate(f, 0), an append to g, fsync(g)
 *            rename  new written (8 KiB, never synced), renamed over old,
 *                    an append to g, fsync(g)
 *            11      h created, k overwritten in place (no size change, no
 *                    allocation), fdatasync(k)
 *          and prints one `ack OUTCOME` line a point, the outcome the real
 *          kernel is expected to leave, once every step has returned.  With
 *          --wait it then sleeps until killed (the guest's power cut must
 *          come while nothing else is written); without, it exits.
 *   rename-cut  the same files made durable, then only the rename: new
 *          written and renamed over old, nothing synced; the cut comes
 *          before ext4's 5-second commit, so old keeps its old data.
 *   rename-dirsync  the same, then an fsync of the directory (never of
 *          new): the rename is durable, new's data only if the file system
 *          writes it with the rename (ext4's auto_da_alloc).  Acks
 *          rename:intact (old holds the old or the new bytes, never an
 *          empty or partial file) and rename:new-data.
 *   check  prints the outcome of each point found in DIR, one a line:
 *            10:f-empty | 10:f-old | 10:f-missing | 10:f-other-<size>
 *            rename:new-data | rename:old-data | rename:old-missing | ...
 *            rename:new-name-left (when the name new still exists)
 *            rename:intact (old holds its old or its new bytes)
 *            11:h-absent | 11:h-present, 11:k-new | 11:k-old | ...
 * The order above is chosen so that no later step undoes an earlier one:
 * the fsync of g after the rename commits the truncation of f too (both
 * say the same), and nothing syncs after 11's fdatasync.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define F_SIZE 4096
#define NEW_SIZE 8192

static void must(int ok, const char *call)
{
    if (!ok) {
        fprintf(stderr, "rec_ext4: %s: %s\n", call, strerror(errno));
        exit(1);
    }
}

static void fill(const char *name, int c, size_t n)
{
    static char buf[NEW_SIZE];
    memset(buf, c, n);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0, name);
    must(write(fd, buf, n) == (ssize_t)n, "write");
    must(fsync(fd) == 0, "fsync");
    must(close(fd) == 0, "close");
}

static void append_and_fsync(const char *name, const char *byte)
{
    int fd = open(name, O_WRONLY | O_APPEND);
    must(fd >= 0, name);
    must(write(fd, byte, 1) == 1, "write");
    must(fsync(fd) == 0, "fsync(g)");
    must(close(fd) == 0, "close");
}

static void sync_dir(void)
{
    int fd = open(".", O_RDONLY | O_DIRECTORY);
    must(fd >= 0, "open(.)");
    must(fsync(fd) == 0, "fsync(.)");
    must(close(fd) == 0, "close");
}

static void write_new_and_rename(void)
{
    int fd = open("new", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0, "open(new)");
    static char buf[NEW_SIZE];
    memset(buf, 'N', sizeof buf);
    must(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf, "write(new)");
    must(close(fd) == 0, "close");
    must(rename("new", "old") == 0, "rename(new, old)");
}

static void setup(void)
{
    fill("f", 'F', F_SIZE);
    fill("g", 'G', 16);
    fill("k", 'K', F_SIZE);
    fill("old", 'O', F_SIZE);
    sync_dir();
}

static void done(const char *acks, int wait)
{
    printf("%s", acks);
    must(fflush(stdout) == 0, "fflush");
    while (wait)
        pause();
}

static int rename_cut(int wait)
{
    setup();
    write_new_and_rename();
    done("ack 10:f-old\nack rename:old-data\nack 11:h-absent\nack 11:k-old\n", wait);
    return 0;
}

static int rename_dirsync(int wait)
{
    setup();
    write_new_and_rename();
    sync_dir();
    done("ack rename:intact\nack rename:new-data\n", wait);
    return 0;
}

static int run(int wait)
{
    setup();

    /* 10: a truncation is metadata: the next journal commit, whichever
     * file's fsync asks for it, makes it durable. */
    int fd = open("f", O_WRONLY);
    must(fd >= 0, "open(f)");
    must(ftruncate(fd, 0) == 0, "ftruncate(f)");
    must(close(fd) == 0, "close");
    append_and_fsync("g", "a");

    /* rename over an existing name, the new data never synced: ext4's
     * auto_da_alloc starts its writeback at the rename, so a commit that
     * carries the rename carries the data. */
    write_new_and_rename();
    append_and_fsync("g", "b");

    /* 11: an fdatasync of a pure overwrite commits no transaction, so the
     * creation of h before it stays in the running one. */
    fd = open("h", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0, "open(h)");
    must(close(fd) == 0, "close");
    fd = open("k", O_WRONLY);
    must(fd >= 0, "open(k)");
    static char buf[F_SIZE];
    memset(buf, 'k', F_SIZE);
    must(pwrite(fd, buf, F_SIZE, 0) == F_SIZE, "pwrite(k)");
    must(fdatasync(fd) == 0, "fdatasync(k)");
    must(close(fd) == 0, "close");

    done("ack 10:f-empty\nack rename:new-data\nack rename:intact\nack 11:h-absent\nack 11:k-new\n",
         wait);
    return 0;
}

/* "data" when name is n bytes of c, "empty", "missing" or "other-<size>". */
static const char *state(const char *name, int c, size_t n, char *buf, size_t len)
{
    struct stat st;
    if (stat(name, &st) < 0) {
        must(errno == ENOENT, name);
        return "missing";
    }
    if (st.st_size == 0)
        return "empty";
    snprintf(buf, len, "other-%lld", (long long)st.st_size);
    if ((size_t)st.st_size != n)
        return buf;
    static char got[NEW_SIZE];
    int fd = open(name, O_RDONLY);
    must(fd >= 0, name);
    must(read(fd, got, n) == (ssize_t)n, "read");
    must(close(fd) == 0, "close");
    for (size_t i = 0; i < n; i++)
        if (got[i] != c)
            return buf;
    return "data";
}

static int check(void)
{
    char b[64];
    const char *s = state("f", 'F', F_SIZE, b, sizeof b);
    printf("10:f-%s\n", strcmp(s, "data") == 0 ? "old" : s);
    s = state("old", 'N', NEW_SIZE, b, sizeof b);
    if (strcmp(s, "data") == 0)
        s = "new-data";
    else if (strcmp(state("old", 'O', F_SIZE, b, sizeof b), "data") == 0)
        s = "old-data";
    else if (strcmp(s, "missing") == 0)
        s = "old-missing";
    printf("rename:%s\n", s);
    if (strcmp(s, "new-data") == 0 || strcmp(s, "old-data") == 0)
        printf("rename:intact\n");
    if (access("new", F_OK) == 0)
        printf("rename:new-name-left\n");
    printf("11:h-%s\n", access("h", F_OK) == 0 ? "present" : "absent");
    s = state("k", 'k', F_SIZE, b, sizeof b);
    if (strcmp(s, "data") == 0)
        s = "new";
    else if (strcmp(state("k", 'K', F_SIZE, b, sizeof b), "data") == 0)
        s = "old";
    printf("11:k-%s\n", s);
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 3 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: rec_ext4 DIR run|rename-cut|rename-dirsync [--wait] | DIR check\n");
        return 2;
    }
    if (strcmp(argv[2], "run") == 0)
        return run(argc > 3 && strcmp(argv[3], "--wait") == 0);
    if (strcmp(argv[2], "rename-cut") == 0)
        return rename_cut(argc > 3 && strcmp(argv[3], "--wait") == 0);
    if (strcmp(argv[2], "rename-dirsync") == 0)
        return rename_dirsync(argc > 3 && strcmp(argv[3], "--wait") == 0);
    if (strcmp(argv[2], "check") == 0)
        return check();
    fprintf(stderr, "rec_ext4: unknown mode %s\n", argv[2]);
    return 2;
}
