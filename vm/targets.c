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

int vm_target_commands(const char *target, const struct recorder_setting *settings, unsigned n,
                       char *run, size_t runlen, char *check, size_t checklen, char *err,
                       size_t errlen)
{
    if (target && strcmp(target, "sqlite") == 0)
        return sqlite_commands(settings, n, run, runlen, check, checklen, err, errlen);
    if (target && strcmp(target, "redis") == 0)
        return redis_commands(settings, n, run, runlen, check, checklen, err, errlen);
    snprintf(err, errlen, "--target %s does not run in the guest; these do: %s",
             target ? target : "(none)", VM_TARGETS);
    return -ENOENT;
}
