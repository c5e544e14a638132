/* deadline.c - `graft run --timeout MS`: a timer thread that interrupts the
 * store when the deadline passes.
 *
 * The thread sleeps on a condition variable against CLOCK_MONOTONIC until
 * either the deadline passes (it then calls graft_store_interrupt, which is
 * safe from any thread, and records that it fired) or the main thread
 * cancels it because the run ended first. A thread rather than SIGALRM:
 * no signal handler, nothing shared with the guest's own use of signals,
 * and the same code on every POSIX host. The engine checks the interrupt
 * flag at loop heads and calls, so the guest stops within a few
 * microseconds of interpreted work (bench/interrupt_latency.c); a guest
 * blocked inside a WASI call stops when that call returns. */
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static void deadline_at(uint64_t ms, struct timespec *out)
{
    clock_gettime(CLOCK_MONOTONIC, out);
    uint64_t ns = (uint64_t)out->tv_nsec + (ms % 1000u) * 1000000u;
    out->tv_sec += (time_t)(ms / 1000u + ns / 1000000000u);
    out->tv_nsec = (long)(ns % 1000000000u);
}

static void *deadline_main(void *arg)
{
    cli_deadline *d = arg;
    struct timespec at;
    deadline_at(d->ms, &at);
    pthread_mutex_lock(&d->lock);
    int rc = 0;
    while (!d->cancelled && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&d->cond, &d->lock, &at);
    if (!d->cancelled) {
        d->fired = true;
        graft_store_interrupt(d->store);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

bool cli_deadline_start(cli_deadline *d, graft_store *store, uint64_t ms)
{
    d->store = store;
    d->ms = ms;
    d->cancelled = d->fired = d->running = false;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return false;
    bool ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&d->cond, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok)
        return false;
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        pthread_cond_destroy(&d->cond);
        return false;
    }
    if (pthread_create(&d->thread, NULL, deadline_main, d) != 0) {
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->cond);
        return false;
    }
    d->running = true;
    return true;
}

bool cli_deadline_stop(cli_deadline *d)
{
    if (!d->running)
        return false;
    pthread_mutex_lock(&d->lock);
    d->cancelled = true;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
    d->running = false;
    return d->fired;
}
