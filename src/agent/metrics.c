/* metrics.c - the metrics registry and its Prometheus text rendering
 * (metrics.h); the HTTP endpoint is metrics_http.c.
 *
 * Data structure: the registry holds a list of families in registration
 * order; each family holds its series in creation order. Families and
 * series are created and removed under the registry's mutex; values are
 * atomics updated without it (a histogram's sum is a double kept as its bit
 * pattern and updated by compare-and-swap). Rendering first runs the
 * collector (without the mutex: it gets and sets series), then takes the
 * mutex, so series cannot vanish under it, and reads each atomic once. A
 * series keeps up to METRICS_MAX_LABELS label pairs in a fixed array. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind;

static const char *const kind_names[] = { "counter", "gauge", "histogram" };

typedef struct family family;

struct metrics_series {
    family *family;                  /* the family it belongs to */
    size_t nlabels;                  /* label pairs in use, at most METRICS_MAX_LABELS */
    char *label[METRICS_MAX_LABELS]; /* label names (owned), in rendering order */
    char *value[METRICS_MAX_LABELS]; /* their values (owned) */
    _Atomic uint64_t counter;        /* KIND_COUNTER */
    _Atomic int64_t gauge;           /* KIND_GAUGE */
    _Atomic uint64_t sum_bits;       /* KIND_HISTOGRAM: the sum, as double bits */
    _Atomic uint64_t *buckets;       /* KIND_HISTOGRAM: nbounds + 1 counts, not cumulative */
    struct metrics_series *next;     /* the family's next series */
};

struct family {
    char *name;                      /* metric name (owned) */
    char *help;                      /* HELP text (owned) */
    kind kind;                       /* counter, gauge or histogram */
    double *bounds;                  /* histogram upper bounds (owned) */
    size_t nbounds;                  /* their count */
    struct metrics_series *series;   /* first series, creation order */
    family *next;                    /* next family, registration order */
};

struct metrics {
    pthread_mutex_t lock;            /* guards the lists and the collector, not the values */
    family *families;                /* registration order */
    metrics_collect_fn collect;      /* run before each render, or NULL */
    void *collect_user;              /* for collect */
};

metrics *metrics_new(void)
{
    metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void series_free(struct metrics_series *s)
{
    for (size_t i = 0; i < s->nlabels; i++) {
        free(s->label[i]);
        free(s->value[i]);
    }
    free(s->buckets);
    free(s);
}

void metrics_free(metrics *m)
{
    if (!m) return;
    for (family *f = m->families, *fn; f; f = fn) {
        fn = f->next;
        for (struct metrics_series *s = f->series, *sn; s; s = sn) {
            sn = s->next;
            series_free(s);
        }
        free(f->name);
        free(f->help);
        free(f->bounds);
        free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* ---- registration -------------------------------------------------------- */

/* Prometheus names: [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no ':'). */
static bool name_valid(const char *s, bool is_label)
{
    if (!s || !*s) return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!is_label && c == ':');
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

static bool same_bounds(const family *f, const double *bounds, size_t count)
{
    return f->nbounds == count && (count == 0 || memcmp(f->bounds, bounds, count * sizeof *bounds) == 0);
}

/* The family called name, created when missing; NULL on a type clash. */
static family *family_get(metrics *m, const char *name, const char *help, kind k,
                          const double *bounds, size_t count)
{
    family **link = &m->families;
    for (; *link; link = &(*link)->next) {
        family *f = *link;
        if (strcmp(f->name, name) != 0) continue;
        return f->kind == k && same_bounds(f, bounds, count) ? f : NULL;
    }
    family *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->kind = k;
    f->nbounds = count;
    f->bounds = count ? malloc(count * sizeof *bounds) : NULL;
    if (!f->name || !f->help || (count && !f->bounds)) {
        free(f->name); free(f->help); free(f->bounds); free(f);
        return NULL;
    }
    if (count) memcpy(f->bounds, bounds, count * sizeof *bounds);
    *link = f;
    return f;
}

static const char *or_empty(const char *s) { return s ? s : ""; }

/* The same pairs in the same order. */
static bool labels_are(const struct metrics_series *s, const metrics_label *l, size_t n)
{
    if (s->nlabels != n) return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->label[i], l[i].name) != 0 || strcmp(s->value[i], or_empty(l[i].value)) != 0) return false;
    return true;
}

/* (label, value) is one of s's pairs. */
static bool has_label(const struct metrics_series *s, const char *label, const char *value)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->label[i], label) == 0 && strcmp(s->value[i], or_empty(value)) == 0) return true;
    return false;
}

static struct metrics_series *series_get(family *f, const metrics_label *l, size_t n)
{
    struct metrics_series **link = &f->series;
    for (; *link; link = &(*link)->next)
        if (labels_are(*link, l, n)) return *link;
    struct metrics_series *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->family = f;
    bool ok = true;
    for (; s->nlabels < n; s->nlabels++) {
        s->label[s->nlabels] = strdup(l[s->nlabels].name);
        s->value[s->nlabels] = strdup(or_empty(l[s->nlabels].value));
        ok = ok && s->label[s->nlabels] && s->value[s->nlabels];
    }
    if (f->kind == KIND_HISTOGRAM) s->buckets = calloc(f->nbounds + 1, sizeof *s->buckets);
    if (!ok || (f->kind == KIND_HISTOGRAM && !s->buckets)) {
        series_free(s);
        return NULL;
    }
    *link = s;
    return s;
}

/* Valid, not too many, no name twice ("le" is the histograms' own). */
static bool labels_valid(const metrics_label *l, size_t n)
{
    if (n > METRICS_MAX_LABELS) return false;
    for (size_t i = 0; i < n; i++) {
        if (!name_valid(l[i].name, true) || strcmp(l[i].name, "le") == 0) return false;
        for (size_t k = 0; k < i; k++)
            if (strcmp(l[i].name, l[k].name) == 0) return false;
    }
    return true;
}

static struct metrics_series *get(metrics *m, const char *name, const char *help, kind k,
                                  const double *bounds, size_t count, const metrics_label *l, size_t n)
{
    if (!m || !name_valid(name, false) || !labels_valid(l, n)) return NULL;
    pthread_mutex_lock(&m->lock);
    family *f = family_get(m, name, help, k, bounds, count);
    struct metrics_series *s = f ? series_get(f, l, n) : NULL;
    pthread_mutex_unlock(&m->lock);
    return s;
}

metrics_counter *metrics_counter_get(metrics *m, const char *name, const char *help,
                                     const char *label, const char *value)
{
    metrics_label l = { label, value };
    return get(m, name, help, KIND_COUNTER, NULL, 0, &l, label ? 1 : 0);
}

metrics_gauge *metrics_gauge_get(metrics *m, const char *name, const char *help,
                                 const char *label, const char *value)
{
    metrics_label l = { label, value };
    return get(m, name, help, KIND_GAUGE, NULL, 0, &l, label ? 1 : 0);
}

metrics_counter *metrics_counter_getl(metrics *m, const char *name, const char *help,
                                      const metrics_label *labels, size_t n)
{
    return get(m, name, help, KIND_COUNTER, NULL, 0, labels, n);
}

metrics_gauge *metrics_gauge_getl(metrics *m, const char *name, const char *help,
                                  const metrics_label *labels, size_t n)
{
    return get(m, name, help, KIND_GAUGE, NULL, 0, labels, n);
}

metrics_histogram *metrics_histogram_get(metrics *m, const char *name, const char *help,
                                         const double *bounds, size_t count,
                                         const char *label, const char *value)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(bounds[i]) || (i && !(bounds[i] > bounds[i - 1]))) return NULL;
    metrics_label l = { label, value };
    return get(m, name, help, KIND_HISTOGRAM, bounds, count, &l, label ? 1 : 0);
}

void metrics_set_collector(metrics *m, metrics_collect_fn fn, void *user)
{
    pthread_mutex_lock(&m->lock);
    m->collect = fn;
    m->collect_user = user;
    pthread_mutex_unlock(&m->lock);
}

void metrics_remove_label(metrics *m, const char *label, const char *value)
{
    pthread_mutex_lock(&m->lock);
    for (family *f = m->families; f; f = f->next) {
        struct metrics_series **link = &f->series;
        while (*link) {
            struct metrics_series *s = *link;
            if (label && has_label(s, label, value)) { *link = s->next; series_free(s); }
            else link = &s->next;
        }
    }
    pthread_mutex_unlock(&m->lock);
}

/* ---- updates --------------------------------------------------------------- */

void metrics_counter_inc(metrics_counter *c) { atomic_fetch_add_explicit(&c->counter, 1, memory_order_relaxed); }
void metrics_counter_add(metrics_counter *c, uint64_t n) { atomic_fetch_add_explicit(&c->counter, n, memory_order_relaxed); }
void metrics_counter_set(metrics_counter *c, uint64_t v) { atomic_store_explicit(&c->counter, v, memory_order_relaxed); }
uint64_t metrics_counter_value(const metrics_counter *c) { return atomic_load(&((metrics_counter *)c)->counter); }
void metrics_gauge_set(metrics_gauge *g, int64_t v) { atomic_store_explicit(&g->gauge, v, memory_order_relaxed); }
void metrics_gauge_add(metrics_gauge *g, int64_t d) { atomic_fetch_add_explicit(&g->gauge, d, memory_order_relaxed); }
int64_t metrics_gauge_value(const metrics_gauge *g) { return atomic_load(&((metrics_gauge *)g)->gauge); }

static double from_bits(uint64_t b) { double d; memcpy(&d, &b, sizeof d); return d; }
static uint64_t to_bits(double d) { uint64_t b; memcpy(&b, &d, sizeof b); return b; }

void metrics_histogram_observe(metrics_histogram *h, double v)
{
    const family *f = h->family;
    size_t i = 0;
    while (i < f->nbounds && !(v <= f->bounds[i])) i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, to_bits(from_bits(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

/* ---- rendering [Prometheus text exposition format 0.0.4] ------------------ */

/* Integers as such, others as the shortest decimal that reads back as v; +Inf, -Inf, NaN as Prometheus spells them. */
static void put_double(FILE *o, double v)
{
    if (isnan(v)) { fputs("NaN", o); return; }
    if (isinf(v)) { fputs(v > 0 ? "+Inf" : "-Inf", o); return; }
    char buf[40];
    if (v == trunc(v) && fabs(v) < 9007199254740992.0) {   /* integers in full, not 4e+04 */
        fprintf(o, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, o);
}

/* HELP text escapes '\' and newline; label values also '"'. */
static void put_escaped(FILE *o, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\') fputs("\\\\", o);
        else if (*s == '\n') fputs("\\n", o);
        else if (quote && *s == '"') fputs("\\\"", o);
        else fputc(*s, o);
    }
}

/* {label="value",...} plus le when given; nothing without labels. */
static void put_labels(FILE *o, const struct metrics_series *s, const char *le)
{
    if (!s->nlabels && !le) return;
    fputc('{', o);
    for (size_t i = 0; i < s->nlabels; i++) {
        fprintf(o, "%s%s=\"", i ? "," : "", s->label[i]);
        put_escaped(o, s->value[i], true);
        fputc('"', o);
    }
    if (le) fprintf(o, "%sle=\"%s\"", s->nlabels ? "," : "", le);
    fputc('}', o);
}

static void render_histogram(FILE *o, const family *f, const struct metrics_series *s)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= f->nbounds; i++) {
        char le[40] = "+Inf";
        if (i < f->nbounds) {
            FILE *m = fmemopen(le, sizeof le, "w");
            if (m) { put_double(m, f->bounds[i]); fclose(m); }
        }
        cumulative += atomic_load(&((struct metrics_series *)s)->buckets[i]);
        fprintf(o, "%s_bucket", f->name);
        put_labels(o, s, le);
        fprintf(o, " %llu\n", (unsigned long long)cumulative);
    }
    fprintf(o, "%s_sum", f->name);
    put_labels(o, s, NULL);
    fputc(' ', o);
    put_double(o, from_bits(atomic_load(&((struct metrics_series *)s)->sum_bits)));
    fprintf(o, "\n%s_count", f->name);
    put_labels(o, s, NULL);
    fprintf(o, " %llu\n", (unsigned long long)cumulative);
}

static void render_family(FILE *o, const family *f)
{
    fprintf(o, "# HELP %s ", f->name);
    put_escaped(o, f->help, false);
    fprintf(o, "\n# TYPE %s %s\n", f->name, kind_names[f->kind]);
    for (struct metrics_series *s = f->series; s; s = s->next) {
        if (f->kind == KIND_HISTOGRAM) { render_histogram(o, f, s); continue; }
        fputs(f->name, o);
        put_labels(o, s, NULL);
        if (f->kind == KIND_COUNTER) fprintf(o, " %llu\n", (unsigned long long)atomic_load(&s->counter));
        else fprintf(o, " %lld\n", (long long)atomic_load(&s->gauge));
    }
}

bool metrics_render(metrics *m, char **out, size_t *out_len)
{
    char *buf = NULL;
    size_t len = 0;
    pthread_mutex_lock(&m->lock);
    metrics_collect_fn collect = m->collect;
    void *user = m->collect_user;
    pthread_mutex_unlock(&m->lock);
    if (collect) collect(user, m);
    FILE *o = open_memstream(&buf, &len);
    if (!o) return false;
    pthread_mutex_lock(&m->lock);
    for (family *f = m->families; f; f = f->next)
        if (f->series) render_family(o, f);
    pthread_mutex_unlock(&m->lock);
    bool ok = !ferror(o);
    if (fclose(o) != 0) ok = false;
    if (!ok) { free(buf); return false; }
    *out = buf;
    if (out_len) *out_len = len;
    return true;
}

/* ---- per-module series ------------------------------------------------- */

static const double latency_bounds[] = METRICS_LATENCY_BOUNDS;

metrics_module *metrics_module_new(metrics *reg, const char *name)
{
    metrics_module *mm = calloc(1, sizeof *mm);
    if (!mm || !(mm->name = strdup(name))) { free(mm); return NULL; }
    mm->reg = reg;
#define C_(field, metric, help) mm->field = metrics_counter_get(reg, metric, help, "module", name)
    C_(messages_in, "graft_module_messages_in_total", "Messages delivered to the module.");
    C_(messages_out, "graft_module_messages_out_total", "Messages the module published.");
    C_(refusals, "graft_module_refusals_total", "Host calls refused by the module's capabilities.");
    C_(faults, "graft_module_faults_total", "Host calls answered IOT_EFAULT: a bad pointer or length.");
    C_(invalid, "graft_module_invalid_total", "Host calls answered IOT_EINVAL: an invalid argument.");
    C_(too_big, "graft_module_too_big_total", "Host calls answered IOT_E2BIG: an argument too long.");
    C_(alloc_dropped, "graft_module_alloc_dropped_total", "Messages dropped because graft_alloc gave no room.");
    C_(traps, "graft_module_traps_total", "Handler calls that trapped.");
    C_(restarts, "graft_module_restarts_total", "Restarts of the module's instance.");
    C_(fuel_used, "graft_module_fuel_used_total", "Fuel units the module consumed.");
#undef C_
    mm->event_latency = metrics_histogram_get(reg, "graft_module_event_latency_seconds",
                                              "Time to handle one event, in seconds.", latency_bounds,
                                              sizeof latency_bounds / sizeof latency_bounds[0], "module", name);
    mm->memory_bytes = metrics_gauge_get(reg, "graft_module_memory_bytes",
                                         "Size of the module's linear memory, in bytes.", "module", name);
    if (!mm->messages_in || !mm->messages_out || !mm->refusals || !mm->faults || !mm->invalid || !mm->too_big ||
        !mm->alloc_dropped || !mm->traps || !mm->restarts ||
        !mm->fuel_used || !mm->event_latency || !mm->memory_bytes) {
        metrics_module_free(mm);
        return NULL;
    }
    return mm;
}

void metrics_module_free(metrics_module *mm)
{
    if (!mm) return;
    metrics_remove_label(mm->reg, "module", mm->name);
    free(mm->name);
    free(mm);
}
