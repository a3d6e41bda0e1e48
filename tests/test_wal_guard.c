/* Unit tests for wal/'s scratch guard: what a runner of other programs
 * leaves behind when a signal ends it (process groups, trees, files). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support.h"
#include "wal/wal.h"

/* The one guard serves runners of other programs: on SIGTERM, a process
 * group it was given is killed and reaped and a scratch tree removed
 * whole, and the program still ends by the signal. */
START_TEST(scratch_guard_kills_a_process_group_and_removes_a_tree_on_sigterm)
{
    char tree[512], sub[600], file[700];
    snprintf(tree, sizeof tree, "%s/test-guard-%ld", support_scratch_dir(), (long)getpid());
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(fds[0]);
        signal(SIGTERM, SIG_DFL);   /* check's own handler would pass it to the whole test */
        wal_scratch_guard_enter();
        snprintf(sub, sizeof sub, "%s/a/b", tree);
        snprintf(file, sizeof file, "%s/a/b/f", tree);
        char mid[560];
        snprintf(mid, sizeof mid, "%s/a", tree);
        if (mkdir(tree, 0755) || mkdir(mid, 0755) || mkdir(sub, 0755))
            _exit(10);
        int fd = open(file, O_CREAT | O_WRONLY, 0644);
        if (fd < 0 || write(fd, "x", 1) != 1 || close(fd))
            _exit(11);
        pid_t server = fork();
        if (server == 0) {
            close(fds[1]);
            setpgid(0, 0);
            for (;;)
                pause();
        }
        setpgid(server, server);
        if (wal_scratch_group(server, 1) || wal_scratch_tree(tree, 1))
            _exit(12);
        if (write(fds[1], &server, sizeof server) != (ssize_t)sizeof server)
            _exit(13);
        raise(SIGTERM);
        _exit(14);   /* not reached: the guard raises SIGTERM again with its default */
    }
    close(fds[1]);
    pid_t server = 0;
    ssize_t got = read(fds[0], &server, sizeof server);
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(got == (ssize_t)sizeof server, "the child failed before its signal: status %d", status);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    struct stat st;
    ck_assert_int_eq(stat(tree, &st), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(kill(-server, 0), -1);   /* killed and reaped: no such group left */
    ck_assert_int_eq(errno, ESRCH);
}
END_TEST

/* Entered deferred (the targets' runner), the guard only notes the first
 * signal: the program goes on, a blocking read returns EINTR, the live file
 * stays for the runner to remove; a second signal ends the program by it
 * at once, removing the live file and killing the listed group. */
START_TEST(deferred_guard_notes_the_first_signal_and_ends_on_the_second)
{
    char path[WAL_PATH_MAX];
    support_scratch_file(path, sizeof path, "guard-deferred");
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);   /* check's own handler would pass it to the whole test */
        wal_scratch_guard_enter_deferred();
        if (wal_scratch_stopped() != 0)
            _exit(10);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        if (fd < 0 || close(fd))
            _exit(11);
        wal_scratch_live(path);
        pid_t server = fork();
        if (server == 0) {
            setpgid(0, 0);
            signal(SIGTERM, SIG_DFL);
            prctl(PR_SET_PDEATHSIG, SIGKILL);   /* gone with the child, whatever happens */
            for (;;)
                pause();
        }
        setpgid(server, server);
        if (wal_scratch_group(server, 1))
            _exit(12);
        alarm(10);   /* SIGALRM ends it if the read below were not interrupted */
        int quiet[2];
        char c;
        if (pipe(quiet))
            _exit(17);
        if (fork() == 0) {
            /* A SIGINT once the parent is blocked in read (its
             * /proc/PID/syscall names the call it sleeps in). */
            char sys[64], want[32];
            snprintf(sys, sizeof sys, "/proc/%ld/syscall", (long)getppid());
            snprintf(want, sizeof want, "%d ", SYS_read);
            for (;;) {
                char line[64] = "";
                FILE *f = fopen(sys, "re");
                if (f && fgets(line, sizeof line, f) && strncmp(line, want, strlen(want)) == 0)
                    break;
                if (f)
                    fclose(f);
                sched_yield();
            }
            kill(getppid(), SIGINT);
            _exit(0);
        }
        if (read(quiet[0], &c, 1) != -1 || errno != EINTR)
            _exit(13);
        alarm(0);
        wait(NULL);
        if (wal_scratch_stopped() != SIGINT || access(path, F_OK) != 0 || kill(-server, 0) != 0)
            _exit(14);   /* only noted: the file and the group are still there */
        if (write(fds[1], &server, sizeof server) != (ssize_t)sizeof server)
            _exit(15);
        raise(SIGTERM);
        _exit(16);   /* not reached: the second signal ends it */
    }
    close(fds[1]);
    pid_t server = 0;
    ssize_t got = read(fds[0], &server, sizeof server);
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(got == (ssize_t)sizeof server, "the child failed before its second signal: status %d",
                  status);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(kill(-server, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
}
END_TEST

/* A runner's list of scratch files (a guest's disk copies, more than the
 * guard's own slots) is unlinked on SIGTERM, empty entries skipped, and
 * the program still ends by the signal. */
START_TEST(scratch_guard_unlinks_a_callers_list_of_files_on_sigterm)
{
    char a[WAL_PATH_MAX], b[WAL_PATH_MAX];
    support_scratch_file(a, sizeof a, "guard-list-a");
    support_scratch_file(b, sizeof b, "guard-list-b");
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        signal(SIGTERM, SIG_DFL);   /* check's own handler would pass it to the whole test */
        const char *const list[] = {a, "", NULL, b};
        for (int i = 0; i < 4; i += 3) {
            int fd = open(list[i], O_CREAT | O_WRONLY, 0644);
            if (fd < 0 || close(fd))
                _exit(10);
        }
        wal_scratch_guard_enter();
        wal_scratch_list(list, 4);
        raise(SIGTERM);
        _exit(11);   /* not reached: the guard raises SIGTERM again with its default */
    }
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    ck_assert_int_eq(access(a, F_OK), -1);
    ck_assert_int_eq(access(b, F_OK), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wal_guard");
    TCase *guard = tcase_create("guard");
    tcase_set_timeout(guard, 30);
    tcase_add_test(guard, scratch_guard_kills_a_process_group_and_removes_a_tree_on_sigterm);
    tcase_add_test(guard, deferred_guard_notes_the_first_signal_and_ends_on_the_second);
    tcase_add_test(guard, scratch_guard_unlinks_a_callers_list_of_files_on_sigterm);
    suite_add_tcase(s, guard);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
