/* tests/agent/agent_reload.c - agent_reload on the sections beyond modules,
 * through the agent's own structures (agent_internal.h): drivers kept,
 * re-topiced in place, rebuilt, added and removed; a driver that cannot be
 * built leaves its running version; state_dir and the kv commit window kept
 * as started; /metrics started and stopped by the http section. A sine's
 * readings are stamped t0 + k * period, so a driver that was kept (same t0)
 * stays on the 1 s grid of its first reading and a rebuilt one (t0 = the
 * reload's time) leaves it. */
#include "harness.h"

#include "agent_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[256];

/* A config with http "HTTP", state_dir STATE and drivers DRIVERS. */
static bool make_config(config *out, const char *http, const char *state, const char *drivers)
{
    char text[4096], err[1024];
    snprintf(text, sizeof text,
             "{ \"config_version\": 1, \"agent\": { \"log_level\": \"warn\" }, \"http\": %s, \"state_dir\": \"%s\",\n"
             "  \"drivers\": [ %s ] }",
             http, state, drivers);
    if (!config_parse_string(text, strlen(text), "test.json", dir, out, err, sizeof err)) {
        fprintf(stderr, "config: %s\n", err);
        return false;
    }
    return true;
}

static bool reload(agent *ag, const char *http, const char *state, const char *drivers)
{
    config cfg;
    char err[1024];
    if (!make_config(&cfg, http, state, drivers)) return false;
    if (agent_reload(ag, &cfg, err, sizeof err)) return true;
    fprintf(stderr, "reload: %s\n", err);
    config_free(&cfg);
    return false;
}

static int64_t stamp(agent *ag, const char *name)
{
    drv_reading r;
    return drv_read(ag->drivers, name, &r) == DRV_OK ? r.timestamp_ns : -1;
}

static bool on_grid(int64_t a, int64_t b) { return a >= 0 && b >= 0 && (b - a) % 1000000000 == 0; }

#define SINE(extra) "{ \"name\": \"s\", \"kind\": \"sine\", \"period_s\": 10" extra " }"

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/graft-agent-reload-XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char csv[300], actuator[300], drivers[2048];
    snprintf(csv, sizeof csv, "%s/c.csv", dir);
    snprintf(actuator, sizeof actuator, "%s/a.log", dir);
    FILE *f = fopen(csv, "w");
    fputs("timestamp,value\n0,1\n1,2\n", f);
    fclose(f);
    const char *off = "{ \"enabled\": false }";
    snprintf(drivers, sizeof drivers,
             SINE("") ", { \"name\": \"a\", \"kind\": \"log_actuator\", \"file\": \"a.log\" },"
                      " { \"name\": \"c\", \"kind\": \"csv\", \"file\": \"c.csv\" }");

    config cfg;
    CHECK(make_config(&cfg, off, "state", drivers));
    agent_options opt = { .log_level = -1 };
    agent *ag = NULL;
    char err[1024];
    CHECK(agent_start(&cfg, &opt, &ag, err, sizeof err));
    if (!ag) { fprintf(stderr, "start: %s\n", err); TEST_MAIN_END(); }
    CHECK_EQ_INT(ag->ndrvs, 3);
    int64_t first = stamp(ag, "s");
    CHECK(first > 0);

    /* The same config: nothing rebuilt. */
    CHECK(reload(ag, off, "state", drivers));
    CHECK(on_grid(first, stamp(ag, "s")));

    /* A topic of its own: switched in place, same source. */
    char topic[64];
    snprintf(drivers, sizeof drivers,
             SINE(", \"topic\": \"plant/s\"") ", { \"name\": \"a\", \"kind\": \"log_actuator\", \"file\": \"a.log\" },"
                                              " { \"name\": \"c\", \"kind\": \"csv\", \"file\": \"c.csv\" }");
    CHECK(reload(ag, off, "state", drivers));
    CHECK(drv_topic(ag->drivers, "s", topic, sizeof topic));
    CHECK_EQ_STR(topic, "plant/s");
    CHECK(on_grid(first, stamp(ag, "s")));

    /* Another parameter: rebuilt with a new t0; the topic comes along. a is
     * removed, b added; c points at a missing file: refused, the running c stays. */
    usleep(1500);                                      /* the new t0 is later */
    snprintf(drivers, sizeof drivers,
             SINE(", \"topic\": \"plant/s\", \"amplitude\": 2") ", { \"name\": \"b\", \"kind\": \"noise\" },"
                                                              " { \"name\": \"c\", \"kind\": \"csv\", \"file\": \"gone.csv\" }");
    CHECK(reload(ag, off, "state", drivers));
    CHECK(!on_grid(first, stamp(ag, "s")));
    CHECK(drv_topic(ag->drivers, "s", topic, sizeof topic));
    CHECK_EQ_STR(topic, "plant/s");
    CHECK(!drv_has(ag->drivers, "a", DRV_ACTUATOR));
    CHECK_EQ_INT(drv_write(ag->drivers, "a", 1.0), DRV_ENOENT);
    CHECK(drv_has(ag->drivers, "b", DRV_SENSOR));
    CHECK(drv_has(ag->drivers, "c", DRV_SENSOR));
    CHECK_EQ_INT(ag->ndrvs, 3);
    bool kept_old_c = false;
    for (size_t i = 0; i < ag->ndrvs; i++)
        if (strcmp(ag->drvs[i].cfg.name, "c") == 0) kept_old_c = strstr(ag->drvs[i].cfg.file, "/c.csv") != NULL;
    CHECK(kept_old_c);

    /* Editing the CSV file changes the driver: its rows are read again. */
    drv_reading r;
    CHECK_EQ_INT(drv_read(ag->drivers, "c", &r), DRV_OK);
    CHECK(r.value == 1 || r.value == 2);
    usleep(20000);
    f = fopen(csv, "w");
    fputs("timestamp,value\n0,7\n", f);
    fclose(f);
    snprintf(drivers, sizeof drivers, "{ \"name\": \"c\", \"kind\": \"csv\", \"file\": \"c.csv\" }");
    CHECK(reload(ag, off, "state", drivers));
    CHECK_EQ_INT(drv_read(ag->drivers, "c", &r), DRV_OK);
    CHECK(r.value == 7);
    CHECK(!drv_has(ag->drivers, "s", DRV_SENSOR));
    CHECK_EQ_INT(ag->ndrvs, 1);

    /* state_dir and the commit window: kept as started. http: started, then stopped. */
    char running[CONFIG_PATH_MAX];
    snprintf(running, sizeof running, "%s", ag->cfg.state_dir);
    CHECK(reload(ag, "{ \"port\": 0 }", "elsewhere", drivers));
    CHECK_EQ_STR(ag->cfg.state_dir, running);
    CHECK(access(ag->cfg.state_dir, F_OK) == 0);
    char elsewhere[400];
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", dir);
    CHECK(access(elsewhere, F_OK) != 0);
    CHECK(ag->http != NULL);
    CHECK(ag->http && metrics_http_port(ag->http) > 0);
    CHECK(reload(ag, off, "state", drivers));
    CHECK(ag->http == NULL);

    agent_stop(ag);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    TEST_MAIN_END();
}
