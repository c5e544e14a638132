/* runner.h - replaying one JSON command file against libgraft.
 *
 * runner_run_file does everything for one file: reads and parses the JSON,
 * looks the file up in the manifest (bucket and expected command count),
 * either skips it (unsupported bucket) or runs it in a fresh env and store
 * with a fresh "spectest" host module, prints the per-file line and the
 * failure lines, and adds the file's counts to the caller's totals. All
 * engine objects and runner memory of the file are freed before it returns. */
#ifndef GRAFT_SPECTEST_RUNNER_H
#define GRAFT_SPECTEST_RUNNER_H

#include <stdbool.h>

#include "manifest.h"

typedef struct runner_totals {
    long passed;   /* commands that did what the suite expects */
    long failed;   /* commands that did not, plus manifest mismatches */
    long skipped;  /* text modules, and every command of unsupported buckets */
} runner_totals;

/* Run path against libgraft. m may be NULL (no manifest found): the file is
 * then run as supported and reported as failed for lacking a manifest row.
 * Returns true when nothing in the file failed. */
bool runner_run_file(const char *path, const manifest *m, bool verbose, runner_totals *totals);

#endif
