/* bus.c - the in-process bus: pipeline cycle detection (over the MQTT
 * filter rules of src/hostapi/topic.c), and refcounted delivery into bounded inboxes.
 *
 * Data structures: the bus holds a growable array of subscribers under a
 * read-write lock (publishers take it shared, subscribe/unsubscribe
 * exclusive). Each subscriber holds its filters (owned strings), a ring of
 * bus_msg pointers of fixed capacity, a mutex and a condition variable on
 * CLOCK_MONOTONIC. A bus_msg is one allocation: header, topic, origin name
 * and payload; its refcount is atomic and the last release frees it.
 *
 * Lock order: bus rwlock, then one subscriber's mutex. Counters are updated
 * under the lock that guards the structure they describe (bus counters are
 * atomics). See bus.h for the contract. */
#include "bus.h"

#include "topic.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUS_TEXT_(name, text) text,
static const char *const bus_texts[] = { BUS_RESULTS(BUS_TEXT_) };
#undef BUS_TEXT_

const char *bus_strerror(int result)
{
    int index = -result;
    if (index < 0 || index >= BUS_RESULT_COUNT_) return "unknown bus result";
    return bus_texts[index];
}

/* ---- topics and filters (the rules live in src/hostapi/topic.c) ---------- */

static bus_result from_topic(topic_result r)
{
    switch (r) {
    case TOPIC_OK: return BUS_OK;
    case TOPIC_E_EMPTY: return BUS_E_EMPTY;
    case TOPIC_E_TOOLONG: return BUS_E_TOOLONG;
    case TOPIC_E_UTF8: return BUS_E_UTF8;
    case TOPIC_E_NUL: return BUS_E_NUL;
    case TOPIC_E_WILDCARD_IN_TOPIC: return BUS_E_WILDCARD_IN_TOPIC;
    case TOPIC_E_HASH_NOT_LAST: return BUS_E_HASH_NOT_LAST;
    case TOPIC_E_HASH_LEVEL:
    case TOPIC_E_PLUS_LEVEL: return BUS_E_WILDCARD_LEVEL;
    default: return BUS_E_ARG;
    }
}

bus_result bus_topic_check(const char *topic, size_t len)
{
    return from_topic(topic_name_check(topic, len));
}

bus_result bus_filter_check(const char *filter, size_t len)
{
    return from_topic(topic_filter_check(filter, len));
}

/* The topic.h predicates over NUL-terminated strings, as the bus keeps them. */
static bool matches(const char *filter, const char *topic)
{
    return topic_match(filter, strlen(filter), topic, strlen(topic));
}

static bool overlap(const char *a, const char *b)
{
    return topic_overlap(a, strlen(a), b, strlen(b));
}

static bool is_exact(const char *filter) { return topic_is_exact(filter, strlen(filter)); }

/* ---- cycle detection ---------------------------------------------------- */

static bool node_edge(const bus_node *from, const bus_node *to, bool self,
                      const char **out_pub, const char **out_sub)
{
    for (size_t i = 0; i < from->publish_count; i++)
        for (size_t j = 0; j < to->subscribe_count; j++) {
            const char *p = from->publish[i], *s = to->subscribe[j];
            bool hit = self ? (is_exact(s) && matches(p, s)) : overlap(p, s);
            if (hit) { *out_pub = p; *out_sub = s; return true; }
        }
    return false;
}

static void cycle_message(const bus_node *nodes, bus_cycle *out)
{
    size_t used = 0;
    int n = snprintf(out->message, sizeof out->message, "pipeline cycle: ");
    used = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i <= out->length && used < sizeof out->message; i++) {
        const bus_node *node = &nodes[out->nodes[i % out->length]];
        n = snprintf(out->message + used, sizeof out->message - used, "%s%s",
                     i ? " -> " : "", node->name ? node->name : "?");
        if (n < 0) break;
        used += (size_t)n;
    }
    if (used < sizeof out->message && out->length) {
        const char *pub = "", *sub = "";
        const bus_node *a = &nodes[out->nodes[0]];
        const bus_node *b = &nodes[out->nodes[1 % out->length]];
        node_edge(a, b, out->length == 1, &pub, &sub);
        snprintf(out->message + used, sizeof out->message - used,
                 " (%s publishes '%s', %s subscribes '%s')", a->name ? a->name : "?", pub,
                 b->name ? b->name : "?", sub);
    }
}

/* Depth-first search with colours; on a back edge, the cycle is read off
 * the explicit stack. Iterative so that deep pipelines cannot overflow. */
bus_result bus_check_cycles(const bus_node *nodes, size_t count, bus_cycle *out)
{
    memset(out, 0, sizeof *out);
    if (count == 0) return BUS_OK;
    uint8_t *adj = calloc(count * count, 1);
    uint8_t *colour = calloc(count, 1);             /* 0 white, 1 on stack, 2 done */
    size_t *stack = calloc(count, sizeof *stack), *next = calloc(count, sizeof *next);
    if (!adj || !colour || !stack || !next) {
        free(adj); free(colour); free(stack); free(next);
        return BUS_E_NOMEM;
    }
    const char *p, *s;
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < count; j++)
            adj[i * count + j] = node_edge(&nodes[i], &nodes[j], i == j, &p, &s);
    bus_result result = BUS_OK;
    for (size_t root = 0; root < count && result == BUS_OK; root++) {
        if (colour[root]) continue;
        size_t depth = 0;
        stack[depth++] = root;
        colour[root] = 1;
        next[root] = 0;
        while (depth && result == BUS_OK) {
            size_t u = stack[depth - 1];
            if (next[u] == count) { colour[u] = 2; depth--; continue; }
            size_t v = next[u]++;
            if (!adj[u * count + v]) continue;
            if (colour[v] == 0) {
                colour[v] = 1; next[v] = 0; stack[depth++] = v;
            } else if (colour[v] == 1) {
                size_t start = depth;
                while (start > 0 && stack[start - 1] != v) start--;
                start--;
                for (size_t k = start; k < depth && out->length < 64; k++)
                    out->nodes[out->length++] = stack[k];
                cycle_message(nodes, out);
                result = BUS_E_CYCLE;
            }
        }
    }
    free(adj); free(colour); free(stack); free(next);
    return result;
}

/* ---- messages ------------------------------------------------------------ */

void bus_msg_retain(bus_msg *msg)
{
    atomic_fetch_add_explicit(&msg->refs_, 1, memory_order_relaxed);
}

void bus_msg_release(bus_msg *msg)
{
    if (msg && atomic_fetch_sub_explicit(&msg->refs_, 1, memory_order_acq_rel) == 1) free(msg);
}

static bus_msg *msg_new(const char *topic, const char *origin, const void *payload, size_t len,
                        int64_t ts, uint32_t origin_id)
{
    size_t tlen = strlen(topic) + 1, olen = strlen(origin) + 1;
    bus_msg *m = malloc(sizeof *m + tlen + olen + len + 1);
    if (!m) return NULL;
    char *base = (char *)(m + 1);
    memcpy(base, topic, tlen);
    memcpy(base + tlen, origin, olen);
    if (len) memcpy(base + tlen + olen, payload, len);
    m->topic = base;
    m->origin = base + tlen;
    m->payload = (const uint8_t *)(base + tlen + olen);
    m->payload_len = len;
    m->timestamp_ns = ts;
    m->origin_id = origin_id;
    atomic_init(&m->refs_, 1);
    return m;
}

/* ---- subscribers ---------------------------------------------------------- */

struct bus_sub {
    bus *owner;
    char *name;
    uint32_t id;
    char **filters;                 /* guarded by owner->lock */
    size_t filter_count;
    size_t max_message;
    pthread_mutex_t mu;             /* guards everything below */
    pthread_cond_t cv;
    bus_msg **ring;
    size_t capacity, head, depth;
    size_t max_bytes, bytes;        /* byte bound (0: none) and message bytes waiting */
    bool closed;
    bus_sub_stats stats;
};

struct bus {
    pthread_rwlock_t lock;          /* guards subs, sub filters, next_id */
    bus_sub **subs;
    size_t sub_count, sub_cap;
    uint32_t next_id;
    size_t max_message;
    _Atomic uint64_t published, dropped_oversize, unrouted, deliveries;
};

bus *bus_new(size_t max_message)
{
    bus *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    if (pthread_rwlock_init(&b->lock, NULL) != 0) { free(b); return NULL; }
    b->max_message = max_message ? max_message : (size_t)1 << 20;
    b->next_id = 1;
    return b;
}

static void sub_destroy(bus_sub *s)
{
    while (s->depth) {
        bus_msg_release(s->ring[s->head]);
        s->head = (s->head + 1) % s->capacity;
        s->depth--;
    }
    for (size_t i = 0; i < s->filter_count; i++) free(s->filters[i]);
    free(s->filters);
    free(s->ring);
    free(s->name);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void bus_free(bus *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->sub_count; i++) sub_destroy(b->subs[i]);
    free(b->subs);
    pthread_rwlock_destroy(&b->lock);
    free(b);
}

void bus_get_stats(bus *b, bus_stats *out)
{
    out->published = atomic_load(&b->published);
    out->dropped_oversize = atomic_load(&b->dropped_oversize);
    out->unrouted = atomic_load(&b->unrouted);
    out->deliveries = atomic_load(&b->deliveries);
}

bus_sub *bus_sub_new(bus *b, const char *name, size_t capacity, size_t max_message)
{
    if (!b || capacity == 0) return NULL;
    bus_sub *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = strdup(name ? name : "");
    s->ring = calloc(capacity, sizeof *s->ring);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int cv_err = pthread_cond_init(&s->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (!s->name || !s->ring || cv_err) {
        free(s->name); free(s->ring);
        if (!cv_err) pthread_cond_destroy(&s->cv);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->owner = b;
    s->capacity = capacity;
    s->max_message = max_message;
    pthread_rwlock_wrlock(&b->lock);
    if (b->sub_count == b->sub_cap) {
        size_t cap = b->sub_cap ? b->sub_cap * 2 : 8;
        bus_sub **grown = realloc(b->subs, cap * sizeof *grown);
        if (!grown) { pthread_rwlock_unlock(&b->lock); sub_destroy(s); return NULL; }
        b->subs = grown;
        b->sub_cap = cap;
    }
    s->id = b->next_id++;
    b->subs[b->sub_count++] = s;
    pthread_rwlock_unlock(&b->lock);
    return s;
}

bus_result bus_sub_add_filter(bus_sub *s, const char *filter)
{
    if (!s || !filter) return BUS_E_ARG;
    bus_result r = bus_filter_check(filter, strlen(filter));
    if (r != BUS_OK) return r;
    char *copy = strdup(filter);
    if (!copy) return BUS_E_NOMEM;
    pthread_rwlock_wrlock(&s->owner->lock);
    char **grown = realloc(s->filters, (s->filter_count + 1) * sizeof *grown);
    if (!grown) { pthread_rwlock_unlock(&s->owner->lock); free(copy); return BUS_E_NOMEM; }
    s->filters = grown;
    s->filters[s->filter_count++] = copy;
    pthread_rwlock_unlock(&s->owner->lock);
    return BUS_OK;
}

void bus_sub_close(bus_sub *s)
{
    pthread_mutex_lock(&s->mu);
    s->closed = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void bus_sub_free(bus_sub *s)
{
    if (!s) return;
    bus *b = s->owner;
    pthread_rwlock_wrlock(&b->lock);
    for (size_t i = 0; i < b->sub_count; i++)
        if (b->subs[i] == s) { b->subs[i] = b->subs[--b->sub_count]; break; }
    pthread_rwlock_unlock(&b->lock);
    sub_destroy(s);
}

void bus_sub_set_max_bytes(bus_sub *s, size_t max_bytes)
{
    pthread_mutex_lock(&s->mu);
    s->max_bytes = max_bytes;
    pthread_mutex_unlock(&s->mu);
}

/* What a message weighs against an inbox's byte bound. */
static size_t msg_bytes(const bus_msg *msg) { return strlen(msg->topic) + msg->payload_len; }

uint32_t bus_sub_id(const bus_sub *s) { return s->id; }
const char *bus_sub_name(const bus_sub *s) { return s->name; }

void bus_sub_get_stats(bus_sub *s, bus_sub_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    out->depth = s->depth;
    out->bytes = s->bytes;
    pthread_mutex_unlock(&s->mu);
}

bus_result bus_sub_pop(bus_sub *s, int timeout_ms, bus_msg **out)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms > 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000L; }
    }
    pthread_mutex_lock(&s->mu);
    while (s->depth == 0 && !s->closed && timeout_ms != 0) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&s->cv, &s->mu)
                                : pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
        if (rc == ETIMEDOUT) break;
    }
    bus_result r;
    if (s->depth) {
        *out = s->ring[s->head];
        s->head = (s->head + 1) % s->capacity;
        s->depth--;
        s->bytes -= msg_bytes(*out);
        s->stats.popped++;
        r = BUS_OK;
    } else {
        r = s->closed ? BUS_E_CLOSED : BUS_E_TIMEOUT;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* ---- publishing ------------------------------------------------------------ */

/* Does s want msg? Applies its filters and the no-local rule. */
static bool sub_wants(const bus_sub *s, const bus_msg *msg)
{
    bool self = msg->origin_id != 0 && msg->origin_id == s->id;
    for (size_t i = 0; i < s->filter_count; i++) {
        const char *f = s->filters[i];
        if (self ? strcmp(f, msg->topic) == 0 : matches(f, msg->topic)) return true;
    }
    return false;
}

/* Enqueues one reference to msg in s; true when it was enqueued. */
static bool sub_offer(bus_sub *s, bus_msg *msg)
{
    bool enqueued = false;
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        s->stats.dropped_closed++;
    } else if (s->max_message && msg->payload_len > s->max_message) {
        s->stats.dropped_oversize++;
    } else if (s->depth == s->capacity ||
               (s->max_bytes && s->depth && s->bytes + msg_bytes(msg) > s->max_bytes)) {
        s->stats.dropped_full++;
    } else {
        bus_msg_retain(msg);
        s->ring[(s->head + s->depth) % s->capacity] = msg;
        s->depth++;
        s->bytes += msg_bytes(msg);
        if (s->depth > s->stats.high_water) s->stats.high_water = s->depth;
        if (s->bytes > s->stats.bytes_high_water) s->stats.bytes_high_water = s->bytes;
        s->stats.enqueued++;
        enqueued = true;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return enqueued;
}

bus_result bus_publish(bus *b, const bus_sub *from, const char *origin_name, const char *topic,
                       const void *payload, size_t len, int64_t timestamp_ns,
                       size_t *out_delivered)
{
    if (out_delivered) *out_delivered = 0;
    if (!b || !topic || (len && !payload)) return BUS_E_ARG;
    bus_result r = bus_topic_check(topic, strlen(topic));
    if (r != BUS_OK) return r;
    if (len > b->max_message) {
        atomic_fetch_add(&b->dropped_oversize, 1);
        return BUS_E_OVERSIZE;
    }
    if (timestamp_ns == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        timestamp_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    }
    const char *origin = from ? from->name : (origin_name ? origin_name : "");
    bus_msg *msg = msg_new(topic, origin, payload, len, timestamp_ns, from ? from->id : 0);
    if (!msg) return BUS_E_NOMEM;
    size_t delivered = 0;
    pthread_rwlock_rdlock(&b->lock);
    for (size_t i = 0; i < b->sub_count; i++) {
        bus_sub *s = b->subs[i];
        if (sub_wants(s, msg) && sub_offer(s, msg)) delivered++;
    }
    pthread_rwlock_unlock(&b->lock);
    bus_msg_release(msg);
    atomic_fetch_add(&b->published, 1);
    atomic_fetch_add(&b->deliveries, delivered);
    if (delivered == 0) atomic_fetch_add(&b->unrouted, 1);
    if (out_delivered) *out_delivered = delivered;
    return BUS_OK;
}
