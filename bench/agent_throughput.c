/* agent_throughput.c - graftd's message throughput, latency and per-instance
 * memory (issue 5, section 8), over the agent's C API (agent.h, and
 * agent_internal.h for the bus and the per-module envs; read only).
 *
 *   bench_agent_throughput bus  STAGES SECONDS WINDOW
 *   bench_agent_throughput mqtt STAGES SECONDS WINDOW PORT [raw|mosq]
 *   bench_agent_throughput direct|relay SECONDS WINDOW PORT
 *   bench_agent_throughput mem  N K
 *
 * bus:  a producer thread publishes 64-byte QoS-0 messages on "b/in"
 *       straight into the agent's bus; STAGES pass-through modules (1 or 3)
 *       relay b/in -> b/s1 -> b/s2 -> b/out; a sink subscriber on the bus
 *       takes b/out. At most WINDOW messages are in flight (no drops: every
 *       inbox holds more). The payload carries the send time (CLOCK_MONOTONIC,
 *       ASCII digits), so the sink measures end-to-end latency.
 * mqtt: the same through a Mosquitto broker on 127.0.0.1:PORT (started by
 *       bench/agent_bench.sh): a producer publishes b/in, the agent's bridge
 *       imports b/in and exports b/out, a sink subscribes b/out. GEN picks
 *       the load generator: `raw` (default), our own MQTT 3.1.1 QoS 0 client
 *       below, one thread that refills the window in chunks (an eighth of
 *       it) with one send() per 64 publishes and reads the sink's socket
 *       64 KiB at a time, woken per chunk (SO_RCVLOWAT) rather than per
 *       message, so it costs the broker's core (which it shares) little; or
 *       `mosq`, libmosquitto clients with loop_start (a wake-up and a send
 *       per publish, three reads per received message).
 * direct, relay: the same generator and broker without graftd. direct: the
 *       producer publishes b/out, the sink takes it (two TCP hops; the
 *       broker does half the work of the four-hop runs). relay: a raw
 *       client of ours on core 0 subscribes b/in and republishes what each
 *       read brought on b/out in one send() (the same four hops as mqtt).
 *
 * Every flow also reports the CPU time of the threads pinned to core 0 (the
 * agent's, or the relay's) per message received: a figure that depends
 * less than msg/s on whatever else the machine runs.
 * mem:  N idle modules, then a reload to N+K; RSS delta / K, and the graft
 *       env accounting of one instance (its linear memory and value stack
 *       reported apart).
 *
 * The agent's threads (module workers, bridge, watchdog) inherit core 0
 * from the main thread; the producer and the sink run on core 1. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agent_internal.h"
#include "bus.h"
#include "config.h"
#include "graft.h"

#define PAYLOAD 64
#define MAX_SAMPLES (8u << 20)

static char g_dir[256];
static unsigned g_inbox = 16384;   /* the mem run keeps the default, 256 */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
        fprintf(stderr, "note: cannot pin to cpu %d\n", cpu);
}

static void die(const char *msg)
{
    fprintf(stderr, "bench_agent_throughput: %s\n", msg);
    exit(1);
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) die("cannot write a temp file");
}

/* A pass-through module: every message goes out unchanged on OUT. */
static void make_stage(const char *name, const char *in, const char *out)
{
    char text[2048], file[128], cmd[1024];
    snprintf(text, sizeof text,
             "(module\n"
             "  (import \"iot_v1\" \"publish\" (func $pub (param i32 i32 i32 i32) (result i32)))\n"
             "  (memory (export \"memory\") 1)\n"
             "  (data (i32.const 16) \"%s\")\n"
             "  (func (export \"graft_alloc\") (param i32) (result i32) (i32.const 1024))\n"
             "  (func (export \"on_message\") (param $t i32) (param $tl i32) (param $p i32) (param $pl i32) (result i32)\n"
             "    (call $pub (i32.const 16) (i32.const %zu) (local.get $p) (local.get $pl))))\n",
             out, strlen(out));
    snprintf(file, sizeof file, "%s.wat", name);
    write_file(file, text);
    snprintf(text, sizeof text,
             "{ \"manifest_version\": 1, \"name\": \"%s\", \"version\": \"1.0.0\", \"host_api\": \"iot_v1\",\n"
             "  \"capabilities\": { \"subscribe\": [\"%s\"], \"publish\": [\"%s\"] },\n"
             "  \"limits\": { \"fuel_per_event\": 100000, \"wall_ms_per_event\": 50, \"max_message_bytes\": 256 } }\n",
             name, in, out);
    snprintf(file, sizeof file, "%s.json", name);
    write_file(file, text);
    snprintf(cmd, sizeof cmd, "wat2wasm '%s/%s.wat' -o '%s/%s.wasm'", g_dir, name, g_dir, name);
    if (system(cmd) != 0) die("wat2wasm failed (wabt is needed)");
}

/* An idle module: one page of memory, an on_message it never gets. */
static void make_idle(void)
{
    write_file("idle.wat", "(module (memory (export \"memory\") 1)\n"
                           "  (func (export \"graft_alloc\") (param i32) (result i32) (i32.const 1024))\n"
                           "  (func (export \"on_message\") (param i32 i32 i32 i32) (result i32) (i32.const 0)))\n");
    write_file("idle.json", "{ \"manifest_version\": 1, \"name\": \"idle\", \"version\": \"1.0.0\", \"host_api\": \"iot_v1\",\n"
                            "  \"capabilities\": { \"subscribe\": [\"idle/#\"] },\n"
                            "  \"limits\": { \"memory_bytes\": 65536 } }\n");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "wat2wasm '%s/idle.wat' -o '%s/idle.wasm'", g_dir, g_dir);
    if (system(cmd) != 0) die("wat2wasm failed (wabt is needed)");
}

static char *config_text(const char *broker, const char *modules)
{
    size_t cap = strlen(modules) + 4096;
    char *s = malloc(cap);
    if (!s) die("out of memory");
    snprintf(s, cap,
             "{ \"config_version\": 1,\n"
             "  \"agent\": { \"log_level\": \"warn\", \"inbox_messages\": %u,\n"
             "             \"publish_rate_per_s\": 10000000, \"publish_burst\": 10000000 },\n"
             "  \"http\": { \"enabled\": false }, \"state_dir\": \"%s/state\",%s\n"
             "  \"drivers\": [], \"modules\": [ %s ] }\n",
             g_inbox, g_dir, broker, modules);
    return s;
}

static agent *start_agent(const char *text)
{
    config cfg;
    char err[2048];
    if (!config_parse_string(text, strlen(text), "bench", g_dir, &cfg, err, sizeof err)) die(err);
    agent_options opt = { .log_level = 2 };
    agent *a;
    if (!agent_start(&cfg, &opt, &a, err, sizeof err)) die(err);
    return a;
}

/* ---- load generator and sink --------------------------------------------- */

static _Atomic uint64_t g_sent, g_recv, g_bad;
static _Atomic int64_t g_last_recv_ns;
static int64_t *g_lat;
static unsigned g_window;
static double g_seconds;
static _Atomic bool g_stop;

static void fill(char *buf, uint64_t seq)
{
    memset(buf, 'x', PAYLOAD);
    char head[48];
    int n = snprintf(head, sizeof head, "%020" PRId64 " %010" PRIu64, now_ns(), seq);
    memcpy(buf, head, (size_t)n);
}

static void received(const void *payload, size_t len)
{
    int64_t t = now_ns();
    if (len != PAYLOAD) { atomic_fetch_add(&g_bad, 1); return; }
    char head[21];
    memcpy(head, payload, 20);
    head[20] = 0;
    int64_t sent = strtoll(head, NULL, 10);
    uint64_t i = atomic_fetch_add(&g_recv, 1);
    if (i < MAX_SAMPLES) g_lat[i] = t - sent;
    atomic_store(&g_last_recv_ns, t);
}

/* Waits until fewer than g_window are in flight; false after 2 s stuck. */
static bool window_wait(void)
{
    int64_t since = 0;
    while (atomic_load(&g_sent) - atomic_load(&g_recv) >= g_window) {
        if (!since) since = now_ns();
        else if (now_ns() - since > 2000000000) return false;
        sched_yield();
    }
    return true;
}

typedef struct run_ctx {
    agent *a;
    struct mosquitto *pub;
    bus_sub *sink;
    int64_t t0, t1;
    bool stalled;
} run_ctx;

static void *bus_producer(void *arg)
{
    run_ctx *c = arg;
    pin(1);
    char buf[PAYLOAD];
    c->t0 = now_ns();
    int64_t end = c->t0 + (int64_t)(g_seconds * 1e9);
    for (uint64_t seq = 0; now_ns() < end; seq++) {
        if (!window_wait()) { c->stalled = true; break; }
        fill(buf, seq);
        atomic_fetch_add(&g_sent, 1);
        if (c->pub) {
            if (mosquitto_publish(c->pub, NULL, "b/in", PAYLOAD, buf, 0, false) != MOSQ_ERR_SUCCESS) {
                atomic_fetch_sub(&g_sent, 1);
                sched_yield();
            }
        } else if (bus_publish(c->a->bus, NULL, "bench", "b/in", buf, PAYLOAD, 0, NULL) != BUS_OK) {
            atomic_fetch_sub(&g_sent, 1);
        }
    }
    c->t1 = now_ns();
    return NULL;
}

static void *bus_sink(void *arg)
{
    run_ctx *c = arg;
    pin(1);
    while (!atomic_load(&g_stop)) {
        bus_msg *m;
        if (bus_sub_pop(c->sink, 50, &m) != BUS_OK) continue;
        received(m->payload, m->payload_len);
        bus_msg_release(m);
    }
    return NULL;
}

static void on_mqtt_msg(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
    (void)m, (void)u;
    received(msg->payload, (size_t)msg->payloadlen);
}

static _Atomic int g_connected;
static void on_connect(struct mosquitto *m, void *u, int rc)
{
    (void)m, (void)u;
    if (rc == 0) atomic_fetch_add(&g_connected, 1);
}
static _Atomic int g_subscribed;
static void on_subscribe(struct mosquitto *m, void *u, int mid, int n, const int *q)
{
    (void)m, (void)u, (void)mid, (void)n, (void)q;
    atomic_store(&g_subscribed, 1);
}

/* ---- a lean MQTT 3.1.1 QoS 0 client (load generator, sink, relay) --------- */

/* What a benchmark client needs and no more: CONNECT without keepalive,
 * SUBSCRIBE at QoS 0, PUBLISH at QoS 0 written in batches, and a parser of
 * whole reads. Blocking sockets; errors end the benchmark. [MQTT 3.1.1 3.1,
 * 3.3, 3.8] */
#define RAW_BUF (1u << 16)
#define RAW_BATCH 64                   /* publishes per send() at most */
#define SINK_WAIT_US 500               /* the sink's longest wait for a chunk */

typedef struct raw_conn {
    int fd;
    unsigned char in[RAW_BUF];         /* bytes read and not yet parsed */
    size_t in_len;
} raw_conn;

static void write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("send to the broker failed");
        p += n, len -= (size_t)n;
    }
}

static size_t put_varint(unsigned char *p, size_t v)
{
    size_t n = 0;
    do {
        p[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) p[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

static size_t put_str(unsigned char *p, const char *s)
{
    size_t len = strlen(s);
    p[0] = (unsigned char)(len >> 8), p[1] = (unsigned char)len;
    memcpy(p + 2, s, len);
    return len + 2;
}

/* One PUBLISH, QoS 0, into out (room for 5 + 2 + topic + len bytes). */
static size_t put_publish(unsigned char *out, const char *topic, const void *payload, size_t len)
{
    size_t tlen = strlen(topic);
    size_t n = 0;
    out[n++] = 0x30;
    n += put_varint(out + n, 2 + tlen + len);
    n += put_str(out + n, topic);
    memcpy(out + n, payload, len);
    return n + len;
}

/* Reads until one whole packet of type `type` (high nibble) is in c->in,
 * then drops it; for CONNACK and SUBACK during setup. */
static void raw_expect(raw_conn *c, unsigned type, const char *what)
{
    while (c->in_len < 2 || c->in_len < 2u + c->in[1]) {
        ssize_t n = recv(c->fd, c->in + c->in_len, RAW_BUF - c->in_len, 0);
        if (n <= 0) die(what);
        c->in_len += (size_t)n;
    }
    size_t plen = 2u + c->in[1];
    if ((c->in[0] >> 4) != type || (type == 2 && c->in[3] != 0) || (type == 9 && c->in[plen - 1] > 2))
        die(what);
    memmove(c->in, c->in + plen, c->in_len - plen);
    c->in_len -= plen;
}

/* One setup packet: the fixed header (first byte, remaining length), then
 * body (at most 120 bytes). */
static void raw_send(raw_conn *c, unsigned char first, const unsigned char *body, size_t len)
{
    unsigned char p[128];
    if (len > sizeof p - 5) die("setup packet too long");
    size_t n = 0;
    p[n++] = first;
    n += put_varint(p + n, len);
    memcpy(p + n, body, len);
    write_all(c->fd, p, n + len);
}

static void raw_open(raw_conn *c, int port, const char *client_id)
{
    c->in_len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("cannot connect to the broker");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (strlen(client_id) > 64) die("client id too long");
    unsigned char body[120];
    size_t b = put_str(body, "MQTT");
    body[b++] = 4;                     /* protocol level 3.1.1 */
    body[b++] = 0x02;                  /* clean session */
    body[b++] = 0, body[b++] = 0;      /* keepalive off */
    b += put_str(body + b, client_id);
    raw_send(c, 0x10, body, b);
    raw_expect(c, 2, "no CONNACK from the broker");
}

static void raw_subscribe(raw_conn *c, const char *filter)
{
    if (strlen(filter) > 64) die("filter too long");
    unsigned char body[120];
    size_t b = 0;
    body[b++] = 0, body[b++] = 1;      /* packet identifier */
    b += put_str(body + b, filter);
    body[b++] = 0;                     /* QoS 0 */
    raw_send(c, 0x82, body, b);
    raw_expect(c, 9, "no SUBACK from the broker");
}

typedef void raw_publish_fn(void *ctx, const unsigned char *topic, size_t tlen,
                            const unsigned char *payload, size_t len);

/* One read (waiting up to timeout_us), then every whole packet in the
 * buffer: PUBLISHes go to fn, anything else is skipped. False on EOF. */
static bool raw_pump(raw_conn *c, long timeout_us, raw_publish_fn *fn, void *ctx)
{
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    struct timespec ts = { timeout_us / 1000000, timeout_us % 1000000 * 1000 };
    if (ppoll(&pfd, 1, &ts, NULL) < 0) return true;
    ssize_t got = recv(c->fd, c->in + c->in_len, RAW_BUF - c->in_len, MSG_DONTWAIT);
    if (got == 0) return false;
    if (got < 0) return errno == EAGAIN || errno == EINTR;
    c->in_len += (size_t)got;
    size_t pos = 0;
    for (;;) {
        size_t rl = 0, hl = 1;
        unsigned shift = 0;
        for (;;) {                     /* the remaining length, 1-4 bytes */
            if (pos + hl >= c->in_len) goto partial;
            unsigned char d = c->in[pos + hl++];
            rl |= (size_t)(d & 0x7f) << shift;
            shift += 7;
            if (!(d & 0x80)) break;
            if (hl > 4) die("malformed packet from the broker");
        }
        if (pos + hl + rl > c->in_len) goto partial;
        const unsigned char *p = c->in + pos + hl;
        if ((c->in[pos] >> 4) == 3 && rl >= 2) {  /* PUBLISH; QoS 0 has no packet id */
            size_t tlen = (size_t)p[0] << 8 | p[1];
            if (2 + tlen <= rl) fn(ctx, p + 2, tlen, p + 2 + tlen, rl - 2 - tlen);
        }
        pos += hl + rl;
    }
partial:
    if (pos == 0 && c->in_len == RAW_BUF) die("packet larger than the read buffer");
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return true;
}

/* The raw generator is one thread: it publishes while fewer than WINDOW are
 * in flight and reads the sink's socket, so no wake-up passes between a
 * producer and a sink. It refills in chunks (an eighth of the window at
 * least) so that a send() carries several publishes. */
static void on_raw_sink(void *ctx, const unsigned char *topic, size_t tlen,
                        const unsigned char *payload, size_t len)
{
    (void)ctx, (void)topic, (void)tlen;
    received(payload, len);
}

typedef struct raw_gen {
    int port;
    const char *topic;                 /* what the producer publishes */
    int64_t t0, t1;
    bool stalled;
} raw_gen;

static void raw_send_batch(raw_conn *pub, const char *topic, uint64_t count)
{
    static unsigned char out[RAW_BATCH * (PAYLOAD + 64)];
    while (count) {
        size_t n = 0, k = count < RAW_BATCH ? (size_t)count : RAW_BATCH;
        for (size_t i = 0; i < k; i++) {
            char buf[PAYLOAD];
            fill(buf, atomic_load(&g_sent) + i);
            n += put_publish(out + n, topic, buf, PAYLOAD);
        }
        atomic_fetch_add(&g_sent, k);
        write_all(pub->fd, out, n);
        count -= k;
    }
}

static void *raw_gen_main(void *arg)
{
    raw_gen *g = arg;
    pin(1);
    static raw_conn pub, sink;
    raw_open(&pub, g->port, "bench-load");
    raw_open(&sink, g->port, "bench-sink");
    raw_subscribe(&sink, "b/out");
    /* The sink wakes for a chunk of messages (SO_RCVLOWAT), or after
     * SINK_WAIT_US with what has come: woken per message it would preempt
     * the broker on their shared core once per message. */
    uint64_t chunk = g_window / 8 ? g_window / 8 : 1;
    int lowat = (int)chunk * (2 + 2 + 5 + PAYLOAD);   /* one b/out PUBLISH: header, topic, payload */
    long wait_us = chunk > 1 ? SINK_WAIT_US : 50000;
    if (chunk > 1 && setsockopt(sink.fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat) != 0)
        die("SO_RCVLOWAT");
    usleep(500000);                    /* the agent's bridge connects and subscribes b/in */
    g->t0 = now_ns();
    int64_t end = g->t0 + (int64_t)(g_seconds * 1e9), progress = g->t0;
    uint64_t last_recv = 0;
    for (;;) {
        int64_t t = now_ns();
        uint64_t sent = atomic_load(&g_sent), recv = atomic_load(&g_recv);
        if (t >= end && !g->t1) g->t1 = t;
        if (g->t1 && (recv >= sent || t - g->t1 > 3000000000)) break;
        if (recv != last_recv) last_recv = recv, progress = t;
        else if (t - progress > 2000000000) { g->stalled = true; if (!g->t1) g->t1 = t; break; }
        if (!g->t1 && g_window - (sent - recv) >= chunk) raw_send_batch(&pub, g->topic, g_window - (sent - recv));
        if (!raw_pump(&sink, wait_us, on_raw_sink, NULL)) die("the broker closed the sink's connection");
    }
    close(pub.fd);
    close(sink.fd);
    return NULL;
}

/* The no-graftd relay: b/in -> b/out, everything one read brought in one send(). */
typedef struct relay_out {
    int fd;
    unsigned char buf[2 * RAW_BUF];
    size_t len;
} relay_out;

static void on_relay(void *ctx, const unsigned char *topic, size_t tlen,
                     const unsigned char *payload, size_t len)
{
    (void)topic, (void)tlen;
    relay_out *o = ctx;
    if (o->len + len + 16 > sizeof o->buf) {
        write_all(o->fd, o->buf, o->len);
        o->len = 0;
    }
    if (len + 16 > sizeof o->buf) die("relay: message too large");
    o->len += put_publish(o->buf + o->len, "b/out", payload, len);
}

static void *relay_main(void *arg)
{
    int port = *(int *)arg;
    pin(0);
    static raw_conn in;
    static relay_out out;
    raw_open(&in, port, "bench-relay");
    raw_subscribe(&in, "b/in");
    out.fd = in.fd;
    while (!atomic_load(&g_stop)) {
        if (!raw_pump(&in, 50000, on_relay, &out)) break;
        if (out.len) write_all(out.fd, out.buf, out.len);
        out.len = 0;
    }
    close(in.fd);
    return NULL;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static void stage_modules(int stages, char *out, size_t cap)
{
    static const char *const topics[] = { "b/in", "b/s1", "b/s2", "b/out" };
    out[0] = 0;
    for (int i = 0; i < stages; i++) {
        char name[16];
        snprintf(name, sizeof name, "stage%d", i + 1);
        const char *in = topics[i], *o = i == stages - 1 ? "b/out" : topics[i + 1];
        make_stage(name, in, o);
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s{ \"name\": \"%s\", \"wasm\": \"%s.wasm\", \"grants\": "
                 "{ \"subscribe\": [\"%s\"], \"publish\": [\"%s\"] } }", i ? ", " : "", name, name, in, o);
    }
}

/* CPU time (user + system, clock ticks) of this process's threads pinned
 * to core 0 alone: the agent's, or the relay's. */
static long core0_ticks(void)
{
    long sum = 0;
    char path[300], line[1024];
    DIR *d = opendir("/proc/self/task");
    for (struct dirent *e; d && (e = readdir(d)) != NULL; ) {
        int tid = atoi(e->d_name);
        cpu_set_t set;
        if (tid <= 0)
            continue;
        if (sched_getaffinity(tid, sizeof set, &set) != 0 || CPU_COUNT(&set) != 1 || !CPU_ISSET(0, &set))
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
        FILE *f = fopen(path, "r");
        if (f && fgets(line, sizeof line, f)) {
            const char *p = strrchr(line, ')');
            unsigned long ut = 0, st = 0;
            /* after the comm: state and 10 more fields, then utime, stime */
            if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
                sum += (long)(ut + st);
        }
        if (f) fclose(f);
    }
    if (d) closedir(d);
    return sum;
}

typedef enum flow { FLOW_BUS, FLOW_MQTT, FLOW_DIRECT, FLOW_RELAY } flow;

/* The libmosquitto load generator (GEN mosq): a producer thread and a sink,
 * each client with its own loop thread, on core 1. */
static void mosq_gen_start(run_ctx *c, struct mosquitto **out_sub, int port)
{
    mosquitto_lib_init();
    c->pub = mosquitto_new("bench-load", true, NULL);
    struct mosquitto *sub = mosquitto_new("bench-sink", true, NULL);
    if (!c->pub || !sub) die("mosquitto_new");
    mosquitto_connect_callback_set(c->pub, on_connect);
    mosquitto_connect_callback_set(sub, on_connect);
    mosquitto_subscribe_callback_set(sub, on_subscribe);
    mosquitto_message_callback_set(sub, on_mqtt_msg);
    mosquitto_int_option(c->pub, MOSQ_OPT_SEND_MAXIMUM, 65535);
    if (mosquitto_connect(c->pub, "127.0.0.1", port, 30) || mosquitto_connect(sub, "127.0.0.1", port, 30))
        die("cannot connect to the broker");
    mosquitto_loop_start(c->pub);
    mosquitto_loop_start(sub);
    int64_t until = now_ns() + 5000000000;
    while (atomic_load(&g_connected) < 2 && now_ns() < until) usleep(10000);
    mosquitto_subscribe(sub, NULL, "b/out", 0);
    while (!atomic_load(&g_subscribed) && now_ns() < until) usleep(10000);
    if (!atomic_load(&g_subscribed)) die("the sink did not subscribe");
    usleep(500000);   /* the agent's bridge connects and subscribes b/in */
    *out_sub = sub;
}

static void mosq_gen_stop(run_ctx *c, struct mosquitto *sub)
{
    mosquitto_disconnect(c->pub);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(c->pub, true);
    mosquitto_loop_stop(sub, true);
    mosquitto_destroy(c->pub);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
}

static const char *const flow_names[] = { "bus", "mqtt", "direct", "relay" };

static int run_flow(flow kind, int stages, int port, bool raw)
{
    char *text = NULL;
    if (kind == FLOW_BUS || kind == FLOW_MQTT) {
        char mods[4096], broker[512] = "";
        stage_modules(stages, mods, sizeof mods);
        if (kind == FLOW_MQTT)
            snprintf(broker, sizeof broker,
                     "\n  \"broker\": { \"host\": \"127.0.0.1\", \"port\": %d, \"client_id\": \"graftd-bench\","
                     " \"qos\": 0, \"buffer_messages\": 100000, \"import\": [\"b/in\"], \"export\": [\"b/out\"] },", port);
        text = config_text(broker, mods);
    }
    g_lat = malloc(MAX_SAMPLES * sizeof *g_lat);
    if (!g_lat) die("out of memory");
    agent *a = NULL;
    pthread_t relay;
    if (text) {
        pin(0);   /* the agent's threads inherit core 0 */
        a = start_agent(text);
        free(text);
    } else if (kind == FLOW_RELAY) {
        pthread_create(&relay, NULL, relay_main, &port);
    }
    pin(1);
    run_ctx c = { .a = a };
    raw_gen g = { .port = port, .topic = kind == FLOW_DIRECT ? "b/out" : "b/in" };
    pthread_t prod, sinkt;
    struct mosquitto *sub = NULL;
    if (kind == FLOW_BUS) {
        c.sink = bus_sub_new(a->bus, "sink", 1u << 16, 0);
        if (!c.sink || bus_sub_add_filter(c.sink, "b/out") != BUS_OK) die("sink");
        pthread_create(&sinkt, NULL, bus_sink, &c);
        usleep(200000);
    } else if (!raw) {
        mosq_gen_start(&c, &sub, port);
    }
    long ticks0 = core0_ticks();
    if (kind != FLOW_BUS && raw) {
        pthread_create(&prod, NULL, raw_gen_main, &g);
        pthread_join(prod, NULL);
        c.t0 = g.t0, c.t1 = g.t1, c.stalled = g.stalled;
    } else {
        pthread_create(&prod, NULL, bus_producer, &c);
        pthread_join(prod, NULL);
        int64_t until = now_ns() + 3000000000;
        while (atomic_load(&g_recv) < atomic_load(&g_sent) && now_ns() < until) usleep(1000);
    }
    long ticks = core0_ticks() - ticks0;
    atomic_store(&g_stop, true);
    if (kind == FLOW_BUS)
        pthread_join(sinkt, NULL);
    else if (!raw)
        mosq_gen_stop(&c, sub);
    if (kind == FLOW_RELAY)
        pthread_join(relay, NULL);
    uint64_t sent = atomic_load(&g_sent), recv = atomic_load(&g_recv);
    int64_t last = atomic_load(&g_last_recv_ns);
    double secs = (double)((last > c.t1 ? last : c.t1) - c.t0) * 1e-9;
    size_t n = recv < MAX_SAMPLES ? recv : MAX_SAMPLES;
    /* The first 10% are warm-up (module first calls, broker buffers). */
    size_t skip = n / 10;
    qsort(g_lat + skip, n - skip, sizeof *g_lat, cmp_i64);
    double p50 = n > skip ? (double)g_lat[skip + (n - skip) / 2] * 1e-3 : 0;
    double p99 = n > skip ? (double)g_lat[skip + (size_t)((double)(n - skip) * 0.99)] * 1e-3 : 0;
    uint64_t dropped = 0, limited = 0;
    if (a) {
        agent_mod_stats st[8];
        size_t ns = agent_stats(a, st, 8);
        for (size_t i = 0; i < ns && i < 8; i++) dropped += st[i].dropped_full, limited += st[i].rate_limited;
    }
    char what[64];
    if (kind == FLOW_BUS || kind == FLOW_MQTT)
        snprintf(what, sizeof what, "%s stages=%d", flow_names[kind], stages);
    else
        snprintf(what, sizeof what, "%s (no agent)", flow_names[kind]);
    double core0_us = recv ? (double)ticks * 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)recv : 0;
    printf("%s%s window=%u: sent %" PRIu64 " received %" PRIu64 " in %.2f s = %.0f msg/s;"
           " latency p50 %.1f us p99 %.1f us; core 0 CPU %.1f us/msg; dropped %" PRIu64
           " rate_limited %" PRIu64 " bad %" PRIu64 "%s\n",
           what, kind == FLOW_BUS ? "" : raw ? " gen=raw" : " gen=mosq", g_window, sent, recv, secs,
           (double)recv / secs, p50, p99, core0_us, dropped, limited, atomic_load(&g_bad),
           c.stalled ? " (STALLED)" : "");
    fflush(stdout);
    if (c.sink) bus_sub_close(c.sink);
    if (a) agent_stop(a);
    free(g_lat);
    return recv == sent ? 0 : 1;
}

/* ---- memory per idle instance -------------------------------------------- */

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

static char *idle_modules(int n)
{
    size_t cap = (size_t)n * 200 + 16;
    char *s = malloc(cap);
    if (!s) die("out of memory");
    s[0] = 0;
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s{ \"name\": \"idle%d\", \"wasm\": \"idle.wasm\", \"grants\": "
                                "{ \"subscribe\": [\"idle/%d\"] } }", i ? ", " : "", i, i);
    return s;
}

static int run_mem(int n, int k)
{
    make_idle();
    g_inbox = 256;
    char *mods = idle_modules(n);
    char *text = config_text("", mods);
    agent *a = start_agent(text);
    free(mods), free(text);
    usleep(500000);
    long r0 = rss_kib();
    mods = idle_modules(n + k);
    text = config_text("", mods);
    config cfg;
    char err[2048];
    if (!config_parse_string(text, strlen(text), "bench", g_dir, &cfg, err, sizeof err)) die(err);
    if (!agent_reload(a, &cfg, err, sizeof err)) die(err);
    free(mods), free(text);
    usleep(500000);
    long r1 = rss_kib();
    size_t count = 0, in_use = 0, lo = (size_t)-1, hi = 0;
    pthread_mutex_lock(&a->mods_mu);
    for (agent_mod *m = a->mods; m; m = m->next) {
        graft_alloc_stats s;
        graft_env_stats(m->env, &s);
        count++, in_use += s.in_use;
        if (s.in_use < lo) lo = s.in_use;
        if (s.in_use > hi) hi = s.in_use;
    }
    pthread_mutex_unlock(&a->mods_mu);
    agent_mod_stats st[1];
    agent_stats(a, st, 1);
    printf("mem: %d idle modules -> %d: RSS %ld KiB -> %ld KiB, %.1f KiB per added instance (RSS, all of it)\n",
           n, n + k, r0, r1, (double)(r1 - r0) / k);
    size_t mean = count ? in_use / count : 0;
    printf("mem: %zu instances running; graft env in_use per instance: mean %zu B (min %zu, max %zu)\n"
           "mem:   of which linear memory 65536 B (1 page), value stack 0 B (graft__store_stack allocates it"
           " on the first call; an idle instance has had none)\n"
           "mem:   beyond linear memory and stack: %zu B = %.1f KiB (goal < 64 KiB)\n",
           count, mean, lo, hi, mean - 65536, (double)(mean - 65536) / 1024);
    agent_stop(a);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) goto usage;
    snprintf(g_dir, sizeof g_dir, "/tmp/graft-abench.XXXXXX");
    if (!mkdtemp(g_dir)) die("mkdtemp");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/state'", g_dir);
    if (system(cmd) != 0) die("mkdir");
    int rc;
    if (strcmp(argv[1], "mem") == 0 && argc == 4) {
        rc = run_mem(atoi(argv[2]), atoi(argv[3]));
    } else if ((strcmp(argv[1], "bus") == 0 && argc == 5) ||
               (strcmp(argv[1], "mqtt") == 0 && (argc == 6 || argc == 7))) {
        int stages = atoi(argv[2]);
        if (stages < 1 || stages > 3) goto usage;
        g_seconds = atof(argv[3]);
        g_window = (unsigned)atoi(argv[4]);
        if (g_window < 1) g_window = 1;
        bool mqtt = argv[1][0] == 'm';
        bool raw = argc < 7 || strcmp(argv[6], "mosq") != 0;
        if (argc == 7 && raw && strcmp(argv[6], "raw") != 0) goto usage;
        rc = run_flow(mqtt ? FLOW_MQTT : FLOW_BUS, stages, mqtt ? atoi(argv[5]) : 0, raw);
    } else if ((strcmp(argv[1], "direct") == 0 || strcmp(argv[1], "relay") == 0) && argc == 5) {
        g_seconds = atof(argv[2]);
        g_window = (unsigned)atoi(argv[3]);
        if (g_window < 1) g_window = 1;
        rc = run_flow(argv[1][0] == 'd' ? FLOW_DIRECT : FLOW_RELAY, 1, atoi(argv[4]), true);
    } else {
        goto usage;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "note: %s left behind\n", g_dir);
    return rc;
usage:
    fprintf(stderr, "usage: bench_agent_throughput bus STAGES SECONDS WINDOW\n"
                    "       bench_agent_throughput mqtt STAGES SECONDS WINDOW PORT [raw|mosq]\n"
                    "       bench_agent_throughput direct|relay SECONDS WINDOW PORT\n"
                    "       bench_agent_throughput mem N K\n");
    return 2;
}
