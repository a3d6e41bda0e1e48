/* DESIGN: built-in targets in the guest (`crash --vm --target sqlite|redis`).
 *
 * A built-in target runs in the guest as a contract would: the same
 * program `crash --target` runs (for sqlite, fsynclab-sqlite-worker from
 * this binary's directory, which the guest sees through the host's root),
 * with the same settings and the same `ack KEY` lines, and a check that
 * lists what the image kept the way the adapter's check does (open the
 * database read-write, so that SQLite rolls a hot journal back or replays
 * its WAL as a restart would, integrity_check, then the keys).  The
 * adapter's check runs in fsynclab's own process, which the guest does not
 * run; the check here does the same with SQLite's shell, in the guest on
 * the real kernel's images and on the host on the models' images.  So
 * program.c needs nothing new: it gets two commands, as for a contract.
 */
#include "vm/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *setting(const struct recorder_setting *s, unsigned n, const char *key,
                           const char *dflt)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(s[i].key, key) == 0)
            return s[i].value;
    return dflt;
}

/* Only letters: a value goes into a shell command. */
static int word(const char *s)
{
    return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(s);
}

/* Letters, or the characters in extra. */
static int word_or(const char *s, const char *extra)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || strchr(extra, s[i])))
            return 0;
    return i > 0;
}

/* A path the guest's shell may get unquoted. */
static int shell_safe(const char *s)
{
    return *s == '/' && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789/_.+-") == strlen(s);
}

/* The helper name next to this binary, as the guest sees it (same path). */
static int helper(const char *name, char *out, size_t len, char *err, size_t errlen)
{
    char *real = realpath("/proc/self/exe", NULL);
    if (!real) {
        int rc = -errno;
        snprintf(err, errlen, "realpath(/proc/self/exe): %s", strerror(errno));
        return rc;
    }
    char *slash = strrchr(real, '/');
    if (slash)
        *slash = 0;
    int w = snprintf(out, len, "%s/%s", real, name);
    free(real);
    if (w < 0 || (size_t)w >= len || strspn(out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                                            "WXYZ0123456789/_.+-") != strlen(out)) {
        snprintf(err, errlen, "the path of %s has characters other than letters, digits and "
                 "/_.+- (or is too long): the guest's shell gets it unquoted", name);
        return -EINVAL;
    }
    if (access(out, X_OK) != 0) {
        int rc = -errno;
        snprintf(err, errlen, "%s: %s (it is built with fsynclab: make)", out, strerror(errno));
        return rc;
    }
    return 0;
}

/* A program the check runs, from the shared root: on PATH here too. */
static int on_path(const char *prog, const char *pkg, char *err, size_t errlen)
{
    const char *path = getenv("PATH");
    char buf[PATH_MAX];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t l = strcspn(p, ":");
        if (l && (size_t)snprintf(buf, sizeof buf, "%.*s/%s", (int)l, p, prog) < sizeof buf &&
            access(buf, X_OK) == 0)
            return 0;
        p += l + (p[l] == ':');
    }
    snprintf(err, errlen, "%s is not installed; the guest checks the images with it "
             "(apt-get install %s)", prog, pkg);
    return -ENOENT;
}

static int sqlite_commands(const struct recorder_setting *s, unsigned n, char *run, size_t runlen,
                           char *check, size_t checklen, char *err, size_t errlen)
{
    const char *mode = setting(s, n, "journal_mode", "WAL"), *sync = setting(s, n, "synchronous",
                                                                             "FULL");
    char worker[PATH_MAX];
    int rc = word(mode) && word(sync) ? 0 : -EINVAL;
    if (rc < 0)
        snprintf(err, errlen, "--set journal_mode, synchronous: letters only");
    if (rc == 0)
        rc = helper("fsynclab-sqlite-worker", worker, sizeof worker, err, errlen);
    if (rc == 0)
        rc = on_path("sqlite3", "sqlite3", err, errlen);
    if (rc < 0)
        return rc;
    /* The worker's database is db.sqlite in $FSYNCLAB_DATA (/data). */
    snprintf(run, runlen, "exec %s %s %s", worker, mode, sync);
    /* No database, or no table yet: a database that starts empty (as the
     * adapter's check).  A database SQLite cannot open or that fails
     * integrity_check fails the check (counted, never hidden). */
    snprintf(check, checklen,
             "[ -e db.sqlite ] || exit 0\n"
             "ok=$(sqlite3 db.sqlite 'PRAGMA integrity_check') || exit 1\n"
             "[ \"$ok\" = ok ] || exit 3\n"
             "t=$(sqlite3 db.sqlite \"SELECT count(*) FROM sqlite_master WHERE name='t'\") || exit 1\n"
             "[ \"$t\" = 1 ] || exit 0\n"
             "exec sqlite3 db.sqlite 'SELECT k FROM t'");
    return 0;
}

/* Redis as crash --target redis runs it: AOF on, appendfsync as asked,
 * on a Unix socket only; unless fresh=yes the data directory is first
 * what a clean start and SHUTDOWN leave (appendonlydir and its manifest).
 * Here that start is inside the recorded run, where the adapter's is not:
 * the models see appendonlydir made and its directory never synced.  The
 * SETs stream through one redis-cli; each OK is an ack, in order. */
static int redis_commands(const struct recorder_setting *s, unsigned n, char *run, size_t runlen,
                          char *check, size_t checklen, char *err, size_t errlen)
{
    char mode[16];
    snprintf(mode, sizeof mode, "%s", setting(s, n, "appendfsync", "everysec"));
    for (char *c = mode; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    int fresh = strcmp(setting(s, n, "fresh", "no"), "yes") == 0;
    int rc = word(mode) ? 0 : -EINVAL;
    if (rc < 0)
        snprintf(err, errlen, "--set appendfsync: letters only");
    if (rc == 0)
        rc = on_path("redis-server", "redis-server", err, errlen);
    if (rc == 0)
        rc = on_path("redis-cli", "redis-tools", err, errlen);
    if (rc < 0)
        return rc;
    static const char start[] =
        "s=/tmp/fsl-redis.sock\n"
        "start() { redis-server --port 0 --unixsocket $s --unixsocketperm 700 --dir /data "
        "--appendonly yes --appendfsync %s --save '' --daemonize no --logfile /tmp/redis.log & }\n"
        "up() { n=0; until redis-cli -s $s PING >/dev/null 2>&1; do n=$((n+1)); [ $n -lt 3000 ] "
        "|| { echo \"Eredis-server did not answer: $(tail -n 1 /tmp/redis.log)\"; exit 1; }; "
        "sleep 0.1; done; }\n";
    int w = snprintf(run, runlen, start, mode);
    if (w > 0 && (size_t)w < runlen && !fresh)
        w += snprintf(run + w, runlen - (size_t)w,
                      "start; up; redis-cli -s $s SHUTDOWN >/dev/null 2>&1; wait\n");
    if (w > 0 && (size_t)w < runlen)
        snprintf(run + w, runlen - (size_t)w,
                 "start; up\n"
                 "i=0; while :; do i=$((i+1)); echo \"SET k$i $i\"; done | redis-cli -s $s | "
                 "{ i=0; while read -r r; do i=$((i+1)); [ \"$r\" = OK ] || { echo \"Eredis SET "
                 "k$i: $r\"; exit 1; }; echo \"ack k$i\"; done; }\n");
    /* A server that will not start on the image is not recovered: the
     * check fails (counted).  Nothing there: a database that starts empty. */
    snprintf(check, checklen,
             "[ -d appendonlydir ] || [ -e appendonly.aof ] || exit 0\n"
             "s=/tmp/fsl-redis-check-$$.sock\n"
             "redis-server --port 0 --unixsocket $s --unixsocketperm 700 --dir . --appendonly yes "
             "--save '' --daemonize no --logfile '' >/dev/null 2>&1 &\n"
             "p=$!\n"
             "n=0; until redis-cli -s $s PING >/dev/null 2>&1; do kill -0 $p 2>/dev/null || exit 3; "
             "n=$((n+1)); [ $n -lt 600 ] || { kill $p; exit 4; }; sleep 0.1; done\n"
             "k=$(redis-cli -s $s KEYS '*') || { kill $p; exit 1; }\n"
             "redis-cli -s $s SHUTDOWN NOSAVE >/dev/null 2>&1; wait $p\n"
             "[ -z \"$k\" ] || echo \"$k\"\n");
    return 0;
}

/* ---- PostgreSQL ------------------------------------------------------------------------
 * initdb costs seconds on the host and far more under TCG, so the cluster
 * is made once on the host (initdb as nobody, then the table t in
 * single-user mode) into the kit directory, and the run copies it onto
 * /data, syncs, and renames it into place before the server starts: an
 * image without pgdata is a database that starts empty.  The copy is
 * inside the recorded run, so the recorder's models see it too.
 * PostgreSQL refuses to run as root: the guest (root) runs it as nobody
 * with setpriv, on the copy chowned to nobody.  The recorder's library
 * reopens its journal at every exec, as the new credentials: under `crash
 * --vm`'s recorder the journal (on the host's share, made 0700 by root) is
 * opened to nobody first, or the server would run unrecorded and the
 * models would see none of its writes. */
#define PG_DEFAULT_BINDIR "/usr/lib/postgresql/15/bin"

static const char pg_template_script[] =
    "exec 2>&1\n"
    "set -e\n"
    "b=$1 out=$2\n"
    "t=$(mktemp -d /tmp/fsynclab-pginit.XXXXXX)\n"
    "trap 'rm -rf \"$t\" \"$out.tmp\"' EXIT\n"
    "as() { if [ \"$(id -u)\" = 0 ]; then setpriv --reuid=nobody --regid=nogroup "
    "--clear-groups \"$@\"; else \"$@\"; fi; }\n"
    "[ \"$(id -u)\" != 0 ] || chown nobody:nogroup \"$t\"\n"
    "as \"$b/initdb\" -D \"$t/pgdata\" -A trust -U postgres -E UTF8 --locale=C "
    "--wal-segsize=1 >/dev/null\n"
    "echo 'CREATE TABLE t (k text PRIMARY KEY);' | as \"$b/postgres\" --single -D \"$t/pgdata\" "
    "-c dynamic_shared_memory_type=mmap postgres >/dev/null 2>\"$t/log\"\n"
    "if grep -E '(ERROR|FATAL|PANIC):' \"$t/log\"; then exit 1; fi\n"
    "rm -rf \"$out.tmp\"\n"
    "cp -a \"$t/pgdata\" \"$out.tmp\"\n"
    "mv \"$out.tmp\" \"$out\"\n";

/* The cluster the run copies: <kit>/postgres-<bindir's major>, made once. */
static int pg_template(const char *bindir, char *out, size_t len, char *err, size_t errlen)
{
    struct vm_config none = { 0 };
    char *kit = realpath(vm_kit_dir(&none), NULL);
    if (!kit) {
        int rc = -errno;
        snprintf(err, errlen, "realpath(%s): %s (run `make vm`)", vm_kit_dir(&none),
                 strerror(errno));
        return rc;
    }
    /* the major version: bindir's parent's name (/usr/lib/postgresql/15/bin) */
    char major[32] = "x";
    const char *end = strrchr(bindir, '/'), *start = end;
    while (start && start > bindir && start[-1] != '/')
        start--;
    if (start && end > start && (size_t)(end - start) < sizeof major)
        snprintf(major, sizeof major, "%.*s", (int)(end - start), start);
    int w = snprintf(out, len, "%s/postgres-%s", kit, major);
    free(kit);
    if (w < 0 || (size_t)w >= len || !shell_safe(out)) {
        snprintf(err, errlen, "the kit's path %s has characters other than letters, digits and "
                 "/_.+- (or is too long): the guest's shell gets it unquoted", out);
        return -EINVAL;
    }
    char probe[PATH_MAX + 16];
    snprintf(probe, sizeof probe, "%s/PG_VERSION", out);
    if (access(probe, R_OK) == 0)
        return 0;
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s.log", out);
    const char *argv[] = { "/bin/sh", "-c", pg_template_script, "sh", bindir, out, NULL };
    int rc = vm_exec_in(argv, NULL, log);
    if (rc != 0) {
        char last[200] = "";
        FILE *f = fopen(log, "r");
        while (f && fgets(last, sizeof last, f))
            ;
        if (f)
            fclose(f);
        last[strcspn(last, "\n")] = 0;
        snprintf(err, errlen, "making the cluster the guest copies (initdb into %s) failed "
                 "(status %d): %s (see %s)", out, rc, last[0] ? last : "no message", log);
        return rc < 0 ? rc : -EIO;
    }
    unlink(log);
    return 0;
}

/* The server settings (all but bindir) as -c KEY=VALUE for the shell's
 * command line, each word checked. */
static int pg_server_opts(const struct recorder_setting *s, unsigned n, char *opts,
                          size_t optslen, char *err, size_t errlen)
{
    size_t at = 0;
    opts[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        if (strcmp(s[i].key, "bindir") == 0)
            continue;
        if (!word_or(s[i].key, "_") || !word_or(s[i].value, "0123456789_.-")) {
            snprintf(err, errlen, "--set %s=%s: letters, digits and _.- only", s[i].key,
                     s[i].value);
            return -EINVAL;
        }
        int w = snprintf(opts + at, optslen - at, " -c %s=%s", s[i].key, s[i].value);
        if (w < 0 || (size_t)w >= optslen - at) {
            snprintf(err, errlen, "--set: too many settings for the guest's command line");
            return -E2BIG;
        }
        at += (size_t)w;
    }
    return 0;
}

static int pg_check_script(const char *bindir, char *check, size_t checklen, char *err,
                           size_t errlen);

static int pg_commands(const struct recorder_setting *s, unsigned n, char *run, size_t runlen,
                       char *check, size_t checklen, char *err, size_t errlen)
{
    const char *bindir = setting(s, n, "bindir", PG_DEFAULT_BINDIR);
    char opts[1024] = "", tmpl[PATH_MAX];
    int rc = pg_server_opts(s, n, opts, sizeof opts, err, errlen);
    if (rc == 0 && !shell_safe(bindir)) {
        snprintf(err, errlen, "--set bindir=%s: letters, digits and /_.+- only", bindir);
        rc = -EINVAL;
    }
    if (rc == 0)
        rc = on_path("psql", "postgresql-client", err, errlen);
    if (rc == 0)
        rc = on_path("setpriv", "util-linux", err, errlen);
    if (rc == 0)
        rc = pg_template(bindir, tmpl, sizeof tmpl, err, errlen);
    if (rc < 0)
        return rc;
    /* The server listens on a Unix socket in /tmp only; one psql streams
     * the INSERTs, one row a transaction, and prints each command's tag
     * as it completes: each INSERT 0 1 is an ack, in order. */
    int w = snprintf(run, runlen,
        "as() { setpriv --reuid=nobody --regid=nogroup --clear-groups \"$@\"; }\n"
        "j=${" RECORDER_ENV_JOURNAL ":-}\n"
        "if [ -n \"$j\" ]; then chmod 711 \"${j%%/*}\" && chmod 666 \"$j\" || { echo \"Echmod "
        "of the recorder's journal $j failed\"; exit 1; }; fi\n"
        "s=/tmp/fsl-pg\n"
        "if [ ! -f pgdata/PG_VERSION ]; then\n"
        "  rm -rf pgdata.tmp\n"
        "  cp -a %s pgdata.tmp && chown -R nobody:nogroup pgdata.tmp && chmod 700 pgdata.tmp "
        "&& sync && mv pgdata.tmp pgdata && sync || { echo \"Ecopying the cluster %s failed\"; "
        "exit 1; }\n"
        "fi\n"
        "mkdir -p $s && chown nobody:nogroup $s\n"
        "as %s/postgres -D $PWD/pgdata -c listen_addresses= -c unix_socket_directories=$s "
        "-c dynamic_shared_memory_type=sysv%s >/tmp/pg.log 2>&1 &\n"
        "p=$!\n"
        "n=0; until grep -q '^ready' pgdata/postmaster.pid 2>/dev/null; do kill -0 $p 2>/dev/null "
        "|| { echo \"Epostgres did not start: $(tail -n 1 /tmp/pg.log)\"; exit 1; }; n=$((n+1)); "
        "[ $n -lt 6000 ] || { echo \"Epostgres was not ready in 300 s: $(tail -n 1 /tmp/pg.log)\"; "
        "exit 1; }; sleep 0.05; done\n"
        "i=0; while :; do i=$((i+1)); echo \"INSERT INTO t VALUES ('k$i');\"; done | "
        "psql -h $s -U postgres -X -v ON_ERROR_STOP=1 2>&1 | "
        "{ i=0; while read -r r; do i=$((i+1)); [ \"$r\" = 'INSERT 0 1' ] || { echo \"Epsql "
        "INSERT k$i: $r\"; exit 1; }; echo \"ack k$i\"; done; }\n",
        tmpl, tmpl, bindir, opts);
    if (w < 0 || (size_t)w >= runlen) {
        snprintf(err, errlen, "the guest's run script is too long");
        return -E2BIG;
    }
    return pg_check_script(bindir, check, checklen, err, errlen);
}

static int pg_check_script(const char *bindir, char *check, size_t checklen, char *err,
                           size_t errlen)
{
    /* The check starts the server on the image in single-user mode: crash
     * recovery (the WAL's redo) as at a restart, the keys, a shutdown
     * checkpoint.  A postmaster and a psql would cost seconds more an image
     * under TCG for the same recovery.  postmaster.pid is the dead server's
     * lock: its pid may be alive in the check boot.  Where nobody cannot
     * write the image (the models' images on the host, under a 0700
     * directory), the check works on a copy in /tmp.  A server that will
     * not start or reports an error fails the check (counted). */
    int w = snprintf(check, checklen,
        "[ -f pgdata/PG_VERSION ] || exit 0\n"
        "as() { if [ \"$(id -u)\" = 0 ]; then setpriv --reuid=nobody --regid=nogroup "
        "--clear-groups \"$@\"; else \"$@\"; fi; }\n"
        "d=$PWD/pgdata; s=$(mktemp -d /tmp/fsl-pgcheck.XXXXXX) || exit 1\n"
        "trap 'rm -rf \"$s\"' EXIT\n"
        "rm -f pgdata/postmaster.pid\n"
        "if ! as test -w pgdata; then\n"
        "  d=$s/pgdata; cp -a pgdata \"$d\" && chmod 700 \"$d\" || exit 1\n"
        "  [ \"$(id -u)\" != 0 ] || chown -R nobody:nogroup \"$s\" || exit 1\n"
        "fi\n"
        "echo 'SELECT k FROM t' | as %s/postgres --single -D \"$d\" "
        "-c dynamic_shared_memory_type=mmap postgres >\"$s/out\" 2>\"$s/log\" || exit 3\n"
        "! grep -qE '(ERROR|FATAL|PANIC):' \"$s/log\" || exit 3\n"
        "sed -n 's/^\\t 1: k = \"\\(k[0-9]*\\)\"\\t.*/\\1/p' \"$s/out\"\n",
        bindir);
    if (w < 0 || (size_t)w >= checklen) {
        snprintf(err, errlen, "the guest's check script is too long");
        return -E2BIG;
    }
    return 0;
}

int vm_target_commands(const char *target, const struct recorder_setting *settings, unsigned n,
                       char *run, size_t runlen, char *check, size_t checklen, char *err,
                       size_t errlen)
{
    if (target && strcmp(target, "sqlite") == 0)
        return sqlite_commands(settings, n, run, runlen, check, checklen, err, errlen);
    if (target && strcmp(target, "redis") == 0)
        return redis_commands(settings, n, run, runlen, check, checklen, err, errlen);
    if (target && strcmp(target, "postgres") == 0)
        return pg_commands(settings, n, run, runlen, check, checklen, err, errlen);
    snprintf(err, errlen, "--target %s does not run in the guest; these do: %s",
             target ? target : "(none)", VM_TARGETS);
    return -ENOENT;
}
