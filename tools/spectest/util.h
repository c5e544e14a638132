/* util.h - file and path helpers for the spec runner.
 *
 * Whole-file reads into heap buffers, path joining, finding the suite root
 * (the nearest directory above a file that holds MANIFEST.tsv) and
 * collecting the <name>/<name>.json command files below a directory in
 * sorted order. Every returned string or buffer is owned by the caller and
 * released with free (path lists with util_paths_free). */
#ifndef GRAFT_SPECTEST_UTIL_H
#define GRAFT_SPECTEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Read a whole file. The buffer gets one extra NUL byte (not counted).
 * Files above 1 GiB are refused. */
bool util_read_file(const char *path, char **out, size_t *out_len, char *err, size_t errlen);

/* a + "/" + b, freshly allocated; NULL when out of memory. */
char *util_join(const char *a, const char *b);

/* The real path of path's parent directory, or NULL. */
char *util_parent_dir(const char *path);

/* Walk up from the directory holding file until a directory holds
 * MANIFEST.tsv; returns that directory's real path, or NULL. */
char *util_find_suite_root(const char *file);

typedef struct util_paths {
    char **items;   /* owned strings */
    size_t count;   /* used */
    size_t cap;     /* allocated */
} util_paths;

/* Append every <name>/<name>.json below dir (recursively, sorted by name
 * at each level; dir's own <basename>.json first when it has one).
 * Returns false when dir cannot be read or memory runs out. */
bool util_collect_json(const char *dir, util_paths *out, char *err, size_t errlen);
bool util_paths_push(util_paths *p, const char *s);
void util_paths_free(util_paths *p);

bool util_is_dir(const char *path);

#endif
