/* json.c - the spec runner's strict JSON parser (see json.h for the rules).
 *
 * A recursive-descent parser over an explicit (text, len) range. The parser
 * state (position, line, depth, error) lives in a struct parser on the
 * caller's stack. Each parse_* function returns a freshly allocated node or
 * NULL after recording the first error; partially built trees are freed by
 * the function that owns them, so a failure at any depth leaks nothing. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const char *text;   /* the input, not NUL-terminated */
    size_t len;         /* its length */
    size_t pos;         /* next byte to read */
    unsigned line;      /* 1-based line of pos */
    unsigned depth;     /* current array/object nesting */
    json_error *err;    /* where the first error goes; may be NULL */
    bool failed;        /* an error has been recorded */
};

static json_node *parse_value(struct parser *p);

static void fail(struct parser *p, const char *msg)
{
    if (p->failed)
        return;
    p->failed = true;
    if (p->err) {
        p->err->offset = p->pos;
        p->err->line = p->line;
        snprintf(p->err->message, sizeof p->err->message, "%s", msg);
    }
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c == '\n')
            p->line++;
        else if (c != ' ' && c != '\t' && c != '\r')
            return;
        p->pos++;
    }
}

static json_node *new_node(struct parser *p, json_kind kind)
{
    json_node *n = calloc(1, sizeof *n);
    if (!n)
        fail(p, "out of memory");
    else
        n->kind = kind;
    return n;
}

/* Match a literal keyword (true, false, null). */
static json_node *parse_word(struct parser *p, const char *word, json_kind kind)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) {
        fail(p, "invalid literal");
        return NULL;
    }
    p->pos += n;
    return new_node(p, kind);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* number = [-] (0 | [1-9][0-9]*) [. [0-9]+] [(e|E) [+-] [0-9]+] */
static json_node *parse_number(struct parser *p)
{
    size_t start = p->pos;
    bool integral = true;
    if (p->pos < p->len && p->text[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len || !is_digit(p->text[p->pos])) {
        fail(p, "digit expected");
        return NULL;
    }
    if (p->text[p->pos] == '0' && p->pos + 1 < p->len && is_digit(p->text[p->pos + 1])) {
        fail(p, "leading zero in number");
        return NULL;
    }
    while (p->pos < p->len && is_digit(p->text[p->pos]))
        p->pos++;
    if (p->pos < p->len && p->text[p->pos] == '.') {
        integral = false;
        p->pos++;
        if (p->pos >= p->len || !is_digit(p->text[p->pos])) {
            fail(p, "digit expected after '.'");
            return NULL;
        }
        while (p->pos < p->len && is_digit(p->text[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
        integral = false;
        p->pos++;
        if (p->pos < p->len && (p->text[p->pos] == '+' || p->text[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->len || !is_digit(p->text[p->pos])) {
            fail(p, "digit expected in exponent");
            return NULL;
        }
        while (p->pos < p->len && is_digit(p->text[p->pos]))
            p->pos++;
    }
    size_t n = p->pos - start;
    char buf[64];
    if (n >= sizeof buf) {
        fail(p, "number too long");
        return NULL;
    }
    memcpy(buf, p->text + start, n);
    buf[n] = '\0';
    json_node *node = new_node(p, JSON_NUMBER);
    if (!node)
        return NULL;
    node->number = strtod(buf, NULL);
    if (integral && n <= 18) { /* 18 digits (or '-' and 17) always fit in int64 */
        node->is_integer = true;
        node->integer = strtoll(buf, NULL, 10);
    }
    return node;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode the escape after a backslash at p->pos; returns the byte or -1. */
static int parse_escape(struct parser *p)
{
    if (p->pos >= p->len) {
        fail(p, "unterminated escape");
        return -1;
    }
    char c = p->text[p->pos++];
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': break;
    default:
        p->pos--;
        fail(p, "invalid escape");
        return -1;
    }
    if (p->len - p->pos < 4) {
        fail(p, "truncated \\u escape");
        return -1;
    }
    unsigned code = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p->text[p->pos + (size_t)i]);
        if (h < 0) {
            fail(p, "invalid hex digit in \\u escape");
            return -1;
        }
        code = code * 16 + (unsigned)h;
    }
    if (code > 0xFF) {
        fail(p, "\\u escape above 00FF (wabt writes one byte per escape)");
        return -1;
    }
    p->pos += 4;
    return (int)code;
}

/* Parse a string at p->pos (the opening quote) into *out / *out_len. */
static bool parse_string_raw(struct parser *p, char **out, size_t *out_len)
{
    p->pos++; /* opening quote */
    size_t cap = 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fail(p, "out of memory");
        return false;
    }
    for (;;) {
        if (p->pos >= p->len) {
            fail(p, "unterminated string");
            goto fail_free;
        }
        unsigned char c = (unsigned char)p->text[p->pos];
        int byte;
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            fail(p, "raw control character in string");
            goto fail_free;
        }
        p->pos++;
        if (c == '\\') {
            byte = parse_escape(p);
            if (byte < 0)
                goto fail_free;
        } else {
            byte = c;
        }
        if (n + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                fail(p, "out of memory");
                goto fail_free;
            }
            buf = grown;
            cap *= 2;
        }
        buf[n++] = (char)byte;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return true;
fail_free:
    free(buf);
    return false;
}

static json_node *parse_string(struct parser *p)
{
    json_node *n = new_node(p, JSON_STRING);
    if (!n)
        return NULL;
    if (!parse_string_raw(p, &n->str, &n->str_len)) {
        free(n);
        return NULL;
    }
    return n;
}

/* Make room for one more child of an array or object. */
static bool grow(struct parser *p, json_node *n, size_t elem_size, void **vec)
{
    if (n->count < n->cap)
        return true;
    size_t cap = n->cap ? n->cap * 2 : 4;
    void *grown = realloc(*vec, cap * elem_size);
    if (!grown) {
        fail(p, "out of memory");
        return false;
    }
    *vec = grown;
    n->cap = cap;
    return true;
}

/* Shared loop of arrays and objects: open, items separated by ',', close. */
static json_node *parse_container(struct parser *p, json_kind kind)
{
    char close = kind == JSON_ARRAY ? ']' : '}';
    if (++p->depth > JSON_MAX_DEPTH) {
        fail(p, "nesting too deep");
        return NULL;
    }
    json_node *n = new_node(p, kind);
    if (!n)
        return NULL;
    p->pos++; /* '[' or '{' */
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == close) {
        p->pos++;
        p->depth--;
        return n;
    }
    for (;;) {
        skip_ws(p);
        if (kind == JSON_ARRAY) {
            if (!grow(p, n, sizeof *n->items, (void **)&n->items))
                goto fail_free;
            json_node *item = parse_value(p);
            if (!item)
                goto fail_free;
            n->items[n->count++] = item;
        } else {
            if (p->pos >= p->len || p->text[p->pos] != '"') {
                fail(p, "string key expected");
                goto fail_free;
            }
            if (!grow(p, n, sizeof *n->members, (void **)&n->members))
                goto fail_free;
            json_member *m = &n->members[n->count];
            if (!parse_string_raw(p, &m->key, &m->key_len))
                goto fail_free;
            skip_ws(p);
            if (p->pos >= p->len || p->text[p->pos] != ':') {
                free(m->key);
                fail(p, "':' expected");
                goto fail_free;
            }
            p->pos++;
            skip_ws(p);
            m->value = parse_value(p);
            if (!m->value) {
                free(m->key);
                goto fail_free;
            }
            n->count++;
        }
        skip_ws(p);
        if (p->pos >= p->len) {
            fail(p, kind == JSON_ARRAY ? "unterminated array" : "unterminated object");
            goto fail_free;
        }
        char c = p->text[p->pos++];
        if (c == close)
            break;
        if (c != ',') {
            p->pos--;
            fail(p, kind == JSON_ARRAY ? "',' or ']' expected" : "',' or '}' expected");
            goto fail_free;
        }
    }
    p->depth--;
    return n;
fail_free:
    json_free(n);
    return NULL;
}

static json_node *parse_value(struct parser *p)
{
    skip_ws(p);
    if (p->pos >= p->len) {
        fail(p, "unexpected end of input");
        return NULL;
    }
    char c = p->text[p->pos];
    switch (c) {
    case '{': return parse_container(p, JSON_OBJECT);
    case '[': return parse_container(p, JSON_ARRAY);
    case '"': return parse_string(p);
    case 't': return parse_word(p, "true", JSON_TRUE);
    case 'f': return parse_word(p, "false", JSON_FALSE);
    case 'n': return parse_word(p, "null", JSON_NULL);
    default:
        if (c == '-' || is_digit(c))
            return parse_number(p);
        fail(p, "unexpected character");
        return NULL;
    }
}

json_node *json_parse(const char *text, size_t len, json_error *err)
{
    struct parser p = { text, len, 0, 1, 0, err, false };
    if (err) {
        err->offset = 0;
        err->line = 0;
        err->message[0] = '\0';
    }
    json_node *root = parse_value(&p);
    if (!root)
        return NULL;
    skip_ws(&p);
    if (p.pos != p.len) {
        fail(&p, "trailing characters after the value");
        json_free(root);
        return NULL;
    }
    return root;
}

void json_free(json_node *n)
{
    if (!n)
        return;
    if (n->kind == JSON_ARRAY) {
        for (size_t i = 0; i < n->count; i++)
            json_free(n->items[i]);
        free(n->items);
    } else if (n->kind == JSON_OBJECT) {
        for (size_t i = 0; i < n->count; i++) {
            free(n->members[i].key);
            json_free(n->members[i].value);
        }
        free(n->members);
    }
    free(n->str);
    free(n);
}

const json_node *json_get(const json_node *obj, const char *key)
{
    if (!obj || obj->kind != JSON_OBJECT)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < obj->count; i++) {
        const json_member *m = &obj->members[i];
        if (m->key_len == klen && memcmp(m->key, key, klen) == 0)
            return m->value;
    }
    return NULL;
}

const json_node *json_get_string(const json_node *obj, const char *key)
{
    const json_node *v = json_get(obj, key);
    return v && v->kind == JSON_STRING ? v : NULL;
}

bool json_is(const json_node *n, const char *s)
{
    size_t len = strlen(s);
    return n && n->kind == JSON_STRING && n->str_len == len && memcmp(n->str, s, len) == 0;
}
