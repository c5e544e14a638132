/* manifest.h - the suite's MANIFEST.tsv, as the runner needs it.
 *
 * One manifest_row per JSON file of the suite: where it lives (dir, file),
 * its feature bucket and the number of commands the runner must account
 * for (commands - register). The manifest owns every string; rows are a
 * flat vector read once per suite root. Columns are found by their header
 * names, so extra or reordered columns do not matter. */
#ifndef GRAFT_SPECTEST_MANIFEST_H
#define GRAFT_SPECTEST_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct manifest_row {
    char *dir;          /* e.g. "core" or "proposals/tail-call" */
    char *file;         /* e.g. "names.json" */
    char *bucket;       /* e.g. "mvp", "simd", "tail-call" */
    long counted;       /* commands - register: what the runner counts */
} manifest_row;

typedef struct manifest {
    char *root;         /* the directory holding MANIFEST.tsv (a real path) */
    manifest_row *rows; /* owned */
    size_t count;       /* rows used */
} manifest;

/* Read path (a MANIFEST.tsv). Returns NULL with a reason in err on failure. */
manifest *manifest_load(const char *path, char *err, size_t errlen);
void manifest_free(manifest *m);

/* The row for dir/file, or NULL. */
const manifest_row *manifest_find(const manifest *m, const char *dir, const char *file);

/* Is the bucket one the engine implements today? */
bool manifest_bucket_supported(const char *bucket);

/* The GRAFT_FEATURE_* bits the env must have to run the bucket's files:
 * a proposal's bucket turns on that proposal only (0 for unknown buckets). */
uint32_t manifest_bucket_features(const char *bucket);

#endif
