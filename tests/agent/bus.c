/* tests/agent/bus.c - the in-process bus: topic and filter validation
 * (MQTT 3.1.1 section 4.7), matching, filter overlap, pipeline cycles,
 * bounded inboxes with drop counts, oversize drops, the no-local rule, close,
 * and many publisher threads against consumer threads with counts that add up. */
#include "harness.h"

#include "bus.h"
#include "topic.h"

#include <pthread.h>
#include <stdlib.h>

static bus_result topic_ok(const char *t) { return bus_topic_check(t, strlen(t)); }
static bus_result filter_ok(const char *f) { return bus_filter_check(f, strlen(f)); }
static bool matches(const char *f, const char *t) { return topic_match(f, strlen(f), t, strlen(t)); }
static bool overlap(const char *a, const char *b) { return topic_overlap(a, strlen(a), b, strlen(b)); }

static void test_validation(void)
{
    CHECK_EQ_INT(topic_ok("sport/tennis/player1"), BUS_OK);
    CHECK_EQ_INT(topic_ok("/"), BUS_OK);
    CHECK_EQ_INT(topic_ok("a//b"), BUS_OK);
    CHECK_EQ_INT(topic_ok("$SYS/x"), BUS_OK);
    CHECK_EQ_INT(topic_ok("caf\xc3\xa9"), BUS_OK);
    CHECK_EQ_INT(topic_ok(""), BUS_E_EMPTY);
    CHECK_EQ_INT(topic_ok("a/+"), BUS_E_WILDCARD_IN_TOPIC);
    CHECK_EQ_INT(topic_ok("a/#"), BUS_E_WILDCARD_IN_TOPIC);
    CHECK_EQ_INT(topic_ok("a+b"), BUS_E_WILDCARD_IN_TOPIC);
    CHECK_EQ_INT(topic_ok("bad\xc3"), BUS_E_UTF8);
    CHECK_EQ_INT(topic_ok("\xc0\xaf"), BUS_E_UTF8);            /* overlong */
    CHECK_EQ_INT(topic_ok("\xed\xa0\x80"), BUS_E_UTF8);        /* surrogate */
    CHECK_EQ_INT(bus_topic_check("a\0b", 3), BUS_E_NUL);
    char *big = malloc(BUS_TOPIC_MAX + 2);
    memset(big, 'a', BUS_TOPIC_MAX + 1);
    big[BUS_TOPIC_MAX + 1] = 0;
    CHECK_EQ_INT(topic_ok(big), BUS_E_TOOLONG);
    big[BUS_TOPIC_MAX] = 0;
    CHECK_EQ_INT(topic_ok(big), BUS_OK);
    free(big);

    CHECK_EQ_INT(filter_ok("#"), BUS_OK);
    CHECK_EQ_INT(filter_ok("+"), BUS_OK);
    CHECK_EQ_INT(filter_ok("sport/#"), BUS_OK);
    CHECK_EQ_INT(filter_ok("+/tennis/#"), BUS_OK);
    CHECK_EQ_INT(filter_ok("/+"), BUS_OK);
    CHECK_EQ_INT(filter_ok("+/+"), BUS_OK);
    CHECK_EQ_INT(filter_ok("sport/tennis#"), BUS_E_WILDCARD_LEVEL);
    CHECK_EQ_INT(filter_ok("sport/tennis/#/ranking"), BUS_E_HASH_NOT_LAST);
    CHECK_EQ_INT(filter_ok("#/a"), BUS_E_HASH_NOT_LAST);
    CHECK_EQ_INT(filter_ok("sport+"), BUS_E_WILDCARD_LEVEL);
    CHECK_EQ_INT(filter_ok("sp+rt/x"), BUS_E_WILDCARD_LEVEL);
    CHECK_EQ_INT(filter_ok("++"), BUS_E_WILDCARD_LEVEL);
    CHECK_EQ_INT(filter_ok(""), BUS_E_EMPTY);
    CHECK(strstr(bus_strerror(BUS_E_HASH_NOT_LAST), "last") != NULL);
}

static void test_matching(void)
{
    /* The spec's own examples (MQTT 3.1.1, 4.7.1.2 and 4.7.1.3). */
    CHECK(matches("sport/tennis/player1/#", "sport/tennis/player1"));
    CHECK(matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
    CHECK(matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
    CHECK(matches("sport/#", "sport"));
    CHECK(matches("#", "sport/tennis"));
    CHECK(matches("#", "/"));
    CHECK(matches("sport/tennis/+", "sport/tennis/player1"));
    CHECK(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
    CHECK(!matches("sport/+", "sport"));
    CHECK(matches("sport/+", "sport/"));             /* + matches an empty level */
    CHECK(matches("+/+", "/finance"));
    CHECK(matches("/+", "/finance"));
    CHECK(!matches("+", "/finance"));
    CHECK(matches("+", ""  "x"));
    CHECK(matches("a/+/c", "a//c"));
    CHECK(!matches("a/b", "a/b/"));
    CHECK(!matches("a/b/", "a/b"));
    CHECK(matches("a/b", "a/b"));
    CHECK(!matches("a/b", "a/bc"));
    CHECK(!matches("Sport", "sport"));
    /* $-topics and leading wildcards. */
    CHECK(!matches("#", "$SYS/x"));
    CHECK(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
    CHECK(matches("$SYS/#", "$SYS/monitor/Clients"));
    CHECK(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
    CHECK(matches("a/#", "a/$x"));                  /* $ only matters first */
}

static void test_overlap(void)
{
    CHECK(overlap("a/b", "a/b"));
    CHECK(!overlap("a/b", "a/c"));
    CHECK(overlap("a/+", "a/b"));
    CHECK(overlap("+/b", "a/+"));
    CHECK(!overlap("+/b", "a/c"));
    CHECK(overlap("sport", "sport/#"));           /* '#' includes the parent */
    CHECK(overlap("sport/#", "sport"));
    CHECK(!overlap("sport", "sport/+"));
    CHECK(overlap("sport/+", "sport/#"));
    CHECK(overlap("#", "x/y/z"));
    CHECK(overlap("#", "+"));
    CHECK(!overlap("a/+", "a/+/+"));
    CHECK(overlap("a/+/#", "a/+"));
    CHECK(overlap("+/+/c", "a/#"));
    CHECK(!overlap("a/b/c", "a/b"));
    CHECK(!overlap("#", "$SYS/x"));
    CHECK(!overlap("+/x", "$SYS/x"));
    CHECK(overlap("$SYS/#", "$SYS/x"));
    CHECK(overlap("a/#", "a/$SYS"));
    CHECK(overlap("+", "+"));
    CHECK(overlap("sport/", "sport/+"));          /* the empty level */
    /* Overlap is symmetric; check both orders on a grid. */
    const char *fs[] = { "#", "+", "a", "a/#", "a/+", "+/b", "a/b", "a/b/#", "$s/#", "$s", "/+", "" "+/+/+" };
    size_t n = sizeof fs / sizeof fs[0];
    int asym = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            asym += overlap(fs[i], fs[j]) != overlap(fs[j], fs[i]);
    CHECK_EQ_INT(asym, 0);
    /* Brute force on a small alphabet: overlap iff some topic of at most 4
     * levels over {a, b, $s, ""} matches both. */
    const char *lv[] = { "a", "b", "$s", "" };
    char topics[400][24];
    size_t nt = 0;
    for (int depth = 1; depth <= 4; depth++) {
        int total = 1;
        for (int d = 0; d < depth; d++) total *= 4;
        for (int code = 0; code < total; code++) {
            char *t = topics[nt];
            t[0] = 0;
            for (int d = 0, c = code; d < depth; d++, c /= 4) {
                if (d) strcat(t, "/");
                strcat(t, lv[c % 4]);
            }
            if (t[0]) nt++;
        }
    }
    int mismatches = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            bool some = false;
            for (size_t k = 0; k < nt && !some; k++)
                some = matches(fs[i], topics[k]) && matches(fs[j], topics[k]);
            if (some != overlap(fs[i], fs[j])) {
                mismatches++;
                fprintf(stderr, "overlap mismatch: '%s' '%s'\n", fs[i], fs[j]);
            }
        }
    CHECK_EQ_INT(mismatches, 0);
}

static void test_cycles(void)
{
    const char *in_sensors[] = { "sensors/#" };
    const char *out_avg[] = { "avg/temp" };
    const char *in_avg[] = { "avg/+" };
    const char *out_alarm[] = { "alarms/high" };
    const char *in_alarm[] = { "alarms/#" };
    const char *out_sensor[] = { "sensors/derived" };
    bus_node chain[] = {
        { "avg", in_sensors, 1, out_avg, 1 },
        { "alarm", in_avg, 1, out_alarm, 1 },
        { "logger", in_alarm, 1, NULL, 0 },
    };
    bus_cycle cyc;
    CHECK_EQ_INT(bus_check_cycles(chain, 3, &cyc), BUS_OK);
    CHECK_EQ_INT(cyc.length, 0);
    /* logger now republishes into sensors/: avg -> alarm -> logger -> avg. */
    chain[2].publish = out_sensor;
    chain[2].publish_count = 1;
    CHECK_EQ_INT(bus_check_cycles(chain, 3, &cyc), BUS_E_CYCLE);
    CHECK_EQ_INT(cyc.length, 3);
    CHECK_EQ_STR(cyc.message, "pipeline cycle: avg -> alarm -> logger -> avg "
                              "(avg publishes 'avg/temp', alarm subscribes 'avg/+')");
    /* Overlap through wildcards on both sides: a publishes x/+/c, b takes x/b/#. */
    const char *a_pub[] = { "x/+/c" }, *b_sub[] = { "x/b/#" }, *b_pub[] = { "y" }, *a_sub[] = { "+" };
    bus_node two[] = { { "a", a_sub, 1, a_pub, 1 }, { "b", b_sub, 1, b_pub, 1 } };
    CHECK_EQ_INT(bus_check_cycles(two, 2, &cyc), BUS_E_CYCLE);
    CHECK(strstr(cyc.message, "a -> b -> a") || strstr(cyc.message, "b -> a -> b"));
    const char *a_sub2[] = { "z" };
    two[0].subscribe = a_sub2;
    CHECK_EQ_INT(bus_check_cycles(two, 2, &cyc), BUS_OK);
    /* Self: a wildcard self-overlap is no cycle (no-local); an exact one is. */
    const char *s_sub[] = { "ctl/#" }, *s_pub[] = { "ctl/out" }, *s_exact[] = { "ctl/out" };
    bus_node self[] = { { "rules", s_sub, 1, s_pub, 1 } };
    CHECK_EQ_INT(bus_check_cycles(self, 1, &cyc), BUS_OK);
    self[0].subscribe = s_exact;
    CHECK_EQ_INT(bus_check_cycles(self, 1, &cyc), BUS_E_CYCLE);
    CHECK_PREFIX(cyc.message, "pipeline cycle: rules -> rules");
}

static void test_inbox(void)
{
    bus *b = bus_new(1000);
    bus_sub *s = bus_sub_new(b, "m1", 3, 100);
    bus_sub *t = bus_sub_new(b, "m2", 10, 0);
    CHECK_EQ_INT(bus_sub_add_filter(s, "sensors/+"), BUS_OK);
    CHECK_EQ_INT(bus_sub_add_filter(s, "bad#"), BUS_E_WILDCARD_LEVEL);
    CHECK_EQ_INT(bus_sub_add_filter(t, "#"), BUS_OK);
    size_t got = 99;
    for (int i = 0; i < 5; i++) {
        char p = (char)('0' + i);
        CHECK_EQ_INT(bus_publish(b, NULL, "drv", "sensors/t", &p, 1, 42 + i, &got), BUS_OK);
        CHECK_EQ_INT(got, i < 3 ? 2 : 1);
    }
    CHECK_EQ_INT(bus_publish(b, NULL, NULL, "sensors/+", "x", 1, 0, &got), BUS_E_WILDCARD_IN_TOPIC);
    bus_sub_stats st;
    bus_sub_get_stats(s, &st);
    CHECK_EQ_INT(st.enqueued, 3);
    CHECK_EQ_INT(st.dropped_full, 2);
    CHECK_EQ_INT(st.depth, 3);
    bus_msg *m = NULL;
    CHECK_EQ_INT(bus_sub_pop(s, 0, &m), BUS_OK);
    CHECK_EQ_INT(m->payload[0], '0');                 /* the oldest stays; the newest drops */
    CHECK_EQ_STR(m->topic, "sensors/t");
    CHECK_EQ_STR(m->origin, "drv");
    CHECK_EQ_INT(m->timestamp_ns, 42);
    bus_msg_release(m);
    /* Oversize: subscriber's limit (100) and the bus's (1000). */
    static char blob[2000];
    CHECK_EQ_INT(bus_publish(b, NULL, NULL, "sensors/big", blob, 500, 0, &got), BUS_OK);
    CHECK_EQ_INT(got, 1);
    CHECK_EQ_INT(bus_publish(b, NULL, NULL, "sensors/big", blob, 1001, 0, &got), BUS_E_OVERSIZE);
    bus_sub_get_stats(s, &st);
    CHECK_EQ_INT(st.dropped_oversize, 1);
    bus_stats bs;
    bus_get_stats(b, &bs);
    CHECK_EQ_INT(bs.dropped_oversize, 1);
    CHECK_EQ_INT(bs.published, 6);
    /* Timeout, then close wakes and drains. */
    CHECK_EQ_INT(bus_sub_pop(s, 0, &m), BUS_OK); bus_msg_release(m);
    CHECK_EQ_INT(bus_sub_pop(s, 0, &m), BUS_OK); bus_msg_release(m);
    CHECK_EQ_INT(bus_sub_pop(s, 20, &m), BUS_E_TIMEOUT);
    bus_sub_close(t);
    CHECK_EQ_INT(bus_publish(b, NULL, NULL, "sensors/t", "z", 1, 0, &got), BUS_OK);
    bus_sub_get_stats(t, &st);
    CHECK_EQ_INT(st.dropped_closed, 1);
    int drained = 0;
    while (bus_sub_pop(t, 0, &m) == BUS_OK) { drained++; bus_msg_release(m); }
    CHECK_EQ_INT(drained, 6);
    CHECK_EQ_INT(bus_sub_pop(t, 1000, &m), BUS_E_CLOSED);
    bus_sub_free(s);
    CHECK_EQ_INT(bus_publish(b, NULL, NULL, "sensors/t", "z", 1, 0, &got), BUS_OK);
    CHECK_EQ_INT(got, 0);
    bus_free(b);                                      /* frees t with anything queued */
}

/* The byte bound: topic + payload bytes waiting stay under it; an empty
 * inbox still takes one message larger than the bound. */
static void test_inbox_bytes(void)
{
    bus *b = bus_new(0);
    bus_sub *s = bus_sub_new(b, "m", 100, 0);
    CHECK_EQ_INT(bus_sub_add_filter(s, "t/#"), BUS_OK);
    bus_sub_set_max_bytes(s, 1000);
    static char blob[4000];
    size_t got;
    for (int i = 0; i < 5; i++) {   /* 3 + 300 bytes each: three fit in 1000 */
        CHECK_EQ_INT(bus_publish(b, NULL, NULL, "t/a", blob, 300, 0, &got), BUS_OK);
        CHECK_EQ_INT(got, i < 3 ? 1 : 0);
    }
    bus_sub_stats st;
    bus_sub_get_stats(s, &st);
    CHECK_EQ_INT(st.depth, 3);
    CHECK_EQ_INT(st.bytes, 909);
    CHECK_EQ_INT(st.dropped_full, 2);
    CHECK_EQ_INT(bus_publish(b, NULL, NULL, "t/a", blob, 90, 0, &got), BUS_OK);   /* 909 + 93 > 1000 */
    CHECK_EQ_INT(got, 0);
    CHECK_EQ_INT(bus_publish(b, NULL, NULL, "t/a", blob, 88, 0, &got), BUS_OK);   /* 909 + 91 = 1000 */
    CHECK_EQ_INT(got, 1);
    bus_msg *m;
    while (bus_sub_pop(s, 0, &m) == BUS_OK) bus_msg_release(m);
    bus_sub_get_stats(s, &st);
    CHECK_EQ_INT(st.bytes, 0);
    CHECK_EQ_INT(st.bytes_high_water, 1000);
    CHECK_EQ_INT(bus_publish(b, NULL, NULL, "t/a", blob, 3000, 0, &got), BUS_OK);  /* empty: it fits */
    CHECK_EQ_INT(got, 1);
    CHECK_EQ_INT(bus_publish(b, NULL, NULL, "t/a", blob, 1, 0, &got), BUS_OK);     /* not beside it */
    CHECK_EQ_INT(got, 0);
    bus_free(b);
}

static void test_no_local(void)
{
    bus *b = bus_new(0);
    bus_sub *a = bus_sub_new(b, "a", 8, 0), *c = bus_sub_new(b, "c", 8, 0);
    bus_sub_add_filter(a, "x/#");
    bus_sub_add_filter(c, "x/#");
    size_t got;
    bus_publish(b, a, NULL, "x/1", "p", 1, 0, &got);
    CHECK_EQ_INT(got, 1);                              /* only c */
    bus_msg *m;
    CHECK_EQ_INT(bus_sub_pop(c, 0, &m), BUS_OK);
    CHECK_EQ_STR(m->origin, "a");
    CHECK_EQ_INT(m->origin_id, bus_sub_id(a));
    bus_msg_release(m);
    bus_sub_add_filter(a, "x/2");                      /* explicit self-subscription */
    bus_publish(b, a, NULL, "x/2", "p", 1, 0, &got);
    CHECK_EQ_INT(got, 2);
    bus_free(b);
}

/* ---- threads ----------------------------------------------------------- */

enum { PUBLISHERS = 4, CONSUMERS = 3, PER_PUBLISHER = 5000 };

typedef struct consumer { bus_sub *sub; uint64_t received, checksum; } consumer;
typedef struct publisher { bus *b; int index; uint64_t accepted; } publisher;

static void *consume(void *arg)
{
    consumer *c = arg;
    bus_msg *m;
    for (;;) {
        bus_result r = bus_sub_pop(c->sub, 2000, &m);
        if (r == BUS_E_CLOSED || r == BUS_E_TIMEOUT) break;
        uint32_t v;
        memcpy(&v, m->payload, 4);
        c->checksum += v;
        c->received++;
        bus_msg_release(m);
    }
    return NULL;
}

static void *produce(void *arg)
{
    publisher *p = arg;
    char topic[32];
    snprintf(topic, sizeof topic, "load/%d", p->index);
    for (uint32_t i = 0; i < PER_PUBLISHER; i++) {
        uint32_t v = i;
        if (bus_publish(p->b, NULL, "p", topic, &v, 4, 1, NULL) == BUS_OK) p->accepted++;
    }
    return NULL;
}

static void test_threads(void)
{
    bus *b = bus_new(0);
    consumer cs[CONSUMERS];
    publisher ps[PUBLISHERS];
    pthread_t ct[CONSUMERS], pt[PUBLISHERS];
    for (int i = 0; i < CONSUMERS; i++) {
        cs[i] = (consumer){ bus_sub_new(b, "c", i == 0 ? 16 : 100000, 0), 0, 0 };
        bus_sub_add_filter(cs[i].sub, i == 2 ? "load/1" : "load/#");
        pthread_create(&ct[i], NULL, consume, &cs[i]);
    }
    for (int i = 0; i < PUBLISHERS; i++) {
        ps[i] = (publisher){ b, i, 0 };
        pthread_create(&pt[i], NULL, produce, &ps[i]);
    }
    for (int i = 0; i < PUBLISHERS; i++) pthread_join(pt[i], NULL);
    for (int i = 0; i < CONSUMERS; i++) bus_sub_close(cs[i].sub);
    for (int i = 0; i < CONSUMERS; i++) pthread_join(ct[i], NULL);
    uint64_t total = 0;
    for (int i = 0; i < PUBLISHERS; i++) total += ps[i].accepted;
    CHECK_EQ_INT(total, PUBLISHERS * PER_PUBLISHER);
    uint64_t deliveries = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        bus_sub_stats st;
        bus_sub_get_stats(cs[i].sub, &st);
        uint64_t offered = i == 2 ? PER_PUBLISHER : total;
        CHECK_EQ_INT(st.enqueued + st.dropped_full, offered);
        CHECK_EQ_INT(st.popped, cs[i].received);
        CHECK_EQ_INT(st.enqueued, cs[i].received);
        deliveries += st.enqueued;
    }
    /* The big inboxes lost nothing; their checksums are exact. */
    uint64_t per = (uint64_t)PER_PUBLISHER * (PER_PUBLISHER - 1) / 2;
    CHECK_EQ_INT(cs[1].checksum, per * PUBLISHERS);
    CHECK_EQ_INT(cs[2].checksum, per);
    bus_stats bs;
    bus_get_stats(b, &bs);
    CHECK_EQ_INT(bs.deliveries, deliveries);
    CHECK_EQ_INT(bs.published, total);
    bus_free(b);
}

int main(void)
{
    test_validation();
    test_matching();
    test_overlap();
    test_cycles();
    test_inbox();
    test_inbox_bytes();
    test_no_local();
    test_threads();
    TEST_MAIN_END();
}
