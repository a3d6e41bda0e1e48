/* DESIGN: what one zlib call saves over two, for a record's CRC.
 *
 * A record used to be length | seq | crc | payload, so its CRC took one
 * zlib call for the 12 header bytes and one for the payload.  It is now
 * crc | length | seq | payload, and one call covers the rest
 * (docs/design.md).  This times both ways over the same bytes, so the
 * figure quoted in wal/record.c and docs/performance.md can be measured
 * again.
 *
 *   usage: crc [RECORD_BYTES]      (default 128; 16 to 65536)
 *   built by `make`, into build/bench/model/crc.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zlib.h>

#define ROUNDS 10000000u

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    unsigned size = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 128;
    if (argc > 2 || size < 16 || size > 65536) {
        fprintf(stderr, "usage: crc [RECORD_BYTES]   (16 to 65536, default 128)\n");
        return 2;
    }
    unsigned char *rec = malloc(size);
    if (!rec)
        return 1;
    for (unsigned i = 0; i < size; i++)
        rec[i] = (unsigned char)(i * 7);
    volatile uLong sink = 0;   /* keeps the calls from being optimised away */

    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < ROUNDS; i++) {
        rec[8] = (unsigned char)i;   /* a new seq each time */
        uLong c = crc32(crc32(0L, Z_NULL, 0), rec, 12);
        sink += crc32(c, rec + 16, size - 16);
    }
    uint64_t t1 = now_ns();
    for (unsigned i = 0; i < ROUNDS; i++) {
        rec[8] = (unsigned char)i;
        sink += crc32(crc32(0L, Z_NULL, 0), rec + 4, size - 4);
    }
    uint64_t t2 = now_ns();
    printf("%u-byte record, zlib %s: two calls %.1f ns, one call %.1f ns (%u records each)\n",
           size, zlibVersion(), (double)(t1 - t0) / ROUNDS, (double)(t2 - t1) / ROUNDS, ROUNDS);
    (void)sink;
    free(rec);
    return 0;
}
