/* fuzzexec.h - graft-fuzz-exec, the differential fuzzing harness.
 *
 * Binaryen's `wasm-opt -ttf ... --fuzz-exec-before` turns random bytes into
 * a valid module and runs each exported function in its own interpreter,
 * printing one line per call, per logged value, per result and per trap.
 * This harness runs the same module under Graft the way binaryen does (one
 * instance; before each export the `hangLimitInitializer` export, then the
 * export with zero/null arguments) and records the same observations as a
 * list of events (run.c). refcmp.c then walks binaryen's output line by line
 * against those events, interpreting each printed value with the type that
 * Graft's side knows, and reports the first divergence.
 *
 * Normalisation (the only one): two NaNs of the same float type compare
 * equal whatever their sign and payload, since the specification lets
 * arithmetic choose them [exec/numerics: NaN propagation]. Every other
 * filter is listed, with its reason, in tests/fuzz/diff-filters.md. */
#ifndef GRAFT_FUZZEXEC_H
#define GRAFT_FUZZEXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "graft.h"

typedef enum fx_kind {
    FX_CALL,       /* an export is about to be called: name */
    FX_LOG,        /* a fuzzing-support log-* import ran: vals[0] */
    FX_RESULT,     /* the export returned values (never for zero results) */
    FX_TRAP,       /* the export (or its hang-limit initializer) trapped */
    FX_INST_TRAP   /* instantiation trapped: nothing else runs */
} fx_kind;

#define FX_MAX_VALS 64

typedef struct fx_event {
    fx_kind kind;
    char *name;                 /* FX_CALL: the export's name (owned) */
    uint32_t nvals;
    graft_val vals[FX_MAX_VALS];
    char *message;              /* FX_TRAP: Graft's message (owned) */
    char *backtrace;            /* FX_TRAP: Graft's backtrace (owned), with the
                                   wasm offsets: compared metered/unmetered */
} fx_event;

typedef struct fx_events {
    fx_event *items;
    size_t count;
    size_t cap;
} fx_events;

typedef enum fx_status {
    FX_DONE = 0,      /* ran to completion */
    FX_DIVERGE = 1,   /* the metered and the unmetered run differ (main.c) */
    FX_SKIP = 2,      /* Graft ran out of fuel: not comparable */
    FX_FAILED = 3     /* the module did not load or link: a divergence */
} fx_status;

/* Run the module under Graft, appending events: compiled metered, with
 * fuel, or unmetered (graft_env_config.unmetered), without any bound of
 * Graft's own. On FX_FAILED or FX_SKIP, why holds a one-line reason. */
fx_status fx_run(const uint8_t *bytes, size_t len, bool unmetered, fx_events *ev, char *why,
                 size_t whylen);
void fx_events_free(fx_events *ev);

/* Do the metered run's events a and the unmetered run's b differ in
 * anything (values bit for bit, trap messages and backtraces)? 1 when
 * they do, with the first difference described on report; else 0. */
int fx_events_differ(const fx_events *a, const fx_events *b, FILE *report);

/* Print one value in the harness's own notation. */
void fx_print_val(FILE *f, const graft_val *v);

/* Counters of one comparison. */
typedef struct fx_counts {
    unsigned calls;      /* export calls compared */
    unsigned values;     /* result and log values compared */
    unsigned traps;      /* traps matched */
    unsigned nan_norm;   /* NaN pairs accepted by the NaN normalisation */
} fx_counts;

/* Compare events against binaryen's --fuzz-exec output (NUL-terminated).
 * Returns 0 on a match, 1 on a divergence (described on stdout), 2 when the
 * reference hit a host limit (skip). */
int fx_compare(const fx_events *ev, const char *ref, fx_counts *counts);

#endif
