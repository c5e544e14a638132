/* tests/agent/supervisor.c - restart backoff and crash-loop quarantine
 * decisions (src/agent/supervisor.c) on an injected clock: every call is
 * given the time, so the test walks through minutes in no time. */
#include "harness.h"

#include "supervisor.h"

#include <string.h>

static const sup_policy policy = { .backoff_initial_ms = 100, .backoff_max_ms = 1000,
                                   .crash_loop_traps = 4, .crash_loop_window_s = 60 };

static void test_backoff_doubles_and_caps(void)
{
    sup_state st;
    memset(&st, 0, sizeof st);
    sup_policy p = policy;
    p.crash_loop_traps = 64;   /* no quarantine here */
    uint32_t d;
    const uint32_t want[] = { 100, 200, 400, 800, 1000, 1000 };
    for (size_t i = 0; i < 6; i++) {
        CHECK_EQ_INT(sup_on_trap(&st, &p, (int64_t)i * 10, &d, NULL, 0), SUP_RESTART);
        CHECK_EQ_INT(d, want[i]);
    }
    /* A quiet spell longer than the window resets the streak. */
    CHECK_EQ_INT(sup_on_trap(&st, &p, 61000 + 50, &d, NULL, 0), SUP_RESTART);
    CHECK_EQ_INT(d, 100);
}

static void test_crash_loop_quarantines(void)
{
    sup_state st;
    memset(&st, 0, sizeof st);
    uint32_t d;
    char why[200] = "";
    /* Three traps in 59 s: restarts. */
    CHECK_EQ_INT(sup_on_trap(&st, &policy, 0, &d, why, sizeof why), SUP_RESTART);
    CHECK_EQ_INT(sup_on_trap(&st, &policy, 30000, &d, why, sizeof why), SUP_RESTART);
    CHECK_EQ_INT(sup_on_trap(&st, &policy, 59000, &d, why, sizeof why), SUP_RESTART);
    /* The fourth at 61 s: the first has left the window, so not yet. */
    CHECK_EQ_INT(sup_on_trap(&st, &policy, 61000, &d, why, sizeof why), SUP_RESTART);
    /* The fifth at 80 s: 30, 59, 61 and 80 s are 4 traps within 60 s. */
    CHECK_EQ_INT(sup_on_trap(&st, &policy, 80000, &d, why, sizeof why), SUP_QUARANTINE);
    CHECK(strstr(why, "crash loop: 4 traps within 50 s") != NULL);
}

static void test_slow_traps_never_quarantine(void)
{
    sup_state st;
    memset(&st, 0, sizeof st);
    uint32_t d;
    for (int i = 0; i < 200; i++)   /* one every 25 s for over an hour: never 4 within 60 s */
        CHECK_EQ_INT(sup_on_trap(&st, &policy, (int64_t)i * 25000, &d, NULL, 0), SUP_RESTART);
}

int main(void)
{
    test_backoff_doubles_and_caps();
    test_crash_loop_quarantines();
    test_slow_traps_never_quarantine();
    TEST_MAIN_END();
}
