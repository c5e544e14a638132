/* agent_observe.c - graftd's observation points, off the modules' path:
 *
 *   observer  a bus subscriber on '#' (only when a summary or a dump is
 *             asked for) that keeps the latest value and a count per topic
 *             (agent->seen, under seen_mu, at most 64 topics) and writes
 *             the messages matching --dump-topic as JSON lines:
 *             {"ts_ns":..,"topic":..,"origin":..,"len":N,"value":..} for a
 *             24-byte reading, {"...","text":".."} for UTF-8 text, else "hex".
 *   injector  tails the --inject file: each complete line "TOPIC PAYLOAD"
 *             (\n in PAYLOAD is a newline) is published with origin
 *             "inject". Tests and the demo use it to send control messages.
 *
 * Both run on their own threads; they stop in agent_observe_stop. */
#include "agent_internal.h"

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

/* A short text form of a payload: a reading's value, or text, or hex. */
static void describe(const bus_msg *m, jbuf *b)
{
    if (m->payload_len == IOT_READING_SIZE) {
        iot_reading r;
        iot_reading_decode(m->payload, &r);
        jb_raw(b, "\"value\":%.17g,\"unit\":%u,\"quality\":%u,\"sample_ns\":%lld", r.value, r.unit, r.quality,
               (long long)r.timestamp_ns);
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
        if (m->payload_len == IOT_READING_SIZE) {
            iot_reading r;
            iot_reading_decode(m->payload, &r);
            jb_raw(&b, "%.3f", r.value);
        } else {
            jb_raw(&b, "%.*s", (int)(m->payload_len < 150 ? m->payload_len : 150), (const char *)m->payload);
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

/* /healthz: unhealthy while the kv store cannot make writes durable. */
bool agent_health(void *user)
{
    agent *ag = user;
    return !ag->kv || kvs_is_durable(ag->kv);
}
