/* tests/agent/metrics.c - the metrics registry (src/agent/metrics.c): the
 * exact Prometheus text of counters, gauges and histograms with escaped
 * labels, per-module series and their removal, counts that add up when
 * several threads update at once, and the loopback HTTP endpoint
 * (metrics_http.c) queried with a plain socket client with bounded timeouts. */
#include "harness.h"

#include "metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static char *render(metrics *m)
{
    char *s = NULL;
    size_t len = 0;
    CHECK(metrics_render(m, &s, &len));
    CHECK_EQ_INT(len, s ? strlen(s) : 0);
    return s;
}

static void test_render(void)
{
    metrics *m = metrics_new();
    metrics_counter *a = metrics_counter_get(m, "graft_bus_published_total", "Messages published.", NULL, NULL);
    metrics_counter_add(a, 41);
    metrics_counter_inc(a);
    CHECK(metrics_counter_get(m, "graft_bus_published_total", "ignored", NULL, NULL) == a);
    metrics_gauge *g = metrics_gauge_get(m, "graft_queue_depth", "Depth\\of \"the\"\nqueue.", "module", "we\"ird\\na\nme");
    metrics_gauge_set(g, 7);
    metrics_gauge_add(g, -10);
    CHECK_EQ_INT(metrics_gauge_value(g), -3);
    double bounds[] = { 0.001, 0.5, 2 };
    metrics_histogram *h = metrics_histogram_get(m, "graft_x_seconds", "X.", bounds, 3, "module", "m1");
    metrics_histogram_observe(h, 0.001);   /* le is inclusive */
    metrics_histogram_observe(h, 0.25);
    metrics_histogram_observe(h, 0.25);
    metrics_histogram_observe(h, 10);
    metrics_histogram *plain = metrics_histogram_get(m, "graft_y_seconds", "Y.", bounds, 3, NULL, NULL);
    metrics_histogram_observe(plain, 1);
    metrics_gauge_get(m, "graft_empty", "No series left.", "module", "gone");
    metrics_remove_label(m, "module", "gone");
    char *s = render(m);
    CHECK_EQ_STR(s,
        "# HELP graft_bus_published_total Messages published.\n"
        "# TYPE graft_bus_published_total counter\n"
        "graft_bus_published_total 42\n"
        "# HELP graft_queue_depth Depth\\\\of \"the\"\\nqueue.\n"
        "# TYPE graft_queue_depth gauge\n"
        "graft_queue_depth{module=\"we\\\"ird\\\\na\\nme\"} -3\n"
        "# HELP graft_x_seconds X.\n"
        "# TYPE graft_x_seconds histogram\n"
        "graft_x_seconds_bucket{module=\"m1\",le=\"0.001\"} 1\n"
        "graft_x_seconds_bucket{module=\"m1\",le=\"0.5\"} 3\n"
        "graft_x_seconds_bucket{module=\"m1\",le=\"2\"} 3\n"
        "graft_x_seconds_bucket{module=\"m1\",le=\"+Inf\"} 4\n"
        "graft_x_seconds_sum{module=\"m1\"} 10.501\n"
        "graft_x_seconds_count{module=\"m1\"} 4\n"
        "# HELP graft_y_seconds Y.\n"
        "# TYPE graft_y_seconds histogram\n"
        "graft_y_seconds_bucket{le=\"0.001\"} 0\n"
        "graft_y_seconds_bucket{le=\"0.5\"} 0\n"
        "graft_y_seconds_bucket{le=\"2\"} 1\n"
        "graft_y_seconds_bucket{le=\"+Inf\"} 1\n"
        "graft_y_seconds_sum 1\n"
        "graft_y_seconds_count 1\n");
    free(s);
    /* clashes and bad names */
    CHECK(metrics_gauge_get(m, "graft_bus_published_total", "", NULL, NULL) == NULL);
    double other[] = { 1 };
    CHECK(metrics_histogram_get(m, "graft_x_seconds", "X.", other, 1, "module", "m1") == NULL);
    double unsorted[] = { 1, 1 };
    CHECK(metrics_histogram_get(m, "graft_z", "", unsorted, 2, NULL, NULL) == NULL);
    CHECK(metrics_counter_get(m, "9bad", "", NULL, NULL) == NULL);
    CHECK(metrics_counter_get(m, "ok_name", "", "bad:label", "v") == NULL);
    CHECK(metrics_counter_get(m, "graft:ok", "", "le_x", "v") != NULL);
    metrics_free(m);
}

static void test_module(void)
{
    metrics *m = metrics_new();
    metrics_module *a = metrics_module_new(m, "thermo");
    metrics_module *b = metrics_module_new(m, "alarm");
    metrics_counter_inc(a->messages_in);
    metrics_counter_add(a->fuel_used, 1234);
    metrics_histogram_observe(a->event_latency, 0.0002);
    metrics_gauge_set(b->memory_bytes, 65536);
    char *s = render(m);
    CHECK(strstr(s, "# TYPE graft_module_messages_in_total counter\n"
                    "graft_module_messages_in_total{module=\"thermo\"} 1\n"
                    "graft_module_messages_in_total{module=\"alarm\"} 0\n") != NULL);
    CHECK(strstr(s, "graft_module_fuel_used_total{module=\"thermo\"} 1234\n") != NULL);
    CHECK(strstr(s, "graft_module_event_latency_seconds_bucket{module=\"thermo\",le=\"0.0001\"} 0\n"
                    "graft_module_event_latency_seconds_bucket{module=\"thermo\",le=\"0.00025\"} 1\n") != NULL);
    CHECK(strstr(s, "graft_module_memory_bytes{module=\"alarm\"} 65536\n") != NULL);
    const char *names[] = { "messages_out_total", "refusals_total", "traps_total", "restarts_total",
                            "event_latency_seconds_count", "event_latency_seconds_sum" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "graft_module_%s{module=\"alarm\"} 0\n", names[i]);
        CHECK(strstr(s, want) != NULL);
    }
    free(s);
    metrics_module_free(a);
    s = render(m);
    CHECK(strstr(s, "thermo") == NULL);
    CHECK(strstr(s, "module=\"alarm\"") != NULL);
    free(s);
    metrics_module_free(b);
    s = render(m);
    CHECK_EQ_STR(s, "");
    free(s);
    metrics_free(m);
}

/* Series with two and more label pairs; removal by any one pair; counters
 * set from elsewhere; the collector running before each render. */
static void collect(void *user, metrics *m)
{
    int *calls = user;
    (*calls)++;
    metrics_label l[] = { { "module", "m1" }, { "reason", "inbox_full" } };
    metrics_counter_set(metrics_counter_getl(m, "graft_d_total", "D.", l, 2), 100u + (unsigned)*calls);
}

static void test_labels(void)
{
    metrics *m = metrics_new();
    metrics_label ab[] = { { "module", "m1" }, { "reason", "over\"size" } };
    metrics_label ba[] = { { "reason", "over\"size" }, { "module", "m1" } };
    metrics_counter *c = metrics_counter_getl(m, "graft_d_total", "D.", ab, 2);
    CHECK(c != NULL && metrics_counter_getl(m, "graft_d_total", "D.", ab, 2) == c);
    CHECK(metrics_counter_getl(m, "graft_d_total", "D.", ba, 2) != c);   /* order is part of the identity */
    metrics_counter_add(c, 3);
    metrics_counter_set(c, 2);
    CHECK_EQ_U64(metrics_counter_value(c), 2);
    metrics_label three[] = { { "module", "m2" }, { "state", "running" }, { "x", NULL } };
    metrics_gauge_set(metrics_gauge_getl(m, "graft_s", "S.", three, 3), 1);
    metrics_label five[] = { { "a", "1" }, { "b", "2" }, { "c", "3" }, { "d", "4" }, { "e", "5" } };
    CHECK(metrics_gauge_getl(m, "graft_s", "S.", five, 5) == NULL);       /* over METRICS_MAX_LABELS */
    CHECK(metrics_gauge_getl(m, "graft_s", "S.", five, 4) != NULL);
    metrics_label twice[] = { { "module", "a" }, { "module", "b" } };
    CHECK(metrics_gauge_getl(m, "graft_s", "S.", twice, 2) == NULL);
    metrics_label le[] = { { "le", "1" } };
    CHECK(metrics_gauge_getl(m, "graft_s", "S.", le, 1) == NULL);
    metrics_remove_label(m, "reason", "over\"size");                      /* any pair, not only the first */
    char *s = render(m);
    CHECK_EQ_STR(s,
        "# HELP graft_s S.\n"
        "# TYPE graft_s gauge\n"
        "graft_s{module=\"m2\",state=\"running\",x=\"\"} 1\n"
        "graft_s{a=\"1\",b=\"2\",c=\"3\",d=\"4\"} 0\n");
    free(s);
    int calls = 0;
    metrics_set_collector(m, collect, &calls);
    s = render(m);
    CHECK_EQ_INT(calls, 1);
    CHECK(strstr(s, "graft_d_total{module=\"m1\",reason=\"inbox_full\"} 101\n") != NULL);
    free(s);
    s = render(m);
    CHECK(strstr(s, "graft_d_total{module=\"m1\",reason=\"inbox_full\"} 102\n") != NULL);
    free(s);
    metrics_remove_label(m, "module", "m1");
    metrics_remove_label(m, "module", "m2");
    metrics_set_collector(m, NULL, NULL);
    s = render(m);
    CHECK_EQ_STR(s, "# HELP graft_s S.\n# TYPE graft_s gauge\ngraft_s{a=\"1\",b=\"2\",c=\"3\",d=\"4\"} 0\n");
    free(s);
    metrics_free(m);
}

/* ---- concurrency ------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 20000

typedef struct shared { metrics *m; metrics_module *mm; } shared;

static void *hammer(void *arg)
{
    shared *sh = arg;
    for (int i = 0; i < ROUNDS; i++) {
        metrics_counter_inc(sh->mm->messages_in);
        metrics_counter_add(sh->mm->fuel_used, 3);
        metrics_gauge_add(sh->mm->memory_bytes, 1);
        metrics_histogram_observe(sh->mm->event_latency, 0.5);
        if (i % 5000 == 0) {   /* render and register while others update */
            char *s = NULL;
            metrics_render(sh->m, &s, NULL);
            free(s);
            metrics_counter_get(sh->m, "graft_other_total", "", "module", "x");
        }
    }
    return NULL;
}

static void test_threads(void)
{
    shared sh = { metrics_new(), NULL };
    sh.mm = metrics_module_new(sh.m, "busy");
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, hammer, &sh);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    CHECK_EQ_U64(metrics_counter_value(sh.mm->messages_in), THREADS * ROUNDS);
    CHECK_EQ_U64(metrics_counter_value(sh.mm->fuel_used), 3 * THREADS * ROUNDS);
    CHECK_EQ_INT(metrics_gauge_value(sh.mm->memory_bytes), THREADS * ROUNDS);
    char *s = render(sh.m);
    char want[200];
    snprintf(want, sizeof want, "graft_module_event_latency_seconds_sum{module=\"busy\"} %d\n"
             "graft_module_event_latency_seconds_count{module=\"busy\"} %d\n",
             THREADS * ROUNDS / 2, THREADS * ROUNDS);
    CHECK(strstr(s, want) != NULL);
    free(s);
    metrics_module_free(sh.mm);
    metrics_free(sh.m);
}

/* ---- HTTP ------------------------------------------------------------- */

/* GET path from 127.0.0.1:port (HTTP/1.0, 5 s timeouts); the whole answer,
 * malloc'd, or NULL. */
static char *http_get(uint16_t port, const char *method, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char *buf = NULL;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) goto close_fd;
    char req[256];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n", method, path);
    if (send(fd, req, (size_t)n, 0) != n) goto close_fd;
    size_t len = 0, cap = 4096;
    buf = malloc(cap);
    for (;;) {
        if (len + 1 == cap) buf = realloc(buf, cap *= 2);
        ssize_t got = recv(fd, buf + len, cap - len - 1, 0);
        if (got <= 0) break;
        len += (size_t)got;
    }
    buf[len] = 0;
close_fd:
    close(fd);
    return buf;
}

static bool health(void *user, char **out_body)
{
    (void)out_body;
    return atomic_load((_Atomic bool *)user);
}

/* A health callback that writes a JSON body. */
static bool health_json(void *user, char **out_body)
{
    *out_body = strdup(user);
    return strstr(user, "\"ok\"") != NULL;
}

static void check_answer(uint16_t port, const char *method, const char *path, const char *status,
                         const char *body)
{
    char *r = http_get(port, method, path);
    CHECK_PREFIX(r, status);
    const char *b = r ? strstr(r, "\r\n\r\n") : NULL;
    CHECK(b != NULL);
    if (b && body) CHECK_EQ_STR(b + 4, body);
    free(r);
}

static void test_http(void)
{
    metrics *m = metrics_new();
    metrics_counter_add(metrics_counter_get(m, "graft_up_total", "Up.", NULL, NULL), 5);
    _Atomic bool healthy = true;
    metrics_http *srv = NULL;
    CHECK(metrics_http_start(m, NULL, 0, health, &healthy, &srv));
    if (!srv) { metrics_free(m); return; }
    uint16_t port = metrics_http_port(srv);
    CHECK(port != 0);
    char *r = http_get(port, "GET", "/metrics");
    CHECK_PREFIX(r, "HTTP/1.1 200");
    CHECK(r && strstr(r, "text/plain; version=0.0.4") != NULL);
    CHECK(r && strstr(r, "\r\n\r\n# HELP graft_up_total Up.\n# TYPE graft_up_total counter\ngraft_up_total 5\n") != NULL);
    free(r);
    check_answer(port, "GET", "/healthz", "HTTP/1.1 200", "ok\n");
    atomic_store(&healthy, false);
    check_answer(port, "GET", "/healthz", "HTTP/1.1 503", "unhealthy\n");
    check_answer(port, "GET", "/nope", "HTTP/1.1 404", NULL);
    check_answer(port, "POST", "/metrics", "HTTP/1.1 405", NULL);
    /* the same port cannot be bound twice; after stop it is free again */
    metrics_http *again = NULL;
    CHECK(!metrics_http_start(m, "127.0.0.1", port, NULL, NULL, &again));
    metrics_http_stop(srv);
    CHECK(http_get(port, "GET", "/healthz") == NULL);
    CHECK(metrics_http_start(m, "127.0.0.1", port, NULL, NULL, &again));
    CHECK(again && metrics_http_port(again) == port);
    if (again) check_answer(port, "GET", "/healthz", "HTTP/1.1 200", "ok\n");
    metrics_http_stop(again);
    metrics_http_stop(NULL);
    /* a JSON body: served as such, with the status the callback says */
    char body[64] = "{\"status\":\"ok\"}\n";
    CHECK(metrics_http_start(m, "127.0.0.1", 0, health_json, body, &again));
    if (again) {
        r = http_get(metrics_http_port(again), "GET", "/healthz");
        CHECK_PREFIX(r, "HTTP/1.1 200");
        CHECK(r && strstr(r, "application/json") != NULL && strstr(r, "\r\n\r\n{\"status\":\"ok\"}\n") != NULL);
        free(r);
        snprintf(body, sizeof body, "{\"status\":\"unhealthy\"}\n");
        check_answer(metrics_http_port(again), "GET", "/healthz", "HTTP/1.1 503", "{\"status\":\"unhealthy\"}\n");
        metrics_http_stop(again);
    }
    /* listen must be an IPv4 address */
    again = NULL;
    CHECK(!metrics_http_start(m, "localhost", 0, NULL, NULL, &again) && again == NULL);
    metrics_free(m);
}

int main(void)
{
    test_render();
    test_module();
    test_labels();
    test_threads();
    test_http();
    TEST_MAIN_END();
}
