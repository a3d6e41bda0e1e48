/* image: internals of the crash-image builder, shared by image.c (reading
 * the snapshot and the journal, deciding what is durable) and
 * image_write.c (file contents under a model, writing the directory).
 *
 * DESIGN.  A file is a number (1 is the root) created by the snapshot or
 * by a creation event in the journal; names are (directory number, name)
 * entries in a hash map.  Two maps: the current names (what the program
 * saw, used to resolve paths while reading the journal) and, at the end,
 * the durable names (snapshot names, then each entry change that a
 * completed sync of its directory made durable).
 */
#ifndef FSYNCLAB_RECORDER_IMAGE_H
#define FSYNCLAB_RECORDER_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "recorder/recorder.h"

struct img_file {
    int is_dir;
    mode_t mode;
    unsigned char *init;     /* snapshot content */
    size_t init_len;
    char *link;              /* a symbolic link's target (snapshot only) */
    uint32_t *ops;           /* record indices of its data changes, in order */
    size_t nops, cap;
    size_t data_idx;         /* ops before this record index are durable */
    size_t meta_idx;         /* directories: entry changes before this index are durable */
    int written;             /* already put in the image (a directory reachable twice) */
    char *first_path;        /* a file with two names: the first written, to link the rest to */
    uint64_t size;           /* while reading the journal: the size the program saw */
    uint64_t dev, ino;       /* snapshot: to keep its hard links one file */
    size_t chg, dchg;        /* 1 + the index of its last change, and of its last change an
                                fdatasync must commit (size, allocation, creation); 0: none */
};

struct img_slot {
    uint32_t dir, file;      /* file 0: no entry (removed) */
    const char *name;
};

struct img_map {
    struct img_slot *slots;
    size_t cap, used;
};

struct img_eop {             /* one change of one directory entry */
    size_t idx;
    uint32_t dir, file;      /* file 0: removed */
    const char *name;
};

struct img {
    const struct recorder_journal *j;
    enum recorder_model model;
    uint64_t seed;
    struct img_file *files;
    size_t nfiles, capfiles;
    struct img_map cur, dur;
    struct img_eop *eops;
    size_t neops, capeops;
    struct img_eop *replaces;   /* renames over an existing file (ext4 auto_da_alloc) */
    size_t nreplaces, capreplaces;
    char **owned;               /* snapshot names */
    size_t nowned, capowned;
    size_t global_data_idx, global_meta_idx;
    struct recorder_image_stats stats;
    char *err;
    size_t errlen;
};

int img_map_put(struct img_map *m, uint32_t dir, const char *name, uint32_t file);
uint32_t img_map_get(const struct img_map *m, uint32_t dir, const char *name);

/* image_write.c */
int img_write_tree(struct img *im, const char *out_dir);
/* A file's size after fallocate record r (every mode fallocate(2) has). */
uint64_t img_fallocate_size(uint64_t size, const struct recorder_rec *r);

#endif
