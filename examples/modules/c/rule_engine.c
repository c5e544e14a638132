/* rule_engine.c - runs "if sensor X compares to V, publish to topic T"
 * rules over sensor readings; the rules live in kv state and are replaced
 * at run time by a message on the control topic.
 *
 * Rule format: text, one rule per line, fields separated by spaces:
 *
 *     SENSOR OP VALUE TOPIC
 *
 *   SENSOR  the sensor name, as in sensors/<name>
 *   OP      one of  >  >=  <  <=  ==  !=
 *   VALUE   a decimal number (strtod syntax)
 *   TOPIC   where to publish when the condition holds (no wildcards)
 *
 * Blank lines and lines starting with '#' are ignored; at most 16 rules,
 * each line at most 200 bytes. Example:
 *
 *     temp1 > 30 alerts/temp1/hot
 *     humidity <= 20.5 alerts/dry
 *
 * Every reading on sensors/<name> is checked against every rule for that
 * sensor (level-triggered: each matching reading publishes once per rule):
 *     {"rule":1,"sensor":"temp1","value":31.00}
 * A topic outside the module's granted publish filters is refused by the
 * agent (counted and logged); the rule stays.
 *
 * Control: a message on control/rule_engine whose payload is a whole new
 * rule set (the text above) replaces the rules, atomically: a set with a
 * bad line is refused and the old rules stay. An empty payload clears
 * them. The outcome goes to status/rule_engine as "ok N rules" or
 * "error line L: what". The rules are stored in kv under "rules" and
 * read back at start. */
#include <graft_iot.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 16
#define CONTROL_TOPIC "control/rule_engine"
#define STATUS_TOPIC "status/rule_engine"

enum op { OP_GT, OP_GE, OP_LT, OP_LE, OP_EQ, OP_NE };

struct rule {
    char sensor[65];
    enum op op;
    double value;
    char topic[128];
};

struct rules {
    struct rule r[MAX_RULES];
    int n;
};

/* The module's rule set: one instance per module, so one copy. */
static struct rules active;

static int parse_op(const char *s, enum op *out)
{
    static const char *const names[] = { ">", ">=", "<", "<=", "==", "!=" };
    for (int i = 0; i < 6; i++)
        if (strcmp(s, names[i]) == 0) { *out = (enum op)i; return 1; }
    return 0;
}

/* Parse one line into r; returns NULL or what is wrong. */
static const char *parse_rule(char *line, struct rule *r)
{
    char op[8], value[64], extra[2];
    int n = sscanf(line, "%64s %7s %63s %127s %1s", r->sensor, op, value, r->topic, extra);
    if (n < 4) return "expected SENSOR OP VALUE TOPIC";
    if (n > 4) return "unexpected text after TOPIC";
    if (!parse_op(op, &r->op)) return "expected an operator > >= < <= == !=";
    char *end;
    r->value = strtod(value, &end);
    if (*end) return "expected a number for VALUE";
    if (strpbrk(r->topic, "+#")) return "expected a TOPIC without wildcards";
    return NULL;
}

/* Parse a whole rule set; on error *line_no and the message say where. */
static const char *parse_rules(const char *text, size_t len, struct rules *out, int *line_no)
{
    out->n = 0;
    *line_no = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        char line[201];
        size_t n = end - pos;
        ++*line_no;
        if (n > 200) return "line longer than 200 bytes";
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos = end + 1;
        char *p = line + strspn(line, " \t\r");
        if (!*p || *p == '#') continue;
        if (out->n == MAX_RULES) return "more than 16 rules";
        const char *why = parse_rule(p, &out->r[out->n]);
        if (why) return why;
        out->n++;
    }
    return NULL;
}

static int holds(const struct rule *r, double v)
{
    switch (r->op) {
    case OP_GT: return v > r->value;
    case OP_GE: return v >= r->value;
    case OP_LT: return v < r->value;
    case OP_LE: return v <= r->value;
    case OP_EQ: return v == r->value;
    default: return v != r->value;
    }
}

static int control(const uint8_t *payload, size_t plen)
{
    struct rules next;
    int line = 0;
    const char *why = plen > MAX_RULES * 201 ? "rule set longer than 3216 bytes"
                                             : parse_rules((const char *)payload, plen, &next, &line);
    char status[160];
    if (why) {
        snprintf(status, sizeof status, "error line %d: %s", line, why);
        iot_publish_str(STATUS_TOPIC, status);
        iot_logf(IOT_WARN, "rule set refused: %s", status);
        return 1;
    }
    int32_t rc = plen ? iot_kv_put("rules", 5, payload, plen) : iot_kv_delete("rules", 5);
    if (rc != IOT_OK && rc != IOT_ENOENT) {
        snprintf(status, sizeof status, "error storing the rules: %d", (int)rc);
        iot_publish_str(STATUS_TOPIC, status);
        return 1;
    }
    active = next;
    snprintf(status, sizeof status, "ok %d rules", active.n);
    iot_publish_str(STATUS_TOPIC, status);
    iot_logf(IOT_INFO, "rules replaced: %d rules", active.n);
    return 0;
}

static int reading(const char *name, size_t nlen, const uint8_t *payload, size_t plen)
{
    iot_sensor_reading r;
    if (iot_reading_parse(payload, plen, &r) != IOT_OK || r.quality == IOT_QUALITY_BAD) return 1;
    for (int i = 0; i < active.n; i++) {
        const struct rule *rule = &active.r[i];
        if (strlen(rule->sensor) != nlen || memcmp(rule->sensor, name, nlen) != 0 || !holds(rule, r.value))
            continue;
        char msg[160];
        snprintf(msg, sizeof msg, "{\"rule\":%d,\"sensor\":\"%s\",\"value\":%.2f}", i + 1, rule->sensor, r.value);
        int32_t rc = iot_publish_str(rule->topic, msg);
        if (rc != IOT_OK) iot_logf(IOT_WARN, "rule %d: publish to %s failed: %s", i + 1, rule->topic, iot_strerror(rc));
    }
    return 0;
}

static int handle(const char *topic, size_t tlen, const uint8_t *payload, size_t plen)
{
    static const char prefix[] = "sensors/";
    size_t np = sizeof prefix - 1;
    if (tlen == strlen(CONTROL_TOPIC) && memcmp(topic, CONTROL_TOPIC, tlen) == 0) return control(payload, plen);
    if (tlen > np && memcmp(topic, prefix, np) == 0) return reading(topic + np, tlen - np, payload, plen);
    return 1;
}

IOT_ON_MESSAGE(handle)

IOT_EXPORT("on_start") int32_t on_start(void)
{
    static char text[MAX_RULES * 201];
    int32_t n = iot_kv_get("rules", 5, text, sizeof text);
    active.n = 0;
    if (n == IOT_ENOENT) return 0;
    if (n < 0 || (size_t)n > sizeof text) {
        iot_logf(IOT_ERROR, "cannot read the stored rules: %d", (int)n);
        return 1;
    }
    int line;
    const char *why = parse_rules(text, (size_t)n, &active, &line);
    if (why) {
        iot_logf(IOT_ERROR, "stored rules, line %d: %s", line, why);
        active.n = 0;
        return 1;
    }
    iot_logf(IOT_INFO, "rule_engine up with %d stored rules", active.n);
    return 0;
}

IOT_EXPORT("health") int32_t health(void)
{
    return 0;
}
