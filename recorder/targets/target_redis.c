/* target_redis: redis-server with the append-only file, driven by hiredis.
 *
 * DESIGN.  The server listens on a Unix socket only (port 0) in t->sock, by the
 * data directory, runs under the recorder in its own process group, and
 * gets SET of unique keys k1, k2, ... from this process, one at a time: a
 * reply is the acknowledgement, timestamped when it arrives.  The check
 * starts a fresh, unrecorded redis-server on the image (it loads the AOF
 * as a restart would), waits until it answers PING (not LOADING), lists
 * the keys, then kills it.  A server that exits instead has not recovered.
 * With t->ops (explore's bounded workload) the run ends by itself: after
 * that many SETs, SHUTDOWN NOSAVE, and the server's own exit.
 */
#include <errno.h>
#include <hiredis.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"


/* appendfsync is the server's; fresh is fsynclab's (redis_prepare). */
static const char *const redis_keys[] = {"appendfsync", "fresh", NULL};

static int redis_setup(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                       char *err, size_t errlen)
{
    const char *fresh = target_setting(cfg, "fresh", "no");
    if (strcmp(fresh, "yes") != 0 && strcmp(fresh, "no") != 0) {
        (void)PL_ERR(err, errlen, 0, "--set fresh: yes or no, not \"%s\"", fresh);
        return -EINVAL;
    }
    if (target_setting(cfg, "fresh", NULL))
        target_applied(out, "fresh", fresh);
    const char *mode = target_setting(cfg, "appendfsync", "everysec");
    if (strcasecmp(mode, "always") == 0) {
        out->promised = "always: fsync before every write is acknowledged";
        out->promised_window_ms = 0;
    } else if (strcasecmp(mode, "everysec") == 0) {
        out->promised = "everysec: you may lose 1 second of data";
        out->promised_window_ms = 1000;
    } else if (strcasecmp(mode, "no") == 0) {
        out->promised = "no: data in the hands of the OS";
    } else {
        (void)PL_ERR(err, errlen, 0, "--set appendfsync: always, everysec or no, not \"%s\"", mode);
        return -EINVAL;
    }
    return 0;
}

/* Starts redis-server on dir with its socket at sock. */
static int redis_start(struct target_trial *t, const char *dir, const char *sock, int recorded, pid_t *pid,
                       char *err, size_t errlen)
{
    char *argv[] = {"redis-server", "--port", "0", "--unixsocket", (char *)sock, "--unixsocketperm", "700",
                    "--dir", (char *)dir, "--appendonly", "yes", "--appendfsync",
                    (char *)target_setting(t->cfg, "appendfsync", "everysec"), "--save", "",
                    "--daemonize", "no", "--logfile", "", NULL};
    return target_spawn(t, argv, NULL, recorded, 0, NULL, pid, err, errlen);
}

/* Connects once the server answers PING; NULL when it died, never did
 * within the start timeout, or fsynclab got a signal; the reason in err. */
static redisContext *redis_connect(struct target_trial *t, const char *dir, const char *sock, pid_t pid,
                                   long log_from, char *err, size_t errlen)
{
    int limit = target_timeout_ms(t);
    for (int waited = 0; waited < limit && !target_stopped(); waited += 10) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {   /* reaped here; target_kill_group finds nothing left */
            char how[64], tail[400];
            target_status_text(st, how, sizeof how);
            target_log_tail(t, log_from, tail, sizeof tail);
            (void)PL_ERR(err, errlen, 0, "redis-server on %s ended at its start (%s): %s", dir, how, *tail ? tail : "no message");
            return NULL;
        }
        redisContext *c = redisConnectUnix(sock);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            int up = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            if (up)
                return c;
        }
        redisFree(c);
        poll(NULL, 0, 10);
    }
    if (target_stopped())
        (void)PL_ERR(err, errlen, 0, "interrupted");
    else
        (void)PL_ERR(err, errlen, 0, "redis-server on %s did not answer within %d ms (--check-timeout S)", dir, limit);
    return NULL;
}

/* CONFIG GET name: what the server runs with, or "" on an error. */
static void redis_config(redisContext *c, const char *name, char *out, size_t outlen)
{
    redisReply *r = redisCommand(c, "CONFIG GET %s", name);
    out[0] = '\0';
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->str)
        snprintf(out, outlen, "%s", r->element[1]->str);
    freeReplyObject(r);
}

/* The server's own report of what the trial relies on; -EINVAL when it
 * does not run with what was asked. */
static int redis_applied(struct target_trial *t, redisContext *c, char *err, size_t errlen)
{
    char fsync[64], aof[64];
    const char *want = target_setting(t->cfg, "appendfsync", "everysec");
    redis_config(c, "appendfsync", fsync, sizeof fsync);
    redis_config(c, "appendonly", aof, sizeof aof);
    if (strcasecmp(fsync, want) != 0 || strcmp(aof, "yes") != 0) {
        (void)PL_ERR(err, errlen, 0, "redis-server did not take appendfsync=%s appendonly=yes: CONFIG GET reports "
                "appendfsync=%s appendonly=%s", want, *fsync ? fsync : "(nothing)", *aof ? aof : "(nothing)");
        return -EINVAL;
    }
    target_applied(t->out, "appendfsync", fsync);
    return 0;
}

/* The data directory as an installed server leaves it: started once (not
 * recorded) and shut down cleanly, so that appendonlydir and its manifest
 * exist before the trial; Redis never syncs the directory that holds
 * appendonlydir, and a run from an empty directory would lose it whole
 * under the drop model (docs/real-programs.md shows that run too). */
static int redis_prepare(struct target_trial *t, char *err, size_t errlen)
{
    if (strcmp(target_setting(t->cfg, "fresh", "no"), "yes") == 0)
        return 0;
    char sock[PATH_MAX + 16];
    snprintf(sock, sizeof sock, "%s/prepare.sock", t->sock);
    unlink(sock);
    pid_t pid;
    long log_from = target_log_size(t);
    int rc = redis_start(t, t->data, sock, 0, &pid, err, errlen);
    if (rc)
        return rc;
    redisContext *c = redis_connect(t, t->data, sock, pid, log_from, err, errlen);
    int st = 0, clean = 0;
    if (c) {
        freeReplyObject(redisCommand(c, "SHUTDOWN"));   /* the reply is the connection closing */
        redisFree(c);
        clean = target_wait(pid, target_timeout_ms(t), &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (!clean) {
            char tail[400];
            target_log_tail(t, log_from, tail, sizeof tail);
            (void)PL_ERR(err, errlen, 0, "redis-server on %s: no clean shutdown to prepare the trial: %s", t->data,
                    *tail ? tail : "no message");
        }
    }
    target_kill_group(pid);
    unlink(sock);
    if (!clean)
        return target_stopped() ? -EINTR : -EIO;
    return 0;
}

static int redis_run(struct target_trial *t, char *err, size_t errlen)
{
    char sock[PATH_MAX + 16];
    snprintf(sock, sizeof sock, "%s/redis.sock", t->sock);
    unlink(sock);
    pid_t pid;
    long log_from = target_log_size(t);
    int rc = redis_start(t, t->data, sock, 1, &pid, err, errlen);
    if (rc)
        return rc;
    redisContext *c = redis_connect(t, t->data, sock, pid, log_from, err, errlen);
    if (!c) {
        target_kill_group(pid);
        return target_stopped() ? -EINTR : -EIO;
    }
    if ((rc = redis_applied(t, c, err, errlen)) != 0) {
        target_kill_group(pid);
        redisFree(c);
        return rc;
    }
    t->kill_ns = target_now_ns() + t->run_ns;
    char key[32];
    for (unsigned long k = 1; rc == 0 && target_running(t) && (!t->ops || k <= t->ops); k++) {
        int len = snprintf(key, sizeof key, "k%lu", k);
        redisReply *r = redisCommand(c, "SET %s %lu", key, k);
        uint64_t ns = target_now_ns();
        int acked = r && r->type == REDIS_REPLY_STATUS;
        char what[160];
        snprintf(what, sizeof what, "%s", r && r->type == REDIS_REPLY_ERROR ? r->str : c->err ? c->errstr : "not OK");
        freeReplyObject(r);
        if (!acked && target_client_error(t, ns, what, !r || c->err))
            break;   /* --fault: the error is the result */
        if (!acked) {
            (void)PL_ERR(err, errlen, 0, "redis SET %s: %s", key, c->err ? c->errstr : "not OK");
            rc = -EIO;
            break;
        }
        rc = target_ack(t, key, (size_t)len, ns);
    }
    if (rc == 0 && t->ops && t->nacks == t->ops) {   /* explore: the server ends by itself */
        freeReplyObject(redisCommand(c, "SHUTDOWN NOSAVE"));
        t->exited = target_wait(pid, target_timeout_ms(t), &t->exit_status);
    }
    uint64_t kill_ns = target_now_ns();
    target_kill_group(pid);
    redisFree(c);
    if (kill_ns < t->kill_ns || rc)
        t->kill_ns = kill_ns;
    return rc;
}

static int redis_check(struct target_trial *t, const char *image, struct target_keyset *found, int *ok,
                       char *err, size_t errlen)
{
    char sock[PATH_MAX + 16];
    snprintf(sock, sizeof sock, "%s/check.sock", t->sock);
    unlink(sock);
    pid_t pid;
    long log_from = target_log_size(t);
    int rc = redis_start(t, image, sock, 0, &pid, err, errlen);
    if (rc)
        return rc;
    *ok = 0;
    char why[512] = "";
    redisContext *c = redis_connect(t, image, sock, pid, log_from, why, sizeof why);
    if (!c && !strstr(why, "ended at its start")) {   /* a server that refuses the image: not recovered */
        target_kill_group(pid);
        (void)PL_ERR(err, errlen, 0, "%s", why);
        return target_stopped() ? -EINTR : -ETIMEDOUT;
    }
    if (c) {
        redisReply *r = redisCommand(c, "KEYS *");
        if (r && r->type == REDIS_REPLY_ARRAY) {
            *ok = 1;
            for (size_t i = 0; rc == 0 && i < r->elements; i++)
                rc = target_keyset_add(found, r->element[i]->str);
        }
        freeReplyObject(r);
        redisFree(c);
    }
    target_kill_group(pid);
    unlink(sock);
    if (rc)
        (void)PL_ERR(err, errlen, 0, "recording a key: %s", strerror(-rc));
    return rc;
}

const struct target_ops target_redis = {
    .name = "redis",
    .keys = redis_keys,
    .setup = redis_setup,
    .prepare = redis_prepare,
    .run = redis_run,
    .check = redis_check,
};
