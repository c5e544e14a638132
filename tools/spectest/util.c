/* util.c - file and path helpers for the spec runner (see util.h).
 *
 * POSIX only (stat, opendir, realpath): the runner is a host tool and never
 * runs on the embedded targets. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE_SIZE (1u << 30)

bool util_read_file(const char *path, char **out, size_t *out_len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (unsigned long long)st.st_size > MAX_FILE_SIZE) {
        snprintf(err, errlen, "%s is not a readable regular file of at most 1 GiB", path);
        goto fail_close;
    }
    size_t len = (size_t)st.st_size;
    buf = malloc(len + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory reading %s", path);
        goto fail_close;
    }
    if (fread(buf, 1, len, f) != len) {
        snprintf(err, errlen, "short read on %s", path);
        goto fail_free;
    }
    buf[len] = '\0';
    fclose(f);
    *out = buf;
    *out_len = len;
    return true;
fail_free:
    free(buf);
fail_close:
    fclose(f);
    return false;
}

char *util_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

char *util_parent_dir(const char *path)
{
    char *full = realpath(path, NULL);
    if (!full)
        return NULL;
    char *slash = strrchr(full, '/');
    if (slash == full)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    return full;
}

bool util_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *util_find_suite_root(const char *file)
{
    char *dir = util_parent_dir(file);
    while (dir) {
        char *candidate = util_join(dir, "MANIFEST.tsv");
        bool found = candidate && is_file(candidate);
        free(candidate);
        if (found)
            return dir;
        if (strcmp(dir, "/") == 0)
            break;
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    free(dir);
    return NULL;
}

bool util_paths_push(util_paths *p, const char *s)
{
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char **grown = realloc(p->items, cap * sizeof *grown);
        if (!grown)
            return false;
        p->items = grown;
        p->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return false;
    p->items[p->count++] = copy;
    return true;
}

void util_paths_free(util_paths *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->items[i]);
    free(p->items);
    p->items = NULL;
    p->count = p->cap = 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of dir's subdirectories (hidden ones excluded). */
static bool list_subdirs(const char *dir, util_paths *names, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read directory %s: %s", dir, strerror(errno));
        return false;
    }
    bool ok = true;
    struct dirent *e;
    while (ok && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *sub = util_join(dir, e->d_name);
        ok = sub != NULL;
        if (ok && util_is_dir(sub))
            ok = util_paths_push(names, e->d_name);
        free(sub);
    }
    closedir(d);
    if (!ok)
        snprintf(err, errlen, "out of memory listing %s", dir);
    else if (names->count > 1)
        qsort(names->items, names->count, sizeof *names->items, compare_names);
    return ok;
}

/* depth bounds the walk, so a symlink loop ends with an error. */
static bool collect(const char *dir, unsigned depth, util_paths *out, char *err, size_t errlen)
{
    if (depth > 16) {
        snprintf(err, errlen, "directories nested too deep at %s", dir);
        return false;
    }
    util_paths names = { 0 };
    bool ok = list_subdirs(dir, &names, err, errlen);
    for (size_t i = 0; ok && i < names.count; i++) {
        char *sub = util_join(dir, names.items[i]);
        char *base = sub ? malloc(strlen(names.items[i]) + 6) : NULL;
        char *json = NULL;
        ok = base != NULL;
        if (ok) {
            sprintf(base, "%s.json", names.items[i]);
            json = util_join(sub, base);
            ok = json != NULL;
        }
        if (ok && is_file(json))
            ok = util_paths_push(out, json);
        if (!ok)
            snprintf(err, errlen, "out of memory listing %s", dir);
        else
            ok = collect(sub, depth + 1, out, err, errlen);
        free(json);
        free(base);
        free(sub);
    }
    util_paths_free(&names);
    return ok;
}

bool util_collect_json(const char *dir, util_paths *out, char *err, size_t errlen)
{
    /* dir may itself be a test directory: core/names holds names.json. */
    char *full = realpath(dir, NULL);
    const char *base = full ? strrchr(full, '/') : NULL;
    bool ok = true;
    if (base && base[1]) {
        char *file = malloc(strlen(base) + 6);
        char *json = NULL;
        if (file) {
            sprintf(file, "%s.json", base + 1);
            json = util_join(dir, file);
        }
        ok = json != NULL;
        if (ok && is_file(json))
            ok = util_paths_push(out, json);
        free(json);
        free(file);
    }
    free(full);
    if (!ok) {
        snprintf(err, errlen, "out of memory listing %s", dir);
        return false;
    }
    return collect(dir, 0, out, err, errlen);
}
