/* supervisor.h - restart and quarantine decisions after a trap.
 *
 * Pure bookkeeping, no threads and no clock of its own: every call is given
 * the time (ms, from any monotonic clock), so tests inject time freely.
 * A trap gives RESTART with a delay (exponential backoff from
 * backoff_initial_ms, doubling per trap in a row, capped at backoff_max_ms;
 * the streak resets after a window without traps), or QUARANTINE when the
 * module trapped crash_loop_traps times within crash_loop_window_s. */
#ifndef GRAFT_AGENT_SUPERVISOR_H
#define GRAFT_AGENT_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUP_MAX_TRAPS 64u

typedef struct sup_policy {
    uint32_t backoff_initial_ms, backoff_max_ms;
    uint32_t crash_loop_traps;         /* K (capped at SUP_MAX_TRAPS) */
    uint32_t crash_loop_window_s;      /* T */
} sup_policy;

typedef struct sup_state {
    int64_t trap_ms[SUP_MAX_TRAPS];    /* ring of the latest trap times */
    size_t ntraps;                     /* total traps seen */
    uint32_t streak;                   /* traps in a row, for the backoff */
    int64_t last_trap_ms;
} sup_state;

typedef enum sup_action { SUP_RESTART, SUP_QUARANTINE } sup_action;

/* Records a trap at now_ms; *delay_ms gets the restart delay. When it
 * answers SUP_QUARANTINE, why (may be NULL) says so in words. */
sup_action sup_on_trap(sup_state *st, const sup_policy *p, int64_t now_ms, uint32_t *delay_ms,
                       char *why, size_t why_cap);

#endif
