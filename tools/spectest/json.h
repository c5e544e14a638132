/* json.h - a small, strict, bounded JSON parser for the spec runner.
 *
 * The runner reads wabt's JSON command files (see the suite's README). The
 * parser builds a tree of json_node values: every node is one heap block,
 * arrays and objects own a counted vector of children, and strings are byte
 * strings with an explicit length (wast2json writes each byte 0x00-0x1F, '"'
 * and '\\' as \u00XX, so an export name may contain NUL). json_free releases
 * a whole tree. Nothing here is global; the parser holds its state in a
 * struct on the caller's stack.
 *
 * Strict means: exactly one value and nothing but whitespace after it; no
 * trailing commas, comments, leading zeros, raw control characters in
 * strings, or unknown escapes. Bounded means: nesting depth is limited
 * (JSON_MAX_DEPTH) and input length is given explicitly, never NUL-terminated.
 *
 * \uXXXX: in this format each escape stands for exactly one byte, so escapes
 * up to \u00FF become that byte. Larger escapes never occur in wabt output
 * and are rejected, rather than guessed at. */
#ifndef GRAFT_SPECTEST_JSON_H
#define GRAFT_SPECTEST_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

typedef enum json_kind {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_kind;

typedef struct json_node json_node;

/* One member of an object: a key (byte string) and its value. */
typedef struct json_member {
    char *key;          /* NUL-terminated copy, but may also contain NUL: use key_len */
    size_t key_len;     /* length in bytes */
    json_node *value;   /* owned */
} json_member;

struct json_node {
    json_kind kind;     /* which of the fields below is meaningful */
    double number;      /* JSON_NUMBER: its value */
    bool is_integer;    /* JSON_NUMBER: written without fraction or exponent and fits int64 */
    int64_t integer;    /* JSON_NUMBER when is_integer */
    char *str;          /* JSON_STRING: bytes plus a terminating NUL (not counted) */
    size_t str_len;     /* JSON_STRING: length in bytes */
    json_node **items;  /* JSON_ARRAY: owned children */
    json_member *members; /* JSON_OBJECT: owned members, in input order */
    size_t count;       /* JSON_ARRAY / JSON_OBJECT: number of children */
    size_t cap;         /* allocated room in items or members */
};

/* Where and why parsing failed. */
typedef struct json_error {
    size_t offset;      /* byte offset of the problem */
    unsigned line;      /* 1-based line of the problem */
    char message[96];   /* what was wrong */
} json_error;

/* Parse len bytes of text. Returns the tree (free it with json_free), or
 * NULL with *err filled when the text is not one well-formed JSON value or
 * memory ran out. err may be NULL. */
json_node *json_parse(const char *text, size_t len, json_error *err);
void json_free(json_node *n);

/* The value of key in object obj, or NULL when obj is not an object or has
 * no such key. Duplicate keys: the first wins. */
const json_node *json_get(const json_node *obj, const char *key);
/* The string value of key, or NULL when absent or not a string. */
const json_node *json_get_string(const json_node *obj, const char *key);
/* True when n is a string equal to the NUL-terminated s. */
bool json_is(const json_node *n, const char *s);

#endif
