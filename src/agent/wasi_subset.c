/* wasi_subset.c - the restricted wasi_snapshot_preview1 a module may
 * import (docs/host-api.md, "WASI subset"): empty args and environ, clocks,
 * random, fd_write on fds 1 and 2 into the module's log; no filesystem.
 * Every other function links with the type the module declares and
 * returns ENOSYS (52) when it returns an errno, or traps when it has no
 * result to carry one (proc_exit: the module asked to end).
 *
 * Only the functions the module imports are defined, each with user = the
 * agent_mod. Pointers are checked against the caller's memory (EFAULT 21). */
#include "agent_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define WASI_ESUCCESS 0
#define WASI_EBADF 8
#define WASI_EFAULT 21
#define WASI_EINVAL 28
#define WASI_ENOSYS 52

static uint8_t *guest(graft_caller *c, uint64_t off, uint64_t len)
{
    graft_memory *m = graft_caller_memory(c);
    if (!m || off + len > graft_memory_size(m)) return NULL;
    return graft_memory_data(m) + off;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static graft_result w_zero_sizes(graft_caller *c, graft_slot *a, void *user)
{
    (void)user;
    uint8_t *p = guest(c, a[0].i32 & 0xffffffffu, 4), *q = guest(c, a[1].i32 & 0xffffffffu, 4);
    if (!p || !q) { a[0].i32 = WASI_EFAULT; return GRAFT_OK; }
    put32(p, 0);
    put32(q, 0);
    a[0].i32 = WASI_ESUCCESS;
    return GRAFT_OK;
}

static graft_result w_nothing(graft_caller *c, graft_slot *a, void *user)
{
    (void)c, (void)user;
    a[0].i32 = WASI_ESUCCESS;
    return GRAFT_OK;
}

static graft_result w_clock_time_get(graft_caller *c, graft_slot *a, void *user)
{
    (void)user;
    uint32_t id = (uint32_t)a[0].i32;
    uint8_t *p = guest(c, (uint32_t)a[2].i32, 8);
    if (!p) { a[0].i32 = WASI_EFAULT; return GRAFT_OK; }
    if (id > 3) { a[0].i32 = WASI_EINVAL; return GRAFT_OK; }
    put64(p, (uint64_t)(id == 0 ? agent_wall_ns() : agent_now_ns()));
    a[0].i32 = WASI_ESUCCESS;
    return GRAFT_OK;
}

static graft_result w_clock_res_get(graft_caller *c, graft_slot *a, void *user)
{
    (void)user;
    uint8_t *p = guest(c, (uint32_t)a[1].i32, 8);
    if (!p) { a[0].i32 = WASI_EFAULT; return GRAFT_OK; }
    put64(p, 1000);
    a[0].i32 = WASI_ESUCCESS;
    return GRAFT_OK;
}

static graft_result w_random_get(graft_caller *c, graft_slot *a, void *user)
{
    (void)user;
    uint32_t len = (uint32_t)a[1].i32;
    uint8_t *p = guest(c, (uint32_t)a[0].i32, len);
    if (!p) { a[0].i32 = WASI_EFAULT; return GRAFT_OK; }
    for (uint32_t done = 0; done < len;) {
        ssize_t n = getrandom(p + done, len - done, 0);
        if (n <= 0) { a[0].i32 = 29; return GRAFT_OK; }   /* EIO */
        done += (uint32_t)n;
    }
    a[0].i32 = WASI_ESUCCESS;
    return GRAFT_OK;
}

/* fd_write(fd, iovs, iovs_len, nwritten): fds 1 and 2 go to the module's
 * log (info and warn), one log line per call, cut at IOT_LOG_MAX bytes. */
static graft_result w_fd_write(graft_caller *c, graft_slot *a, void *user)
{
    agent_mod *mod = user;
    uint32_t fd = (uint32_t)a[0].i32, iovs = (uint32_t)a[1].i32, n = (uint32_t)a[2].i32;
    uint8_t *nw = guest(c, (uint32_t)a[3].i32, 4);
    uint8_t *vec = guest(c, iovs, (uint64_t)n * 8);
    if (!nw || !vec) { a[0].i32 = WASI_EFAULT; return GRAFT_OK; }
    if (fd != 1 && fd != 2) { a[0].i32 = WASI_EBADF; return GRAFT_OK; }
    char line[IOT_LOG_MAX];
    size_t used = 0;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off, len;
        memcpy(&off, vec + 8 * i, 4);
        memcpy(&len, vec + 8 * i + 4, 4);
        uint8_t *p = guest(c, off, len);
        if (!p) { a[0].i32 = WASI_EFAULT; return GRAFT_OK; }
        size_t take = len < sizeof line - used ? len : sizeof line - used;
        memcpy(line + used, p, take);
        used += take;
        total += len;
    }
    while (used && (line[used - 1] == '\n' || line[used - 1] == '\r')) used--;
    if (used) mod->services.log(mod, IOT_LOG_MODULE, fd == 1 ? ALOG_INFO : ALOG_WARN, line, used);
    put32(nw, (uint32_t)(total > UINT32_MAX ? UINT32_MAX : total));
    a[0].i32 = WASI_ESUCCESS;
    return GRAFT_OK;
}

static graft_result w_enosys(graft_caller *c, graft_slot *a, void *user)
{
    (void)c, (void)user;
    a[0].i32 = WASI_ENOSYS;
    return GRAFT_OK;
}

static graft_result w_trap(graft_caller *c, graft_slot *a, void *user)
{
    (void)a, (void)user;
    return graft_caller_trap(c, "wasi: this function is not available to graftd modules (proc_exit ends the instance)");
}

typedef struct wasi_fn {
    const char *name;
    graft_host_fn fn;
    const char *sig;        /* params "->" results, as i (i32) and I (i64) */
} wasi_fn;

static const wasi_fn known[] = {
    { "args_sizes_get", w_zero_sizes, "ii->i" },
    { "environ_sizes_get", w_zero_sizes, "ii->i" },
    { "args_get", w_nothing, "ii->i" },
    { "environ_get", w_nothing, "ii->i" },
    { "clock_time_get", w_clock_time_get, "iIi->i" },
    { "clock_res_get", w_clock_res_get, "ii->i" },
    { "random_get", w_random_get, "ii->i" },
    { "fd_write", w_fd_write, "iiii->i" },
};

static void sig_of(const graft_functype *t, char *out, size_t cap)
{
    size_t n = 0;
    for (uint32_t i = 0; i < t->nparams && n + 4 < cap; i++)
        out[n++] = t->params[i] == GRAFT_I32 ? 'i' : t->params[i] == GRAFT_I64 ? 'I' : '?';
    out[n++] = '-';
    out[n++] = '>';
    for (uint32_t i = 0; i < t->nresults && n + 2 < cap; i++)
        out[n++] = t->results[i] == GRAFT_I32 ? 'i' : t->results[i] == GRAFT_I64 ? 'I' : '?';
    out[n] = '\0';
}

/* The WASI function import i of m names, checked: *out_fn is the host
 * function to define for it (an ENOSYS or trapping stand-in for names
 * outside the subset). GRAFT_OK, or GRAFT_ERR_LINK with err naming the
 * import and what is wrong; name gets the import's name. */
static graft_result wasi_import(const graft_extern_desc *d, char name[64], graft_host_fn *out_fn, char *err,
                                size_t cap)
{
    int nl = d->name_len > 60 ? 60 : (int)d->name_len;
    if (d->kind != GRAFT_EXTERN_FUNC || d->name_len >= 64 || memchr(d->name, '\0', d->name_len)) {
        snprintf(err, cap, "import %s.%.*s: not a WASI function", WASI_SUBSET_MODULE, nl, d->name);
        return GRAFT_ERR_LINK;
    }
    memcpy(name, d->name, d->name_len);
    name[d->name_len] = '\0';
    char sig[32];
    sig_of(&d->func, sig, sizeof sig);
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        if (strcmp(known[k].name, name) != 0) continue;
        if (strcmp(known[k].sig, sig) != 0) {
            snprintf(err, cap, "import %s.%s: type %s, expected %s", WASI_SUBSET_MODULE, name, sig, known[k].sig);
            return GRAFT_ERR_LINK;
        }
        *out_fn = known[k].fn;
        return GRAFT_OK;
    }
    *out_fn = (d->func.nresults == 1 && d->func.results[0] == GRAFT_I32) ? w_enosys : w_trap;
    return GRAFT_OK;
}

static bool is_wasi(const graft_extern_desc *d)
{
    return d->module_len == strlen(WASI_SUBSET_MODULE) && memcmp(d->module, WASI_SUBSET_MODULE, d->module_len) == 0;
}

graft_result wasi_subset_check(const graft_module *m, char *err, size_t cap)
{
    uint32_t n = graft_module_import_count(m);
    for (uint32_t i = 0; i < n; i++) {
        graft_extern_desc d;
        graft_module_import(m, i, &d);
        char name[64];
        graft_host_fn fn;
        if (!is_wasi(&d)) continue;
        graft_result r = wasi_import(&d, name, &fn, err, cap);
        if (r != GRAFT_OK) return r;
    }
    return GRAFT_OK;
}

graft_result wasi_subset_define(agent_mod *mod, graft_store *s, const graft_module *m, char *err, size_t cap)
{
    uint32_t n = graft_module_import_count(m);
    for (uint32_t i = 0; i < n; i++) {
        graft_extern_desc d;
        graft_module_import(m, i, &d);
        if (!is_wasi(&d)) continue;
        char name[64];
        graft_host_fn fn;
        graft_result r = wasi_import(&d, name, &fn, err, cap);
        if (r != GRAFT_OK) return r;
        r = graft_store_define_func(s, WASI_SUBSET_MODULE, name, &d.func, fn, mod);
        if (r != GRAFT_OK) {
            snprintf(err, cap, "import %s.%s: %s", WASI_SUBSET_MODULE, name, graft_store_error(s)->message);
            return r;
        }
    }
    return GRAFT_OK;
}
