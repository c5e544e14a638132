/* topic.c - MQTT topic names and filters (topic.h): validation, matching,
 * coverage and overlap.
 *
 * Strings are walked level by level without copying: a cursor over
 * (pointer, length) hands out one level at a time, the bytes between two '/'
 * (or an end). A string of n slashes has n + 1 levels, some possibly empty.
 * Nothing here allocates or keeps state. */
#include "topic.h"

#include <string.h>

#define TOPIC_TEXT_(name, text) text,
static const char *const topic_texts[] = { TOPIC_RESULTS(TOPIC_TEXT_) };
#undef TOPIC_TEXT_

const char *topic_strerror(topic_result r)
{
    if ((unsigned)r >= TOPIC_RESULT_COUNT_) return "unknown topic result";
    return topic_texts[r];
}

/* ---- validation ---------------------------------------------------------- */

size_t topic_utf8_seq(const char *str, size_t avail)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0], cp, min;
    size_t n;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) { n = 2; min = 0x80; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; min = 0x800; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; min = 0x10000; cp = c & 0x07; }
    else return 0;
    if (n > avail) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

/* The checks names and filters share: length, then UTF-8 and NUL. */
static topic_result check_common(const char *s, size_t len)
{
    if (!s || len == 0) return TOPIC_E_EMPTY;
    if (len > TOPIC_MAX) return TOPIC_E_TOOLONG;
    for (size_t i = 0; i < len;) {
        if (s[i] == 0) return TOPIC_E_NUL;
        size_t n = topic_utf8_seq(s + i, len - i);
        if (n == 0) return TOPIC_E_UTF8;
        i += n;
    }
    return TOPIC_OK;
}

bool topic_utf8_valid(const char *s, size_t len)
{
    return len == 0 || check_common(s, len) == TOPIC_OK;
}

bool topic_is_exact(const char *f, size_t len)
{
    return !memchr(f, '+', len) && !memchr(f, '#', len);
}

topic_result topic_name_check(const char *t, size_t len)
{
    topic_result r = check_common(t, len);
    if (r != TOPIC_OK) return r;
    return topic_is_exact(t, len) ? TOPIC_OK : TOPIC_E_WILDCARD_IN_TOPIC;
}

/* ---- levels ---------------------------------------------------------------- */

typedef struct cursor {
    const char *s;      /* the whole string */
    size_t len;         /* its length */
    size_t pos;         /* start of the next level */
    bool done;          /* the last level has been handed out */
} cursor;

typedef struct level {
    const char *p;      /* first byte */
    size_t len;         /* bytes, 0 for an empty level */
} level;

static cursor cursor_of(const char *s, size_t len)
{
    cursor c = { s, len, 0, false };
    return c;
}

/* Hands out the next level; false when there is none left. */
static bool next_level(cursor *c, level *out)
{
    if (c->done) return false;
    const char *start = c->s + c->pos;
    const char *slash = memchr(start, '/', c->len - c->pos);
    out->p = start;
    if (slash) {
        out->len = (size_t)(slash - start);
        c->pos += out->len + 1;
    } else {
        out->len = c->len - c->pos;
        c->pos = c->len;
        c->done = true;
    }
    return true;
}

static bool level_is(const level *l, char c) { return l->len == 1 && l->p[0] == c; }
static bool level_wild(const level *l) { return level_is(l, '+') || level_is(l, '#'); }
static bool level_dollar(const level *l) { return l->len > 0 && l->p[0] == '$'; }
static bool level_eq(const level *a, const level *b)
{
    return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

topic_result topic_filter_check(const char *f, size_t len)
{
    topic_result r = check_common(f, len);
    if (r != TOPIC_OK) return r;
    cursor c = cursor_of(f, len);
    level l;
    while (next_level(&c, &l)) {
        if (memchr(l.p, '#', l.len)) {
            if (!level_is(&l, '#')) return TOPIC_E_HASH_LEVEL;
            if (!c.done) return TOPIC_E_HASH_NOT_LAST;
        }
        if (memchr(l.p, '+', l.len) && !level_is(&l, '+')) return TOPIC_E_PLUS_LEVEL;
    }
    return TOPIC_OK;
}

/* ---- matching, coverage, overlap --------------------------------------- */

/* True when the cursor's remaining levels are exactly one '#'. */
static bool rest_is_hash(cursor c)
{
    level l;
    return next_level(&c, &l) && level_is(&l, '#') && c.done;
}

/* A '#' after depth levels also matches its parent, the topic made of those
 * levels, unless that topic would be empty (and so invalid): no level
 * before it, or one empty level ("/#"). */
static bool parent_exists(size_t depth, const level *first)
{
    return depth > 1 || (depth == 1 && first->len > 0);
}

bool topic_covers(const char *b, size_t blen, const char *a, size_t alen)
{
    cursor ca = cursor_of(a, alen), cb = cursor_of(b, blen);
    level la = { a, 0 }, lb = { b, 0 }, a_first = { a, 0 };
    for (size_t depth = 0;; depth++) {
        bool ha = next_level(&ca, &la), hb = next_level(&cb, &lb);
        if (depth == 0) {
            /* A wildcard first level never reaches '$' topics [spec 4.7.2]. */
            if (ha && hb && level_dollar(&la) && level_wild(&lb)) return false;
            a_first = la;
        }
        if (hb && level_is(&lb, '#')) return true;   /* the rest, parent included */
        if (!ha || !hb) return !ha && !hb;
        /* b has no '#' here: "+/#" still covers a's '#' when a's '#' cannot
         * match its parent ("#" and "/#"). */
        if (level_is(&la, '#'))
            return !parent_exists(depth, &a_first) && level_is(&lb, '+') && rest_is_hash(cb);
        if (level_is(&lb, '+')) continue;            /* one level of anything */
        if (level_is(&la, '+') || !level_eq(&la, &lb)) return false;
    }
}

bool topic_match(const char *f, size_t flen, const char *t, size_t tlen)
{
    return topic_covers(f, flen, t, tlen);
}

bool topic_overlap(const char *a, size_t alen, const char *b, size_t blen)
{
    cursor ca = cursor_of(a, alen), cb = cursor_of(b, blen);
    level la = { a, 0 }, lb = { b, 0 }, first = { a, 0 };
    for (size_t depth = 0;; depth++) {
        bool ha = next_level(&ca, &la), hb = next_level(&cb, &lb);
        if (!ha || !hb) {
            /* One side ended: the other may go on only with its final '#',
             * whose parent is then the shared topic, if that is not empty;
             * both ended: the same topic. */
            if (!ha && !hb) return true;
            return level_is(ha ? &la : &lb, '#') && parent_exists(depth, &first);
        }
        if (depth == 0) {
            /* A leading wildcard never meets a literal first level "$...". */
            if (level_wild(&la) && !level_wild(&lb) && level_dollar(&lb)) return false;
            if (level_wild(&lb) && !level_wild(&la) && level_dollar(&la)) return false;
            /* The shared first level is empty if either side says so. */
            first = level_wild(&la) ? lb : la;
        }
        if (level_is(&la, '#') || level_is(&lb, '#')) return true;
        if (!level_is(&la, '+') && !level_is(&lb, '+') && !level_eq(&la, &lb)) return false;
    }
}
