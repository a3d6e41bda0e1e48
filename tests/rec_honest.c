/* rec_honest: small programs that make the recorder's hard cases, run
 * under `fsynclab record` by tests/e2e/recorder.sh, which compares the drop
 * image with the real tree.  Each scenario syncs every byte and every name
 * it makes (except where it says), so the image must equal the tree, or
 * carry a flag.
 *
 * DESIGN.  No fsynclab code: it stands for any program.  Every call is
 * checked and a failure exits 1 naming it.  argv: DIR SCENARIO [ARGS].
 *   append T P N   T threads and P forked processes share one O_APPEND
 *                  descriptor: write, writev, pwrite (appends on Linux),
 *                  pwritev2(RWF_APPEND) through a second descriptor, and
 *                  stores through a mapping unmapped before another
 *                  descriptor syncs the file; N rounds each
 *   mapbig         a 64 KiB mapping of a 4 KiB file, synced; then a file
 *   syncfs         unsynced data, then syncfs() of another file system
 *   closerange     close_range/closefrom over the journal's descriptor
 *   stale          a directory fd closed by closedir, reused by memfd_create
 *   escape         dprintf, sendfile, splice, copy_file_range, mkstemp
 *   rawcalls       syscall(SYS_pwritev2) and syscall(SYS_openat2): flagged
 *   fallocate      ZERO_RANGE, COLLAPSE_RANGE, INSERT_RANGE, PUNCH_HOLE
 *   names          modes 0600/0751/0700, chmod, fchmod, a hard link, a
 *                  symbolic link, an O_TMPFILE file, printf into stdout
 *                  redirected to a file
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void must(int ok, const char *call)
{
    if (!ok) {
        perror(call);
        exit(1);
    }
}

static void sync_dir(const char *path)
{
    int d = open(path, O_RDONLY | O_DIRECTORY);
    must(d >= 0 && fsync(d) == 0 && close(d) == 0, "fsync(dir)");
}

static void put(const char *name, const char *text, int flags)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | flags, 0644);
    must(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write");
    must(fsync(fd) == 0 && close(fd) == 0, "fsync");
}

/* ---- append: findings 1, 2 and 5 --------------------------------------------------------- */
static int app_fd, app_rounds;

static void *appender(void *arg)
{
    long who = (long)arg;
    char rec[64];
    for (int i = 0; i < app_rounds; i++) {
        snprintf(rec, sizeof rec, "%-62s\n", "");
        int n = snprintf(rec, sizeof rec, "w%ld.%d", who, i);
        rec[n] = ' ';
        switch (i % 3) {
        case 0:
            must(write(app_fd, rec, 64) == 64, "write");
            break;
        case 1: {
            struct iovec iov[2] = {{rec, 20}, {rec + 20, 44}};
            must(writev(app_fd, iov, 2) == 64, "writev");
            break;
        }
        default:
            rec[0] = 'p';   /* pwrite on O_APPEND: Linux appends, whatever the offset */
            must(pwrite(app_fd, rec, 64, 0) == 64, "pwrite");
        }
    }
    /* RWF_APPEND through a descriptor without O_APPEND */
    int fd = open("rwf.log", O_WRONLY);
    must(fd >= 0, "open rwf.log");
    for (int i = 0; i < app_rounds; i++) {
        char r2[16];
        snprintf(r2, sizeof r2, "%-14ld\n", who * 1000 + i);
        struct iovec iov = {r2, 15};
        must(pwritev2(fd, &iov, 1, 0, RWF_APPEND) == 15, "pwritev2");
    }
    must(close(fd) == 0, "close rwf.log");
    return NULL;
}

/* Stores through a mapping, unmapped; the file is synced later elsewhere. */
static void mapper(long who)
{
    int fd = open("map.bin", O_RDWR);
    must(fd >= 0, "open map.bin");
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    must(m != MAP_FAILED, "mmap");
    must(close(fd) == 0, "close map.bin");
    for (int i = 0; i < 64; i++)
        m[who * 64 + i] = (char)('a' + who % 26);
    must(munmap(m, 4096) == 0, "munmap");
}

static void run_append(int threads, int procs, int rounds)
{
    app_rounds = rounds;
    put("rwf.log", "", 0);
    int mfd = open("map.bin", O_RDWR | O_CREAT, 0644);
    must(mfd >= 0 && ftruncate(mfd, 4096) == 0 && close(mfd) == 0, "map.bin");
    app_fd = open("shared.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
    must(app_fd >= 0, "open shared.log");
    pid_t kids[64];
    for (int p = 0; p < procs && p < 64; p++) {
        kids[p] = fork();
        must(kids[p] >= 0, "fork");
        if (kids[p] == 0) {
            appender((void *)(long)(100 + p));
            mapper(1 + p);
            _exit(0);
        }
    }
    pthread_t t[64];
    for (int i = 0; i < threads && i < 64; i++)
        must(pthread_create(&t[i], NULL, appender, (void *)(long)i) == 0, "pthread_create");
    for (int i = 0; i < threads && i < 64; i++)
        must(pthread_join(t[i], NULL) == 0, "pthread_join");
    mapper(0);
    for (int p = 0; p < procs && p < 64; p++) {
        int st;
        must(waitpid(kids[p], &st, 0) == kids[p] && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child");
    }
    must(fsync(app_fd) == 0 && close(app_fd) == 0, "fsync shared.log");
    int fd = open("rwf.log", O_RDONLY);
    must(fd >= 0 && fdatasync(fd) == 0 && close(fd) == 0, "fsync rwf.log");
    fd = open("map.bin", O_RDONLY);   /* another descriptor than the mappings' */
    must(fd >= 0 && fsync(fd) == 0 && close(fd) == 0, "fsync map.bin");
    sync_dir(".");
}

/* ---- the others ------------------------------------------------------------------------- */
static void run_mapbig(void)
{
    int fd = open("small.bin", O_RDWR | O_CREAT, 0644);
    must(fd >= 0 && ftruncate(fd, 4096) == 0, "small.bin");
    char *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    must(m != MAP_FAILED, "mmap");
    memcpy(m, "stored", 6);
    must(fsync(fd) == 0 && munmap(m, 65536) == 0 && close(fd) == 0, "fsync small.bin");
    put("after.txt", "made after the mapping", 0);
    sync_dir(".");
}

static void run_syncfs(void)
{
    put("f", "synced", 0);
    sync_dir(".");
    int fd = open("f", O_WRONLY | O_APPEND);
    must(fd >= 0 && write(fd, " and not", 8) == 8, "write f");
    int other = open("/proc", O_RDONLY | O_DIRECTORY);   /* another file system */
    must(other >= 0 && syncfs(other) == 0 && close(other) == 0, "syncfs(/proc)");
    must(close(fd) == 0, "close f");
    /* the real tree now holds "synced and not"; a drop image must hold "synced" */
}

static void run_closerange(void)
{
    must(close_range(3, ~0u, 0) == 0, "close_range");
    closefrom(3);
    put("after.txt", "written after close_range", 0);
    sync_dir(".");
}

static void run_stale(void)
{
    DIR *d = opendir(".");
    must(d != NULL && fsync(dirfd(d)) == 0, "opendir");
    put("x", "data synced, name never", 0);
    int old = dirfd(d);
    must(closedir(d) == 0, "closedir");
    int m = memfd_create("m", 0);
    must(m == old, "memfd_create takes the closed directory's fd");
    must(fsync(m) == 0 && close(m) == 0, "fsync(memfd)");
    /* a drop image must not hold x: its directory was synced before it */
}

static void run_escape(void)
{
    int fd = open("dprintf.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0 && dprintf(fd, "dprintf %d\n", 42) == 11 && fsync(fd) == 0 && close(fd) == 0, "dprintf");
    put("src.txt", "the source of every copy\n", 0);
    int in = open("src.txt", O_RDONLY);
    int out = open("sendfile.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(in >= 0 && out >= 0 && sendfile(out, in, NULL, 25) == 25, "sendfile");
    must(fsync(out) == 0 && close(out) == 0, "fsync sendfile.txt");
    int p[2];
    must(pipe(p) == 0 && write(p[1], "through a pipe\n", 15) == 15, "pipe");
    out = open("splice.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(out >= 0 && splice(p[0], NULL, out, NULL, 15, 0) == 15, "splice");
    must(fsync(out) == 0 && close(out) == 0 && close(p[0]) == 0 && close(p[1]) == 0, "fsync splice.txt");
    out = open("cfr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    off64_t zero = 0;
    must(out >= 0 && copy_file_range(in, &zero, out, NULL, 25, 0) == 25, "copy_file_range");
    must(fsync(out) == 0 && close(out) == 0 && close(in) == 0, "fsync cfr.txt");
    char tmpl[] = "tmpXXXXXX";
    fd = mkstemp(tmpl);
    must(fd >= 0 && write(fd, "mkstemp", 7) == 7 && fsync(fd) == 0 && close(fd) == 0, "mkstemp");
    sync_dir(".");
}

static void run_rawcalls(void)
{
    int fd = open("raw.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct iovec iov = {"raw pwritev2", 12};
    must(fd >= 0 && syscall(SYS_pwritev2, fd, &iov, 1, 0L, 0L, 0) == 12, "syscall(pwritev2)");
    must(fsync(fd) == 0 && close(fd) == 0, "fsync raw.txt");
    struct { unsigned long long flags, mode, resolve; } how = {O_WRONLY | O_CREAT, 0644, 0};
    long r = syscall(SYS_openat2, AT_FDCWD, "openat2.txt", &how, sizeof how);
    if (r >= 0) {
        fd = (int)r;
        must(write(fd, "x", 1) == 1 && fsync(fd) == 0 && close(fd) == 0, "openat2.txt");
    }
    sync_dir(".");
}

static void run_fallocate(void)
{
    static char block[4 * 4096];
    for (int i = 0; i < 4; i++)
        memset(block + i * 4096, 'A' + i, 4096);
    int fd = open("f.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0 && write(fd, block, sizeof block) == (ssize_t)sizeof block, "write f.bin");
    must(fallocate(fd, FALLOC_FL_ZERO_RANGE, 100, 200) == 0, "ZERO_RANGE");
    must(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 5000, 100) == 0, "PUNCH_HOLE");
    int collapse = fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 4096, 4096);
    int insert = fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 4096);
    must(fallocate(fd, FALLOC_FL_ZERO_RANGE, 16384, 1000) == 0, "ZERO_RANGE past the end");
    must(fsync(fd) == 0 && close(fd) == 0, "fsync f.bin");
    sync_dir(".");
    if (collapse != 0 || insert != 0)
        fprintf(stderr, "rec_honest: COLLAPSE/INSERT_RANGE not supported here: %s\n", strerror(errno));
}

static void run_names(void)
{
    umask(0);
    int fd = open("private", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    must(fd >= 0 && write(fd, "p", 1) == 1 && fsync(fd) == 0 && close(fd) == 0, "private");
    fd = open("script", O_WRONLY | O_CREAT | O_TRUNC, 0751);
    must(fd >= 0 && write(fd, "s", 1) == 1 && fsync(fd) == 0 && close(fd) == 0, "script");
    must(mkdir("d", 0700) == 0, "mkdir d");
    put("d/inner", "inner", 0);
    sync_dir("d");
    must(link("private", "d/second-name") == 0, "link");
    must(symlink("../private", "d/symbolic") == 0, "symlink");
    must(chmod("script", 0700) == 0, "chmod");
    fd = open("script", O_RDONLY);
    must(fd >= 0 && fsync(fd) == 0 && close(fd) == 0, "fsync script");
    fd = open("private", O_RDONLY);
    must(fd >= 0 && fchmod(fd, 0640) == 0 && fsync(fd) == 0 && close(fd) == 0, "fchmod");
    fd = open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0 && dup2(fd, 1) == 1 && close(fd) == 0, "dup2 stdout");
    must(printf("printed to stdout\n") == 18 && fflush(stdout) == 0 && fsync(1) == 0, "printf");
    fd = open(".", O_WRONLY | O_TMPFILE, 0644);
    if (fd >= 0)
        must(write(fd, "t", 1) == 1 && close(fd) == 0, "O_TMPFILE");
    sync_dir("d");
    sync_dir(".");
}

int main(int argc, char **argv)
{
    must(argc >= 3 && chdir(argv[1]) == 0, "usage: rec_honest DIR SCENARIO");
    const char *s = argv[2];
    if (strcmp(s, "append") == 0 && argc == 6)
        run_append(atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    else if (strcmp(s, "mapbig") == 0)
        run_mapbig();
    else if (strcmp(s, "syncfs") == 0)
        run_syncfs();
    else if (strcmp(s, "closerange") == 0)
        run_closerange();
    else if (strcmp(s, "stale") == 0)
        run_stale();
    else if (strcmp(s, "escape") == 0)
        run_escape();
    else if (strcmp(s, "rawcalls") == 0)
        run_rawcalls();
    else if (strcmp(s, "fallocate") == 0)
        run_fallocate();
    else if (strcmp(s, "names") == 0)
        run_names();
    else
        must(0, s);
    return 0;
}
