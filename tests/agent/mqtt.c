/* tests/agent/mqtt.c - the MQTT bridge against a real Mosquitto broker on a
 * free loopback port: bus -> broker, broker -> bus, no echo loop (MQTT 3.1.1
 * and 5), username/password accepted and refused, the broker killed and
 * restarted on the same port (reconnect, buffering up to the bound, drops
 * counted), a burst of 3000 each way (all delivered, in order), TLS with a CA and server certificate made by openssl (and a
 * foreign CA refused).
 *
 * Brokers run as child processes (/usr/sbin/mosquitto -c CONF) from a temp
 * dir; a port that turns out taken is retried with another. Every child is
 * stopped in the test's cleanup path and also dies with the test process
 * (PR_SET_PDEATHSIG), so no broker outlives a failing run. Every wait is
 * bounded. A plain libmosquitto client plays the other side. */
#include "harness.h"

#include "bus.h"
#include "mqtt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MOSQUITTO_BIN "/usr/sbin/mosquitto"
#define WAIT_MS 5000

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a broker child process ------------------------------------------------ */

typedef struct broker {
    pid_t pid;                 /* 0: not running */
    int port;
    char dir[64];              /* temp dir: conf, log, password file, persistence */
    char conf[128];
    char extra[512];           /* appended to the conf */
} broker;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fputs(text, f);
    return fclose(f) == 0;
}

static pid_t spawn_broker(const broker *bk)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char log[128];
        snprintf(log, sizeof log, "%s/broker.log", bk->dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(MOSQUITTO_BIN, "mosquitto", "-c", bk->conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Starts the broker on bk->port; false when it exited (port taken) or never listened. */
static bool broker_try(broker *bk)
{
    /* "user": run as we do (a root broker would otherwise drop to the
     * mosquitto user, which cannot read our temp dir). */
    struct passwd *pw = getpwuid(getuid());
    char text[1024];
    snprintf(text, sizeof text, "listener %d 127.0.0.1\nuser %s\n%s", bk->port,
             pw ? pw->pw_name : "root", bk->extra);
    if (!write_file(bk->conf, text))
        return false;
    bk->pid = spawn_broker(bk);
    if (bk->pid < 0) {
        bk->pid = 0;
        return false;
    }
    for (int64_t until = mono_ms() + 3000; mono_ms() < until; sleep_ms(20)) {
        if (waitpid(bk->pid, NULL, WNOHANG) == bk->pid) {
            bk->pid = 0;
            return false;
        }
        if (port_accepts(bk->port))
            return true;
    }
    kill(bk->pid, SIGKILL);
    waitpid(bk->pid, NULL, 0);
    bk->pid = 0;
    return false;
}

static void broker_stop(broker *bk)
{
    if (bk->pid <= 0)
        return;
    kill(bk->pid, SIGTERM);
    for (int64_t until = mono_ms() + 3000; mono_ms() < until; sleep_ms(10))
        if (waitpid(bk->pid, NULL, WNOHANG) == bk->pid) {
            bk->pid = 0;
            return;
        }
    kill(bk->pid, SIGKILL);
    waitpid(bk->pid, NULL, 0);
    bk->pid = 0;
}

/* Restarts on the same port, retrying while the old socket lingers. */
static bool broker_restart(broker *bk)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        if (broker_try(bk))
            return true;
        sleep_ms(200);
    }
    return false;
}

/* A fresh temp dir and a free port (retried up to 5 ports when taken). */
static bool broker_start(broker *bk, const char *extra)
{
    memset(bk, 0, sizeof *bk);
    snprintf(bk->dir, sizeof bk->dir, "/tmp/graft-mqtt-XXXXXX");
    if (!mkdtemp(bk->dir))
        return false;
    snprintf(bk->conf, sizeof bk->conf, "%s/mosquitto.conf", bk->dir);
    snprintf(bk->extra, sizeof bk->extra, "%s", extra);
    for (int attempt = 0; attempt < 5; attempt++) {
        bk->port = free_port();
        if (bk->port > 0 && broker_try(bk))
            return true;
    }
    return false;
}

static void broker_cleanup(broker *bk)
{
    broker_stop(bk);
    if (bk->dir[0] && harness_failed) {             /* show the broker's side of a failure */
        char cmd[160];
        snprintf(cmd, sizeof cmd, "tail -n 20 '%s/broker.log' >&2", bk->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "no broker log\n");
    }
    if (bk->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", bk->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", bk->dir);
    }
}

/* ---- a plain libmosquitto test client -------------------------------------- */

#define TC_MAX 64

typedef struct tclient {
    struct mosquitto *mosq;
    pthread_mutex_t lock;
    int n;
    char topic[TC_MAX][64];
    char payload[TC_MAX][64];
    int subacks;
    bool connected;
} tclient;

static void tc_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    tclient *tc = obj;
    pthread_mutex_lock(&tc->lock);
    if (tc->n < TC_MAX) {
        snprintf(tc->topic[tc->n], sizeof tc->topic[0], "%s", msg->topic);
        snprintf(tc->payload[tc->n], sizeof tc->payload[0], "%.*s", msg->payloadlen,
                 (const char *)msg->payload);
        tc->n++;
    }
    pthread_mutex_unlock(&tc->lock);
}

static void tc_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *q)
{
    (void)mosq, (void)mid, (void)n, (void)q;
    tclient *tc = obj;
    pthread_mutex_lock(&tc->lock);
    tc->subacks++;
    pthread_mutex_unlock(&tc->lock);
}

static void tc_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    tclient *tc = obj;
    pthread_mutex_lock(&tc->lock);
    tc->connected = rc == 0;
    pthread_mutex_unlock(&tc->lock);
}

static bool tc_open(tclient *tc, int port, const char *id, bool clean)
{
    memset(tc, 0, sizeof *tc);
    pthread_mutex_init(&tc->lock, NULL);
    tc->mosq = mosquitto_new(id, clean, tc);
    if (!tc->mosq)
        return false;
    mosquitto_message_callback_set(tc->mosq, tc_on_message);
    mosquitto_subscribe_callback_set(tc->mosq, tc_on_subscribe);
    mosquitto_connect_callback_set(tc->mosq, tc_on_connect);
    mosquitto_reconnect_delay_set(tc->mosq, 1, 1, false);
    if (mosquitto_connect(tc->mosq, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS)
        return false;
    return mosquitto_loop_start(tc->mosq) == MOSQ_ERR_SUCCESS;
}

static void tc_close(tclient *tc)
{
    if (!tc->mosq)
        return;
    mosquitto_disconnect(tc->mosq);
    mosquitto_loop_stop(tc->mosq, false);
    mosquitto_destroy(tc->mosq);
    tc->mosq = NULL;
    pthread_mutex_destroy(&tc->lock);
}

static int tc_subacks(tclient *tc)
{
    pthread_mutex_lock(&tc->lock);
    int n = tc->subacks;
    pthread_mutex_unlock(&tc->lock);
    return n;
}

static bool tc_subscribe(tclient *tc, const char *filter, int qos)
{
    int before = tc_subacks(tc);
    if (mosquitto_subscribe(tc->mosq, NULL, filter, qos) != MOSQ_ERR_SUCCESS)
        return false;
    for (int64_t until = mono_ms() + WAIT_MS; mono_ms() < until; sleep_ms(10))
        if (tc_subacks(tc) > before)
            return true;
    return false;
}

static int tc_count(tclient *tc, const char *topic)
{
    pthread_mutex_lock(&tc->lock);
    int c = 0;
    for (int i = 0; i < tc->n; i++)
        c += strcmp(tc->topic[i], topic) == 0;
    pthread_mutex_unlock(&tc->lock);
    return c;
}

static bool tc_wait(tclient *tc, const char *topic, int count, int ms)
{
    for (int64_t until = mono_ms() + ms; mono_ms() < until; sleep_ms(10))
        if (tc_count(tc, topic) >= count)
            return true;
    return tc_count(tc, topic) >= count;
}

/* ---- helpers over the bridge and the bus ----------------------------------- */

static void broker_config(config_broker *c, int port, int protocol)
{
    memset(c, 0, sizeof *c);
    c->enabled = true;
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = (uint32_t)port;
    c->protocol = (uint32_t)protocol;
    c->keepalive_s = 30;
    c->reconnect_min_ms = 100;
    c->reconnect_max_ms = 1000;
    c->buffer_messages = 100;
}

static void strlist_free(iot_strlist *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static void config_broker_clear(config_broker *c)
{
    strlist_free(&c->import);
    strlist_free(&c->export_);
}

static void stats(mqtt_bridge *m, mqtt_bridge_stats *s) { mqtt_bridge_get_stats(m, s); }

/* Pops every message on the subscriber within ms; counts those on topic
 * (and checks their origin when origin is not NULL). */
static int pop_count(bus_sub *s, const char *topic, const char *origin, int ms)
{
    int c = 0;
    for (int64_t until = mono_ms() + ms; mono_ms() < until;) {
        bus_msg *msg;
        if (bus_sub_pop(s, 20, &msg) != BUS_OK)
            continue;
        if (strcmp(msg->topic, topic) == 0) {
            c++;
            if (origin)
                CHECK_EQ_STR(msg->origin, origin);
        }
        bus_msg_release(msg);
    }
    return c;
}

static bool wait_disconnected(mqtt_bridge *m, int ms)
{
    mqtt_bridge_stats s;
    for (int64_t until = mono_ms() + ms; mono_ms() < until; sleep_ms(10)) {
        stats(m, &s);
        if (!s.connected)
            return true;
    }
    return false;
}

/* ---- cases ----------------------------------------------------------------- */

/* Both directions with overlapping import and export filters: a bus message
 * goes out once and never comes back in; a broker message comes in once
 * (origin "mqtt") and never goes back out. */
static void test_both_ways(int port, int protocol)
{
    fprintf(stderr, "-- both ways, protocol %d\n", protocol);
    bus *b = bus_new(0);
    bus_sub *mod = bus_sub_new(b, "mod", 64, 0);
    CHECK_EQ_INT(bus_sub_add_filter(mod, "in/#"), BUS_OK);
    CHECK_EQ_INT(bus_sub_add_filter(mod, "out/#"), BUS_OK);
    config_broker c;
    broker_config(&c, port, protocol);
    snprintf(c.client_id, sizeof c.client_id, "graftd-both-%d", protocol);
    CHECK(iot_strlist_add(&c.import, "in/#") && iot_strlist_add(&c.import, "out/#"));
    CHECK(iot_strlist_add(&c.export_, "out/#") && iot_strlist_add(&c.export_, "in/#"));
    char err[256] = "";
    mqtt_bridge *m = mqtt_bridge_new(b, &c, NULL, err, sizeof err);
    CHECK(m != NULL);
    tclient tc;
    CHECK(tc_open(&tc, port, NULL, true));
    CHECK(tc_subscribe(&tc, "#", 0));
    if (!m || !mqtt_bridge_wait_connected(m, WAIT_MS)) {
        CHECK(!"bridge connected");
        goto out;
    }
    sleep_ms(300);                                   /* the bridge's SUBACKs */

    /* bus -> broker */
    CHECK_EQ_INT(bus_publish(b, NULL, "drv", "out/a", "hello", 5, 0, NULL), BUS_OK);
    CHECK_EQ_INT(bus_publish(b, NULL, "drv", "other/x", "no", 2, 0, NULL), BUS_OK);
    CHECK(tc_wait(&tc, "out/a", 1, WAIT_MS));
    CHECK_EQ_INT(pop_count(mod, "out/a", "drv", 700), 1);   /* no echo back onto the bus */

    /* broker -> bus */
    CHECK_EQ_INT(mosquitto_publish(tc.mosq, NULL, "in/cmd", 2, "go", 0, false), MOSQ_ERR_SUCCESS);
    CHECK_EQ_INT(pop_count(mod, "in/cmd", MQTT_BRIDGE_ORIGIN, 1000), 1);
    sleep_ms(300);
    CHECK_EQ_INT(tc_count(&tc, "out/a"), 1);
    CHECK_EQ_INT(tc_count(&tc, "in/cmd"), 1);        /* tc's own copy; the bridge sent none */
    CHECK_EQ_INT(tc_count(&tc, "other/x"), 0);       /* not exported */

    mqtt_bridge_stats s;
    stats(m, &s);
    CHECK(s.connected);
    CHECK_EQ_U64(s.connects, 1);
    CHECK_EQ_U64(s.published, 1);
    CHECK_EQ_U64(s.received, 1);
    CHECK_EQ_U64(s.dropped, 0);
    CHECK_EQ_U64(s.echoes_suppressed, protocol == 5 ? 0 : 1);
    CHECK_EQ_STR(s.last_error, "");
out:
    tc_close(&tc);
    mqtt_bridge_free(m);
    config_broker_clear(&c);
    bus_free(b);
}

/* An exact export filter equal to an imported topic defeats the bus's
 * no-local rule; the forwarder still refuses to send it back. */
static void test_exact_filter_loop(int port)
{
    fprintf(stderr, "-- exact filter loop\n");
    bus *b = bus_new(0);
    config_broker c;
    broker_config(&c, port, 5);
    snprintf(c.client_id, sizeof c.client_id, "graftd-exact");
    CHECK(iot_strlist_add(&c.import, "ctl/x"));
    CHECK(iot_strlist_add(&c.export_, "ctl/x"));
    char err[256] = "";
    mqtt_bridge *m = mqtt_bridge_new(b, &c, NULL, err, sizeof err);
    tclient tc;
    CHECK(tc_open(&tc, port, NULL, true));
    CHECK(tc_subscribe(&tc, "ctl/#", 0));
    if (!m || !mqtt_bridge_wait_connected(m, WAIT_MS)) {
        CHECK(!"bridge connected");
        goto out;
    }
    sleep_ms(300);
    CHECK_EQ_INT(mosquitto_publish(tc.mosq, NULL, "ctl/x", 1, "1", 0, false), MOSQ_ERR_SUCCESS);
    mqtt_bridge_stats s;
    for (int64_t until = mono_ms() + WAIT_MS; mono_ms() < until; sleep_ms(10)) {
        stats(m, &s);
        if (s.loops_suppressed >= 1)
            break;
    }
    sleep_ms(300);
    stats(m, &s);
    CHECK_EQ_U64(s.received, 1);
    CHECK_EQ_U64(s.loops_suppressed, 1);
    CHECK_EQ_U64(s.published, 0);
    CHECK_EQ_INT(tc_count(&tc, "ctl/x"), 1);
out:
    tc_close(&tc);
    mqtt_bridge_free(m);
    config_broker_clear(&c);
    bus_free(b);
}

static void test_auth(void)
{
    fprintf(stderr, "-- username and password\n");
    broker bk;
    char tmpl[] = "/tmp/graft-mqtt-pw-XXXXXX";
    char *pwdir = mkdtemp(tmpl);
    char pwfile[128], cmd[512], extra[256];
    snprintf(pwfile, sizeof pwfile, "%s/passwd", pwdir ? pwdir : "/tmp");
    snprintf(cmd, sizeof cmd, "mosquitto_passwd -b -c '%s' gw secret >/dev/null 2>&1", pwfile);
    CHECK(pwdir && system(cmd) == 0);
    chmod(pwfile, 0600);
    snprintf(extra, sizeof extra, "allow_anonymous false\npassword_file %s\n", pwfile);
    bus *b = bus_new(0);
    mqtt_bridge *mg = NULL, *mb = NULL;
    if (!broker_start(&bk, extra)) {
        CHECK(!"auth broker started");
        goto out;
    }
    char err[256] = "";
    config_broker good, bad;
    broker_config(&good, bk.port, 4);
    snprintf(good.client_id, sizeof good.client_id, "graftd-good");
    snprintf(good.username, sizeof good.username, "gw");
    snprintf(good.password, sizeof good.password, "secret");
    bad = good;
    snprintf(bad.client_id, sizeof bad.client_id, "graftd-bad");
    snprintf(bad.password, sizeof bad.password, "wrong");
    mg = mqtt_bridge_new(b, &good, NULL, err, sizeof err);
    mb = mqtt_bridge_new(b, &bad, NULL, err, sizeof err);
    CHECK(mg && mb);
    if (mg && mb) {
        CHECK(mqtt_bridge_wait_connected(mg, WAIT_MS));
        mqtt_bridge_stats s;
        for (int64_t until = mono_ms() + WAIT_MS; mono_ms() < until; sleep_ms(10)) {
            stats(mb, &s);
            if (s.connect_failures >= 1)
                break;
        }
        stats(mb, &s);
        CHECK(!s.connected);
        CHECK(s.connect_failures >= 1);
        CHECK_EQ_U64(s.connects, 0);
        CHECK_PREFIX(s.last_error, "connection refused: ");
        fprintf(stderr, "   wrong password: %s\n", s.last_error);
    }
out:
    mqtt_bridge_free(mb);
    mqtt_bridge_free(mg);
    bus_free(b);
    broker_cleanup(&bk);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pwdir ? pwdir : "/nonexistent");
    CHECK(system(cmd) == 0);
}

/* A burst each way, far more than one network turn carries: the
 * forwarder's batches, the corked writes and the reads until the socket is
 * drained keep every message and their order. The broker queues without
 * limit so that it drops nothing for a slow (sanitized) client. */
#define BURST 3000

typedef struct burst_rx {
    pthread_mutex_t lock;
    int n;                             /* messages seen */
    int next;                          /* the sequence number expected next */
    int out_of_order;
} burst_rx;

static void burst_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    burst_rx *rx = obj;
    char text[16];
    snprintf(text, sizeof text, "%.*s", msg->payloadlen, (const char *)msg->payload);
    pthread_mutex_lock(&rx->lock);
    rx->out_of_order += atoi(text) != rx->next;
    rx->next = atoi(text) + 1;
    rx->n++;
    pthread_mutex_unlock(&rx->lock);
}

static int burst_count(burst_rx *rx)
{
    pthread_mutex_lock(&rx->lock);
    int n = rx->n;
    pthread_mutex_unlock(&rx->lock);
    return n;
}

static void test_burst(void)
{
    fprintf(stderr, "-- burst, %d each way\n", BURST);
    broker bk;
    if (!broker_start(&bk, "allow_anonymous true\nmax_queued_messages 0\n")) {
        CHECK(!"burst broker started");
        broker_cleanup(&bk);
        return;
    }
    bus *b = bus_new(0);
    bus_sub *mod = bus_sub_new(b, "mod", BURST + 16, 0);
    CHECK_EQ_INT(bus_sub_add_filter(mod, "bin/#"), BUS_OK);
    config_broker c;
    broker_config(&c, bk.port, 4);
    snprintf(c.client_id, sizeof c.client_id, "graftd-burst");
    c.buffer_messages = BURST + 16;
    CHECK(iot_strlist_add(&c.import, "bin/#") && iot_strlist_add(&c.export_, "bout/#"));
    char err[256] = "";
    mqtt_bridge *m = mqtt_bridge_new(b, &c, NULL, err, sizeof err);
    burst_rx rx = { .n = 0 };
    pthread_mutex_init(&rx.lock, NULL);
    struct mosquitto *peer = mosquitto_new(NULL, true, &rx);
    CHECK(peer != NULL);
    if (!m || !peer || !mqtt_bridge_wait_connected(m, WAIT_MS)) {
        CHECK(!"bridge connected");
        goto out;
    }
    mosquitto_message_callback_set(peer, burst_on_message);
    CHECK_EQ_INT(mosquitto_connect(peer, "127.0.0.1", bk.port, 30), MOSQ_ERR_SUCCESS);
    CHECK_EQ_INT(mosquitto_subscribe(peer, NULL, "bout/#", 0), MOSQ_ERR_SUCCESS);
    CHECK_EQ_INT(mosquitto_loop_start(peer), MOSQ_ERR_SUCCESS);
    sleep_ms(500);                                   /* both SUBACKs */

    /* bus -> broker */
    for (int i = 0; i < BURST; i++) {
        char p[16];
        snprintf(p, sizeof p, "%d", i);
        CHECK_EQ_INT(bus_publish(b, NULL, "drv", "bout/x", p, strlen(p), 0, NULL), BUS_OK);
    }
    for (int64_t until = mono_ms() + 4 * WAIT_MS; mono_ms() < until && burst_count(&rx) < BURST; )
        sleep_ms(10);
    CHECK_EQ_INT(burst_count(&rx), BURST);
    CHECK_EQ_INT(rx.out_of_order, 0);

    /* broker -> bus */
    for (int i = 0; i < BURST; i++) {
        char p[16];
        snprintf(p, sizeof p, "%d", i);
        CHECK_EQ_INT(mosquitto_publish(peer, NULL, "bin/x", (int)strlen(p), p, 0, false), MOSQ_ERR_SUCCESS);
    }
    int got = 0, disorder = 0;
    for (int64_t until = mono_ms() + 4 * WAIT_MS; mono_ms() < until && got < BURST; ) {
        bus_msg *msg;
        if (bus_sub_pop(mod, 20, &msg) != BUS_OK)
            continue;
        char text[16];
        snprintf(text, sizeof text, "%.*s", (int)msg->payload_len, (const char *)msg->payload);
        disorder += atoi(text) != got;
        got++;
        bus_msg_release(msg);
    }
    CHECK_EQ_INT(got, BURST);
    CHECK_EQ_INT(disorder, 0);
    mqtt_bridge_stats s;
    for (int64_t until = mono_ms() + WAIT_MS; mono_ms() < until; sleep_ms(10)) {
        stats(m, &s);                                /* counted just after the bus took it */
        if (s.received >= BURST)
            break;
    }
    stats(m, &s);
    CHECK_EQ_U64(s.published, BURST);
    CHECK_EQ_U64(s.received, BURST);
    CHECK_EQ_U64(s.dropped, 0);
    CHECK_EQ_U64(s.buffered, 0);
out:
    if (peer) {
        mosquitto_disconnect(peer);
        mosquitto_loop_stop(peer, false);
        mosquitto_destroy(peer);
    }
    pthread_mutex_destroy(&rx.lock);
    mqtt_bridge_free(m);
    config_broker_clear(&c);
    bus_sub_free(mod);
    bus_free(b);
    broker_cleanup(&bk);
}

/* The broker goes away: outbound messages wait in the bounded inbox (5),
 * the rest are dropped and counted; after a restart on the same port the
 * bridge reconnects, the buffered five go out in order, traffic resumes.
 * The watching client keeps a persistent session (the broker saves it on
 * SIGTERM and queues QoS 0 for it), so it misses nothing while it is
 * reconnecting itself. */
static void test_reconnect(void)
{
    fprintf(stderr, "-- broker restart\n");
    broker bk;
    char extra[512];
    char tmpl[] = "/tmp/graft-mqtt-db-XXXXXX";
    char *dbdir = mkdtemp(tmpl);
    snprintf(extra, sizeof extra,
             "allow_anonymous true\npersistence true\npersistence_location %s/\n"
             "queue_qos0_messages true\n", dbdir ? dbdir : "/tmp");
    if (!dbdir || !broker_start(&bk, extra)) {
        CHECK(!"restart broker started");
        broker_cleanup(&bk);
        return;
    }
    bus *b = bus_new(0);
    config_broker c;
    broker_config(&c, bk.port, 4);
    snprintf(c.client_id, sizeof c.client_id, "graftd-restart");
    c.buffer_messages = 5;
    CHECK(iot_strlist_add(&c.export_, "out/#"));
    char err[256] = "";
    mqtt_bridge *m = mqtt_bridge_new(b, &c, NULL, err, sizeof err);
    tclient tc;
    CHECK(tc_open(&tc, bk.port, "graft-watch", false));
    CHECK(tc_subscribe(&tc, "out/#", 1));
    mqtt_bridge_stats s;
    if (!m || !mqtt_bridge_wait_connected(m, WAIT_MS)) {
        CHECK(!"bridge connected");
        goto out;
    }
    CHECK_EQ_INT(bus_publish(b, NULL, "drv", "out/before", "0", 1, 0, NULL), BUS_OK);
    CHECK(tc_wait(&tc, "out/before", 1, WAIT_MS));

    broker_stop(&bk);
    CHECK(wait_disconnected(m, WAIT_MS));
    for (int i = 0; i < 8; i++) {
        char p[8];
        snprintf(p, sizeof p, "%d", i);
        CHECK_EQ_INT(bus_publish(b, NULL, "drv", "out/held", p, strlen(p), 0, NULL), BUS_OK);
    }
    /* The inbox holds 5; the forwarder may also hold one it popped just as
     * the connection dropped. */
    stats(m, &s);
    CHECK(!s.connected);
    CHECK(s.buffered == 5 || s.buffered == 6);
    CHECK_EQ_U64(s.buffered + s.dropped, 8);
    CHECK_EQ_U64(s.disconnects, 1);
    size_t held = s.buffered;

    CHECK(broker_restart(&bk));
    CHECK(mqtt_bridge_wait_connected(m, WAIT_MS));
    CHECK(tc_wait(&tc, "out/held", (int)held, WAIT_MS));
    CHECK_EQ_INT(bus_publish(b, NULL, "drv", "out/after", "9", 1, 0, NULL), BUS_OK);
    CHECK(tc_wait(&tc, "out/after", 1, WAIT_MS));
    /* In publish order. Which ones were dropped depends on whether the
     * forwarder had taken one from the inbox before the drops began. */
    pthread_mutex_lock(&tc.lock);
    for (int i = 0, last = -1; i < tc.n; i++)
        if (strcmp(tc.topic[i], "out/held") == 0) {
            int v = atoi(tc.payload[i]);
            CHECK(v > last);
            last = v;
        }
    pthread_mutex_unlock(&tc.lock);
    CHECK_EQ_INT(tc_count(&tc, "out/held"), (int)held);
    stats(m, &s);
    CHECK(s.connected);
    CHECK_EQ_U64(s.connects, 2);
    CHECK_EQ_U64(s.published, 2 + held);
    CHECK_EQ_U64(s.dropped, 8 - held);
    CHECK_EQ_U64(s.buffered, 0);
out:
    tc_close(&tc);
    mqtt_bridge_free(m);
    config_broker_clear(&c);
    bus_free(b);
    broker_cleanup(&bk);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dbdir ? dbdir : "/nonexistent");
    CHECK(system(cmd) == 0);
}

/* A CA, and a server certificate for IP 127.0.0.1 signed by it, in dir
 * (EC keys: quick to make). A second, unrelated CA as other-ca.crt. */
static bool make_certs(const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "(cd '%s' && K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
             "openssl req -x509 $K -keyout ca.key -out ca.crt -days 2 -subj /CN=graft-test-ca && "
             "openssl req -x509 $K -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca && "
             "openssl req $K -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
             "printf 'subjectAltName=IP:127.0.0.1\n' > ext && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out server.crt -days 2 -extfile ext)", dir);
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " >'%s/openssl.log' 2>&1", dir);
    return system(cmd) == 0;
}

/* TLS: the right CA connects and carries traffic; a foreign CA is refused
 * with the reason in last_error, and nothing crashes. */
static void test_tls(void)
{
    fprintf(stderr, "-- TLS\n");
    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        CHECK(!"openssl installed (scripts/install-deps.sh)");
        return;
    }
    char tmpl[] = "/tmp/graft-mqtt-tls-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir || !make_certs(dir)) {
        CHECK(!"certificates made");
        if (dir) {
            char rm[128];
            snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
            CHECK(system(rm) == 0);
        }
        return;
    }
    char extra[512];
    snprintf(extra, sizeof extra,
             "allow_anonymous true\ncafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key\n",
             dir, dir, dir);
    broker bk;
    bus *b = bus_new(0);
    mqtt_bridge *good = NULL, *bad = NULL;
    config_broker c, cbad;
    broker_config(&c, 0, 4);
    broker_config(&cbad, 0, 4);
    tclient tc = { 0 };
    if (!broker_start(&bk, extra)) {
        CHECK(!"TLS broker started");
        goto out;
    }
    broker_config(&c, bk.port, 4);
    snprintf(c.client_id, sizeof c.client_id, "graftd-tls");
    c.tls = true;
    snprintf(c.ca_file, sizeof c.ca_file, "%s/ca.crt", dir);
    CHECK(iot_strlist_add(&c.import, "tin/#"));
    cbad = c;
    memset(&cbad.import, 0, sizeof cbad.import);
    snprintf(cbad.client_id, sizeof cbad.client_id, "graftd-tls-bad");
    snprintf(cbad.ca_file, sizeof cbad.ca_file, "%s/other-ca.crt", dir);
    char err[256] = "";
    good = mqtt_bridge_new(b, &c, NULL, err, sizeof err);
    bad = mqtt_bridge_new(b, &cbad, NULL, err, sizeof err);
    CHECK(good && bad);
    if (!good || !bad)
        goto out;
    CHECK(mqtt_bridge_wait_connected(good, WAIT_MS));
    bus_sub *mod = bus_sub_new(b, "tmod", 8, 0);
    CHECK_EQ_INT(bus_sub_add_filter(mod, "tin/#"), BUS_OK);
    sleep_ms(300);
    /* The test client speaks TLS too, with the right CA. */
    memset(&tc, 0, sizeof tc);
    pthread_mutex_init(&tc.lock, NULL);
    tc.mosq = mosquitto_new(NULL, true, &tc);
    char ca[160];
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    CHECK(tc.mosq && mosquitto_tls_set(tc.mosq, ca, NULL, NULL, NULL, NULL) == MOSQ_ERR_SUCCESS);
    CHECK(tc.mosq && mosquitto_connect(tc.mosq, "127.0.0.1", bk.port, 30) == MOSQ_ERR_SUCCESS);
    if (tc.mosq) {
        CHECK_EQ_INT(mosquitto_publish(tc.mosq, NULL, "tin/x", 3, "tls", 0, false), MOSQ_ERR_SUCCESS);
        for (int i = 0; i < 20; i++)
            mosquitto_loop(tc.mosq, 10, 1);
    }
    CHECK_EQ_INT(pop_count(mod, "tin/x", MQTT_BRIDGE_ORIGIN, 1000), 1);

    mqtt_bridge_stats s;
    for (int64_t until = mono_ms() + WAIT_MS; mono_ms() < until; sleep_ms(10)) {
        mqtt_bridge_get_stats(bad, &s);
        if (s.last_error[0])
            break;
    }
    mqtt_bridge_get_stats(bad, &s);
    CHECK(!s.connected);
    CHECK_EQ_U64(s.connects, 0);
    CHECK(s.last_error[0] != 0);
    fprintf(stderr, "   foreign CA: %s\n", s.last_error);
out:
    if (tc.mosq) {
        mosquitto_disconnect(tc.mosq);
        mosquitto_destroy(tc.mosq);
    }
    mqtt_bridge_free(bad);
    mqtt_bridge_free(good);
    config_broker_clear(&c);
    bus_free(b);
    broker_cleanup(&bk);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* No broker at all: the bridge starts, reports the failure, frees cleanly. */
static void test_no_broker(void)
{
    fprintf(stderr, "-- no broker\n");
    bus *b = bus_new(0);
    config_broker c;
    broker_config(&c, free_port(), 4);
    char err[256] = "";
    mqtt_bridge *m = mqtt_bridge_new(b, &c, NULL, err, sizeof err);
    CHECK(m != NULL);
    if (m) {
        CHECK(!mqtt_bridge_wait_connected(m, 300));
        mqtt_bridge_free(m);
    }
    bus_free(b);
    /* A bad filter is refused up front. */
    broker_config(&c, 1883, 4);
    CHECK(iot_strlist_add(&c.export_, "a/#/b"));
    b = bus_new(0);
    CHECK(mqtt_bridge_new(b, &c, NULL, err, sizeof err) == NULL);
    CHECK(strstr(err, "export filter 'a/#/b'") != NULL);
    bus_free(b);
    config_broker_clear(&c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (access(MOSQUITTO_BIN, X_OK) != 0) {
        fprintf(stderr, "%s missing: run scripts/install-deps.sh\n", MOSQUITTO_BIN);
        return 1;
    }
    mosquitto_lib_init();
    broker bk;
    if (broker_start(&bk, "allow_anonymous true\n")) {
        test_both_ways(bk.port, 4);
        test_both_ways(bk.port, 5);
        test_exact_filter_loop(bk.port);
    } else {
        CHECK(!"anonymous broker started");
    }
    broker_cleanup(&bk);
    test_auth();
    test_burst();
    test_reconnect();
    test_tls();
    test_no_broker();
    mosquitto_lib_cleanup();
    TEST_MAIN_END();
}
