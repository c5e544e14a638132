/* agent_throughput.c - graftd's message throughput, latency and per-instance
 * memory (issue 5, section 8), over the agent's C API (agent.h, and
 * agent_internal.h for the bus and the per-module envs; read only).
 *
 *   bench_agent_throughput bus  STAGES SECONDS WINDOW
 *   bench_agent_throughput mqtt STAGES SECONDS WINDOW PORT
 *   bench_agent_throughput mem  N K
 *
 * bus:  a producer thread publishes 64-byte QoS-0 messages on "b/in"
 *       straight into the agent's bus; STAGES pass-through modules (1 or 3)
 *       relay b/in -> b/s1 -> b/s2 -> b/out; a sink subscriber on the bus
 *       takes b/out. At most WINDOW messages are in flight (no drops: every
 *       inbox holds more). The payload carries the send time (CLOCK_MONOTONIC,
 *       ASCII digits), so the sink measures end-to-end latency.
 * mqtt: the same through a Mosquitto broker on 127.0.0.1:PORT (started by
 *       bench/agent_bench.sh): a libmosquitto producer publishes b/in, the
 *       agent's bridge imports b/in and exports b/out, a libmosquitto sink
 *       subscribes b/out.
 * mem:  N idle modules, then a reload to N+K; RSS delta / K, and the graft
 *       env accounting of one instance (its linear memory and value stack
 *       reported apart).
 *
 * The agent's threads (module workers, bridge, watchdog) inherit core 0
 * from the main thread; the producer and the sink run on core 1. */
#include <errno.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int run_flow(bool mqtt, int stages, int port)
{
    char mods[4096], broker[512] = "";
    stage_modules(stages, mods, sizeof mods);
    if (mqtt)
        snprintf(broker, sizeof broker,
                 "\n  \"broker\": { \"host\": \"127.0.0.1\", \"port\": %d, \"client_id\": \"graftd-bench\","
                 " \"qos\": 0, \"buffer_messages\": 100000, \"import\": [\"b/in\"], \"export\": [\"b/out\"] },", port);
    char *text = config_text(broker, mods);
    g_lat = malloc(MAX_SAMPLES * sizeof *g_lat);
    if (!g_lat) die("out of memory");
    pin(0);   /* the agent's threads inherit core 0 */
    agent *a = start_agent(text);
    free(text);
    pin(1);
    run_ctx c = { .a = a };
    pthread_t prod, sinkt;
    struct mosquitto *sub = NULL;
    if (mqtt) {
        mosquitto_lib_init();
        c.pub = mosquitto_new("bench-load", true, NULL);
        sub = mosquitto_new("bench-sink", true, NULL);
        if (!c.pub || !sub) die("mosquitto_new");
        mosquitto_connect_callback_set(c.pub, on_connect);
        mosquitto_connect_callback_set(sub, on_connect);
        mosquitto_subscribe_callback_set(sub, on_subscribe);
        mosquitto_message_callback_set(sub, on_mqtt_msg);
        mosquitto_int_option(c.pub, MOSQ_OPT_SEND_MAXIMUM, 65535);
        if (mosquitto_connect(c.pub, "127.0.0.1", port, 30) || mosquitto_connect(sub, "127.0.0.1", port, 30))
            die("cannot connect to the broker");
        mosquitto_loop_start(c.pub);
        mosquitto_loop_start(sub);
        int64_t until = now_ns() + 5000000000;
        while (atomic_load(&g_connected) < 2 && now_ns() < until) usleep(10000);
        mosquitto_subscribe(sub, NULL, "b/out", 0);
        while (!atomic_load(&g_subscribed) && now_ns() < until) usleep(10000);
        if (!atomic_load(&g_subscribed)) die("the sink did not subscribe");
        usleep(500000);   /* the agent's bridge connects and subscribes b/in */
    } else {
        c.sink = bus_sub_new(a->bus, "sink", 1u << 16, 0);
        if (!c.sink || bus_sub_add_filter(c.sink, "b/out") != BUS_OK) die("sink");
        pthread_create(&sinkt, NULL, bus_sink, &c);
        usleep(200000);
    }
    pthread_create(&prod, NULL, bus_producer, &c);
    pthread_join(prod, NULL);
    int64_t until = now_ns() + 3000000000;
    while (atomic_load(&g_recv) < atomic_load(&g_sent) && now_ns() < until) usleep(1000);
    atomic_store(&g_stop, true);
    if (mqtt) {
        mosquitto_disconnect(c.pub);
        mosquitto_disconnect(sub);
        mosquitto_loop_stop(c.pub, true);
        mosquitto_loop_stop(sub, true);
    } else {
        pthread_join(sinkt, NULL);
    }
    uint64_t sent = atomic_load(&g_sent), recv = atomic_load(&g_recv);
    int64_t last = atomic_load(&g_last_recv_ns);
    double secs = (double)((last > c.t1 ? last : c.t1) - c.t0) * 1e-9;
    size_t n = recv < MAX_SAMPLES ? recv : MAX_SAMPLES;
    /* The first 10% are warm-up (module first calls, broker buffers). */
    size_t skip = n / 10;
    qsort(g_lat + skip, n - skip, sizeof *g_lat, cmp_i64);
    double p50 = n > skip ? (double)g_lat[skip + (n - skip) / 2] * 1e-3 : 0;
    double p99 = n > skip ? (double)g_lat[skip + (size_t)((double)(n - skip) * 0.99)] * 1e-3 : 0;
    agent_mod_stats st[8];
    size_t ns = agent_stats(a, st, 8);
    uint64_t dropped = 0, limited = 0;
    for (size_t i = 0; i < ns && i < 8; i++) dropped += st[i].dropped_full, limited += st[i].rate_limited;
    printf("%s stages=%d window=%u: sent %" PRIu64 " received %" PRIu64 " in %.2f s = %.0f msg/s;"
           " latency p50 %.1f us p99 %.1f us; dropped %" PRIu64 " rate_limited %" PRIu64 " bad %" PRIu64 "%s\n",
           mqtt ? "mqtt" : "bus", stages, g_window, sent, recv, secs, (double)recv / secs, p50, p99,
           dropped, limited, atomic_load(&g_bad), c.stalled ? " (STALLED)" : "");
    fflush(stdout);
    if (c.sink) bus_sub_close(c.sink);
    agent_stop(a);
    if (mqtt) {
        mosquitto_destroy(c.pub);
        mosquitto_destroy(sub);
        mosquitto_lib_cleanup();
    }
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
    } else if ((strcmp(argv[1], "bus") == 0 && argc == 5) || (strcmp(argv[1], "mqtt") == 0 && argc == 6)) {
        int stages = atoi(argv[2]);
        if (stages < 1 || stages > 3) goto usage;
        g_seconds = atof(argv[3]);
        g_window = (unsigned)atoi(argv[4]);
        if (g_window < 1) g_window = 1;
        bool mqtt = argv[1][0] == 'm';
        rc = run_flow(mqtt, stages, mqtt ? atoi(argv[5]) : 0);
    } else {
        goto usage;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "note: %s left behind\n", g_dir);
    return rc;
usage:
    fprintf(stderr, "usage: bench_agent_throughput bus STAGES SECONDS WINDOW\n"
                    "       bench_agent_throughput mqtt STAGES SECONDS WINDOW PORT\n"
                    "       bench_agent_throughput mem N K\n");
    return 2;
}
