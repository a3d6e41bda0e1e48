/* Unit tests for --fault: the parser of every form (recorder/fault.c) with
 * its errors, the canonical list handed to the preload library, and the
 * library injecting it into tests/eio_kv.c: the Nth sync or write fails
 * without reaching the kernel, a FAULT record says so, a fault past the
 * run's calls never fires.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/recorder.h"

static char scratch[3000];
static char err[512];

static void parse_ok(const char *spec, int sync, int e, uint32_t n, const char *glob)
{
    struct recorder_fault f;
    ck_assert_msg(recorder_fault_parse(spec, &f, err, sizeof err) == 0, "%s: %s", spec, err);
    ck_assert_int_eq(f.sync, sync);
    ck_assert_int_eq(f.err, e);
    ck_assert_uint_eq(f.n, n);
    ck_assert_str_eq(f.glob, glob);
    ck_assert_str_eq(recorder_fault_spec(&f), spec);   /* printed back as given */
}

/* A bad spec is refused, and the message names the bad part and the fix. */
static void parse_bad(const char *spec, const char *part, const char *fix)
{
    struct recorder_fault f;
    err[0] = '\0';
    ck_assert_int_eq(recorder_fault_parse(spec, &f, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, part), "%s: \"%s\" does not name %s", spec, err, part);
    ck_assert_msg(strstr(err, fix), "%s: \"%s\" does not give the fix %s", spec, err, fix);
}

START_TEST(each_fault_form_parses_and_prints_back)
{
    parse_ok("fsync:eio@1", 1, EIO, 1, "");
    parse_ok("fsync:eio@4294967295", 1, EIO, UINT32_MAX, "");
    parse_ok("fsync:eio@path=pg_wal/*", 1, EIO, 1, "pg_wal/*");
    parse_ok("fsync:eio@path=a:b@c", 1, EIO, 1, "a:b@c");
    parse_ok("fsync:eio@3,path=base/*", 1, EIO, 3, "base/*");
    parse_ok("write:enospc@7", 0, ENOSPC, 7, "");
    parse_ok("write:eio@2", 0, EIO, 2, "");
}
END_TEST

START_TEST(a_bad_fault_spec_names_its_bad_part_and_the_fix)
{
    parse_bad("", "empty", "fsync:eio@N");
    parse_bad("fsync", "no CALL:", "CALL:ERROR@WHEN");
    parse_bad("read:eio@1", "unknown call \"read\"", "use fsync");
    parse_bad("fsync:eio", "no @WHEN", "fsync:eio@3");
    parse_bad("fsync:enospc@1", "error \"enospc\" for fsync", "use eio");
    parse_bad("write:eperm@1", "error \"eperm\" for write", "eio or enospc");
    parse_bad("fsync:EIO@1", "\"EIO\"", "use eio");
    parse_bad("fsync:eio@0", "\"@0\" is not a call number", "counting from 1");
    parse_bad("write:eio@-1", "\"@-1\"", "counting from 1");
    parse_bad("fsync:eio@3x", "\"@3x\"", "counting from 1");
    parse_bad("fsync:eio@4294967296", "\"@4294967296\"", "at most 4294967295");
    parse_bad("fsync:eio@path=", "needs a glob", "fsync:eio@path=*.db");
    parse_bad("fsync:eio@path=a;b", "no ';'", "glob");
    parse_bad("write:eio@path=*.db", "applies to fsync only", "write:eio@3");
    parse_bad("write:eio@2,path=*.db", "applies to fsync only", "write:eio@3");
    parse_bad("fsync:eio@0,path=*.db", "\"@0,path=*.db\"", "counting from 1");
    parse_bad("fsync:eio@2path=*.db", "\"@2path=*.db\"", "@N,path=GLOB");
}
END_TEST

START_TEST(several_faults_make_one_canonical_list_and_no_call_twice)
{
    struct recorder_faults fs = {0};
    char env[1024];
    ck_assert_int_eq(recorder_fault_env(&fs, env, sizeof env), 0);
    ck_assert_str_eq(env, "");
    ck_assert_int_eq(recorder_fault_add(&fs, "fsync:eio@3", err, sizeof err), 0);
    ck_assert_int_eq(recorder_fault_add(&fs, "write:enospc@10", err, sizeof err), 0);
    ck_assert_int_eq(recorder_fault_add(&fs, "fsync:eio@path=*.db", err, sizeof err), 0);
    ck_assert_int_eq(recorder_fault_add(&fs, "fsync:eio@3", err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "already faulted by --fault fsync:eio@3"));
    ck_assert_int_eq(recorder_fault_env(&fs, env, sizeof env), 0);
    ck_assert_str_eq(env, "sync:5:3:;write:28:10:;sync:5:1:*.db");
    for (unsigned i = fs.n; i < RECORDER_MAX_FAULTS; i++) {
        char spec[32];
        snprintf(spec, sizeof spec, "write:eio@%u", 100 + i);
        ck_assert_int_eq(recorder_fault_add(&fs, spec, err, sizeof err), 0);
    }
    ck_assert_int_eq(recorder_fault_add(&fs, "write:eio@1", err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "at most 8"));
    ck_assert_int_eq(recorder_fault_env(&fs, env, 10), -ENAMETOOLONG);
}
END_TEST

/* ---- the preload library injecting them, on tests/eio_kv.c ------------------------ */
struct seen {
    unsigned faults, writes, syncs_ok, syncs_failed;
    struct recorder_rec fault;   /* the first fault record */
    int status;
};

/* Runs `eio_kv MODE ROOT 5` under the recorder with faults; what the journal holds. */
static struct seen run_kv(const char *name, const char *mode, const char *faults)
{
    char lib[PATH_MAX], kv[PATH_MAX], root[PATH_MAX - 64], journal[PATH_MAX];
    ck_assert_msg(recorder_lib_path(lib, sizeof lib, err, sizeof err) == 0, "%s", err);
    snprintf(kv, sizeof kv, "%.*s/eio_kv", (int)(strrchr(lib, '/') - lib), lib);
    ck_assert_int_lt(snprintf(root, sizeof root, "%.3000s/%s", scratch, name), (int)sizeof root);
    ck_assert_int_eq(mkdir(root, 0755), 0);
    snprintf(journal, sizeof journal, "%s.journal", root);
    char *argv[] = {kv, (char *)mode, root, "5", NULL};
    struct seen s = {0};
    ck_assert_msg(recorder_record(root, journal, argv, faults, &s.status, err, sizeof err) == 0, "%s", err);
    struct recorder_journal j;
    ck_assert_msg(recorder_journal_open(journal, &j, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < j.n; i++) {
        const struct recorder_rec *r = j.recs[i];
        if (r->type == RECORDER_FAULT && !s.faults++)
            memcpy(&s.fault, r, sizeof s.fault);
        s.writes += r->type == RECORDER_WRITE;
        if (r->type == RECORDER_SYNC_END)
            r->aux ? s.syncs_failed++ : s.syncs_ok++;
    }
    recorder_journal_close(&j);
    return s;
}

START_TEST(the_nth_fdatasync_fails_once_without_reaching_the_kernel)
{
    struct seen s = run_kv("retry", "retry", "sync:5:2:");
    ck_assert_uint_eq(s.faults, 1);
    ck_assert_int_eq(s.fault.aux, EIO);
    ck_assert_uint_eq(s.fault.off, 2);   /* the second sync of the run */
    ck_assert_uint_eq(s.fault.len, RECORDER_FAULT_FDATASYNC);
    ck_assert_uint_eq(s.syncs_failed, 1);
    ck_assert_uint_eq(s.syncs_ok, 6);     /* the directory's, and the retry succeeded, as on Linux */
    ck_assert_uint_eq(s.writes, 5);
    ck_assert(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0);

    s = run_kv("fatal", "fatal", "sync:5:2:");
    ck_assert_uint_eq(s.faults, 1);
    ck_assert_uint_eq(s.syncs_failed, 1);
    ck_assert_uint_eq(s.syncs_ok, 2);     /* the directory's (not counted: not a regular file), key1's */
    ck_assert(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 1);
}
END_TEST

START_TEST(a_path_fault_fires_on_the_nth_matching_sync_only)
{
    struct seen s = run_kv("path", "retry", "sync:5:1:*.log");
    ck_assert_uint_eq(s.faults, 1);
    ck_assert_uint_eq(s.fault.off, 1);
    ck_assert_uint_eq(s.syncs_failed, 1);
    s = run_kv("path3", "retry", "sync:5:3:kv.*");
    ck_assert_uint_eq(s.faults, 1);
    ck_assert_uint_eq(s.fault.off, 3);
    ck_assert_uint_eq(s.syncs_failed, 1);
    s = run_kv("nomatch", "retry", "sync:5:1:*.db");
    ck_assert_uint_eq(s.faults, 0);
    ck_assert_uint_eq(s.syncs_failed, 0);
}
END_TEST

START_TEST(a_failed_write_writes_nothing_and_is_recorded)
{
    struct seen s = run_kv("enospc", "fatal", "write:28:3:");
    ck_assert_uint_eq(s.faults, 1);
    ck_assert_int_eq(s.fault.aux, ENOSPC);
    ck_assert_uint_eq(s.fault.len, RECORDER_FAULT_WRITE);
    ck_assert_uint_eq(s.writes, 2);   /* the third never reached the file */
    ck_assert(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 1);
}
END_TEST

START_TEST(a_fault_past_the_runs_calls_never_fires)
{
    struct seen s = run_kv("past", "retry", "sync:5:6:;write:5:6:");
    ck_assert_uint_eq(s.faults, 0);
    ck_assert_uint_eq(s.syncs_failed, 0);
    ck_assert(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0);
}
END_TEST

START_TEST(a_list_the_library_cannot_decode_injects_nothing_and_says_so)
{
    struct seen s = run_kv("garbled", "retry", "sync:5:2");   /* no glob field */
    ck_assert_uint_eq(s.faults, 0);
    ck_assert_uint_eq(s.syncs_failed, 0);
}
END_TEST

int main(void)
{
    const char *dir = getenv("FSYNCLAB_DIR");
    snprintf(scratch, sizeof scratch, "%s/test_fault-%d", dir ? dir : "build/scratch", (int)getpid());
    if (recorder_tree_remove(scratch, NULL, 0) != 0 || mkdir(scratch, 0755) != 0) {
        perror(scratch);
        return 1;
    }
    Suite *s = suite_create("fault");
    TCase *tc = tcase_create("fault");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, each_fault_form_parses_and_prints_back);
    tcase_add_test(tc, a_bad_fault_spec_names_its_bad_part_and_the_fix);
    tcase_add_test(tc, several_faults_make_one_canonical_list_and_no_call_twice);
    tcase_add_test(tc, the_nth_fdatasync_fails_once_without_reaching_the_kernel);
    tcase_add_test(tc, a_path_fault_fires_on_the_nth_matching_sync_only);
    tcase_add_test(tc, a_failed_write_writes_nothing_and_is_recorded);
    tcase_add_test(tc, a_fault_past_the_runs_calls_never_fires);
    tcase_add_test(tc, a_list_the_library_cannot_decode_injects_nothing_and_says_so);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    recorder_tree_remove(scratch, NULL, 0);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
