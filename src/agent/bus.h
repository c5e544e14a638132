/* bus.h - graftd's in-process publish/subscribe bus.
 *
 * Topics and topic filters follow MQTT 3.1.1 (section 4.7); the rules and
 * their one implementation are in src/hostapi/topic.h.
 *
 * A subscriber (bus_sub) is one module instance or one bridge. It owns a
 * bounded inbox (a ring of message pointers). Publishing copies topic,
 * origin and payload once into a refcounted bus_msg that every recipient
 * shares; a full inbox (by count, or by bytes when bounded so) drops the
 * newest message and counts it; a message over
 * the bus-wide or the subscriber's size limit is dropped and counted.
 *
 * No-local rule: a message is not delivered back to the subscriber that
 * published it, unless that subscriber holds a filter without wildcards that
 * equals the topic (an explicit self-subscription).
 *
 * Ownership: bus_new/bus_free own the bus; bus_sub_new attaches a subscriber
 * that the bus owns until bus_sub_free (or bus_free). bus_sub_pop hands the
 * caller one reference to a message, returned with bus_msg_release.
 *
 * Thread-safety: bus_publish may run on any number of threads at once; each
 * subscriber's bus_sub_pop may run on its consumer thread; bus_sub_close may
 * run on any thread and wakes the consumer. Adding filters and subscribers
 * takes the bus's write lock. bus_sub_free must not race with that
 * subscriber's consumer. The check functions are pure. */
#ifndef GRAFT_AGENT_BUS_H
#define GRAFT_AGENT_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result codes: name, text. Negative values; 0 is BUS_OK. */
#define BUS_RESULTS(X)                                                                  \
    X(BUS_OK, "ok")                                                                     \
    X(BUS_E_EMPTY, "topic or filter is empty")                                          \
    X(BUS_E_TOOLONG, "topic or filter is longer than 65535 bytes")                      \
    X(BUS_E_UTF8, "topic or filter is not well-formed UTF-8")                           \
    X(BUS_E_NUL, "topic or filter contains U+0000")                                     \
    X(BUS_E_WILDCARD_IN_TOPIC, "a published topic contains a wildcard (+ or #)")        \
    X(BUS_E_HASH_NOT_LAST, "'#' is allowed only as the last level of a filter")         \
    X(BUS_E_WILDCARD_LEVEL, "a wildcard must occupy a whole level")                     \
    X(BUS_E_OVERSIZE, "message larger than the bus's maximum size")                     \
    X(BUS_E_NOMEM, "out of memory")                                                     \
    X(BUS_E_TIMEOUT, "timed out waiting for a message")                                 \
    X(BUS_E_CLOSED, "the subscriber is closed")                                         \
    X(BUS_E_CYCLE, "the pipeline has a cycle")                                          \
    X(BUS_E_ARG, "bad argument")

#define BUS_ENUM_(name, text) name##_INDEX_,
enum { BUS_RESULTS(BUS_ENUM_) BUS_RESULT_COUNT_ };
#undef BUS_ENUM_
#define BUS_ENUM_(name, text) name = -(int)name##_INDEX_,
typedef enum { BUS_RESULTS(BUS_ENUM_) } bus_result;
#undef BUS_ENUM_

const char *bus_strerror(int result);

/* ---- topics and filters (pure) ---------------------------------------- */

#define BUS_TOPIC_MAX 65535u

/* Validates a topic name of len bytes (it may contain NUL, which is refused);
 * topic_name_check (src/hostapi/topic.h) in the bus's result codes. Matching,
 * coverage and overlap: topic_match, topic_covers, topic_overlap there. */
bus_result bus_topic_check(const char *topic, size_t len);
/* Validates a topic filter of len bytes (topic_filter_check, as bus codes). */
bus_result bus_filter_check(const char *filter, size_t len);

/* ---- pipeline cycle detection ----------------------------------------- */

typedef struct bus_node {
    const char *name;               /* module name, for the error */
    const char *const *subscribe;   /* subscribe filters */
    size_t subscribe_count;
    const char *const *publish;     /* publish filters (topics are filters too) */
    size_t publish_count;
} bus_node;

typedef struct bus_cycle {
    size_t length;                  /* modules on the cycle (0: none found) */
    size_t nodes[64];               /* indices into the node array, in flow order */
    char message[512];              /* "pipeline cycle: a -> b -> a (a publishes 'x/#', b subscribes 'x/+')" */
} bus_cycle;

/* Builds the graph (edge A->B when one of A's publish filters overlaps one of
 * B's subscribe filters) and returns BUS_E_CYCLE with out->message naming the
 * modules on the first cycle found, or BUS_OK. A self-edge counts only under
 * the no-local rule's exception: A subscribes to an exact topic that one of
 * its publish filters matches. Filters are assumed valid. */
bus_result bus_check_cycles(const bus_node *nodes, size_t count, bus_cycle *out);

/* ---- messages ---------------------------------------------------------- */

typedef struct bus_msg {
    const char *topic;              /* NUL-terminated, inside this allocation */
    const char *origin;             /* publisher's name ("" when none) */
    const uint8_t *payload;
    size_t payload_len;
    int64_t timestamp_ns;           /* wall clock at publish (or the publisher's) */
    uint32_t origin_id;             /* publishing subscriber's id, 0 when none */
    /* private */
    _Atomic unsigned refs_;
} bus_msg;

void bus_msg_retain(bus_msg *msg);
void bus_msg_release(bus_msg *msg);

/* ---- the bus and its subscribers ---------------------------------------- */

typedef struct bus bus;
typedef struct bus_sub bus_sub;

typedef struct bus_stats {
    uint64_t published;             /* accepted by bus_publish */
    uint64_t dropped_oversize;      /* refused by the bus-wide size limit */
    uint64_t unrouted;              /* accepted but matched no subscriber */
    uint64_t deliveries;            /* copies enqueued, over all subscribers */
} bus_stats;

typedef struct bus_sub_stats {
    uint64_t enqueued;              /* messages put in the inbox */
    uint64_t popped;                /* messages taken by the consumer */
    uint64_t dropped_full;          /* newest message dropped: inbox full (messages or bytes) */
    uint64_t dropped_oversize;      /* dropped: over the subscriber's max */
    uint64_t dropped_closed;        /* arrived after close */
    size_t depth;                   /* messages waiting now */
    size_t high_water;              /* the deepest the inbox has been */
    size_t bytes;                   /* message bytes waiting now (topic + payload) */
    size_t bytes_high_water;        /* the most it has held */
} bus_sub_stats;

/* max_message: the bus-wide payload limit in bytes (0: 1 MiB). */
bus *bus_new(size_t max_message);
/* Frees every subscriber (and their queued messages) and the bus. */
void bus_free(bus *b);
void bus_get_stats(bus *b, bus_stats *out);

/* A new subscriber named name (copied), inbox of capacity messages (>= 1),
 * payloads above max_message (0: only the bus-wide limit) dropped. NULL when
 * out of memory or capacity is 0. */
bus_sub *bus_sub_new(bus *b, const char *name, size_t capacity, size_t max_message);
/* Bounds s's inbox by bytes too: a message (topic + payload bytes) that
 * would take the waiting messages past max_bytes is dropped as full, unless
 * the inbox is empty (so one message of any accepted size still fits).
 * 0: no byte bound (the default). Call before publishing starts. */
void bus_sub_set_max_bytes(bus_sub *s, size_t max_bytes);
/* Adds a filter (validated; BUS_E_* when invalid). */
bus_result bus_sub_add_filter(bus_sub *s, const char *filter);
/* Stops delivery to s, wakes its consumer; queued messages can still be popped. */
void bus_sub_close(bus_sub *s);
/* Detaches s from the bus and frees it with its queued messages. */
void bus_sub_free(bus_sub *s);
uint32_t bus_sub_id(const bus_sub *s);
const char *bus_sub_name(const bus_sub *s);
void bus_sub_get_stats(bus_sub *s, bus_sub_stats *out);

/* Waits up to timeout_ms (< 0: forever, 0: poll) for a message; on BUS_OK
 * *out holds one reference. BUS_E_TIMEOUT, or BUS_E_CLOSED once the
 * subscriber is closed and its inbox empty. */
bus_result bus_sub_pop(bus_sub *s, int timeout_ms, bus_msg **out);

/* Publishes payload on topic. from: the publishing subscriber (for the
 * no-local rule and the origin), or NULL with origin_name (may be NULL) for
 * drivers. timestamp_ns 0 stamps the wall clock. On BUS_OK *out_delivered
 * (may be NULL) counts the inboxes that received it. */
bus_result bus_publish(bus *b, const bus_sub *from, const char *origin_name, const char *topic,
                       const void *payload, size_t len, int64_t timestamp_ns,
                       size_t *out_delivered);

#endif
