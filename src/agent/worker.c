/* worker.c - one worker thread per module instance, and the watchdog.
 *
 * The worker owns the module's graft_store: it creates the instance
 * (iot_v1 and the WASI subset defined, _initialize, on_start), then pops
 * messages from the module's bounded inbox and runs timers and health
 * probes. Each event runs with the module's fuel per event (trap mode), a
 * CPU-time deadline and a larger wall-time bound; kv writes are committed when the handler returns
 * and discarded when it traps. A trap ends the instance: the store is
 * freed, the supervisor (supervisor.c) picks a backoff delay or a
 * quarantine. Messages arriving meanwhile wait in the inbox (bounded; a
 * full inbox drops the newest and counts it).
 *
 * The watchdog thread scans the agent's modules every AGENT_WATCHDOG_TICK_MS
 * and interrupts a store whose armed event has used its CPU time (the
 * event thread's CPU clock) or passed its wall bound; arming, firing
 * and freeing the store all happen under the module's call_mu, so the
 * watchdog never touches a freed store. */
#include "agent_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define EVENT_TRAPPED 1
#define EVENT_REJECTED 2

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Interrupts m's store when the armed event has used its CPU time or
 * passed its wall bound. mods_mu held. The CPU clock belongs to the
 * thread running the event, alive while the event is armed (the thread
 * disarms before it can end). */
static void watch(agent_mod *m, int64_t now)
{
    pthread_mutex_lock(&m->call_mu);
    if (m->deadline_ns && !m->deadline_fired && m->store) {
        bool cpu = clock_ns(m->cpu_clock) >= m->cpu_deadline_ns;
        if (cpu || now >= m->deadline_ns) {
            graft_store_interrupt(m->store);
            m->deadline_fired = true;
            m->cpu_fired = cpu;
        }
    }
    pthread_mutex_unlock(&m->call_mu);
}

void *watchdog_main(void *arg)
{
    agent *ag = arg;
    while (!atomic_load(&ag->quit)) {
        sleep_ms(AGENT_WATCHDOG_TICK_MS);
        int64_t now = agent_now_ns();
        pthread_mutex_lock(&ag->mods_mu);
        for (agent_mod *m = ag->mods; m; m = m->next) watch(m, now);
        if (ag->staged) watch(ag->staged, now);
        pthread_mutex_unlock(&ag->mods_mu);
    }
    return NULL;
}

static void set_error(agent_mod *mod, const char *fmt, const char *a, const char *b)
{
    pthread_mutex_lock(&mod->mu);
    snprintf(mod->last_error, sizeof mod->last_error, fmt, a, b);
    pthread_mutex_unlock(&mod->mu);
}

static void free_instance(agent_mod *mod)
{
    pthread_mutex_lock(&mod->call_mu);
    if (mod->store) graft_store_free(mod->store);
    mod->store = NULL;
    mod->inst = NULL;
    mod->deadline_ns = 0;
    pthread_mutex_unlock(&mod->call_mu);
    memset(mod->timers, 0, sizeof mod->timers);
    mod->started = false;
}

/* Arms the deadlines of the event about to run on this thread: its
 * wall_ms_per_event of the thread's CPU time (what the module uses, not
 * what a busy host leaves it), and agent.event_wall_factor times that of
 * wall time (a host call blocked, the thread starved). */
static void arm(agent_mod *mod)
{
    int64_t limit = (int64_t)mod->limits.wall_ms_per_event * 1000000;
    uint32_t factor = mod->acfg.event_wall_factor ? mod->acfg.event_wall_factor : 1;
    clockid_t cpu;
    if (pthread_getcpuclockid(pthread_self(), &cpu) != 0) cpu = CLOCK_MONOTONIC;   /* then wall time, as before */
    pthread_mutex_lock(&mod->call_mu);
    mod->cpu_clock = cpu;
    mod->armed_cpu_ns = clock_ns(cpu);
    mod->armed_ns = agent_now_ns();
    mod->cpu_deadline_ns = mod->armed_cpu_ns + limit;
    mod->deadline_ns = mod->armed_ns + limit * factor;
    mod->deadline_fired = mod->cpu_fired = false;
    pthread_mutex_unlock(&mod->call_mu);
}

/* Which deadline fired and how long the last event ran, for its trap:
 * " (CPU-time deadline of 300 ms; ran 302 ms CPU, 305 ms wall)". The
 * event's thread, after disarm. */
static void deadline_text(agent_mod *mod, char *out, size_t cap)
{
    long long cpu_ms = mod->ran_cpu_ns / 1000000, wall_ms = mod->ran_ns / 1000000;
    uint32_t limit = mod->limits.wall_ms_per_event;
    if (mod->cpu_fired)
        snprintf(out, cap, " (CPU-time deadline of %u ms; ran %lld ms CPU, %lld ms wall)", limit, cpu_ms, wall_ms);
    else
        snprintf(out, cap, " (wall-time bound of %llu ms; ran %lld ms CPU, %lld ms wall)",
                 (unsigned long long)limit * (mod->acfg.event_wall_factor ? mod->acfg.event_wall_factor : 1),
                 cpu_ms, wall_ms);
}

/* Disarms it; true when the watchdog fired meanwhile. */
static bool disarm(agent_mod *mod)
{
    int64_t cpu = clock_ns(mod->cpu_clock), now = agent_now_ns();
    pthread_mutex_lock(&mod->call_mu);
    mod->deadline_ns = 0;
    mod->ran_ns = now - mod->armed_ns;
    mod->ran_cpu_ns = cpu - mod->armed_cpu_ns;
    bool fired = mod->deadline_fired;
    pthread_mutex_unlock(&mod->call_mu);
    return fired;
}

/* Calls f under the event's fuel and deadline, with results into res, a
 * buffer of cap values. GRAFT_OK or the error. The result count passed to
 * graft_call is f's own, and the call is refused (GRAFT_ERR_LINK, with
 * mod->refusal saying why) when that count exceeds cap: the guest chose
 * the type, so only the buffer's true size may bound what is written.
 * Load-time checks (iot_v1_check_exports) refuse such exports already;
 * this keeps the call site safe on its own. */
static graft_result guarded_call(agent_mod *mod, graft_func *f, const graft_val *args, size_t nargs,
                                 graft_val *res, size_t cap)
{
    graft_functype ft;
    graft_func_type(f, &ft);
    mod->refusal = NULL;
    mod->overran = false;
    if (ft.nresults > cap) {
        mod->refusal = "the export returns more results than its documented type (docs/host-api.md, \"Exports\")";
        return GRAFT_ERR_LINK;
    }
    arm(mod);
    graft_result r = graft_call(f, args, nargs, res, ft.nresults);
    bool fired = disarm(mod);
    /* The watchdog fired just as the call returned: the event overran its
     * deadline all the same, and the interrupt flag may still be pending
     * (the engine clears it only when a call fails). Treat it as a trap:
     * the store, and the pending flag with it, is freed. */
    mod->overran = r == GRAFT_OK && fired;
    mod->deadline_hit = fired;
    return mod->overran ? GRAFT_ERR_TRAP : r;
}

/* Logs a trap with its message and backtrace. */
static void report_trap(agent_mod *mod, const char *what, graft_result r)
{
    const graft_error *e = graft_store_error(mod->store);
    const char *message = mod->refusal ? mod->refusal
                          : mod->overran ? "deadline exceeded as the handler returned" : e->message;
    const char *bt = mod->refusal || mod->overran || !e->backtrace ? "" : e->backtrace;
    char full[400], when[128] = "";   /* full fits last_error after "trap in WHAT: " */
    if (mod->deadline_hit) deadline_text(mod, when, sizeof when);
    snprintf(full, sizeof full, "%s%s", message, when);
    jlog_field f[3] = { JLOG_STR("event", what), JLOG_STR("result", graft_result_name(r)), JLOG_STR("backtrace", bt) };
    alogf(mod->ag->log, ALOG_ERROR, mod->name, f, 3, "trap in %s: %s", what, full);
    set_error(mod, "trap in %s: %s", what, full);
}

/* Counts fuel the module burnt, in its counter and its series. */
static void count_fuel(agent_mod *mod, uint64_t fuel)
{
    atomic_fetch_add(&mod->fuel_used, fuel);
    if (mod->mm) metrics_counter_add(mod->mm->fuel_used, fuel);
}

/* Brings the module's Prometheus series up to date after an event. */
static void sync_metrics(agent_mod *mod, int64_t took_ns)
{
    if (!mod->mm) return;
    metrics_histogram_observe(mod->mm->event_latency, (double)took_ns * 1e-9);
    /* The host API counts in iot_counters; the series follow by deltas. */
    const struct { _Atomic uint64_t *from; uint64_t *synced; metrics_counter *to; } sync[] = {
        { &mod->iotc.refused, &mod->refusals_synced, mod->mm->refusals },
        { &mod->iotc.published, &mod->out_synced, mod->mm->messages_out },
        { &mod->iotc.faults, &mod->faults_synced, mod->mm->faults },
        { &mod->iotc.invalid, &mod->invalid_synced, mod->mm->invalid },
        { &mod->iotc.too_big, &mod->too_big_synced, mod->mm->too_big },
    };
    for (size_t i = 0; i < sizeof sync / sizeof sync[0]; i++) {
        uint64_t now = atomic_load(sync[i].from);
        metrics_counter_add(sync[i].to, now - *sync[i].synced);
        *sync[i].synced = now;
    }
    graft_memory *mem = mod->inst ? graft_instance_memory(mod->inst) : NULL;
    if (mem) metrics_gauge_set(mod->mm->memory_bytes, (int64_t)graft_memory_size(mem));
}

/* One event: begin kv, set the fuel, run, commit or discard. */
static int run_event(agent_mod *mod, const char *what, graft_func *f, const graft_val *args, size_t nargs,
                     int32_t *ret)
{
    graft_store_set_fuel(mod->store, GRAFT_FUEL_TRAP, mod->limits.fuel_per_event);
    if (mod->ns) kvs_event_begin(mod->ns);
    int64_t t0 = agent_now_ns();
    graft_val res[1] = { { .type = GRAFT_I32 } };
    graft_result r = guarded_call(mod, f, args, nargs, res, sizeof res / sizeof res[0]);
    int64_t took = agent_now_ns() - t0;
    uint64_t fuel = graft_store_fuel_consumed(mod->store);
    atomic_fetch_add(&mod->latency_ns_total, (uint64_t)took);
    count_fuel(mod, fuel);
    atomic_fetch_add(&mod->events, 1);
    sync_metrics(mod, took);
    if (mod->ns) kvs_event_end(mod->ns, r == GRAFT_OK, NULL);
    if (r != GRAFT_OK) {
        report_trap(mod, what, r);
        return EVENT_TRAPPED;
    }
    *ret = res[0].type == GRAFT_I32 ? res[0].of.i32 : 0;
    if (*ret != 0) {
        atomic_fetch_add(&mod->rejected, 1);
        alog(mod->ag->log, ALOG_DEBUG, mod->name, "%s returned %d: not processed", what, (int)*ret);
        return EVENT_REJECTED;
    }
    return 0;
}

static graft_val i32v(int32_t v)
{
    graft_val x = { .type = GRAFT_I32 };
    x.of.i32 = v;
    return x;
}

/* The period of the module's `health` probes (config agent.health_period_ms). */
static int64_t health_period_ns(const agent_mod *mod)
{
    return (int64_t)mod->acfg.health_period_ms * 1000000;
}

uint32_t worker_memory_pages(const agent_mod *mod)
{
    uint64_t pages = mod->limits.memory_bytes / 65536;
    return pages == 0 ? 1 : pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
}

/* Creates the store and the instance: iot_v1 and the WASI subset defined,
 * then graft_instance_new, which runs the module's start function. That
 * runs under the module's fuel per event and wall-time deadline like any
 * event, so a start function that loops is stopped (the store is set
 * before instantiating, for the watchdog). Runs on the worker, or on the
 * main thread for a staged replacement (agent.c, ag->staged). false: it
 * failed, already logged; mod->store is left set when a retry makes
 * sense (the supervisor's backoff), NULL when not even a store could be
 * made. */
bool worker_instantiate(agent_mod *mod)
{
    graft_store_limits lim = { .max_call_depth = 2000, .max_stack_slots = 65536 };
    lim.max_memory_pages = worker_memory_pages(mod);
    graft_store *s;
    char err[640] = "";
    if (graft_store_new(mod->env, &lim, &s) != GRAFT_OK) {
        alog(mod->ag->log, ALOG_ERROR, mod->name, "cannot create its store (out of memory)");
        set_error(mod, "%s%s", "cannot create the store", "");
        return false;
    }
    pthread_mutex_lock(&mod->call_mu);
    mod->store = s;
    mod->inst = NULL;
    pthread_mutex_unlock(&mod->call_mu);
    graft_result r = iot_v1_define(s, &mod->ctx);
    if (r == GRAFT_OK) r = wasi_subset_define(mod, s, mod->module, err, sizeof err);
    else snprintf(err, sizeof err, "iot_v1_define: %s", graft_store_error(s)->message);
    graft_instance *inst = NULL;
    if (r == GRAFT_OK) {
        graft_store_set_fuel(s, GRAFT_FUEL_TRAP, mod->limits.fuel_per_event);
        arm(mod);
        r = graft_instance_new(s, mod->module, &inst);
        bool fired = disarm(mod);
        char when[128] = "";
        if (fired) deadline_text(mod, when, sizeof when);
        count_fuel(mod, graft_store_fuel_consumed(s));
        /* Finished just as the watchdog fired: past the deadline all the
         * same, and the store's interrupt may still be pending. */
        if (r == GRAFT_OK && fired) {
            r = GRAFT_ERR_TRAP;
            snprintf(err, sizeof err, "trap in the start function: deadline exceeded as it returned%s", when);
        } else if (r == GRAFT_ERR_TRAP)
            snprintf(err, sizeof err, "trap in the start function: %s%s", graft_store_error(s)->message, when);
        else if (r != GRAFT_OK)
            snprintf(err, sizeof err, "instantiate: %s", graft_store_error(s)->message);
    }
    if (r != GRAFT_OK) {
        alog(mod->ag->log, ALOG_ERROR, mod->name, "cannot start: %s", err);
        set_error(mod, "cannot start: %s%s", err, "");
        return false;
    }
    pthread_mutex_lock(&mod->call_mu);
    mod->inst = inst;
    pthread_mutex_unlock(&mod->call_mu);
    return true;
}

/* Instantiates (unless a staged instance is waiting) and runs _initialize
 * and on_start, each as an event. false: it trapped or failed (already
 * reported). */
static bool start_instance(agent_mod *mod)
{
    if (!mod->inst && !worker_instantiate(mod)) return false;
    int32_t ret = 0;
    graft_func *init = graft_instance_func(mod->inst, "_initialize");
    if (init && run_event(mod, "_initialize", init, NULL, 0, &ret) == EVENT_TRAPPED) return false;
    graft_func *start = graft_instance_func(mod->inst, "on_start");
    if (start) {
        int e = run_event(mod, "on_start", start, NULL, 0, &ret);
        if (e == EVENT_TRAPPED) return false;
        if (e == EVENT_REJECTED) {
            alog(mod->ag->log, ALOG_ERROR, mod->name, "on_start returned %d: the module refused to start", (int)ret);
            set_error(mod, "on_start returned non-zero%s%s", "", "");
            return false;
        }
    }
    mod->started = true;
    mod->next_health_ns = agent_now_ns() + health_period_ns(mod);
    atomic_store(&mod->state, AGENT_MOD_RUNNING);
    return true;
}

/* Delivers one message: graft_alloc(topic + payload), copy, on_message. */
static int deliver(agent_mod *mod, const bus_msg *msg)
{
    atomic_fetch_add(&mod->msgs_in, 1);
    if (mod->mm) metrics_counter_inc(mod->mm->messages_in);
    if (!mod->has_on_message) return 0;
    size_t tlen = strlen(msg->topic);
    uint64_t need = (uint64_t)tlen + msg->payload_len;
    if (need > INT32_MAX) return 0;
    graft_func *alloc = graft_instance_func(mod->inst, "graft_alloc");
    graft_func *on = graft_instance_func(mod->inst, "on_message");
    graft_store_set_fuel(mod->store, GRAFT_FUEL_TRAP, mod->limits.fuel_per_event);
    graft_val arg = i32v((int32_t)need), res[1] = { { .type = GRAFT_I32 } };
    graft_result r = guarded_call(mod, alloc, &arg, 1, res, sizeof res / sizeof res[0]);
    /* Counted now: graft_alloc's fuel is spent whether or not the message
     * is then delivered (run_event counts on_message's own). */
    uint64_t used = graft_store_fuel_consumed(mod->store);
    count_fuel(mod, used);
    if (r != GRAFT_OK) {
        report_trap(mod, "graft_alloc", r);
        return EVENT_TRAPPED;
    }
    uint32_t p = (uint32_t)res[0].of.i32;
    graft_memory *mem = graft_instance_memory(mod->inst);
    if (p == 0 || !mem || (uint64_t)p + need > graft_memory_size(mem)) {
        uint64_t n = atomic_fetch_add(&mod->alloc_failed, 1) + 1;
        if (mod->mm) metrics_counter_inc(mod->mm->alloc_dropped);
        if ((n & (n - 1)) == 0)
            alog(mod->ag->log, ALOG_WARN, mod->name, "graft_alloc(%llu) gave no room: message on %s dropped (%llu so far)",
                 (unsigned long long)need, msg->topic, (unsigned long long)n);
        return 0;
    }
    uint8_t *base = graft_memory_data(mem);
    memcpy(base + p, msg->topic, tlen);
    if (msg->payload_len) memcpy(base + p + tlen, msg->payload, msg->payload_len);
    graft_val args[4] = { i32v((int32_t)p), i32v((int32_t)tlen), i32v((int32_t)(p + tlen)),
                          i32v((int32_t)msg->payload_len) };
    int32_t ret;
    /* run_event resets the tank: charge what graft_alloc used against it. */
    uint64_t fuel = mod->limits.fuel_per_event;
    mod->limits.fuel_per_event = fuel > used ? fuel - used : 1;
    int e = run_event(mod, "on_message", on, args, 4, &ret);
    mod->limits.fuel_per_event = fuel;
    return e;
}

/* Fires due timers; returns EVENT_TRAPPED when one trapped. */
static int run_timers(agent_mod *mod, int64_t now)
{
    for (size_t i = 0; i < AGENT_MAX_TIMERS; i++) {
        agent_timer *t = &mod->timers[i];
        if (!t->active || t->due_ns > now) continue;
        int32_t id = t->id, ret;
        if (t->periodic) {
            /* Fixed rate: the next firing is one period after the one due,
             * not after now, so lateness does not accumulate; periods
             * missed entirely (a long event) are skipped, not bunched. */
            int64_t p = (int64_t)t->period_ms * 1000000;
            t->due_ns += p;
            if (t->due_ns <= now) t->due_ns += ((now - t->due_ns) / p + 1) * p;
        } else {
            t->active = false;
        }
        atomic_fetch_add(&mod->timer_events, 1);
        graft_func *f = graft_instance_func(mod->inst, "on_timer");
        if (!f) continue;
        graft_val arg = i32v(id);
        if (run_event(mod, "on_timer", f, &arg, 1, &ret) == EVENT_TRAPPED) return EVENT_TRAPPED;
    }
    if (mod->has_health && now >= mod->next_health_ns) {
        mod->next_health_ns = now + health_period_ns(mod);
        int32_t ret = 0;
        int e = run_event(mod, "health", graft_instance_func(mod->inst, "health"), NULL, 0, &ret);
        if (e == EVENT_TRAPPED) return e;
        if (ret != 0) {
            atomic_fetch_add(&mod->health_failed, 1);
            if (mod->health_failures) metrics_counter_add(mod->health_failures, 1);
            alog(mod->ag->log, ALOG_WARN, mod->name, "health probe answered %d", (int)ret);
        }
    }
    return 0;
}

/* How long to wait for a message: until the next timer or probe, <= 100 ms. */
static int wait_ms(agent_mod *mod, int64_t now)
{
    int64_t next = now + 100 * 1000000LL;
    for (size_t i = 0; i < AGENT_MAX_TIMERS; i++)
        if (mod->timers[i].active && mod->timers[i].due_ns < next) next = mod->timers[i].due_ns;
    if (mod->has_health && mod->next_health_ns < next) next = mod->next_health_ns;
    int64_t ms = (next - now + 999999) / 1000000;
    return ms < 0 ? 0 : (int)ms;
}

static void write_quarantine_note(agent_mod *mod, const char *why)
{
    char dir[CONFIG_PATH_MAX + 16], path[CONFIG_PATH_MAX + 96];
    snprintf(dir, sizeof dir, "%s/quarantine", mod->state_dir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%s.txt", dir, mod->name);
    FILE *f = fopen(path, "w");
    if (!f) return;
    pthread_mutex_lock(&mod->mu);
    fprintf(f, "%s\nlast error: %s\n", why, mod->last_error);
    pthread_mutex_unlock(&mod->mu);
    fclose(f);
}

/* After a trap: false when the module is quarantined or stopping. */
static bool supervise(agent_mod *mod)
{
    free_instance(mod);
    atomic_fetch_add(&mod->traps, 1);
    if (mod->mm) metrics_counter_inc(mod->mm->traps);
    const config_agent *c = &mod->acfg;
    sup_policy p = { c->backoff_initial_ms, c->backoff_max_ms, c->crash_loop_traps, c->crash_loop_window_s };
    uint32_t delay;
    char why[256];
    if (sup_on_trap(&mod->sup, &p, agent_now_ns() / 1000000, &delay, why, sizeof why) == SUP_QUARANTINE) {
        atomic_store(&mod->state, AGENT_MOD_QUARANTINED);
        if (mod->quarantined) metrics_gauge_set(mod->quarantined, 1);
        jlog_field f = JLOG_STR("state", "quarantined");
        alogf(mod->ag->log, ALOG_ERROR, mod->name, &f, 1, "quarantined: %s", why);
        write_quarantine_note(mod, why);
        bus_sub_close(mod->sub);
        return false;
    }
    atomic_store(&mod->state, AGENT_MOD_BACKOFF);
    alog(mod->ag->log, ALOG_WARN, mod->name, "restarting in %u ms (trap %zu)", delay, mod->sup.ntraps);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += delay / 1000;
    until.tv_nsec += (long)(delay % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    pthread_mutex_lock(&mod->mu);
    while (!mod->stopping)
        if (pthread_cond_timedwait(&mod->cv, &mod->mu, &until) == ETIMEDOUT) break;
    bool stop = mod->stopping;
    pthread_mutex_unlock(&mod->mu);
    if (stop) return false;
    atomic_fetch_add(&mod->restarts, 1);
    if (mod->mm) metrics_counter_inc(mod->mm->restarts);
    atomic_store(&mod->state, AGENT_MOD_STARTING);
    return true;
}

static void *worker_main(void *arg)
{
    agent_mod *mod = arg;
    for (;;) {
        if (!mod->started && !start_instance(mod)) {
            if (!mod->store) break;   /* no store at all: nothing to retry */
            if (!supervise(mod)) break;
            continue;
        }
        int64_t now = agent_now_ns();
        bus_msg *msg = NULL;
        bus_result br = bus_sub_pop(mod->sub, wait_ms(mod, now), &msg);
        if (br == BUS_E_CLOSED) break;
        int e = 0;
        if (br == BUS_OK) {
            e = deliver(mod, msg);
            bus_msg_release(msg);
        }
        if (e != EVENT_TRAPPED) e = run_timers(mod, agent_now_ns());
        services_log_notice(mod, false);
        if (e == EVENT_TRAPPED && !supervise(mod)) break;
    }
    services_log_notice(mod, true);
    /* Quarantined or stopping: what is left in the inbox is dropped. */
    bus_msg *msg;
    while (bus_sub_pop(mod->sub, 0, &msg) == BUS_OK) bus_msg_release(msg);
    free_instance(mod);
    if (atomic_load(&mod->state) != AGENT_MOD_QUARANTINED) atomic_store(&mod->state, AGENT_MOD_STOPPED);
    return NULL;
}

bool worker_start(agent_mod *mod)
{
    if (pthread_create(&mod->thread, NULL, worker_main, mod) != 0) return false;
    mod->thread_started = true;
    return true;
}

void worker_join(agent_mod *mod)
{
    pthread_mutex_lock(&mod->mu);
    mod->stopping = true;
    pthread_cond_broadcast(&mod->cv);
    pthread_mutex_unlock(&mod->mu);
    bus_sub_close(mod->sub);
    if (mod->thread_started) pthread_join(mod->thread, NULL);
    mod->thread_started = false;
}
