/* mqtt.c - the bridge between graftd's bus and an MQTT broker (mqtt.h says
 * what it does; docs/agent.md, "Broker bridge", says why).
 *
 * Data structures: one mqtt_bridge holds the libmosquitto client, the bus
 * subscriber "mqtt" whose bounded inbox is the outbound buffer, a copy of
 * the import filters (re-subscribed on every connect), the counters, and a
 * small ring of recent exports (hashes of topic and payload, with the time)
 * used only under MQTT 3.1.1 to recognise the broker's echo of our own
 * publishes when import and export filters overlap.
 *
 * Threads and locks: libmosquitto's loop thread runs on_connect,
 * on_disconnect and on_message; the forwarding thread pops the inbox and
 * calls mosquitto_publish (which is thread-safe). `lock` guards the
 * connection state, last_error and the echo ring; `cond` wakes the
 * forwarder when the state changes. Counters are atomics.
 *
 * Ownership: the bridge owns the client, the subscriber (freed after both
 * threads stopped) and its copies of strings; it borrows the bus. */
#include "mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ECHO_RING 256                  /* recent exports remembered (3.1.1 echo guard) */
#define ECHO_WINDOW_NS 5000000000LL    /* an echo older than this is not one */
#define FORWARD_POLL_MS 200            /* forwarder's wake-up period when idle */
#define DEFAULT_BUFFER 1000

typedef struct echo_entry {
    uint64_t hash;
    int64_t at_ns;                     /* 0: slot free */
} echo_entry;

struct mqtt_bridge {
    bus *bus;
    bus_sub *sub;                      /* "mqtt": export filters, the outbound buffer */
    uint32_t sub_id;
    struct mosquitto *mosq;
    int qos;
    bool mqtt5;
    bool echo_guard;                   /* 3.1.1 with both import and export filters */
    char **imports;                    /* nimports filters subscribed at the broker */
    size_t nimports;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool connected;
    bool stopping;
    char last_error[160];
    echo_entry echo[ECHO_RING];
    size_t echo_next;

    pthread_t forwarder;
    bool forwarder_started;
    bool loop_started;

    _Atomic uint64_t connects, disconnects, connect_failures;
    _Atomic uint64_t published, received, publish_errors, dropped_inbound;
    _Atomic uint64_t echoes_suppressed, loops_suppressed;
    _Atomic int holding;               /* 1 while the forwarder holds a popped message */
};

/* ---- small helpers --------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* FNV-1a over topic, a NUL separator and the payload. */
static uint64_t message_hash(const char *topic, const void *payload, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = topic; ; p++) {
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
        if (*p == 0)
            break;
    }
    const uint8_t *b = payload;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static void set_error(mqtt_bridge *m, const char *fmt, const char *detail)
{
    pthread_mutex_lock(&m->lock);
    snprintf(m->last_error, sizeof m->last_error, fmt, detail);
    pthread_mutex_unlock(&m->lock);
}

static const char *connack_text(bool mqtt5, int rc)
{
    return mqtt5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc);
}

/* ---- the echo guard (MQTT 3.1.1 only) -------------------------------------- */

static void echo_remember(mqtt_bridge *m, uint64_t hash)
{
    pthread_mutex_lock(&m->lock);
    m->echo[m->echo_next] = (echo_entry){ hash, now_ns() };
    m->echo_next = (m->echo_next + 1) % ECHO_RING;
    pthread_mutex_unlock(&m->lock);
}

/* True (and the entry consumed) when hash is a recent export of ours. */
static bool echo_take(mqtt_bridge *m, uint64_t hash)
{
    int64_t now = now_ns();
    bool hit = false;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < ECHO_RING && !hit; i++) {
        echo_entry *e = &m->echo[i];
        if (e->at_ns != 0 && e->hash == hash && now - e->at_ns <= ECHO_WINDOW_NS) {
            e->at_ns = 0;
            hit = true;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return hit;
}

/* ---- libmosquitto callbacks (loop thread) ---------------------------------- */

static void subscribe_imports(mqtt_bridge *m)
{
    for (size_t i = 0; i < m->nimports; i++) {
        int rc = m->mqtt5
            ? mosquitto_subscribe_v5(m->mosq, NULL, m->imports[i], m->qos, MQTT_SUB_OPT_NO_LOCAL, NULL)
            : mosquitto_subscribe(m->mosq, NULL, m->imports[i], m->qos);
        if (rc != MOSQ_ERR_SUCCESS)
            set_error(m, "subscribe failed: %s", mosquitto_strerror(rc));
    }
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    mqtt_bridge *m = obj;
    if (rc != 0) {
        set_error(m, "connection refused: %s", connack_text(m->mqtt5, rc));
        atomic_fetch_add(&m->connect_failures, 1);  /* after the text: readers see both */
        return;
    }
    subscribe_imports(m);
    pthread_mutex_lock(&m->lock);
    m->connected = true;
    m->last_error[0] = 0;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    atomic_fetch_add(&m->connects, 1);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    mqtt_bridge *m = obj;
    pthread_mutex_lock(&m->lock);
    bool was = m->connected;
    m->connected = false;
    if (was && rc != 0 && !m->stopping)          /* a refusal keeps its own text */
        snprintf(m->last_error, sizeof m->last_error, "connection lost: %s", mosquitto_strerror(rc));
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    if (was)
        atomic_fetch_add(&m->disconnects, 1);
}

/* libmosquitto reports TLS and socket failures only through its log. */
static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
    (void)mosq;
    if (level == MOSQ_LOG_ERR)
        set_error(obj, "%s", text);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    mqtt_bridge *m = obj;
    size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    const void *payload = len ? msg->payload : "";
    if (m->echo_guard && echo_take(m, message_hash(msg->topic, payload, len))) {
        atomic_fetch_add(&m->echoes_suppressed, 1);
        return;
    }
    /* Published from the bridge's own subscriber: origin "mqtt", and the
     * no-local rule keeps it out of the bridge's outbound inbox. */
    bus_result r = bus_publish(m->bus, m->sub, NULL, msg->topic, payload, len, 0, NULL);
    if (r == BUS_OK)
        atomic_fetch_add(&m->received, 1);
    else
        atomic_fetch_add(&m->dropped_inbound, 1);
}

/* ---- the forwarding thread (bus -> broker) --------------------------------- */

/* Waits up to ms for a connection; false when stopping or still away. */
static bool wait_connected_locked(mqtt_bridge *m, int ms)
{
    struct timespec until;
    deadline_in(&until, ms);
    while (!m->connected && !m->stopping) {
        if (pthread_cond_timedwait(&m->cond, &m->lock, &until) == ETIMEDOUT)
            break;
    }
    return m->connected;
}

/* Publishes one message; true when it is finished with (sent or dropped),
 * false when the connection went away and it must be retried. */
static bool forward_one(mqtt_bridge *m, const bus_msg *msg)
{
    if (msg->origin_id == m->sub_id) {        /* came from the broker: never back */
        atomic_fetch_add(&m->loops_suppressed, 1);
        return true;
    }
    if (msg->payload_len > INT32_MAX) {
        atomic_fetch_add(&m->publish_errors, 1);
        return true;
    }
    /* Remembered before sending: on loopback the echo can beat the return. */
    if (m->echo_guard)
        echo_remember(m, message_hash(msg->topic, msg->payload, msg->payload_len));
    int rc = mosquitto_publish(m->mosq, NULL, msg->topic, (int)msg->payload_len, msg->payload,
                               m->qos, false);
    if (rc == MOSQ_ERR_SUCCESS) {
        atomic_fetch_add(&m->published, 1);
        return true;
    }
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO)
        return false;
    atomic_fetch_add(&m->publish_errors, 1);  /* oversize, bad UTF-8, ...: not retryable */
    return true;
}

static void *forward_main(void *arg)
{
    mqtt_bridge *m = arg;
    bus_msg *pending = NULL;
    for (;;) {
        pthread_mutex_lock(&m->lock);
        bool up = wait_connected_locked(m, FORWARD_POLL_MS);
        bool stopping = m->stopping;
        pthread_mutex_unlock(&m->lock);
        if (!up) {
            if (stopping)
                break;
            continue;                         /* away: messages wait in the inbox */
        }
        if (!pending) {
            /* Stopping: drain what is queued (the inbox is closed), then leave. */
            bus_result r = bus_sub_pop(m->sub, stopping ? 0 : FORWARD_POLL_MS, &pending);
            if (r == BUS_E_CLOSED || (stopping && r != BUS_OK))
                break;
            if (r != BUS_OK)
                continue;
            atomic_store(&m->holding, 1);
        }
        if (forward_one(m, pending)) {
            bus_msg_release(pending);
            pending = NULL;
            atomic_store(&m->holding, 0);
        } else {
            pthread_mutex_lock(&m->lock);     /* let on_disconnect catch up */
            struct timespec until;
            deadline_in(&until, 50);
            pthread_cond_timedwait(&m->cond, &m->lock, &until);
            pthread_mutex_unlock(&m->lock);
        }
    }
    if (pending) {
        atomic_fetch_add(&m->publish_errors, 1);
        bus_msg_release(pending);
    }
    return NULL;
}

/* ---- setup ----------------------------------------------------------------- */

static bool copy_imports(mqtt_bridge *m, const config_broker *cfg, char *err, size_t err_cap)
{
    m->imports = calloc(cfg->import.count ? cfg->import.count : 1, sizeof *m->imports);
    if (!m->imports) {
        snprintf(err, err_cap, "mqtt: out of memory");
        return false;
    }
    for (size_t i = 0; i < cfg->import.count; i++) {
        const char *f = cfg->import.items[i];
        bus_result r = bus_filter_check(f, strlen(f));
        if (r != BUS_OK) {
            snprintf(err, err_cap, "mqtt: import filter '%s': %s", f, bus_strerror(r));
            return false;
        }
        m->imports[i] = strdup(f);
        if (!m->imports[i]) {
            snprintf(err, err_cap, "mqtt: out of memory");
            return false;
        }
        m->nimports = i + 1;
    }
    return true;
}

static bool attach_subscriber(mqtt_bridge *m, const config_broker *cfg, char *err, size_t err_cap)
{
    size_t cap = cfg->buffer_messages ? cfg->buffer_messages : DEFAULT_BUFFER;
    m->sub = bus_sub_new(m->bus, MQTT_BRIDGE_ORIGIN, cap, 0);
    if (!m->sub) {
        snprintf(err, err_cap, "mqtt: out of memory");
        return false;
    }
    m->sub_id = bus_sub_id(m->sub);
    for (size_t i = 0; i < cfg->export_.count; i++) {
        const char *f = cfg->export_.items[i];
        bus_result r = bus_sub_add_filter(m->sub, f);
        if (r != BUS_OK) {
            snprintf(err, err_cap, "mqtt: export filter '%s': %s", f, bus_strerror(r));
            return false;
        }
    }
    /* Without an overlap between import and export no echo can match a
     * remembered export, so the guard is kept simple: on whenever 3.1.1
     * has both directions. */
    m->echo_guard = !m->mqtt5 && m->nimports > 0 && cfg->export_.count > 0;
    return true;
}

static bool configure_tls(mqtt_bridge *m, const config_broker *cfg, char *err, size_t err_cap)
{
    if (!cfg->tls)
        return true;
    const char *ca = cfg->ca_file[0] ? cfg->ca_file : NULL;
    const char *capath = ca ? NULL : "/etc/ssl/certs";
    const char *cert = cfg->cert_file[0] ? cfg->cert_file : NULL;
    const char *key = cfg->key_file[0] ? cfg->key_file : NULL;
    int rc = mosquitto_tls_set(m->mosq, ca, capath, cert, key, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, err_cap, "mqtt: TLS setup (ca '%s', cert '%s', key '%s'): %s",
                 ca ? ca : capath, cert ? cert : "", key ? key : "", mosquitto_strerror(rc));
        return false;
    }
    return true;
}

static unsigned ms_to_whole_s(uint32_t ms, unsigned floor_s)
{
    unsigned s = (unsigned)((ms + 999u) / 1000u);
    return s < floor_s ? floor_s : s;
}

static bool configure_client(mqtt_bridge *m, const config_broker *cfg, char *err, size_t err_cap)
{
    const char *id = cfg->client_id[0] ? cfg->client_id : NULL;
    m->mosq = mosquitto_new(id, true, m);
    if (!m->mosq) {
        snprintf(err, err_cap, "mqtt: cannot create the client: %s", strerror(errno));
        return false;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         m->mqtt5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    if (cfg->username[0]) {
        int rc = mosquitto_username_pw_set(m->mosq, cfg->username,
                                           cfg->password[0] ? cfg->password : NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, err_cap, "mqtt: username/password: %s", mosquitto_strerror(rc));
            return false;
        }
    }
    if (!configure_tls(m, cfg, err, err_cap))
        return false;
    unsigned lo = ms_to_whole_s(cfg->reconnect_min_ms, 1);
    unsigned hi = ms_to_whole_s(cfg->reconnect_max_ms, lo);
    mosquitto_reconnect_delay_set(m->mosq, lo, hi, true);
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_message_callback_set(m->mosq, on_message);
    mosquitto_log_callback_set(m->mosq, on_log);
    return true;
}

/* Starts the first (asynchronous) connect, then the loop thread. A broker
 * that is not there yet is not an error: the loop thread keeps trying. */
static bool start_threads(mqtt_bridge *m, const config_broker *cfg, char *err, size_t err_cap)
{
    const char *host = cfg->host[0] ? cfg->host : "127.0.0.1";
    int port = cfg->port ? (int)cfg->port : (cfg->tls ? 8883 : 1883);
    int keepalive = cfg->keepalive_s ? (int)cfg->keepalive_s : 30;
    int rc = mosquitto_connect_async(m->mosq, host, port, keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
        atomic_fetch_add(&m->connect_failures, 1);
        set_error(m, "connect failed: %s",
                  rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    }
    rc = mosquitto_loop_start(m->mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, err_cap, "mqtt: cannot start the network thread: %s", mosquitto_strerror(rc));
        return false;
    }
    m->loop_started = true;
    if (pthread_create(&m->forwarder, NULL, forward_main, m) != 0) {
        snprintf(err, err_cap, "mqtt: cannot start the forwarding thread");
        return false;
    }
    m->forwarder_started = true;
    return true;
}

mqtt_bridge *mqtt_bridge_new(bus *b, const config_broker *cfg, char *err, size_t err_cap)
{
    if (!b || !cfg) {
        snprintf(err, err_cap, "mqtt: no bus or no config");
        return NULL;
    }
    mqtt_bridge *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, err_cap, "mqtt: out of memory");
        return NULL;
    }
    mosquitto_lib_init();
    m->bus = b;
    m->qos = cfg->qos > 1 ? 1 : (int)cfg->qos;
    m->mqtt5 = cfg->protocol == 5;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (!copy_imports(m, cfg, err, err_cap) || !attach_subscriber(m, cfg, err, err_cap) ||
        !configure_client(m, cfg, err, err_cap) || !start_threads(m, cfg, err, err_cap)) {
        mqtt_bridge_free(m);
        return NULL;
    }
    return m;
}

/* ---- shutdown and stats ---------------------------------------------------- */

void mqtt_bridge_free(mqtt_bridge *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    if (m->sub)
        bus_sub_close(m->sub);
    if (m->forwarder_started)
        pthread_join(m->forwarder, NULL);
    if (m->mosq) {
        mosquitto_disconnect(m->mosq);
        if (m->loop_started)
            mosquitto_loop_stop(m->mosq, false);
        mosquitto_destroy(m->mosq);
    }
    if (m->sub)
        bus_sub_free(m->sub);
    for (size_t i = 0; i < m->nimports; i++)
        free(m->imports[i]);
    free(m->imports);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
    mosquitto_lib_cleanup();
}

bool mqtt_bridge_wait_connected(mqtt_bridge *m, int timeout_ms)
{
    pthread_mutex_lock(&m->lock);
    struct timespec until;
    deadline_in(&until, timeout_ms);
    while (!m->connected && !m->stopping) {
        if (pthread_cond_timedwait(&m->cond, &m->lock, &until) == ETIMEDOUT)
            break;
    }
    bool up = m->connected;
    pthread_mutex_unlock(&m->lock);
    return up;
}

void mqtt_bridge_get_stats(mqtt_bridge *m, mqtt_bridge_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&m->lock);
    out->connected = m->connected;
    snprintf(out->last_error, sizeof out->last_error, "%s", m->last_error);
    pthread_mutex_unlock(&m->lock);
    bus_sub_stats ss;
    bus_sub_get_stats(m->sub, &ss);
    out->connects = atomic_load(&m->connects);
    out->disconnects = atomic_load(&m->disconnects);
    out->connect_failures = atomic_load(&m->connect_failures);
    out->published = atomic_load(&m->published);
    out->received = atomic_load(&m->received);
    out->dropped = ss.dropped_full + ss.dropped_oversize + ss.dropped_closed +
                   atomic_load(&m->publish_errors);
    out->dropped_inbound = atomic_load(&m->dropped_inbound);
    out->echoes_suppressed = atomic_load(&m->echoes_suppressed);
    out->loops_suppressed = atomic_load(&m->loops_suppressed);
    out->buffered = ss.depth + (size_t)atomic_load(&m->holding);
}
