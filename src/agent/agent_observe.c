/* agent_observe.c - graftd's observation points, off the modules' path:
 *
 *   observer  a bus subscriber on '#' (only when a summary or a dump is
 *             asked for) that keeps the latest value and a count per topic
 *             (agent->seen, under seen_mu, at most 64 topics) and writes
 *             the messages matching --dump-topic as JSON lines:
 *             {"ts_ns":..,"topic":..,"origin":..,"len":N,"value":..} for a
 *             sensor reading (as_reading), {"...","text":".."} for UTF-8
 *             text, else "hex".
 *   injector  tails the --inject file: each complete line "TOPIC PAYLOAD"
 *             (\n in PAYLOAD is a newline) is published with origin
 *             "inject". Tests and the demo use it to send control messages.
 *
 * Both run on their own threads; they stop in agent_observe_stop.
 *
 * Also here: what /healthz answers (agent_health, a JSON body) and what
 * /metrics shows beside the series the workers keep (agent_collect copies
 * the bus's, the bridge's and the modules' counters and states in before
 * each render), with the list of modules that are not running
 * (agent_status_set). */
#include "agent_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Well-formed UTF-8 without control characters other than \n, \t, \r. */
static bool is_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || i + len > n || (len == 2 && c < 0xC2) || (len == 4 && c > 0xF4)) return false;
        if (len == 1 && c < 0x20 && c != '\n' && c != '\t' && c != '\r') return false;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

/* Whether a payload is a sensor reading (docs/host-api.md), decoded into
 * *r: 24 bytes whose unit (0-9) and quality (0-2) are known codes. The bus
 * carries no type tag; these two small codes make bytes 17-19 and 21-23 of
 * every reading zero, which no text has, so a 24-byte text (JSON, a
 * status line) is never taken for a reading. */
static bool as_reading(const bus_msg *m, iot_reading *r)
{
    if (m->payload_len != IOT_READING_SIZE) return false;
    iot_reading_decode(m->payload, r);
    return r->unit <= 9 && r->quality <= 2;
}

/* A short text form of a payload: a reading's value, or text, or hex. */
static void describe(const bus_msg *m, jbuf *b)
{
    iot_reading r;
    if (as_reading(m, &r)) {
        if (isfinite(r.value)) jb_raw(b, "\"value\":%.17g", r.value);
        else jb_raw(b, "\"value\":null");
        jb_raw(b, ",\"unit\":%u,\"quality\":%u,\"sample_ns\":%lld", r.unit, r.quality, (long long)r.timestamp_ns);
    } else if (is_text(m->payload, m->payload_len)) {
        jb_raw(b, "\"text\":");
        jb_str(b, (const char *)m->payload, m->payload_len);
    } else {
        jb_raw(b, "\"hex\":\"");
        for (size_t i = 0; i < m->payload_len && i < 256; i++) jb_raw(b, "%02x", m->payload[i]);
        jb_raw(b, "\"");
    }
}

static void remember(agent *ag, const bus_msg *m)
{
    pthread_mutex_lock(&ag->seen_mu);
    struct agent_seen *s = NULL;
    for (size_t i = 0; i < ag->nseen && !s; i++)
        if (strcmp(ag->seen[i].topic, m->topic) == 0) s = &ag->seen[i];
    if (!s && ag->nseen < sizeof ag->seen / sizeof ag->seen[0] && strlen(m->topic) < sizeof s->topic) {
        s = &ag->seen[ag->nseen++];
        snprintf(s->topic, sizeof s->topic, "%s", m->topic);
    }
    if (s) {
        jbuf b;
        jb_init(&b, s->text, sizeof s->text);
        iot_reading r;
        if (as_reading(m, &r)) {
            jb_raw(&b, "%.3f", r.value);
        } else if (is_text(m->payload, m->payload_len)) {
            jb_raw(&b, "%.*s", (int)(m->payload_len < 150 ? m->payload_len : 150), (const char *)m->payload);
        } else {
            jb_raw(&b, "%zu bytes: ", m->payload_len);
            for (size_t i = 0; i < m->payload_len && i < 32; i++) jb_raw(&b, "%02x", m->payload[i]);
        }
        s->count++;
    }
    pthread_mutex_unlock(&ag->seen_mu);
}

static void *observer_main(void *arg)
{
    agent *ag = arg;
    for (;;) {
        bus_msg *m;
        bus_result r = bus_sub_pop(ag->observer, 200, &m);
        if (r == BUS_E_CLOSED) break;
        if (r != BUS_OK) continue;
        if (ag->opt.observe) remember(ag, m);
        if (ag->dump && iot_filters_match(&ag->dump_filters, m->topic, strlen(m->topic))) {
            char line[4096];
            jbuf b;
            jb_init(&b, line, sizeof line);
            jb_raw(&b, "{\"ts_ns\":%lld,\"topic\":", (long long)m->timestamp_ns);
            jb_str(&b, m->topic, strlen(m->topic));
            jb_raw(&b, ",\"origin\":");
            jb_str(&b, m->origin, strlen(m->origin));
            jb_raw(&b, ",\"len\":%zu,", m->payload_len);
            describe(m, &b);
            jb_raw(&b, "}\n");
            fputs(line, ag->dump);
            fflush(ag->dump);
        }
        bus_msg_release(m);
    }
    return NULL;
}

static void inject_line(agent *ag, char *line)
{
    char *sp = strchr(line, ' ');
    char *payload = sp ? sp + 1 : line + strlen(line);
    if (sp) *sp = '\0';
    size_t n = 0;
    for (char *p = payload; *p; p++) {
        if (p[0] == '\\' && p[1] == 'n') { payload[n++] = '\n'; p++; }
        else payload[n++] = *p;
    }
    bus_result r = bus_publish(ag->bus, NULL, "inject", line, payload, n, 0, NULL);
    alog(ag->log, r == BUS_OK ? ALOG_INFO : ALOG_WARN, NULL, "injected %zu bytes on %s: %s", n, line,
         bus_strerror(r));
}

static void *inject_main(void *arg)
{
    agent *ag = arg;
    FILE *f = NULL;
    char buf[8192];
    size_t used = 0;
    while (!atomic_load(&ag->inject_quit)) {
        if (!f) f = fopen(ag->opt.inject_path, "r");
        size_t got = f ? fread(buf + used, 1, sizeof buf - 1 - used, f) : 0;
        if (f) clearerr(f);
        used += got;
        buf[used] = '\0';
        char *nl;
        while ((nl = memchr(buf, '\n', used)) != NULL) {
            *nl = '\0';
            if (nl > buf) inject_line(ag, buf);
            used -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, used);
        }
        if (used == sizeof buf - 1) used = 0;   /* an overlong line: dropped */
        if (!got) {
            struct timespec ts = { 0, 50 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    if (f) fclose(f);
    return NULL;
}

bool agent_observe_start(agent *ag, char *err, size_t cap)
{
    if (ag->opt.dump_filter && ag->opt.dump_path) {
        if (bus_filter_check(ag->opt.dump_filter, strlen(ag->opt.dump_filter)) != BUS_OK) {
            snprintf(err, cap, "--dump-topic '%s': not a valid topic filter", ag->opt.dump_filter);
            return false;
        }
        if (!iot_strlist_add(&ag->dump_filters, ag->opt.dump_filter)) { snprintf(err, cap, "out of memory"); return false; }
        ag->dump = fopen(ag->opt.dump_path, "a");
        if (!ag->dump) { snprintf(err, cap, "--dump-file %s: cannot open", ag->opt.dump_path); return false; }
    }
    if (ag->opt.observe || ag->dump) {
        ag->observer = bus_sub_new(ag->bus, "observer", 65536, 0);
        if (!ag->observer || bus_sub_add_filter(ag->observer, "#") != BUS_OK ||
            pthread_create(&ag->observer_thread, NULL, observer_main, ag) != 0) {
            snprintf(err, cap, "cannot start the observer");
            return false;
        }
        ag->observer_started = true;
    }
    return true;
}

bool agent_inject_start(agent *ag, char *err, size_t cap)
{
    if (!ag->opt.inject_path) return true;
    if (pthread_create(&ag->inject_thread, NULL, inject_main, ag) != 0) {
        snprintf(err, cap, "cannot start the injector");
        return false;
    }
    ag->inject_started = true;
    return true;
}

void agent_observe_stop_input(agent *ag)
{
    if (!ag->inject_started) return;
    atomic_store(&ag->inject_quit, true);
    pthread_join(ag->inject_thread, NULL);
    ag->inject_started = false;
}

void agent_observe_stop(agent *ag)
{
    agent_observe_stop_input(ag);
    if (ag->observer) bus_sub_close(ag->observer);
    if (ag->observer_started) pthread_join(ag->observer_thread, NULL);
    ag->observer_started = false;
    if (ag->observer) bus_sub_free(ag->observer);
    ag->observer = NULL;
    if (ag->dump) fclose(ag->dump);
    ag->dump = NULL;
    for (size_t i = 0; i < ag->dump_filters.count; i++) free(ag->dump_filters.items[i]);
    free(ag->dump_filters.items);
    memset(&ag->dump_filters, 0, sizeof ag->dump_filters);
}

void agent_summary(agent *ag)
{
    agent_mod_stats st[64];
    size_t n = agent_stats(ag, st, 64);
    for (size_t i = 0; i < n && i < 64; i++) {
        agent_mod_stats *s = &st[i];
        jlog_field f[] = {
            JLOG_STR("state", agent_mod_state_name(s->state)), JLOG_UINT("in", s->msgs_in),
            JLOG_UINT("out", s->msgs_out), JLOG_UINT("events", s->events), JLOG_UINT("rejected", s->rejected),
            JLOG_UINT("traps", s->traps), JLOG_UINT("restarts", s->restarts), JLOG_UINT("refused", s->refused),
            JLOG_UINT("rate_limited", s->rate_limited), JLOG_UINT("dropped", s->dropped_full),
            JLOG_UINT("oversize", s->dropped_oversize), JLOG_UINT("alloc_dropped", s->alloc_dropped),
            JLOG_UINT("efault", s->faults), JLOG_UINT("einval", s->invalid), JLOG_UINT("e2big", s->too_big),
            JLOG_UINT("fuel", s->fuel_used),
        };
        alogf(ag->log, ALOG_INFO, s->name, f, sizeof f / sizeof f[0], "summary");
    }
    pthread_mutex_lock(&ag->seen_mu);
    for (size_t i = 0; i < ag->nseen; i++) {
        jlog_field f[] = { JLOG_STR("topic", ag->seen[i].topic), JLOG_UINT("count", ag->seen[i].count),
                           JLOG_STR("last", ag->seen[i].text) };
        alogf(ag->log, ALOG_INFO, NULL, f, 3, "summary topic");
    }
    pthread_mutex_unlock(&ag->seen_mu);
}

/* The topic families the text summary shows on lines of their own (the
 * example gateway's); every other topic goes on the "other" line. */
static const struct { const char *title, *prefix; } summary_lines[] = {
    {"readings", "sensors/"}, {"aggregates", "avg/"}, {"converted", "conv/"},
    {"alarms", "alarms/"},    {"alerts", "alerts/"},  {"status", "status/"},
};
#define NSUMMARY_LINES (sizeof summary_lines / sizeof summary_lines[0])

/* The summary_lines entry whose prefix topic starts with, or NSUMMARY_LINES. */
static size_t summary_line_of(const char *topic)
{
    for (size_t k = 0; k < NSUMMARY_LINES; k++)
        if (strncmp(topic, summary_lines[k].prefix, strlen(summary_lines[k].prefix)) == 0) return k;
    return NSUMMARY_LINES;
}

/* Prints the topics seen on summary line k (NSUMMARY_LINES: "other"), as
 * "topic=last", without the line's prefix. */
static void print_topics(agent *ag, FILE *out, size_t k)
{
    const char *prefix = k < NSUMMARY_LINES ? summary_lines[k].prefix : "";
    fprintf(out, "  %-11s", k < NSUMMARY_LINES ? summary_lines[k].title : "other");
    size_t n = 0, plen = strlen(prefix);
    pthread_mutex_lock(&ag->seen_mu);
    for (size_t i = 0; i < ag->nseen; i++) {
        if (summary_line_of(ag->seen[i].topic) != k) continue;
        char text[160];
        snprintf(text, sizeof text, "%s", ag->seen[i].text);
        for (char *p = text; *p; p++)
            if (*p == '\n') *p = '|';
        fprintf(out, "%s%s=%s (%llu)", n++ ? "  " : "", ag->seen[i].topic + plen, text,
                (unsigned long long)ag->seen[i].count);
    }
    pthread_mutex_unlock(&ag->seen_mu);
    fprintf(out, "%s\n", n ? "" : "-");
}

void agent_summary_print(agent *ag, FILE *out, double uptime_s)
{
    fprintf(out, "--- graftd %s, %.0f s ---\n", ag->cfg.agent.name, uptime_s);
    for (size_t k = 0; k <= NSUMMARY_LINES; k++) print_topics(ag, out, k);
    agent_mod_stats st[64];
    size_t n = agent_stats(ag, st, 64);
    fprintf(out, "  %-16s %-11s %7s %7s %7s %6s %8s %8s\n", "module", "state", "in", "out", "events", "traps",
            "refused", "fuel");
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(out, "  %-16s %-11s %7llu %7llu %7llu %6llu %8llu %8llu\n", st[i].name,
                agent_mod_state_name(st[i].state), (unsigned long long)st[i].msgs_in,
                (unsigned long long)st[i].msgs_out, (unsigned long long)st[i].events,
                (unsigned long long)st[i].traps, (unsigned long long)st[i].refused,
                (unsigned long long)st[i].fuel_used);
    fflush(out);
}

/* The kv store's log callback (kvs_options.log): its failure, recovery and
 * loss lines go to graftd's log as the agent's. */
void agent_kv_log(void *user, int level, const char *msg)
{
    agent *ag = user;
    alog(ag->log, level, NULL, "%s", msg);
}

void agent_bridge_log(void *user, int level, const char *msg)
{
    agent *ag = user;
    alog(ag->log, level, NULL, "%s", msg);
}

/* ---- /healthz ------------------------------------------------------------- */

/* Appends s to the memstream as a JSON string. */
static void put_json_str(FILE *o, const char *s)
{
    char buf[1100];
    jbuf b;
    jb_init(&b, buf, sizeof buf);
    jb_str(&b, s, strnlen(s, 512));
    fputs(buf, o);
}

static void put_module(FILE *o, bool *first, const char *name, const char *state, bool required,
                       const char *reason)
{
    fprintf(o, "%s{\"name\":", *first ? "" : ",");
    *first = false;
    put_json_str(o, name);
    fprintf(o, ",\"state\":\"%s\",\"required\":%s", state, required ? "true" : "false");
    if (reason && reason[0]) {
        fputs(",\"reason\":", o);
        put_json_str(o, reason);
    }
    fputc('}', o);
}

/* The modules' part of the body; the names of required modules not
 * running are counted in *out_missing. */
static void put_modules(agent *ag, FILE *o, size_t *out_missing)
{
    bool first = true;
    *out_missing = 0;
    fputs("\"modules\":[", o);
    pthread_mutex_lock(&ag->mods_mu);
    for (agent_mod *m = ag->mods; m; m = m->next) {
        int state = atomic_load(&m->state);
        bool required = atomic_load(&m->required);
        char reason[512] = "";
        if (state != AGENT_MOD_RUNNING) {
            pthread_mutex_lock(&m->mu);
            snprintf(reason, sizeof reason, "%s", m->last_error);
            pthread_mutex_unlock(&m->mu);
        }
        if (required && state != AGENT_MOD_RUNNING) (*out_missing)++;
        put_module(o, &first, m->name, agent_mod_state_name(state), required, reason);
    }
    for (size_t i = 0; i < ag->nfailed; i++) {
        const agent_failed *f = &ag->failed[i];
        if (f->required) (*out_missing)++;
        put_module(o, &first, f->name, f->state, f->required, f->reason);
    }
    pthread_mutex_unlock(&ag->mods_mu);
    fputc(']', o);
}

static void put_broker(agent *ag, FILE *o)
{
    pthread_mutex_lock(&ag->mqtt_mu);
    if (!ag->mqtt) {
        pthread_mutex_unlock(&ag->mqtt_mu);
        fputs("\"broker\":{\"state\":\"none\"}", o);
        return;
    }
    mqtt_bridge_stats st;
    mqtt_bridge_get_stats(ag->mqtt, &st);
    pthread_mutex_unlock(&ag->mqtt_mu);
    fprintf(o, "\"broker\":{\"state\":\"%s\",\"connects\":%llu,\"connect_failures\":%llu,\"buffered\":%zu",
            st.connected ? "connected" : "disconnected", (unsigned long long)st.connects,
            (unsigned long long)st.connect_failures, st.buffered);
    if (st.last_error[0]) {
        fputs(",\"last_error\":", o);
        put_json_str(o, st.last_error);
    }
    fputc('}', o);
}

/* /healthz: {"status":"ok"|"unhealthy","agent":NAME,"kv":{"durable":B},
 * "broker":{...},"modules":[{"name","state","required","reason"}...],
 * "required_not_running":N}. Unhealthy (503) while the kv store cannot make
 * writes durable or a module marked required is not running; a module
 * that is not required never makes it unhealthy, and neither does the
 * broker (its state is shown, an outage is the bridge's to ride out). */
bool agent_health(void *user, char **out_body)
{
    agent *ag = user;
    bool durable = !ag->kv || kvs_is_durable(ag->kv);
    char *buf = NULL;
    size_t len = 0, missing = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o) return durable;
    char name[IOT_NAME_MAX + 1];
    pthread_mutex_lock(&ag->mods_mu);
    snprintf(name, sizeof name, "%s", ag->shown_name);
    pthread_mutex_unlock(&ag->mods_mu);
    fputs("{\"agent\":", o);
    put_json_str(o, name);
    fprintf(o, ",\"kv\":{\"durable\":%s},", durable ? "true" : "false");
    put_broker(ag, o);
    fputc(',', o);
    put_modules(ag, o, &missing);
    bool healthy = durable && missing == 0;
    fprintf(o, ",\"required_not_running\":%zu,\"status\":\"%s\"}\n", missing, healthy ? "ok" : "unhealthy");
    if (fclose(o) == 0) *out_body = buf;
    else free(buf);
    return healthy;
}

/* ---- /metrics: what the workers do not keep themselves ---------------------- */

/* The states graft_module_state names: an agent_mod's (agent_mod_state_name,
 * the one list of them), then the two of a module that never ran
 * (agent_failed.state, set by note_failed in agent.c). */
static const char *const never_ran[] = { "refused", "failed" };
#define NMODULE_STATES (AGENT_MOD_STOPPED + 1 + sizeof never_ran / sizeof never_ran[0])

static const char *module_state_at(size_t i)
{
    return i <= AGENT_MOD_STOPPED ? agent_mod_state_name((int)i) : never_ran[i - AGENT_MOD_STOPPED - 1];
}

/* graft_module_state{module,state}: 1 for the module's state, 0 for the others. */
static void set_state(metrics *reg, const char *module, const char *state)
{
    for (size_t i = 0; i < NMODULE_STATES; i++) {
        metrics_label l[] = { { "module", module }, { "state", module_state_at(i) } };
        metrics_gauge *g = metrics_gauge_getl(reg, "graft_module_state",
                                              "1 for the state the module is in (starting, running, backoff, "
                                              "quarantined, stopped, refused, failed), 0 for the others.", l, 2);
        if (g) metrics_gauge_set(g, strcmp(state, module_state_at(i)) == 0);
    }
}

static void set_counter(metrics *reg, const char *name, const char *help, const metrics_label *l, size_t n,
                        uint64_t v)
{
    metrics_counter *c = metrics_counter_getl(reg, name, help, l, n);
    if (c) metrics_counter_set(c, v);
}

static void set_gauge(metrics *reg, const char *name, const char *help, const metrics_label *l, size_t n,
                      int64_t v)
{
    metrics_gauge *g = metrics_gauge_getl(reg, name, help, l, n);
    if (g) metrics_gauge_set(g, v);
}

/* A running module's counters that only the agent and the bus keep. */
static void collect_module(metrics *reg, agent_mod *m)
{
    static const char dropped_help[] = "Messages for the module dropped before delivery: inbox_full (its "
                                       "inbox was full), oversize (over its message size), closed (it was "
                                       "stopping or quarantined).";
    bus_sub_stats bs;
    bus_sub_get_stats(m->sub, &bs);
    const struct { const char *reason; uint64_t n; } drops[] = {
        { "inbox_full", bs.dropped_full }, { "oversize", bs.dropped_oversize }, { "closed", bs.dropped_closed },
    };
    for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++) {
        metrics_label l[] = { { "module", m->name }, { "reason", drops[i].reason } };
        set_counter(reg, "graft_module_dropped_total", dropped_help, l, 2, drops[i].n);
    }
    metrics_label l = { "module", m->name };
    set_counter(reg, "graft_module_rejected_total", "Events the module's handler answered non-zero (not processed).",
                &l, 1, atomic_load(&m->rejected));
    set_counter(reg, "graft_module_rate_limited_total",
                "Publishes answered IOT_EAGAIN by the module's publish rate limit.", &l, 1,
                atomic_load(&m->rate_limited));
    set_gauge(reg, "graft_module_inbox_depth", "Messages waiting in the module's inbox.", &l, 1, (int64_t)bs.depth);
    set_state(reg, m->name, agent_mod_state_name(atomic_load(&m->state)));
}

static void collect_bus(metrics *reg, bus *b)
{
    bus_stats st;
    bus_get_stats(b, &st);
    set_counter(reg, "graft_bus_published_total", "Messages the bus accepted.", NULL, 0, st.published);
    set_counter(reg, "graft_bus_deliveries_total", "Copies put in inboxes, over all subscribers.", NULL, 0,
                st.deliveries);
    set_counter(reg, "graft_bus_unrouted_total", "Messages accepted that matched no subscriber.", NULL, 0,
                st.unrouted);
    metrics_label l = { "reason", "oversize" };
    set_counter(reg, "graft_bus_dropped_total",
                "Messages the bus refused: oversize (over the bus-wide maximum). Drops at an inbox are "
                "graft_module_dropped_total and graft_bridge_dropped_total.", &l, 1, st.dropped_oversize);
}

static void collect_bridge(agent *ag, metrics *reg)
{
    pthread_mutex_lock(&ag->mqtt_mu);
    mqtt_bridge_stats st;
    bool have = ag->mqtt != NULL;
    if (have) mqtt_bridge_get_stats(ag->mqtt, &st);
    pthread_mutex_unlock(&ag->mqtt_mu);
    if (!have) {   /* a bridge shown before and removed since reads as down */
        if (ag->bridge_shown) set_gauge(reg, "graft_bridge_connected", "1 while connected to the broker.", NULL, 0, 0);
        return;
    }
    ag->bridge_shown = true;
    set_gauge(reg, "graft_bridge_connected", "1 while connected to the broker.", NULL, 0, st.connected);
    set_counter(reg, "graft_bridge_connects_total", "Successful connections to the broker (first and reconnects).",
                NULL, 0, st.connects);
    set_counter(reg, "graft_bridge_disconnects_total", "Connections to the broker lost or closed.", NULL, 0,
                st.disconnects);
    set_counter(reg, "graft_bridge_connect_failures_total", "Connection attempts refused or failed.", NULL, 0,
                st.connect_failures);
    set_gauge(reg, "graft_bridge_buffered", "Outbound messages waiting for the broker.", NULL, 0, (int64_t)st.buffered);
    static const char msg_help[] = "Messages relayed: export (bus to broker), import (broker to bus).";
    metrics_label ex = { "direction", "export" }, im = { "direction", "import" };
    set_counter(reg, "graft_bridge_messages_total", msg_help, &ex, 1, st.published);
    set_counter(reg, "graft_bridge_messages_total", msg_help, &im, 1, st.received);
    static const char drop_help[] = "Messages the bridge dropped: export buffer_full (broker away too long), "
                                    "export other (oversize, refused by libmosquitto), import oversize (over "
                                    "the bus's maximum), import refused (a topic the bus refuses).";
    const struct { const char *dir, *reason; uint64_t n; } drops[] = {
        { "export", "buffer_full", st.dropped_full }, { "export", "other", st.dropped - st.dropped_full },
        { "import", "oversize", st.dropped_inbound_oversize },
        { "import", "refused", st.dropped_inbound - st.dropped_inbound_oversize },
    };
    for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++) {
        metrics_label l[] = { { "direction", drops[i].dir }, { "reason", drops[i].reason } };
        set_counter(reg, "graft_bridge_dropped_total", drop_help, l, 2, drops[i].n);
    }
    static const char sup_help[] = "Messages not relayed on purpose: loop (came from the broker), echo (the "
                                   "broker returning our own export, MQTT 3.1.1).";
    metrics_label lo = { "kind", "loop" }, ec = { "kind", "echo" };
    set_counter(reg, "graft_bridge_suppressed_total", sup_help, &lo, 1, st.loops_suppressed);
    set_counter(reg, "graft_bridge_suppressed_total", sup_help, &ec, 1, st.echoes_suppressed);
}

void agent_collect(void *user, metrics *reg)
{
    agent *ag = user;
    /* Under mods_mu: a listed mod's series exist until it is unlinked, and
     * the failed list and the name change only under it. */
    pthread_mutex_lock(&ag->mods_mu);
    metrics_label an = { "agent", ag->shown_name };
    set_gauge(reg, "graft_agent_info", "Always 1; its agent label is agent.name.", &an, 1, 1);
    for (agent_mod *m = ag->mods; m; m = m->next) collect_module(reg, m);
    for (size_t i = 0; i < ag->nfailed; i++) set_state(reg, ag->failed[i].name, ag->failed[i].state);
    pthread_mutex_unlock(&ag->mods_mu);
    collect_bus(reg, ag->bus);
    collect_bridge(ag, reg);
}

void agent_status_set(agent *ag, agent_failed *failed, size_t n)
{
    char old_name[IOT_NAME_MAX + 1];
    pthread_mutex_lock(&ag->mods_mu);
    agent_failed *old = ag->failed;
    size_t nold = ag->nfailed;
    ag->failed = failed;
    ag->nfailed = n;
    snprintf(old_name, sizeof old_name, "%s", ag->shown_name);
    snprintf(ag->shown_name, sizeof ag->shown_name, "%s", ag->cfg.agent.name);
    bool renamed = strcmp(old_name, ag->shown_name) != 0;
    pthread_mutex_unlock(&ag->mods_mu);
    if (ag->met && renamed && old_name[0]) metrics_remove_label(ag->met, "agent", old_name);
    /* A module failed before and now neither failed nor running (removed,
     * disabled): its series go. One running now keeps them. */
    for (size_t i = 0; i < nold; i++) {
        bool still = false;
        for (size_t k = 0; k < n && !still; k++) still = strcmp(old[i].name, failed[k].name) == 0;
        pthread_mutex_lock(&ag->mods_mu);
        for (agent_mod *m = ag->mods; m && !still; m = m->next) still = strcmp(m->name, old[i].name) == 0;
        pthread_mutex_unlock(&ag->mods_mu);
        if (!still && ag->met) metrics_remove_label(ag->met, "module", old[i].name);
    }
    free(old);
}
