/* iot_caps.c - capability lists and MQTT topic-filter rules (iot_caps.h).
 *
 * Filters are compared level by level without copying: a level is the bytes
 * between two '/' (or an end). Nothing here allocates except the string
 * lists, which own their strings. */
#include "iot_caps.h"

#include <stdlib.h>
#include <string.h>

void iot_caps_free(iot_caps *c)
{
    iot_strlist *lists[] = { &c->sensors, &c->actuators, &c->publish, &c->subscribe };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        for (size_t j = 0; j < lists[i]->count; j++) free(lists[i]->items[j]);
        free(lists[i]->items);
    }
    memset(c, 0, sizeof *c);
}

bool iot_strlist_add(iot_strlist *l, const char *s)
{
    char *copy = strdup(s);
    if (!copy) return false;
    char **grown = realloc(l->items, (l->count + 1) * sizeof *grown);
    if (!grown) { free(copy); return false; }
    grown[l->count++] = copy;
    l->items = grown;
    return true;
}

bool iot_strlist_has(const iot_strlist *l, const char *s, size_t len)
{
    for (size_t i = 0; i < l->count; i++)
        if (strlen(l->items[i]) == len && memcmp(l->items[i], s, len) == 0) return true;
    return false;
}

bool iot_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c == 0) return false;
        if (c < 0x80) { i++; continue; }
        size_t n;
        unsigned cp, min;
        if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (len - i <= n) return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

/* The level starting at *pos, its length in *out_len; advances *pos past it
 * and its '/'. Returns false when there is no level left. */
static bool next_level(const char *s, size_t len, size_t *pos, bool *done,
                       const char **out, size_t *out_len)
{
    if (*done) return false;
    const char *start = s + *pos;
    const char *slash = memchr(start, '/', len - *pos);
    if (slash) {
        *out_len = (size_t)(slash - start);
        *pos += *out_len + 1;
    } else {
        *out_len = len - *pos;
        *pos = len;
        *done = true;
    }
    *out = start;
    return true;
}

static bool level_is(const char *lv, size_t n, char wildcard)
{
    return n == 1 && lv[0] == wildcard;
}

bool iot_filter_valid(const char *f, size_t len, const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    if (len == 0) { *why = "empty"; return false; }
    if (len > IOT_TOPIC_MAX) { *why = "longer than 65535 bytes"; return false; }
    if (!iot_utf8_valid(f, len)) { *why = "not valid UTF-8 (or contains NUL)"; return false; }
    size_t pos = 0, n;
    bool done = false;
    const char *lv;
    while (next_level(f, len, &pos, &done, &lv, &n)) {
        if (memchr(lv, '#', n)) {
            if (!level_is(lv, n, '#')) { *why = "'#' must be a whole level"; return false; }
            if (!done) { *why = "'#' must be the last level"; return false; }
        }
        if (memchr(lv, '+', n) && !level_is(lv, n, '+')) {
            *why = "'+' must be a whole level";
            return false;
        }
    }
    return true;
}

bool iot_topic_valid(const char *t, size_t len, const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    if (!iot_filter_valid(t, len, why)) return false;
    if (memchr(t, '+', len) || memchr(t, '#', len)) {
        *why = "wildcards are not allowed in a topic name";
        return false;
    }
    return true;
}

bool iot_filter_covers(const char *b, size_t blen, const char *a, size_t alen)
{
    size_t pa = 0, pb = 0, na, nb;
    bool da = false, db = false, first = true;
    const char *la, *lb;
    for (;;) {
        bool ha = next_level(a, alen, &pa, &da, &la, &na);
        bool hb = next_level(b, blen, &pb, &db, &lb, &nb);
        /* A wildcard first level never covers '$' topics (MQTT 4.7.2). */
        if (first && ha && hb && na > 0 && la[0] == '$' &&
            (level_is(lb, nb, '+') || level_is(lb, nb, '#')))
            return false;
        first = false;
        if (hb && level_is(lb, nb, '#')) return true;  /* covers the rest, parent included */
        if (!ha || !hb) return !ha && !hb;
        if (level_is(la, na, '#')) return false;       /* b has no '#' here */
        if (level_is(lb, nb, '+')) continue;           /* one level of anything */
        if (level_is(la, na, '+')) return false;
        if (na != nb || memcmp(la, lb, na) != 0) return false;
    }
}

bool iot_filters_match(const iot_strlist *filters, const char *topic, size_t len)
{
    for (size_t i = 0; i < filters->count; i++)
        if (iot_filter_covers(filters->items[i], strlen(filters->items[i]), topic, len)) return true;
    return false;
}
