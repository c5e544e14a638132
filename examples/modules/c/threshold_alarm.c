/* threshold_alarm.c - raises and clears an alarm when a sensor crosses a
 * threshold, with hysteresis so a noisy value near the line does not chatter.
 *
 * Input: sensor readings (the 24-byte reading of docs/host-api.md) on
 * sensors/<name>, or on avg/<name> (moving_average's output, so the alarm
 * can sit behind it in a pipeline). Output, on a change of state only, a JSON text on
 * alarms/<name>:
 *     {"sensor":"temp1","state":"alarm","value":31.25}
 *     {"sensor":"temp1","state":"clear","value":27.50}
 * The alarm rises when value > HIGH and clears when value < LOW (LOW < HIGH);
 * between them the state stays. Defaults HIGH 30, LOW 28; the kv keys
 * "threshold_high" and "threshold_low" (decimal text) override them.
 * The state of each sensor lives in kv ("state/<name>" = "1" or "0"), so
 * it survives a restart and no duplicate alarm follows one. */
#include <graft_iot.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double threshold(const char *key, double fallback)
{
    char buf[32];
    if (iot_kv_get_str(key, buf, sizeof buf) <= 0) return fallback;
    char *end;
    double v = strtod(buf, &end);
    return end == buf ? fallback : v;
}

static int handle(const char *topic, size_t tlen, const uint8_t *payload, size_t plen)
{
    /* sensors/<name> directly, or avg/<name> behind a moving average. */
    size_t np = tlen > 8 && memcmp(topic, "sensors/", 8) == 0 ? 8
              : tlen > 4 && memcmp(topic, "avg/", 4) == 0   ? 4 : 0;
    if (np == 0 || tlen - np > 64) return 1;
    char name[65];
    memcpy(name, topic + np, tlen - np);
    name[tlen - np] = '\0';

    iot_sensor_reading r;
    if (iot_reading_parse(payload, plen, &r) != IOT_OK) {
        iot_logf(IOT_WARN, "ignoring a %zu-byte payload on %s: not a sensor reading", plen, name);
        return 1;
    }
    if (r.quality == IOT_QUALITY_BAD) return 0;

    char key[80], state[4];
    snprintf(key, sizeof key, "state/%s", name);
    int alarmed = iot_kv_get_str(key, state, sizeof state) > 0 && state[0] == '1';
    double high = threshold("threshold_high", 30.0), low = threshold("threshold_low", 28.0);
    int next = alarmed ? !(r.value < low) : r.value > high;
    if (next == alarmed) return 0;

    char out_topic[80], msg[160];
    snprintf(out_topic, sizeof out_topic, "alarms/%s", name);
    snprintf(msg, sizeof msg, "{\"sensor\":\"%s\",\"state\":\"%s\",\"value\":%.2f}", name,
             next ? "alarm" : "clear", r.value);
    int32_t rc = iot_publish_str(out_topic, msg);
    if (rc != IOT_OK) {
        iot_logf(IOT_ERROR, "publish to %s failed: %s", out_topic, iot_strerror(rc));
        return 1;
    }
    iot_kv_put_str(key, next ? "1" : "0");
    iot_logf(IOT_INFO, "%s: %s at %.2f", name, next ? "alarm" : "clear", r.value);
    return 0;
}

IOT_ON_MESSAGE(handle)

IOT_EXPORT("on_start") int32_t on_start(void)
{
    iot_logf(IOT_INFO, "threshold_alarm up: high %.2f, low %.2f", threshold("threshold_high", 30.0),
             threshold("threshold_low", 28.0));
    return 0;
}

IOT_EXPORT("health") int32_t health(void)
{
    return 0;
}
