/* topic.h - MQTT topic names and topic filters: the one implementation of
 * their rules, shared by the host API (capability checks) and the agent (the
 * bus, drivers, manifests and configs).
 *
 * The rules are MQTT 3.1.1 section 4.7. A topic name or filter is 1 to 65535
 * bytes of well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF) without U+0000 [spec 4.7.3, 1.5.3]. Levels are
 * split by '/', and a level may be empty. In a filter, '+' is exactly one
 * whole level (possibly an empty one) and '#' is a whole last level that
 * also matches its parent level ("sport/#" matches "sport") [spec 4.7.1].
 * A topic name holds no wildcard. A filter whose first level is a wildcard
 * never matches a topic that begins with '$' [spec 4.7.2].
 *
 * Every function takes (pointer, length) pairs, so strings need not be
 * NUL-terminated (a module's memory, for instance). All are pure and
 * thread-safe; nothing allocates. Functions that compare filters assume
 * their arguments already passed topic_filter_check / topic_name_check. */
#ifndef GRAFT_HOSTAPI_TOPIC_H
#define GRAFT_HOSTAPI_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#define TOPIC_MAX 65535u   /* MQTT's limit on the bytes of a topic or filter */

/* Why a topic or filter is invalid: name, text (the text reads after
 * "is invalid: "). */
#define TOPIC_RESULTS(X)                                                    \
    X(TOPIC_OK, "ok")                                                       \
    X(TOPIC_E_EMPTY, "empty")                                               \
    X(TOPIC_E_TOOLONG, "longer than 65535 bytes")                           \
    X(TOPIC_E_UTF8, "not well-formed UTF-8")                                \
    X(TOPIC_E_NUL, "contains U+0000")                                       \
    X(TOPIC_E_WILDCARD_IN_TOPIC, "wildcards are not allowed in a topic name") \
    X(TOPIC_E_HASH_NOT_LAST, "'#' must be the last level")                  \
    X(TOPIC_E_HASH_LEVEL, "'#' must be a whole level")                      \
    X(TOPIC_E_PLUS_LEVEL, "'+' must be a whole level")

#define TOPIC_ENUM_(name, text) name,
typedef enum topic_result { TOPIC_RESULTS(TOPIC_ENUM_) TOPIC_RESULT_COUNT_ } topic_result;
#undef TOPIC_ENUM_

/* The catalogue text of r (a static string). */
const char *topic_strerror(topic_result r);

/* Length (1 to 4) of the well-formed UTF-8 sequence at s, which has avail
 * (> 0) bytes, or 0 when none starts there. Exported for the agent's JSON
 * log escaping, so that one UTF-8 decoder serves both. */
size_t topic_utf8_seq(const char *s, size_t avail);
/* Whether s (len bytes) is well-formed UTF-8 without U+0000. */
bool topic_utf8_valid(const char *s, size_t len);
/* Validates a topic name to publish to: TOPIC_OK or what is wrong (the first
 * problem from the start; a NUL byte is TOPIC_E_NUL). */
topic_result topic_name_check(const char *t, size_t len);
/* Validates a topic filter: TOPIC_OK or what is wrong. */
topic_result topic_filter_check(const char *f, size_t len);
/* True when the filter holds no wildcard (it then matches one topic only). */
bool topic_is_exact(const char *f, size_t len);

/* True when topic name t matches filter f (both valid), the '$' rule included. */
bool topic_match(const char *f, size_t flen, const char *t, size_t tlen);
/* True when every topic that filter a matches is also matched by filter b
 * (both valid). A topic name is a filter that matches only itself, so
 * topic_covers(f, t) equals topic_match(f, t). */
bool topic_covers(const char *b, size_t blen, const char *a, size_t alen);
/* True when some topic name matches both filters (both valid); symmetric. */
bool topic_overlap(const char *a, size_t alen, const char *b, size_t blen);

#endif
