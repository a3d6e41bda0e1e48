/* site: the call site of a journal record, as a function and a source line.
 *
 * DESIGN.  The preload writes (object number, offset) in each record
 * header and one RECORDER_OBJECT record per object and process image
 * (preload/site.c).  Object numbers belong to a process image: an exec
 * (a START record) begins a fresh table, a fork (a FORK record) copies
 * its parent's; one pass over the journal gives each record the table it
 * was written under.  Symbolising happens after the run with elfutils'
 * libdwfl, offline, one session per object file: the symbol that contains
 * the address (a symbol table that lacks the function, as a stripped
 * library's dynamic one does, gives the object and offset instead of the
 * nearest exported name, which would be wrong), and with debug info the
 * file and line of the call.  Where libdw reads no line (elfutils 0.188
 * does not read the DWARF 5 line tables clang 14 writes), binutils'
 * addr2line is asked instead, once per site: names are cached by
 * (object, offset).
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "powerloss/powerloss.h"
#include "recorder/recorder.h"

struct site_table {
    const char **paths;   /* by object number - 1; NULL: not bound */
    size_t n;
};

struct site_dwfl {
    const char *path;
    Dwfl *dwfl;
    Dwfl_Module *mod;     /* NULL: the file could not be read */
};

struct site_name {        /* a name given before, by (object, offset) */
    const char *object;
    uint64_t off;
    char *name;
};

struct recorder_sites {
    const struct recorder_journal *j;
    struct site_name *names;
    size_t nnames;
    uint32_t *table_of;          /* per record: its table, + 1 (0: none) */
    struct site_table *tables;
    size_t ntables;
    struct { uint32_t pid, table; } *pids;
    size_t npids;
    struct site_dwfl *dw;
    size_t ndw;
};

/* A new table, a copy of table from (UINT32_MAX: empty). */
static int site_new_table(struct recorder_sites *s, uint32_t from_at, uint32_t *out)
{
    struct site_table *g = realloc(s->tables, (s->ntables + 1) * sizeof *g);
    if (!g)
        return -ENOMEM;
    s->tables = g;
    struct site_table *t = &g[s->ntables], *from = from_at == UINT32_MAX ? NULL : &g[from_at];
    memset(t, 0, sizeof *t);
    if (from && from->n) {
        if (!(t->paths = malloc(from->n * sizeof *t->paths)))
            return -ENOMEM;
        memcpy(t->paths, from->paths, from->n * sizeof *t->paths);
        t->n = from->n;
    }
    *out = (uint32_t)s->ntables++;
    return 0;
}

/* The slot of pid in s->pids (added, with no table, when new). */
static int site_pid(struct recorder_sites *s, uint32_t pid, size_t *at)
{
    for (size_t i = s->npids; i-- > 0;)
        if (s->pids[i].pid == pid) {
            *at = i;
            return 0;
        }
    void *g = realloc(s->pids, (s->npids + 1) * sizeof *s->pids);
    if (!g)
        return -ENOMEM;
    s->pids = g;
    s->pids[s->npids].pid = pid;
    s->pids[s->npids].table = UINT32_MAX;
    *at = s->npids++;
    return 0;
}

static int site_bind(struct site_table *t, int32_t obj, const char *path)
{
    if (obj < 1 || obj > 65536)
        return 0;   /* not a number the preload gives: the record is ignored */
    if ((size_t)obj > t->n) {
        const char **g = realloc(t->paths, (size_t)obj * sizeof *g);
        if (!g)
            return -ENOMEM;
        memset(g + t->n, 0, ((size_t)obj - t->n) * sizeof *g);
        t->paths = g;
        t->n = (size_t)obj;
    }
    t->paths[obj - 1] = path;
    return 0;
}

static int site_record(struct recorder_sites *s, size_t i)
{
    const struct recorder_rec *r = s->j->recs[i];
    size_t at, parent;
    int rc = site_pid(s, r->pid, &at);
    if (rc)
        return rc;
    if (r->type == RECORDER_START || r->type == RECORDER_FORK || s->pids[at].table == UINT32_MAX) {
        uint32_t from = UINT32_MAX;
        if (r->type == RECORDER_FORK && (rc = site_pid(s, (uint32_t)r->aux, &parent)) == 0)
            from = s->pids[parent].table;
        if (rc || (rc = site_new_table(s, from, &s->pids[at].table)) != 0)
            return rc;
    }
    uint32_t tab = s->pids[at].table;
    if (r->type == RECORDER_OBJECT && r->size > RECORDER_HEADER &&
        ((const char *)recorder_payload(r))[r->size - RECORDER_HEADER - 1] == '\0' &&
        (rc = site_bind(&s->tables[tab], r->aux, recorder_payload(r))) != 0)
        return rc;
    s->table_of[i] = tab + 1;
    return 0;
}

int recorder_sites_open(const struct recorder_journal *j, struct recorder_sites **out, char *err, size_t errlen)
{
    struct recorder_sites *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s || !(s->table_of = calloc(j->n ? j->n : 1, sizeof *s->table_of))) {
        free(s);
        return PL_ERR(err, errlen, -ENOMEM, "call sites of %zu records: %s", j->n, strerror(ENOMEM));
    }
    s->j = j;
    for (size_t i = 0; i < j->n; i++)
        if (site_record(s, i) != 0) {
            recorder_sites_free(s);
            return PL_ERR(err, errlen, -ENOMEM, "call sites of %zu records: %s", j->n, strerror(ENOMEM));
        }
    *out = s;
    return 0;
}

void recorder_sites_free(struct recorder_sites *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ntables; i++)
        free(s->tables[i].paths);
    for (size_t i = 0; i < s->ndw; i++)
        if (s->dw[i].dwfl)
            dwfl_end(s->dw[i].dwfl);
    for (size_t i = 0; i < s->nnames; i++)
        free(s->names[i].name);
    free(s->names);
    free(s->tables);
    free(s->pids);
    free(s->dw);
    free(s->table_of);
    free(s);
}

int recorder_site_of(const struct recorder_sites *s, size_t i, const char **object, uint64_t *off)
{
    if (!s || i >= s->j->n || !s->table_of[i])
        return -ENOENT;
    const struct recorder_rec *r = s->j->recs[i];
    const struct site_table *t = &s->tables[s->table_of[i] - 1];
    if (r->site_obj == 0 || r->site_obj > t->n || !t->paths[r->site_obj - 1])
        return -ENOENT;
    *object = t->paths[r->site_obj - 1];
    *off = r->site_off;
    return 0;
}

static const Dwfl_Callbacks site_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

static struct site_dwfl *site_session(struct recorder_sites *s, const char *path)
{
    for (size_t i = 0; i < s->ndw; i++)
        if (strcmp(s->dw[i].path, path) == 0)
            return &s->dw[i];
    struct site_dwfl *g = realloc(s->dw, (s->ndw + 1) * sizeof *g);
    if (!g)
        return NULL;
    s->dw = g;
    struct site_dwfl *d = &g[s->ndw++];
    d->path = path;
    d->mod = NULL;
    d->dwfl = dwfl_begin(&site_callbacks);
    if (d->dwfl) {
        d->mod = dwfl_report_offline(d->dwfl, path, path, -1);
        dwfl_report_end(d->dwfl, NULL, NULL);
    }
    return d;
}

static const char *site_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "file:line" of addr in object from binutils' addr2line into out; 0, or
 * -1 when it gives none or cannot run. */
static int site_addr2line(const char *object, uint64_t addr, char *out, size_t outlen)
{
    char a[32];
    snprintf(a, sizeof a, "0x%llx", (unsigned long long)addr);
    char *argv[] = {"addr2line", "-e", (char *)object, a, NULL};
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    extern char **environ;
    int rc = posix_spawnp(&pid, "addr2line", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    char buf[512];
    size_t got = 0;
    ssize_t n;
    while (rc == 0 && got < sizeof buf - 1 && (n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    close(p[0]);
    int st = 0;
    if (rc == 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    buf[got] = '\0';
    buf[strcspn(buf, " \n")] = '\0';   /* "file:line (discriminator N)" */
    const char *colon = strrchr(buf, ':');
    if (rc != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || buf[0] == '?' || !colon || colon == buf ||
        strcmp(colon, ":0") == 0 || strcmp(colon, ":?") == 0)
        return -1;
    const char *slash = strrchr(buf, '/');
    snprintf(out, outlen, "%.255s", slash ? slash + 1 : buf);
    return 0;
}

/* The name of (object, off), from the object's symbols and lines. */
static void site_lookup(struct recorder_sites *s, const char *object, uint64_t off, char *out, size_t outlen)
{
    struct site_dwfl *d = site_session(s, object);
    GElf_Addr bias = 0;
    if (!d || !d->mod || !dwfl_module_getelf(d->mod, &bias) || off == 0) {
        snprintf(out, outlen, "%s+0x%llx", site_base(object), (unsigned long long)off);
        return;
    }
    /* The return address follows the call: one byte back is inside it. */
    GElf_Addr addr = bias + off - 1, symoff = 0;
    GElf_Sym sym;
    const char *fn = dwfl_module_addrinfo(d->mod, addr, &symoff, &sym, NULL, NULL, NULL);
    if (fn && sym.st_size && symoff >= sym.st_size)
        fn = NULL;   /* past the end of the nearest symbol: the function's own is not in the table */
    Dwfl_Line *line = dwfl_module_getsrc(d->mod, addr);
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    char where[300];   /* file:line */
    if (file)
        snprintf(where, sizeof where, "%s:%d", site_base(file), lineno);
    else if (!fn || site_addr2line(object, off - 1, where, sizeof where) != 0)
        where[0] = '\0';
    if (fn && where[0])
        snprintf(out, outlen, "%s (%s)", fn, where);
    else if (fn)
        snprintf(out, outlen, "%s (%s)", fn, site_base(object));
    else
        snprintf(out, outlen, "%s+0x%llx", site_base(object), (unsigned long long)off);
}

int recorder_site_name(struct recorder_sites *s, size_t i, char *out, size_t outlen)
{
    const char *object;
    uint64_t off;
    if (recorder_site_of(s, i, &object, &off) != 0) {
        snprintf(out, outlen, "?");
        return -ENOENT;
    }
    for (size_t k = 0; k < s->nnames; k++)
        if (s->names[k].off == off && strcmp(s->names[k].object, object) == 0) {
            snprintf(out, outlen, "%s", s->names[k].name);
            return 0;
        }
    char name[256];
    site_lookup(s, object, off, name, sizeof name);
    snprintf(out, outlen, "%s", name);
    struct site_name *g = realloc(s->names, (s->nnames + 1) * sizeof *g);
    if (g) {
        s->names = g;
        g[s->nnames] = (struct site_name){object, off, strdup(name)};
        s->nnames += g[s->nnames].name != NULL;
    }
    return 0;
}
