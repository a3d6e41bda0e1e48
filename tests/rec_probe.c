/* rec_probe: a program that does, in its data directory, one of each kind
 * of call the recorder must see; tests/test_recorder.c runs it under the
 * recorder and checks the journal record by record.
 *
 * DESIGN.  No fsynclab code: it stands for any program.  Each step is
 * checked, and a failure exits non-zero naming the call, so that a test
 * failure points at the probe and not at the recorder.  "exec" as argv[2]
 * is the re-exec'd child: it writes exec.txt and syncs it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

static void write_synced(const char *name, const char *text)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0, "open");
    must(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write");
    must(fsync(fd) == 0, "fsync");
    must(close(fd) == 0, "close");
}

int main(int argc, char **argv)
{
    must(argc >= 2 && chdir(argv[1]) == 0, "chdir");
    if (argc >= 3 && strcmp(argv[2], "exec") == 0) {
        write_synced("exec.txt", "exec");
        return 0;
    }
    /* a.txt: a synced write, an unsynced one, a dup, a writev, a pwrite */
    int fd = open("a.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0, "open a.txt");
    must(write(fd, "hello", 5) == 5, "write");
    must(fsync(fd) == 0, "fsync");
    int fd2 = dup(fd);
    must(fd2 >= 0, "dup");
    struct iovec iov[2] = {{" wor", 4}, {"ld", 2}};
    must(writev(fd2, iov, 2) == 6, "writev");
    must(pwrite(fd, "H", 1, 0) == 1, "pwrite");
    must(fdatasync(fd2) == 0, "fdatasync");
    must(close(fd2) == 0 && close(fd) == 0, "close");
    must(rename("a.txt", "b.txt") == 0, "rename");
    must(mkdir("sub", 0755) == 0, "mkdir");
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    must(dfd >= 0 && fsync(dfd) == 0 && close(dfd) == 0, "fsync(.)");

    /* stdio: fwrite reaches write inside glibc, past the hooks */
    FILE *fp = fopen("sub/s.txt", "w");
    must(fp != NULL, "fopen");
    must(fwrite("stdio!", 1, 6, fp) == 6 && fflush(fp) == 0, "fwrite");
    must(fsync(fileno(fp)) == 0 && fclose(fp) == 0, "fclose");

    /* a shared mapping */
    int mfd = open("m.bin", O_RDWR | O_CREAT, 0644);
    must(mfd >= 0 && ftruncate(mfd, 4096) == 0, "ftruncate");
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    must(m != MAP_FAILED, "mmap");
    memcpy(m, "mapped", 6);
    must(msync(m, 4096, MS_SYNC) == 0 && munmap(m, 4096) == 0 && close(mfd) == 0, "msync");

    /* a file made and removed, a raw syscall the recorder can only flag */
    write_synced("tmp", "x");
    must(unlink("tmp") == 0, "unlink");
    int rfd = open("raw.txt", O_WRONLY | O_CREAT, 0644);
    must(rfd >= 0 && syscall(SYS_write, rfd, "raw", 3) == 3 && close(rfd) == 0, "syscall");

    /* a forked child, and a forked child that execs */
    pid_t pid = fork();
    must(pid >= 0, "fork");
    if (pid == 0) {
        write_synced("child.txt", "kid");
        _exit(0);
    }
    int st;
    must(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child");
    pid = fork();
    must(pid >= 0, "fork");
    if (pid == 0) {
        char *args[] = {argv[0], ".", "exec", NULL};   /* already in the root */
        execv("/proc/self/exe", args);
        _exit(127);
    }
    must(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec child");
    return 0;
}
