/* tests/agent/manifest.c - manifest and device-config parsing: every error
 * path reports line and column (syntax) or the JSON path (schema); filter
 * validation and filter-subset matching; capability intersection; limit
 * capping; semantic versions. */
#include "config.h"
#include "harness.h"
#include "manifest.h"
#include "topic.h"

#include <stdlib.h>

static const char *good =
    "{\"manifest_version\":1,\"name\":\"alarm\",\"version\":\"1.2.3-rc.1\",\"host_api\":\"iot_v1\","
    "\"capabilities\":{\"sensors\":[\"temp1\",\"temp2\"],\"actuators\":[\"fan\"],"
    "\"publish\":[\"alarms/+\",\"other/x\"],\"subscribe\":[\"sensors/#\"],"
    "\"kv\":{\"quota_bytes\":4096},\"timers\":{\"count\":4,\"min_period_ms\":100}},"
    "\"limits\":{\"memory_bytes\":2000000,\"fuel_per_event\":1000,\"wall_ms_per_event\":20,"
    "\"max_message_bytes\":512}}";

static void expect_manifest_error(const char *json, const char *want)
{
    manifest m;
    char err[512] = "";
    bool ok = manifest_parse_string(json, strlen(json), "m.json", &m, err, sizeof err);
    CHECK(!ok);
    if (!strstr(err, want)) fprintf(stderr, "  error was: %s\n  wanted: %s\n", err, want);
    CHECK(strstr(err, want) != NULL);
}

static void test_manifest_good(void)
{
    manifest m;
    char err[512] = "";
    CHECK(manifest_parse_string(good, strlen(good), "m.json", &m, err, sizeof err));
    CHECK_EQ_STR(m.name, "alarm");
    CHECK_EQ_INT(m.semver.major, 1);
    CHECK_EQ_INT(m.semver.patch, 3);
    CHECK_EQ_STR(m.semver.pre, "rc.1");
    CHECK_EQ_INT(m.caps.sensors.count, 2);
    CHECK_EQ_STR(m.caps.publish.items[0], "alarms/+");
    CHECK_EQ_INT(m.caps.kv_quota_bytes, 4096);
    CHECK_EQ_INT(m.caps.timers, 4);
    CHECK_EQ_INT(m.caps.timer_min_period_ms, 100);
    CHECK_EQ_INT(m.limits.max_message_bytes, 512);
    manifest_free(&m);
}

static void test_manifest_errors(void)
{
    expect_manifest_error("{\"manifest_version\":1,\n  \"name\": }", "m.json:2:11:");
    expect_manifest_error("{\"manifest_version\":1,\"manifest_version\":1}", "m.json:1:");
    expect_manifest_error("[]", "m.json: (top level): expected an object");
    expect_manifest_error("{\"name\":\"a\"}", "missing key \"manifest_version\"");
    expect_manifest_error("{\"manifest_version\":2}", "manifest_version: expected 1");
    expect_manifest_error("{\"manifest_version\":1,\"nmae\":\"a\"}", "nmae: unknown key");
    expect_manifest_error("{\"manifest_version\":1,\"name\":\"Alarm\",\"version\":\"1.0.0\",\"host_api\":\"iot_v1\"}",
                          "name: expected a module name");
    expect_manifest_error("{\"manifest_version\":1,\"name\":\"a\",\"version\":\"1.0\",\"host_api\":\"iot_v1\"}",
                          "version: \"1.0\" is not a semantic version");
    expect_manifest_error("{\"manifest_version\":1,\"name\":\"a\",\"version\":\"01.0.0\",\"host_api\":\"iot_v1\"}",
                          "version:");
    expect_manifest_error("{\"manifest_version\":1,\"name\":\"a\",\"version\":\"1.0.0\",\"host_api\":\"iot_v2\"}",
                          "host_api: expected \"iot_v1\"");
    expect_manifest_error("{\"manifest_version\":1,\"name\":\"a\",\"version\":\"1.0.0\"}", "missing key \"host_api\"");
    const char *head = "{\"manifest_version\":1,\"name\":\"a\",\"version\":\"1.0.0\",\"host_api\":\"iot_v1\",";
    char buf[512];
    struct { const char *tail, *want; } cases[] = {
        { "\"capabilities\":{\"publish\":[\"a/#/b\"]}}", "capabilities.publish[0]: expected a string topic filter: \"a/#/b\" is invalid: '#' must be the last level" },
        { "\"capabilities\":{\"publish\":[\"ok\",7]}}", "capabilities.publish[1]: expected a string topic filter" },
        { "\"capabilities\":{\"subscribe\":[\"a+/b\"]}}", "capabilities.subscribe[0]: expected a string topic filter: \"a+/b\" is invalid: '+' must be a whole level" },
        { "\"capabilities\":{\"subscribe\":[\"\"]}}", "is invalid: empty" },
        { "\"capabilities\":{\"sensors\":\"temp\"}}", "capabilities.sensors: expected an array of names" },
        { "\"capabilities\":{\"sensors\":[\"a b\"]}}", "capabilities.sensors[0]: expected a name" },
        { "\"capabilities\":{\"sensors\":[\"a\",\"a\"]}}", "capabilities.sensors[1]: duplicate entry" },
        { "\"capabilities\":{\"sensor\":[\"a\"]}}", "capabilities.sensor: unknown key" },
        { "\"capabilities\":{\"kv\":{}}}", "capabilities.kv: missing key \"quota_bytes\"" },
        { "\"capabilities\":{\"kv\":{\"quota_bytes\":-1}}}", "capabilities.kv.quota_bytes: expected an integer" },
        { "\"capabilities\":{\"timers\":{\"count\":1,\"min_period_ms\":5}}}", "capabilities.timers.min_period_ms: expected at least 10" },
        { "\"capabilities\":{\"timers\":{\"count\":\"1\"}}}", "capabilities.timers.count: expected an integer" },
        { "\"limits\":{\"fuel\":1}}", "limits.fuel: unknown key" },
        { "\"limits\":{\"memory_bytes\":1.5}}", "limits.memory_bytes: expected an integer" },
        { "\"wasm_sha256\":\"abc\"}", "wasm_sha256: expected 64 lowercase hex digits" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s", head, cases[i].tail);
        expect_manifest_error(buf, cases[i].want);
    }
    manifest m;
    char err[256];
    CHECK(!manifest_parse_file("/nonexistent/m.json", &m, err, sizeof err));
    CHECK_PREFIX(err, "/nonexistent/m.json:");
}

static bool filter_ok(const char *f, size_t len) { return topic_filter_check(f, len) == TOPIC_OK; }
static bool name_ok(const char *t, size_t len) { return topic_name_check(t, len) == TOPIC_OK; }

static void test_filters(void)
{
    CHECK(filter_ok("a/+/b", 5));
    CHECK(filter_ok("#", 1));
    CHECK(filter_ok("a//b/", 5));
    CHECK(!filter_ok("a/#/", 4));
    CHECK(!filter_ok("a#", 2));
    CHECK(!filter_ok("\xC0\x80", 2));     /* overlong NUL */
    CHECK(!filter_ok("\xED\xA0\x80", 3)); /* surrogate */
    CHECK(filter_ok("\xC3\xA9t\xC3\xA9", 5));
    CHECK(!name_ok("a/+", 3));
    CHECK(name_ok("a/b", 3));
#define COVERS(b, a) topic_covers(b, strlen(b), a, strlen(a))
    CHECK(COVERS("#", "a/b/c"));
    CHECK(COVERS("a/#", "a"));            /* '#' matches its parent */
    CHECK(COVERS("a/#", "a/+/c"));
    CHECK(COVERS("a/+", "a/b"));
    CHECK(COVERS("a/+", "a/+"));
    CHECK(COVERS("+/+", "a/+"));
    CHECK(COVERS("a/b", "a/b"));
    CHECK(!COVERS("a/+", "a/#"));
    CHECK(!COVERS("a/+", "a/b/c"));
    CHECK(!COVERS("a/b", "a/+"));
    CHECK(!COVERS("a/b", "a"));
    CHECK(!COVERS("a", "a/b"));
    CHECK(!COVERS("a/+/c", "a/#"));
    CHECK(!COVERS("#", "$SYS/x"));        /* wildcards never match $ topics at level 1 */
    CHECK(!COVERS("+/x", "$SYS/x"));
    CHECK(COVERS("$SYS/#", "$SYS/x"));
    CHECK(COVERS("a/+/#", "a/b"));
    CHECK(!COVERS("a/+/#", "a"));
    CHECK(COVERS("a//b", "a//b"));
    CHECK(!COVERS("a/+", "a"));
#undef COVERS
}

static void test_intersect_and_cap(void)
{
    manifest m;
    char err[256];
    CHECK(manifest_parse_string(good, strlen(good), "m.json", &m, err, sizeof err));
    iot_caps grant = { 0 }, eff;
    iot_strlist_add(&grant.sensors, "temp1");
    iot_strlist_add(&grant.sensors, "pressure");
    iot_strlist_add(&grant.publish, "alarms/#");
    iot_strlist_add(&grant.subscribe, "sensors/temp1");
    grant.kv_quota_bytes = 1024;
    grant.timers = 8;
    grant.timer_min_period_ms = 1000;
    CHECK(manifest_caps_intersect(&m.caps, &grant, &eff));
    CHECK_EQ_INT(eff.sensors.count, 1);
    CHECK_EQ_STR(eff.sensors.items[0], "temp1");
    CHECK_EQ_INT(eff.actuators.count, 0);
    CHECK_EQ_INT(eff.publish.count, 1);                 /* other/x is not covered */
    CHECK_EQ_STR(eff.publish.items[0], "alarms/+");
    CHECK_EQ_INT(eff.subscribe.count, 1);               /* sensors/# narrowed to the grant */
    CHECK_EQ_STR(eff.subscribe.items[0], "sensors/temp1");
    CHECK_EQ_INT(eff.kv_quota_bytes, 1024);
    CHECK_EQ_INT(eff.timers, 4);
    CHECK_EQ_INT(eff.timer_min_period_ms, 1000);
    iot_caps_free(&eff);
    iot_caps_free(&grant);

    /* Only filters covered by both sides are kept: a partial overlap
     * gives nothing, and a grant the request covers is not repeated. */
    iot_caps req2 = { 0 }, grant2 = { 0 };
    iot_strlist_add(&req2.subscribe, "a/+/c");
    iot_strlist_add(&req2.subscribe, "x/#");
    iot_strlist_add(&grant2.subscribe, "a/b/#");
    iot_strlist_add(&grant2.subscribe, "x/y");
    iot_strlist_add(&grant2.subscribe, "x/y/+");
    iot_strlist_add(&grant2.subscribe, "x/#");
    CHECK(manifest_caps_intersect(&req2, &grant2, &eff));
    CHECK_EQ_INT(eff.subscribe.count, 1);
    CHECK_EQ_STR(eff.subscribe.items[0], "x/#");
    iot_caps_free(&eff);
    iot_caps_free(&grant2);
    memset(&grant2, 0, sizeof grant2);
    iot_strlist_add(&grant2.subscribe, "x/y");
    iot_strlist_add(&grant2.subscribe, "x/z/+");
    CHECK(manifest_caps_intersect(&req2, &grant2, &eff));
    CHECK_EQ_INT(eff.subscribe.count, 2);
    CHECK_EQ_STR(eff.subscribe.items[0], "x/y");
    CHECK_EQ_STR(eff.subscribe.items[1], "x/z/+");
    iot_caps_free(&eff);
    iot_caps_free(&grant2);
    iot_caps_free(&req2);

    iot_limits cfg = { .memory_bytes = 1000000, .fuel_per_event = 0, .wall_ms_per_event = 50 }, out;
    manifest_limits_cap(&m.limits, &cfg, &out);
    CHECK_EQ_INT(out.memory_bytes, 1000000);   /* config caps the author's 2000000 */
    CHECK_EQ_INT(out.fuel_per_event, 1000);    /* author's, no cap */
    CHECK_EQ_INT(out.wall_ms_per_event, 20);   /* author asked below the cap */
    CHECK_EQ_INT(out.max_message_bytes, 512);
    iot_limits none = { 0 };
    manifest_limits_cap(&none, &cfg, &out);
    CHECK_EQ_INT(out.memory_bytes, 1000000);   /* default 16 MiB, capped */
    CHECK_EQ_INT(out.fuel_per_event, IOT_DEFAULT_FUEL_PER_EVENT);
    CHECK_EQ_INT(out.max_message_bytes, IOT_DEFAULT_MAX_MESSAGE);
    manifest_free(&m);
}

static void expect_config_error(const char *json, const char *want)
{
    config c;
    char err[512] = "";
    CHECK(!config_parse_string(json, strlen(json), "dev.json", "/etc/graft", &c, err, sizeof err));
    if (!strstr(err, want)) fprintf(stderr, "  error was: %s\n  wanted: %s\n", err, want);
    CHECK(strstr(err, want) != NULL);
}

static void test_config(void)
{
    const char *json =
        "{\"config_version\":1,\"agent\":{\"name\":\"gw1\",\"log_level\":\"debug\"},"
        "\"broker\":{\"host\":\"localhost\",\"port\":1884,\"username\":\"u\",\"password\":\"p\",\"import\":[\"cmd/#\"]},"
        "\"http\":{\"port\":0},\"state_dir\":\"var\",\"budget\":{\"memory_bytes\":1000000},"
        "\"drivers\":[{\"name\":\"temp1\",\"kind\":\"sine\",\"amplitude\":5,\"offset\":25,\"unit\":\"degC\",\"seed\":7},"
        "{\"name\":\"fan\",\"kind\":\"log_actuator\",\"file\":\"/tmp/fan.log\"}],"
        "\"modules\":[{\"name\":\"alarm\",\"wasm\":\"mods/alarm.wasm\","
        "\"grants\":{\"publish\":[\"alarms/#\"],\"subscribe\":[\"sensors/#\"]},\"limits\":{\"fuel_per_event\":500}}]}";
    config c;
    char err[512] = "";
    CHECK(config_parse_string(json, strlen(json), "dev.json", "/etc/graft", &c, err, sizeof err));
    if (err[0]) fprintf(stderr, "  %s\n", err);
    CHECK_EQ_STR(c.agent.name, "gw1");
    CHECK_EQ_INT(c.agent.log_level, CONFIG_LOG_DEBUG);
    CHECK(c.broker.enabled);
    CHECK_EQ_INT(c.broker.port, 1884);
    CHECK_EQ_STR(c.broker.client_id, "graftd-gw1");
    CHECK_EQ_STR(c.broker.import.items[0], "cmd/#");
    CHECK_EQ_STR(c.broker.export_.items[0], "#");
    CHECK_EQ_INT(c.http.port, 0);
    CHECK_EQ_STR(c.state_dir, "/etc/graft/var");
    CHECK_EQ_INT(c.ndrivers, 2);
    CHECK_EQ_STR(c.drivers[0].topic, "sensors/temp1");
    CHECK_EQ_INT(c.drivers[0].unit, 1);
    CHECK(c.drivers[1].actuator);
    CHECK_EQ_INT(c.nmodules, 1);
    CHECK_EQ_STR(c.modules[0].wasm, "/etc/graft/mods/alarm.wasm");
    CHECK_EQ_STR(c.modules[0].manifest, "/etc/graft/mods/alarm.json");
    CHECK_EQ_INT(c.modules[0].limits.fuel_per_event, 500);
    config_free(&c);

    CHECK(config_parse_string("{\"config_version\":1}", 20, "dev.json", NULL, &c, err, sizeof err));
    CHECK(!c.broker.enabled);
    CHECK_EQ_INT(c.agent.commit_window_ms, 50);
    config_free(&c);

    expect_config_error("{\"config_version\":1,\n\"agent\":{,}}", "dev.json:2:");
    expect_config_error("{}", "missing key \"config_version\"");
    expect_config_error("{\"config_version\":1,\"brokers\":{}}", "dev.json: brokers: unknown key");
    expect_config_error("{\"config_version\":1,\"agent\":{\"log_level\":\"loud\"}}", "agent.log_level: expected \"debug\"");
    expect_config_error("{\"config_version\":1,\"broker\":{\"port\":70000}}", "broker.port: expected an integer from 1 to 65535");
    expect_config_error("{\"config_version\":1,\"http\":{\"listen\":\"localhost\"}}",
                        "http.listen: expected an IPv4 address such as 127.0.0.1");
    expect_config_error("{\"config_version\":1,\"broker\":{\"password\":\"x\"}}", "broker: expected a username");
    expect_config_error("{\"config_version\":1,\"broker\":{\"export\":[\"a/#/b\"]}}", "broker.export[0]: expected a string topic filter");
    expect_config_error("{\"config_version\":1,\"broker\":{\"tls\":{\"cert_file\":\"c\"}}}", "broker.tls: expected both");
    expect_config_error("{\"config_version\":1,\"drivers\":[{\"name\":\"t\",\"kind\":\"sin\"}]}", "drivers[0].kind: expected \"sine\"");
    expect_config_error("{\"config_version\":1,\"drivers\":[{\"name\":\"t\",\"kind\":\"sine\",\"low\":1}]}", "drivers[0].low: unknown key");
    expect_config_error("{\"config_version\":1,\"drivers\":[{\"name\":\"t\",\"kind\":\"csv\"}]}", "drivers[0]: missing key \"file\"");
    expect_config_error("{\"config_version\":1,\"drivers\":[{\"name\":\"t\",\"kind\":\"noise\",\"unit\":\"K\"}]}", "drivers[0].unit: expected one of");
    expect_config_error("{\"config_version\":1,\"modules\":[{\"name\":\"a\",\"wasm\":\"a.wasm\"},{\"name\":\"b\",\"wasm\":\"b.wasm\"},"
                        "{\"name\":\"c\",\"wasm\":\"c.wasm\",\"grants\":{\"publish\":[3]}}]}",
                        "dev.json: modules[2].grants.publish[0]: expected a string topic filter");
    expect_config_error("{\"config_version\":1,\"modules\":[{\"name\":\"a\",\"wasm\":\"a.wasm\"},{\"name\":\"a\",\"wasm\":\"b.wasm\"}]}",
                        "modules[1].name: duplicate name \"a\"");
    expect_config_error("{\"config_version\":1,\"modules\":[{\"name\":\"a\"}]}", "modules[0]: missing key \"wasm\"");
    expect_config_error("{\"config_version\":1,\"modules\":[{\"name\":\"a\",\"wasm\":\"a.wasm\",\"limits\":{\"memory\":1}}]}",
                        "modules[0].limits.memory: unknown key");
    CHECK(!config_load("/nonexistent/dev.json", &c, err, sizeof err));
    CHECK_PREFIX(err, "/nonexistent/dev.json:");
}

static void test_example_manifests(void)
{
    const char *names[] = { "threshold_alarm", "rule_engine" };
    for (size_t i = 0; i < 2; i++) {
        char path[512], err[512] = "";
        manifest m;
        snprintf(path, sizeof path, "%s/examples/modules/c/%s.json", GRAFT_SOURCE_DIR, names[i]);
        bool ok = manifest_parse_file(path, &m, err, sizeof err);
        if (!ok) fprintf(stderr, "  %s\n", err);
        CHECK(ok);
        if (ok) { CHECK_EQ_STR(m.name, names[i]); manifest_free(&m); }
    }
}

int main(void)
{
    test_manifest_good();
    test_manifest_errors();
    test_filters();
    test_intersect_and_cap();
    test_config();
    test_example_manifests();
    TEST_MAIN_END();
}
