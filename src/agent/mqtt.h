/* mqtt.h - graftd's MQTT transport: a bridge between the in-process bus and
 * a real broker, through libmosquitto (docs/agent.md, "Broker bridge").
 *
 * Outbound (export): the bridge attaches one bus subscriber named "mqtt"
 * with the config's `export` filters; its forwarding thread pops messages
 * and publishes them to the broker with the config's QoS (0 by default).
 * While the broker is away the forwarder stops popping, so outbound
 * messages wait in that subscriber's bounded inbox (`buffer_messages`,
 * plus at most one the forwarder had already popped when the connection
 * dropped, which it retries first); once the inbox is full the newest are
 * dropped and counted (`dropped`).
 *
 * Inbound (import): on every (re)connect the bridge subscribes at the
 * broker to the config's `import` filters; what arrives is published onto
 * the bus from the bridge's own subscriber, so its origin is "mqtt".
 *
 * Loop prevention: (1) the bus's no-local rule never hands the bridge back
 * what it injected, and the forwarder also skips any message whose origin
 * is the bridge itself (an exact export filter would otherwise defeat the
 * no-local rule); (2) at the broker, MQTT 5 subscriptions carry the
 * no-local option, and with MQTT 3.1.1 (which has no such option) the
 * bridge remembers a short window of what it exported and drops the
 * broker's echo of it when import and export filters overlap.
 *
 * Reconnect: the bridge's network thread reconnects with exponential
 * backoff, doubling from reconnect_min_ms up to reconnect_max_ms, back to
 * the minimum after each successful connect. A refused connection (bad
 * credentials) or a failed attempt is reported through
 * mqtt_bridge_get_stats's last_error and retried with the same backoff; it
 * never ends the agent. Errors that libmosquitto's own loop treats as final
 * (a TLS verification failure, a protocol error) stop the retries until the
 * bridge is rebuilt (a config reload).
 *
 * Threads: the bridge's network thread drives libmosquitto
 * (mosquitto_loop_read/loop_write/loop_misc on its socket, not
 * mosquitto_loop_start) and runs the connect/disconnect/message callbacks;
 * one forwarding thread runs the outbound side and hands batches to the
 * network thread. All the functions below are called from the owner's
 * thread; mqtt_bridge_get_stats and mqtt_bridge_wait_connected may be
 * called from any thread.
 *
 * Ownership: the bridge borrows the bus (which must outlive it) and copies
 * what it needs from the config. mqtt_bridge_free stops both threads,
 * disconnects cleanly and detaches the bus subscriber. */
#ifndef GRAFT_AGENT_MQTT_H
#define GRAFT_AGENT_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"

typedef struct mqtt_bridge mqtt_bridge;

/* The bus subscriber name, and so the origin of every imported message. */
#define MQTT_BRIDGE_ORIGIN "mqtt"

typedef struct mqtt_bridge_stats {
    bool connected;                 /* a CONNACK success and no disconnect since */
    uint64_t connects;              /* successful connections (first and reconnects) */
    uint64_t disconnects;           /* connections lost or closed */
    uint64_t connect_failures;      /* refused or failed attempts */
    uint64_t published;             /* messages handed to the broker (export) */
    uint64_t received;              /* messages from the broker put on the bus (import) */
    uint64_t dropped;               /* export: inbox full, oversize or closed; plus publish errors */
    uint64_t dropped_full;          /* export: of those, dropped because the buffer (inbox) was full */
    uint64_t dropped_inbound;       /* import: refused by the bus (oversize, bad topic) */
    uint64_t dropped_inbound_oversize; /* import: of those, over the bus's maximum message size */
    uint64_t echoes_suppressed;     /* MQTT 3.1.1: broker echoes of our own exports dropped */
    uint64_t loops_suppressed;      /* bus messages of the bridge's own origin not re-exported */
    size_t buffered;                /* outbound messages waiting now (inbox + one in hand) */
    char last_error[160];           /* the last connection error, "" when none */
} mqtt_bridge_stats;

/* Where the bridge reports its connection's changes: a lost connection
 * (warn), each failed attempt (warn, with the next retry's delay), a
 * (re)connect (info, after how many failures and how long down), messages
 * dropped from the outbound buffer and imports over the bus's maximum
 * (warn; the first, then at most one line per MQTT_LOG_EVERY_S with the
 * count since). level is a jlog_level (log.h). Called on the bridge's
 * threads; log must be thread-safe. */
#define MQTT_LOG_EVERY_S 10
typedef struct mqtt_bridge_hooks {
    void (*log)(void *user, int level, const char *msg);   /* NULL: no log */
    void *user;                                             /* for log */
} mqtt_bridge_hooks;

/* Creates the bridge and starts connecting in the background (it does not
 * wait for the broker: an absent broker is retried with backoff). hooks
 * (may be NULL) is copied. NULL with a message in err when the config is
 * unusable (bad filter, TLS files that libmosquitto refuses, out of
 * memory). cfg->enabled is not consulted. */
mqtt_bridge *mqtt_bridge_new(bus *b, const config_broker *cfg, const mqtt_bridge_hooks *hooks, char *err,
                             size_t err_cap);

/* Stops the forwarder and the loop thread, disconnects, frees. NULL is a no-op. */
void mqtt_bridge_free(mqtt_bridge *m);

/* True once connected, false when timeout_ms passed first. */
bool mqtt_bridge_wait_connected(mqtt_bridge *m, int timeout_ms);

void mqtt_bridge_get_stats(mqtt_bridge *m, mqtt_bridge_stats *out);

#endif
