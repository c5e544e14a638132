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
 * Threads and locks: the bridge's own network thread (net_main) drives
 * libmosquitto through mosquitto_loop_read/loop_write/loop_misc, so
 * on_connect, on_disconnect and on_message run there; it also reconnects
 * with backoff. The forwarding thread pops the inbox in batches and queues
 * each message with mosquitto_publish; the client is marked threaded
 * (mosquitto_threaded_set), so publish only queues and the network thread
 * alone writes the socket (a publisher writing while the network thread
 * closes the socket could hit a reused descriptor). After a batch the
 * forwarder wakes the network thread through an eventfd, and only when it
 * sleeps in poll. `lock` guards the connection state, last_error and the
 * echo ring; `cond` wakes the forwarder when the state changes. Counters
 * are atomics.
 *
 * Why not mosquitto_loop_start: its thread (mosquitto_loop) calls select()
 * before every packet it reads, and every publish from another thread
 * wakes it through a socketpair that it drains one byte per select(); per
 * relayed message that is about seven system calls and a context switch
 * on the agent's core. Ours reads until the socket is drained and is woken
 * at most once per forwarded batch (bench/README.md has the measurements).
 *
 * Ownership: the bridge owns the client, the subscriber (freed after both
 * threads stopped) and its copies of strings; it borrows the bus. */
#include "mqtt.h"

#include "log.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define ECHO_RING 256                  /* recent exports remembered (3.1.1 echo guard) */
#define ECHO_WINDOW_NS 5000000000LL    /* an echo older than this is not one */
#define FORWARD_POLL_MS 200            /* forwarder's wake-up period when idle */
#define FORWARD_BATCH 256              /* messages queued per network-thread wake-up, at most */
#define READ_BATCH 256                 /* packets read per poll(), at most */
#define NET_POLL_MS 1000               /* network thread's poll timeout (keepalive checks) */
#define STOP_FLUSH_MS 1000             /* at shutdown, how long queued packets may take to go out */
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
    pthread_t net;                     /* net_main: the network loop and reconnects */
    bool net_started;
    int wake_fd;                       /* eventfd: wakes net_main from poll */
    _Atomic bool net_sleeping;         /* net_main is in (or about to enter) poll */
    _Atomic bool net_stop;             /* set after the forwarder ended: flush and leave */
    _Atomic bool up;                   /* mirrors connected, read without the lock */
    _Atomic unsigned queued;           /* publishes queued since net_main last wrote */
    unsigned backoff_min_ms, backoff_max_ms;
    unsigned backoff_ms;               /* the next reconnect delay (net_main only) */
    bool attempt_open;                 /* a connect attempt has had no CONNACK yet (net_main only) */

    _Atomic uint64_t connects, disconnects, connect_failures;
    _Atomic uint64_t published, received, publish_errors, dropped_inbound;
    _Atomic uint64_t echoes_suppressed, loops_suppressed, dropped_inbound_oversize;
    _Atomic int holding;               /* 1 while the forwarder holds a popped message */

    /* Reporting the connection's changes (mqtt_bridge_hooks). */
    mqtt_bridge_hooks hooks;           /* log may be NULL */
    char where[300];                   /* "HOST:PORT", for the log lines */
    uint64_t failures_since_up;        /* failed attempts since the last connect (net_main only) */
    int64_t down_since_ns;             /* when the connection was lost or first tried (net_main only) */
    int64_t oversize_logged_ns;        /* last import-oversize line (net_main only), 0: none yet */
    uint64_t oversize_logged;          /* dropped_inbound_oversize as of that line */
    int64_t full_logged_ns;            /* last buffer-full line (forwarder only), 0: none yet */
    uint64_t full_logged;              /* the inbox's dropped_full as of that line */
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

/* One line to the hooks' log: "mqtt: broker HOST:PORT: ...". */
__attribute__((format(printf, 3, 4))) static void report(mqtt_bridge *m, int level, const char *fmt, ...)
{
    if (!m->hooks.log)
        return;
    char msg[512];
    int n = snprintf(msg, sizeof msg, "mqtt: broker %s: ", m->where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    m->hooks.log(m->hooks.user, level, msg);
}

/* A copy of last_error, for a log line. */
static void error_text(mqtt_bridge *m, char *out, size_t cap)
{
    pthread_mutex_lock(&m->lock);
    snprintf(out, cap, "%s", m->last_error);
    pthread_mutex_unlock(&m->lock);
}

/* Rate limit of the drop lines: the first, then one per MQTT_LOG_EVERY_S. */
static bool log_due(int64_t last_ns, int64_t now)
{
    return last_ns == 0 || now - last_ns >= (int64_t)MQTT_LOG_EVERY_S * 1000000000LL;
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
    m->attempt_open = false;
    if (rc != 0) {
        set_error(m, "connection refused: %s", connack_text(m->mqtt5, rc));
        atomic_fetch_add(&m->connect_failures, 1);  /* after the text: readers see both */
        m->failures_since_up++;
        report(m, JLOG_WARN, "connection refused: %s (failed attempt %llu; retrying in %u ms)",
               connack_text(m->mqtt5, rc), (unsigned long long)m->failures_since_up, m->backoff_ms);
        return;
    }
    if (m->down_since_ns && atomic_load(&m->connects) > 0)
        report(m, JLOG_INFO, "reconnected after %llu failed attempts, %.1f s down",
               (unsigned long long)m->failures_since_up, (double)(now_ns() - m->down_since_ns) / 1e9);
    else
        report(m, JLOG_INFO, "connected (after %llu failed attempts)", (unsigned long long)m->failures_since_up);
    m->failures_since_up = 0;
    m->down_since_ns = 0;
    subscribe_imports(m);
    m->backoff_ms = m->backoff_min_ms;
    /* libmosquitto formats a debug line (malloc, vsnprintf, free) for every
     * packet in either direction whenever a log callback is set; we only
     * want its errors while connecting (TLS), so it is off while up. */
    mosquitto_log_callback_set(m->mosq, NULL);
    pthread_mutex_lock(&m->lock);
    m->connected = true;
    atomic_store(&m->up, true);
    m->last_error[0] = 0;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    atomic_fetch_add(&m->connects, 1);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text);

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    mqtt_bridge *m = obj;
    mosquitto_log_callback_set(m->mosq, on_log);
    pthread_mutex_lock(&m->lock);
    bool was = m->connected;
    m->connected = false;
    atomic_store(&m->up, false);
    if (was && rc != 0 && !m->stopping)          /* a refusal keeps its own text */
        snprintf(m->last_error, sizeof m->last_error, "connection lost: %s", mosquitto_strerror(rc));
    bool stopping = m->stopping;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    if (was) {
        atomic_fetch_add(&m->disconnects, 1);
        m->down_since_ns = now_ns();
        if (stopping || rc == 0)
            report(m, JLOG_INFO, "disconnected");
        else
            report(m, JLOG_WARN, "connection lost: %s; reconnecting in %u ms, outbound messages wait in the buffer",
                   mosquitto_strerror(rc), m->backoff_ms);
    }
}

/* libmosquitto reports TLS and socket failures only through its log
 * (installed while not connected: see on_connect). */
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
    if (r == BUS_OK) {
        atomic_fetch_add(&m->received, 1);
        return;
    }
    atomic_fetch_add(&m->dropped_inbound, 1);
    if (r != BUS_E_OVERSIZE) {
        report(m, JLOG_WARN, "import on a topic the bus refuses dropped: %s", bus_strerror(r));
        return;
    }
    uint64_t n = atomic_fetch_add(&m->dropped_inbound_oversize, 1) + 1;
    int64_t now = now_ns();
    if (!log_due(m->oversize_logged_ns, now))
        return;
    report(m, JLOG_WARN, "import dropped: %zu bytes on %s is over the bus's maximum message size "
           "(%llu such drops since the last line, %llu in all)", len, msg->topic,
           (unsigned long long)(n - m->oversize_logged), (unsigned long long)n);
    m->oversize_logged_ns = now;
    m->oversize_logged = n;
}

/* ---- the network thread ---------------------------------------------------- */

/* Wakes net_main if it sleeps in poll (or is about to: it sets net_sleeping
 * before its last look at libmosquitto's queue, and we queued before this
 * look at the flag, so one of the two sees the other). */
static void net_kick(mqtt_bridge *m)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load(&m->net_sleeping)) {
        uint64_t one = 1;
        ssize_t n = write(m->wake_fd, &one, sizeof one);
        (void)n;                       /* EAGAIN: the counter is already non-zero */
    }
}

/* Errors after which libmosquitto's own loop_forever gives up rather than
 * reconnecting (a TLS verification failure among them); we do the same. */
static bool fatal_rc(int rc, int err)
{
    switch (rc) {
    case MOSQ_ERR_NOMEM: case MOSQ_ERR_PROTOCOL: case MOSQ_ERR_INVAL:
    case MOSQ_ERR_NOT_FOUND: case MOSQ_ERR_TLS: case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_NOT_SUPPORTED: case MOSQ_ERR_AUTH: case MOSQ_ERR_ACL_DENIED:
    case MOSQ_ERR_UNKNOWN: case MOSQ_ERR_EAI: case MOSQ_ERR_PROXY:
        return true;
    default:
        return err == EPROTO;
    }
}

/* Sleeps up to ms, or until net_kick or a stop; drains the eventfd. */
static void net_wait(mqtt_bridge *m, int fd, short events, int ms, short *out_revents)
{
    struct pollfd pfd[2] = { { .fd = m->wake_fd, .events = POLLIN }, { .fd = fd, .events = events } };
    *out_revents = 0;
    atomic_store(&m->net_sleeping, true);
    atomic_thread_fence(memory_order_seq_cst);
    /* A batch queued just before the flag went up is not missed: look again. */
    if (fd >= 0 && !(events & POLLOUT) && mosquitto_want_write(m->mosq))
        ms = 0;
    if (atomic_load(&m->net_stop))
        ms = 0;
    int n = poll(pfd, fd >= 0 ? 2 : 1, ms);
    atomic_store(&m->net_sleeping, false);
    if (n <= 0)
        return;
    if (pfd[0].revents & POLLIN) {
        uint64_t v;
        ssize_t r = read(m->wake_fd, &v, sizeof v);
        (void)r;
    }
    if (fd >= 0)
        *out_revents = pfd[1].revents;
}

/* Reads packets until the socket is drained (each one runs its callback),
 * READ_BATCH at most so that writes and keepalive get their turn.
 * libmosquitto reads one packet per mosquitto_loop_read and leaves errno at
 * EAGAIN when the socket had no more. */
static int read_batch(mqtt_bridge *m)
{
    for (int i = 0; i < READ_BATCH; i++) {
        errno = 0;
        int rc = mosquitto_loop_read(m->mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m->mosq) < 0)
            return rc;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
    }
    return MOSQ_ERR_SUCCESS;
}

/* Writes what libmosquitto has queued. It sends each packet with its own
 * send(); with more than one queued the socket is corked meanwhile, so the
 * batch leaves in full TCP segments instead of one small segment (and one
 * wake-up of the broker) per message. Uncorking pushes the rest at once. */
static int write_queued(mqtt_bridge *m, int fd)
{
    bool cork = atomic_exchange(&m->queued, 0) > 1;
    int on = 1, off = 0;
    if (cork)
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    int rc = mosquitto_loop_write(m->mosq, 1);
    if (cork && mosquitto_socket(m->mosq) == fd)
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
    return rc;
}

/* One turn with a socket: poll it, read, write, keepalive. What
 * mosquitto_loop does, without the select() per packet and the socketpair. */
static int net_turn(mqtt_bridge *m, int fd)
{
    bool want = mosquitto_want_write(m->mosq);
    short rev;
    net_wait(m, fd, (short)(POLLIN | (want ? POLLOUT : 0)), NET_POLL_MS, &rev);
    int rc = MOSQ_ERR_SUCCESS;
    if (rev & (POLLIN | POLLERR | POLLHUP))
        rc = read_batch(m);
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) >= 0 && mosquitto_want_write(m->mosq))
        rc = write_queued(m, fd);
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) >= 0)
        rc = mosquitto_loop_misc(m->mosq);
    return rc;
}

/* At shutdown: what the forwarder queued goes out, then DISCONNECT. */
static void net_flush(mqtt_bridge *m)
{
    if (!atomic_load(&m->up))
        return;                        /* connecting or away: nothing to say */
    int64_t until = now_ns() + (int64_t)STOP_FLUSH_MS * 1000000;
    bool disconnect_sent = false;
    while (mosquitto_socket(m->mosq) >= 0 && now_ns() < until) {
        if (!mosquitto_want_write(m->mosq)) {
            if (disconnect_sent)
                break;
            mosquitto_disconnect(m->mosq);
            disconnect_sent = true;
        }
        struct pollfd pfd = { .fd = mosquitto_socket(m->mosq), .events = POLLOUT };
        if (poll(&pfd, 1, 50) > 0 && mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
            break;
    }
}

/* A connection attempt that ended before any CONNACK (refused at the TCP
 * level, reset, TLS failure) is a failed attempt too. */
static void note_attempt_failed(mqtt_bridge *m, int rc, int err, bool fatal)
{
    m->attempt_open = false;
    if (rc != MOSQ_ERR_TLS && err != EPROTO)  /* for TLS, on_log's text says more */
        set_error(m, "connect failed: %s", rc == MOSQ_ERR_ERRNO && err ? strerror(err) : mosquitto_strerror(rc));
    atomic_fetch_add(&m->connect_failures, 1);
    m->failures_since_up++;
    char why[160];
    error_text(m, why, sizeof why);
    if (fatal)
        report(m, JLOG_ERROR, "%s (failed attempt %llu); not retrying until the broker section is reloaded", why,
               (unsigned long long)m->failures_since_up);
    else
        report(m, JLOG_WARN, "%s (failed attempt %llu; retrying in %u ms)", why,
               (unsigned long long)m->failures_since_up, m->backoff_ms);
}

/* The network loop: with a socket, net_turn; without one, wait the backoff
 * (doubling from reconnect_min_ms to reconnect_max_ms, reset by a CONNACK)
 * and reconnect asynchronously, so a stop is never stuck in connect(). */
static void *net_main(void *arg)
{
    mqtt_bridge *m = arg;
    bool given_up = false;             /* a fatal error: stay down until the bridge is rebuilt */
    while (!atomic_load(&m->net_stop)) {
        int fd = mosquitto_socket(m->mosq);
        if (fd < 0) {
            short rev;
            net_wait(m, -1, 0, given_up ? NET_POLL_MS : (int)m->backoff_ms, &rev);
            if (given_up || atomic_load(&m->net_stop))
                continue;
            unsigned next = m->backoff_ms * 2;
            m->backoff_ms = next > m->backoff_max_ms ? m->backoff_max_ms : next;
            errno = 0;
            int rc = mosquitto_reconnect_async(m->mosq);
            m->attempt_open = true;
            if (rc != MOSQ_ERR_SUCCESS)
                note_attempt_failed(m, rc, errno, false);
            continue;
        }
        errno = 0;
        int rc = net_turn(m, fd);
        int err = errno;
        if (rc == MOSQ_ERR_SUCCESS)
            continue;
        bool fatal = fatal_rc(rc, err);
        if (m->attempt_open && mosquitto_socket(m->mosq) < 0)
            note_attempt_failed(m, rc, err, fatal);
        else if (fatal && !given_up)
            report(m, JLOG_ERROR, "%s; not reconnecting until the broker section is reloaded", mosquitto_strerror(rc));
        if (fatal)
            given_up = true;
    }
    net_flush(m);
    return NULL;
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

/* Queues one message with libmosquitto; true when it is finished with
 * (queued or dropped), false when the connection went away and it must be
 * retried. */
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
        atomic_fetch_add(&m->queued, 1);
        return true;
    }
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO)
        return false;
    atomic_fetch_add(&m->publish_errors, 1);  /* oversize, bad UTF-8, ...: not retryable */
    return true;
}

/* Queues *pending and then whatever else the inbox holds right now, up to
 * FORWARD_BATCH, so that the network thread is woken once for all of them.
 * On return *pending is NULL, or a message to retry after a reconnect. */
static void forward_batch(mqtt_bridge *m, bus_msg **pending)
{
    for (int n = 0; ; ) {
        if (!forward_one(m, *pending))
            break;
        bus_msg_release(*pending);
        *pending = NULL;
        atomic_store(&m->holding, 0);
        if (++n == FORWARD_BATCH || !atomic_load(&m->up) || bus_sub_pop(m->sub, 0, pending) != BUS_OK)
            break;
        atomic_store(&m->holding, 1);
    }
    net_kick(m);
}

/* Logs the messages the full outbound buffer dropped since the last line
 * (the first at once, then at most one line per MQTT_LOG_EVERY_S). */
static void report_drops(mqtt_bridge *m)
{
    bus_sub_stats ss;
    bus_sub_get_stats(m->sub, &ss);
    int64_t now = now_ns();
    if (ss.dropped_full == m->full_logged || !log_due(m->full_logged_ns, now))
        return;
    report(m, JLOG_WARN, "outbound buffer full (%zu messages waiting): %llu messages dropped since the last line, "
           "%llu in all", ss.depth, (unsigned long long)(ss.dropped_full - m->full_logged),
           (unsigned long long)ss.dropped_full);
    m->full_logged = ss.dropped_full;
    m->full_logged_ns = now;
}

static void *forward_main(void *arg)
{
    mqtt_bridge *m = arg;
    bus_msg *pending = NULL;
    for (;;) {
        report_drops(m);
        if (!atomic_load(&m->up)) {
            pthread_mutex_lock(&m->lock);
            bool up = wait_connected_locked(m, FORWARD_POLL_MS);
            bool stopping = m->stopping;
            pthread_mutex_unlock(&m->lock);
            if (!up) {
                if (stopping)
                    break;
                continue;                     /* away: messages wait in the inbox */
            }
        }
        if (!pending) {
            /* The inbox is closed when stopping: what is queued still comes
             * out, then BUS_E_CLOSED ends the thread. */
            bus_result r = bus_sub_pop(m->sub, FORWARD_POLL_MS, &pending);
            if (r == BUS_E_CLOSED)
                break;
            if (r != BUS_OK)
                continue;
            atomic_store(&m->holding, 1);
        }
        forward_batch(m, &pending);
        if (pending) {
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
    /* Publish only queues; net_main alone writes the socket. */
    mosquitto_threaded_set(m->mosq, true);
    m->backoff_min_ms = cfg->reconnect_min_ms ? cfg->reconnect_min_ms : 500;
    m->backoff_max_ms = cfg->reconnect_max_ms > m->backoff_min_ms ? cfg->reconnect_max_ms : m->backoff_min_ms;
    m->backoff_ms = m->backoff_min_ms;
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_message_callback_set(m->mosq, on_message);
    mosquitto_log_callback_set(m->mosq, on_log);
    return true;
}

/* Starts the first (asynchronous) connect, then the network and the
 * forwarding threads. A broker that is not there yet is not an error: the
 * network thread keeps trying. */
static bool start_threads(mqtt_bridge *m, const config_broker *cfg, char *err, size_t err_cap)
{
    const char *host = cfg->host[0] ? cfg->host : "127.0.0.1";
    int port = cfg->port ? (int)cfg->port : (cfg->tls ? 8883 : 1883);
    int keepalive = cfg->keepalive_s ? (int)cfg->keepalive_s : 30;
    m->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m->wake_fd < 0) {
        snprintf(err, err_cap, "mqtt: eventfd: %s", strerror(errno));
        return false;
    }
    snprintf(m->where, sizeof m->where, "%s:%d", host, port);
    m->down_since_ns = now_ns();
    errno = 0;
    m->attempt_open = true;
    int rc = mosquitto_connect_async(m->mosq, host, port, keepalive);
    if (rc != MOSQ_ERR_SUCCESS)
        note_attempt_failed(m, rc, errno, false);
    if (pthread_create(&m->net, NULL, net_main, m) != 0) {
        snprintf(err, err_cap, "mqtt: cannot start the network thread");
        return false;
    }
    m->net_started = true;
    if (pthread_create(&m->forwarder, NULL, forward_main, m) != 0) {
        snprintf(err, err_cap, "mqtt: cannot start the forwarding thread");
        return false;
    }
    m->forwarder_started = true;
    return true;
}

mqtt_bridge *mqtt_bridge_new(bus *b, const config_broker *cfg, const mqtt_bridge_hooks *hooks, char *err,
                             size_t err_cap)
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
    if (hooks)
        m->hooks = *hooks;
    m->wake_fd = -1;
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
    /* The forwarder has queued all it will: the network thread sends it,
     * disconnects and ends. */
    atomic_store(&m->net_stop, true);
    if (m->net_started) {
        uint64_t one = 1;
        ssize_t n = write(m->wake_fd, &one, sizeof one);
        (void)n;
        pthread_join(m->net, NULL);
    }
    if (m->wake_fd >= 0)
        close(m->wake_fd);
    if (m->mosq)
        mosquitto_destroy(m->mosq);
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
    out->dropped_full = ss.dropped_full;
    out->dropped_inbound = atomic_load(&m->dropped_inbound);
    out->dropped_inbound_oversize = atomic_load(&m->dropped_inbound_oversize);
    out->echoes_suppressed = atomic_load(&m->echoes_suppressed);
    out->loops_suppressed = atomic_load(&m->loops_suppressed);
    out->buffered = ss.depth + (size_t)atomic_load(&m->holding);
}
