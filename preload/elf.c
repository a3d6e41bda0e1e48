/* preload/elf.c: what an exec'd binary hides from LD_PRELOAD.
 *
 * DESIGN.  A static binary (no PT_INTERP) loads no preload library, and a
 * Go binary makes its own system calls: either way the recorder sees
 * nothing of what it does, and says so with a flag in the journal rather
 * than let an empty journal read as "wrote nothing".  recorder/journal.c
 * reads PT_INTERP too, on the host; this library links nothing of
 * fsynclab's, so the check is made here again.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "preload/internal.h"

static void *rec_real_open, *rec_real_close;

/* A Go binary carries a note owned by "Go" (its build ID) in a PT_NOTE
 * segment.  The Go runtime makes its system calls itself, not through libc,
 * so LD_PRELOAD sees none of its writes or syncs, even when it is linked
 * dynamically (cgo). */
static int rec_note_is_go(int fd, const Elf64_Phdr *ph)
{
    unsigned char buf[4096];
    size_t len = ph->p_filesz < sizeof buf ? (size_t)ph->p_filesz : sizeof buf;
    if (pread(fd, buf, len, (off_t)ph->p_offset) != (ssize_t)len)
        return 0;
    for (size_t at = 0; at + 12 <= len;) {
        uint32_t namesz, descsz;
        memcpy(&namesz, buf + at, 4);
        memcpy(&descsz, buf + at + 4, 4);
        if ((namesz == 3 || namesz == 4) && at + 15 <= len && memcmp(buf + at + 12, "Go", 3) == 0)
            return 1;
        size_t next = at + 12 + ((namesz + 3u) & ~3u) + ((descsz + 3u) & ~3u);
        if (next <= at)
            break;
        at = next;
    }
    return 0;
}

/* A binary without PT_INTERP is static: LD_PRELOAD cannot reach into it. */
void rec_check_static(const char *path)
{
    int fd = REAL(open)(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return;
    Elf64_Ehdr eh;
    int is_static = 0, is_go = 0;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_ident[EI_CLASS] == ELFCLASS64) {
        is_static = 1;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != (ssize_t)sizeof ph)
                break;
            if (ph.p_type == PT_INTERP)
                is_static = 0;
            if (ph.p_type == PT_NOTE && !is_go)
                is_go = rec_note_is_go(fd, &ph);
        }
    }
    REAL(close)(fd);
    if (is_static)
        rec_flag("exec of static binary %s: its calls are not recorded", path);
    else if (is_go)
        rec_flag("exec of Go binary %s: the Go runtime makes its system calls without libc; "
                 "they are not recorded", path);
}

