/* preload/site.c: the call site of each recorded call.
 *
 * DESIGN.  REAL(fn) is evaluated in every hook before the real call, and
 * notes __builtin_return_address(0) there: the hooked call's caller in
 * the program.  An address inside this library (a hook calling another
 * hook, a helper) is not a site and leaves the noted one as it is, so a
 * wrapper's caller stays the site.  An address becomes (object number,
 * offset from the object's load bias) once: dladdr1 is a search of the
 * loaded objects, so each thread keeps a small direct-mapped cache of the
 * addresses it has seen, and the first use of an object appends a
 * RECORDER_OBJECT record with its path.  rec_emit copies the noted site
 * into every record header.  Symbolising is left to the reader, after
 * the run (recorder/site.c).
 */
#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "preload/internal.h"

#define SITE_CACHE 256     /* per thread: a program calls from a few hundred places at most */
#define SITE_OBJECTS 1024  /* per process image; beyond: site not known */
#define SITE_OURS UINT64_MAX

static __thread struct { uintptr_t addr; uint64_t site; } site_cache[SITE_CACHE]
    __attribute__((tls_model("initial-exec")));
static __thread uint64_t site_now __attribute__((tls_model("initial-exec")));

static pthread_mutex_t site_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct link_map *site_maps[SITE_OBJECTS];
static unsigned site_nmaps;
static uintptr_t site_own_base;

static uint64_t site_pack(unsigned obj, uintptr_t off)
{
    return off > UINT32_MAX ? 0 : (uint64_t)obj << 32 | (uint32_t)off;
}

/* The object number of map, appending its RECORDER_OBJECT record the
 * first time; 0 when the table is full or busy (a signal handler's hook
 * interrupting the thread that holds the lock). */
static unsigned site_object(const struct link_map *map, const char *fname)
{
    if (pthread_mutex_trylock(&site_lock) != 0)
        return 0;
    unsigned obj = 0;
    for (unsigned i = 0; i < site_nmaps && !obj; i++)
        if (site_maps[i] == map)
            obj = i + 1;
    if (!obj && site_nmaps < SITE_OBJECTS) {
        char exe[PATH_MAX];
        const char *path = fname;
        if (!path || path[0] != '/') {   /* the main program: dladdr gives argv[0] or "" */
            ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
            exe[n > 0 ? n : 0] = '\0';
            path = exe;
        }
        site_maps[site_nmaps++] = map;
        obj = site_nmaps;
        rec_emit_path(RECORDER_OBJECT, (int32_t)obj, 0, path, NULL);
    }
    pthread_mutex_unlock(&site_lock);
    return obj;
}

static uint64_t site_resolve(uintptr_t addr)
{
    Dl_info info;
    struct link_map *map = NULL;
    if (!dladdr1((void *)addr, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
        return 0;
    if (!site_own_base) {
        Dl_info me;
        if (dladdr((void *)site_resolve, &me))
            site_own_base = (uintptr_t)me.dli_fbase;
    }
    if ((uintptr_t)info.dli_fbase == site_own_base)
        return SITE_OURS;
    unsigned obj = site_object(map, info.dli_fname);
    return obj ? site_pack(obj, addr - (uintptr_t)map->l_addr) : 0;
}

void rec_site_note(void *ret)
{
    if (!rec_armed)
        return;
    uintptr_t addr = (uintptr_t)ret;
    unsigned slot = (unsigned)((addr >> 2) ^ (addr >> 12)) % SITE_CACHE;
    uint64_t site;
    if (site_cache[slot].addr == addr) {
        site = site_cache[slot].site;
    } else {
        site = site_resolve(addr);
        if (site) {   /* 0 may be a busy table: asked again next time */
            site_cache[slot].addr = addr;
            site_cache[slot].site = site;
        }
    }
    if (site != SITE_OURS)
        site_now = site;
}

void rec_site_fill(struct recorder_rec *h)
{
    h->site_obj = (uint32_t)(site_now >> 32);
    h->site_off = (uint32_t)site_now;
}
