/* iot_caps.c - capability lists (iot_caps.h). Topic-filter rules are
 * topic.c's; nothing here allocates except the string lists, which own
 * their strings. */
#include "iot_caps.h"

#include "topic.h"

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

bool iot_filters_match(const iot_strlist *filters, const char *topic, size_t len)
{
    for (size_t i = 0; i < filters->count; i++)
        if (topic_match(filters->items[i], strlen(filters->items[i]), topic, len)) return true;
    return false;
}
