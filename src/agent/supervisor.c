/* supervisor.c - backoff and crash-loop quarantine (see supervisor.h). */
#include "supervisor.h"

#include <stdio.h>

sup_action sup_on_trap(sup_state *st, const sup_policy *p, int64_t now_ms, uint32_t *delay_ms,
                       char *why, size_t why_cap)
{
    uint32_t k = p->crash_loop_traps ? p->crash_loop_traps : 1;
    if (k > SUP_MAX_TRAPS) k = SUP_MAX_TRAPS;
    int64_t window_ms = (int64_t)p->crash_loop_window_s * 1000;
    if (st->ntraps && now_ms - st->last_trap_ms > window_ms) st->streak = 0;
    st->trap_ms[st->ntraps % SUP_MAX_TRAPS] = now_ms;
    st->ntraps++;
    st->last_trap_ms = now_ms;
    st->streak++;

    uint64_t delay = p->backoff_initial_ms ? p->backoff_initial_ms : 1;
    for (uint32_t i = 1; i < st->streak && delay < p->backoff_max_ms; i++) delay *= 2;
    if (delay > p->backoff_max_ms) delay = p->backoff_max_ms;
    *delay_ms = (uint32_t)delay;

    if (st->ntraps >= k) {
        int64_t kth = st->trap_ms[(st->ntraps - k) % SUP_MAX_TRAPS];
        if (now_ms - kth <= window_ms) {
            if (why)
                snprintf(why, why_cap, "crash loop: %u traps within %u s (the limit is %u in %u s)",
                         k, (unsigned)((now_ms - kth + 999) / 1000), k, p->crash_loop_window_s);
            return SUP_QUARANTINE;
        }
    }
    return SUP_RESTART;
}
