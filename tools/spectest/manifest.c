/* manifest.c - reading MANIFEST.tsv (see manifest.h).
 *
 * The file is tab-separated with one header line. The header is searched
 * for the columns dir, file, bucket, commands and register; every later
 * non-empty line must have at least as many fields as those positions
 * need. The rows keep copies of the three strings and the derived count. */
#include "manifest.h"

#include "util.h"

#include "graft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COL_DIR, COL_FILE, COL_BUCKET, COL_COMMANDS, COL_REGISTER, COL_COUNT_ };
static const char *const col_names[COL_COUNT_] = { "dir", "file", "bucket", "commands",
                                                   "register" };

/* Split line (modified in place) at tabs into at most max fields. */
static size_t split_tabs(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static bool parse_count(const char *s, long *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    *out = strtol(s, &end, 10);
    return *end == '\0';
}

static bool add_row(manifest *m, char **f, const size_t *col, char *err, size_t errlen,
                    unsigned lineno)
{
    long commands, reg;
    if (!parse_count(f[col[COL_COMMANDS]], &commands) || !parse_count(f[col[COL_REGISTER]], &reg) ||
        reg > commands) {
        snprintf(err, errlen, "MANIFEST.tsv line %u: bad command counts", lineno);
        return false;
    }
    manifest_row *grown = realloc(m->rows, (m->count + 1) * sizeof *grown);
    if (!grown)
        goto fail_oom;
    m->rows = grown;
    manifest_row *r = &m->rows[m->count];
    r->dir = strdup(f[col[COL_DIR]]);
    r->file = strdup(f[col[COL_FILE]]);
    r->bucket = strdup(f[col[COL_BUCKET]]);
    r->counted = commands - reg;
    m->count++;
    if (!r->dir || !r->file || !r->bucket)
        goto fail_oom;
    return true;
fail_oom:
    snprintf(err, errlen, "out of memory reading MANIFEST.tsv");
    return false;
}

/* Parse the whole text (modified in place) into m. */
static bool parse_lines(manifest *m, char *text, char *err, size_t errlen)
{
    size_t col[COL_COUNT_];
    size_t need = 0;
    unsigned lineno = 0;
    char *fields[64];
    for (char *line = text; line && *line; lineno++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        size_t n = *line ? split_tabs(line, fields, 64) : 0;
        if (lineno == 0) {
            for (int c = 0; c < COL_COUNT_; c++) {
                size_t i = 0;
                while (i < n && strcmp(fields[i], col_names[c]) != 0)
                    i++;
                if (i == n) {
                    snprintf(err, errlen, "MANIFEST.tsv has no column \"%s\"", col_names[c]);
                    return false;
                }
                col[c] = i;
                need = i + 1 > need ? i + 1 : need;
            }
        } else if (n > 0) {
            if (n < need) {
                snprintf(err, errlen, "MANIFEST.tsv line %u: too few columns", lineno + 1);
                return false;
            }
            if (!add_row(m, fields, col, err, errlen, lineno + 1))
                return false;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (lineno == 0) {
        snprintf(err, errlen, "MANIFEST.tsv is empty");
        return false;
    }
    return true;
}

manifest *manifest_load(const char *path, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (!util_read_file(path, &text, &len, err, errlen))
        return NULL;
    manifest *m = calloc(1, sizeof *m);
    if (!m || memchr(text, '\0', len)) {
        snprintf(err, errlen, m ? "MANIFEST.tsv contains a NUL byte" : "out of memory");
        goto fail;
    }
    m->root = util_parent_dir(path);
    if (!m->root) {
        snprintf(err, errlen, "cannot resolve the directory of %s", path);
        goto fail;
    }
    if (!parse_lines(m, text, err, errlen))
        goto fail;
    free(text);
    return m;
fail:
    manifest_free(m);
    free(text);
    return NULL;
}

void manifest_free(manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++) {
        free(m->rows[i].dir);
        free(m->rows[i].file);
        free(m->rows[i].bucket);
    }
    free(m->rows);
    free(m->root);
    free(m);
}

const manifest_row *manifest_find(const manifest *m, const char *dir, const char *file)
{
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->rows[i].dir, dir) == 0 && strcmp(m->rows[i].file, file) == 0)
            return &m->rows[i];
    return NULL;
}

/* Buckets the engine implements, and the feature bits each needs in the
 * env (0 for WebAssembly 2.0 itself). */
static const struct {
    const char *bucket;
    uint32_t features;
} supported[] = {
    { "mvp", 0 },
    { "sign-ext", 0 },
    { "sat-conv", 0 },
    { "multi-value", 0 },
    { "bulk-memory", 0 },
    { "reference-types", 0 },
    { "tail-call", GRAFT_FEATURE_TAIL_CALL },
    { "extended-const", GRAFT_FEATURE_EXTENDED_CONST },
};

bool manifest_bucket_supported(const char *bucket)
{
    for (size_t i = 0; i < sizeof supported / sizeof supported[0]; i++)
        if (strcmp(bucket, supported[i].bucket) == 0)
            return true;
    return false;
}

uint32_t manifest_bucket_features(const char *bucket)
{
    for (size_t i = 0; i < sizeof supported / sizeof supported[0]; i++)
        if (strcmp(bucket, supported[i].bucket) == 0)
            return supported[i].features;
    return 0;
}
