/* main.c - graft-spectest: replays the official WebAssembly test suite
 * (wast2json command files) against libgraft through its public API.
 *
 *   graft-spectest [-v] [--manifest FILE] PATH...
 *
 * Each PATH is a .json command file or a directory, searched recursively for
 * <name>/<name>.json in sorted order. Each file runs on its own (runner.c)
 * and prints "<dir>/<name>: N passed, N failed, N skipped"; the last line is
 * the totals. Exit status 0 only when nothing failed.
 *
 * MANIFEST.tsv gives each file's bucket and command count. It is the file
 * named by --manifest, or else the one in the nearest directory above each
 * JSON file; main keeps the manifests it loaded in a small list, one per
 * suite root, for the whole run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "runner.h"
#include "util.h"

#define MAX_ROOTS 8

typedef struct manifests {
    manifest *fixed;            /* from --manifest, or NULL */
    manifest *found[MAX_ROOTS]; /* loaded by walking up from files */
    size_t nfound;
} manifests;

static void usage(FILE *f)
{
    fprintf(f, "usage: graft-spectest [-v] [--manifest FILE] PATH...\n"
               "  PATH       a wast2json .json command file, or a directory searched for\n"
               "             <name>/<name>.json files\n"
               "  -v         print every command, not only failures\n"
               "  --manifest the suite's MANIFEST.tsv (default: found above each file)\n");
}

/* The manifest for a file, loading it on first use. NULL when none found
 * (the runner then reports the file as failed). */
static const manifest *manifest_for(manifests *ms, const char *path)
{
    if (ms->fixed)
        return ms->fixed;
    char *root = util_find_suite_root(path);
    if (!root)
        return NULL;
    const manifest *m = NULL;
    for (size_t i = 0; i < ms->nfound && !m; i++)
        if (strcmp(ms->found[i]->root, root) == 0)
            m = ms->found[i];
    if (!m && ms->nfound < MAX_ROOTS) {
        char err[256];
        char *file = util_join(root, "MANIFEST.tsv");
        manifest *loaded = file ? manifest_load(file, err, sizeof err) : NULL;
        if (loaded)
            m = ms->found[ms->nfound++] = loaded;
        else
            printf("graft-spectest: %s\n", file ? err : "out of memory");
        free(file);
    }
    free(root);
    return m;
}

static void run_path(manifests *ms, const char *path, bool verbose, runner_totals *totals)
{
    char err[512];
    if (!util_is_dir(path)) {
        runner_run_file(path, manifest_for(ms, path), verbose, totals);
        return;
    }
    util_paths files = { 0 };
    if (!util_collect_json(path, &files, err, sizeof err)) {
        printf("graft-spectest: %s\n", err);
        totals->failed++;
    } else if (files.count == 0) {
        printf("graft-spectest: no <name>/<name>.json files below %s\n", path);
        totals->failed++;
    }
    for (size_t i = 0; i < files.count; i++)
        runner_run_file(files.items[i], manifest_for(ms, files.items[i]), verbose, totals);
    util_paths_free(&files);
}

int main(int argc, char **argv)
{
    manifests ms = { 0 };
    runner_totals totals = { 0, 0, 0 };
    bool verbose = false;
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "-v") == 0) {
            verbose = true;
        } else if (strcmp(argv[first], "--manifest") == 0 && first + 1 < argc && !ms.fixed) {
            char err[256];
            ms.fixed = manifest_load(argv[++first], err, sizeof err);
            if (!ms.fixed) {
                fprintf(stderr, "graft-spectest: %s\n", err);
                return 2;
            }
        } else if (strcmp(argv[first], "-h") == 0 || strcmp(argv[first], "--help") == 0) {
            usage(stdout);
            manifest_free(ms.fixed);
            return 0;
        } else {
            usage(stderr);
            manifest_free(ms.fixed);
            return 2;
        }
    }
    if (first == argc) {
        usage(stderr);
        manifest_free(ms.fixed);
        return 2;
    }
    for (int i = first; i < argc; i++)
        run_path(&ms, argv[i], verbose, &totals);
    printf("%ld passed, %ld failed, %ld skipped\n", totals.passed, totals.failed, totals.skipped);
    manifest_free(ms.fixed);
    for (size_t i = 0; i < ms.nfound; i++)
        manifest_free(ms.found[i]);
    return totals.failed == 0 ? 0 : 1;
}
