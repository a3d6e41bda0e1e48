/* preload/ack.c: the program's acknowledgements, in the journal's order.
 *
 * DESIGN.  A program run by fsynclab says `ack KEY` on its stdout, a pipe
 * fsynclab reads: the time it reads a line is later than the promise, and
 * a program that runs ahead has done more by then.  So the line is also
 * journaled (a RECORDER_ACK record, payload the key) when the program
 * hands it over: a write to fd 1 that is no file under the root, and an
 * fflush of a stdio stream on fd 1 (stdio writes past the hooks; the bytes
 * are read from the stream's buffer before the real flush).  The record
 * comes before the bytes leave, so every operation journaled after it
 * happened after the promise.  Only whole lines starting `ack ` count.
 */
#include <stdio.h>
#include <string.h>

#include "preload/internal.h"

void rec_acks(const void *buf, size_t n)
{
    const char *p = buf, *end = p + n;
    while (rec_armed && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return;
        size_t len = (size_t)(nl - p);
        if (len > 4 && len < 512 && memcmp(p, "ack ", 4) == 0) {
            char key[512];
            memcpy(key, p + 4, len - 4);
            key[len - 4] = '\0';
            rec_emit_path(RECORDER_ACK, 0, 0, key, NULL);
        }
        p = nl + 1;
    }
}

void rec_stdout_acks(FILE *fp)
{
    if (rec_armed && fp && fileno(fp) == 1 && fp->_IO_write_ptr > fp->_IO_write_base)
        rec_acks(fp->_IO_write_base, (size_t)(fp->_IO_write_ptr - fp->_IO_write_base));
}
