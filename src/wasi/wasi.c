/* wasi.c - the WASI context: creation and teardown, the guest fd table,
 * host-to-WASI errno mapping, and binding every wasi_snapshot_preview1
 * function into a store through one host trampoline.
 *
 * Data structure: graft_wasi (wasi_internal.h) holds packed argv/environ
 * copies and the fd table, a gw_fd array indexed by guest fd that grows by
 * doubling up to GW_MAX_FDS. Guest fds 0-2 are the embedder's stdio
 * descriptors (never closed by us); 3.. are the preopened directories in
 * configuration order, which is how wasi-libc discovers them
 * (fd_prestat_get until EBADF). Later opens take the lowest free slot.
 *
 * The trampoline reads the caller's memory afresh on every call, widens the
 * arguments to 64 bits and runs the implementation (wasi_fd.c, wasi_path.c,
 * wasi_misc.c), which answers with a WASI errno; proc_exit answers GW_EXIT
 * and the trampoline ends the call with graft_caller_exit.
 *
 * Ownership: everything here is allocated through the env given to
 * graft_wasi_new and freed by graft_wasi_free, which also closes every host
 * descriptor the table owns. */
#include "wasi_internal.h"

#include <graft_port.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void *graft_wasi__realloc(graft_wasi *w, void *ptr, size_t old_size, size_t new_size)
{
    return graft_env_realloc(w->env, ptr, old_size, new_size);
}

uint32_t graft_wasi__errno(int e)
{
    switch (e) {
    case 0: return GW_ESUCCESS;
    case E2BIG: return GW_E2BIG;
    case EACCES: return GW_EACCES;
    case EADDRINUSE: return GW_EADDRINUSE;
    case EADDRNOTAVAIL: return GW_EADDRNOTAVAIL;
    case EAFNOSUPPORT: return GW_EAFNOSUPPORT;
    case EAGAIN: return GW_EAGAIN;
    case EALREADY: return GW_EALREADY;
    case EBADF: return GW_EBADF;
    case EBADMSG: return GW_EBADMSG;
    case EBUSY: return GW_EBUSY;
    case ECANCELED: return GW_ECANCELED;
    case ECHILD: return GW_ECHILD;
    case ECONNABORTED: return GW_ECONNABORTED;
    case ECONNREFUSED: return GW_ECONNREFUSED;
    case ECONNRESET: return GW_ECONNRESET;
    case EDEADLK: return GW_EDEADLK;
    case EDESTADDRREQ: return GW_EDESTADDRREQ;
    case EDOM: return GW_EDOM;
    case EDQUOT: return GW_EDQUOT;
    case EEXIST: return GW_EEXIST;
    case EFAULT: return GW_EFAULT;
    case EFBIG: return GW_EFBIG;
    case EHOSTUNREACH: return GW_EHOSTUNREACH;
    case EIDRM: return GW_EIDRM;
    case EILSEQ: return GW_EILSEQ;
    case EINPROGRESS: return GW_EINPROGRESS;
    case EINTR: return GW_EINTR;
    case EINVAL: return GW_EINVAL;
    case EIO: return GW_EIO;
    case EISCONN: return GW_EISCONN;
    case EISDIR: return GW_EISDIR;
    case ELOOP: return GW_ELOOP;
    case EMFILE: return GW_EMFILE;
    case EMLINK: return GW_EMLINK;
    case EMSGSIZE: return GW_EMSGSIZE;
    case EMULTIHOP: return GW_EMULTIHOP;
    case ENAMETOOLONG: return GW_ENAMETOOLONG;
    case ENETDOWN: return GW_ENETDOWN;
    case ENETRESET: return GW_ENETRESET;
    case ENETUNREACH: return GW_ENETUNREACH;
    case ENFILE: return GW_ENFILE;
    case ENOBUFS: return GW_ENOBUFS;
    case ENODEV: return GW_ENODEV;
    case ENOENT: return GW_ENOENT;
    case ENOEXEC: return GW_ENOEXEC;
    case ENOLCK: return GW_ENOLCK;
    case ENOLINK: return GW_ENOLINK;
    case ENOMEM: return GW_ENOMEM;
    case ENOMSG: return GW_ENOMSG;
    case ENOPROTOOPT: return GW_ENOPROTOOPT;
    case ENOSPC: return GW_ENOSPC;
    case ENOSYS: return GW_ENOSYS;
    case ENOTCONN: return GW_ENOTCONN;
    case ENOTDIR: return GW_ENOTDIR;
    case ENOTEMPTY: return GW_ENOTEMPTY;
    case ENOTRECOVERABLE: return GW_ENOTRECOVERABLE;
    case ENOTSOCK: return GW_ENOTSOCK;
    case ENOTSUP: return GW_ENOTSUP;   /* == EOPNOTSUPP on Linux */
    case ENOTTY: return GW_ENOTTY;
    case ENXIO: return GW_ENXIO;
    case EOVERFLOW: return GW_EOVERFLOW;
    case EOWNERDEAD: return GW_EOWNERDEAD;
    case EPERM: return GW_EPERM;
    case EPIPE: return GW_EPIPE;
    case EPROTO: return GW_EPROTO;
    case EPROTONOSUPPORT: return GW_EPROTONOSUPPORT;
    case EPROTOTYPE: return GW_EPROTOTYPE;
    case ERANGE: return GW_ERANGE;
    case EROFS: return GW_EROFS;
    case ESPIPE: return GW_ESPIPE;
    case ESRCH: return GW_ESRCH;
    case ESTALE: return GW_ESTALE;
    case ETIMEDOUT: return GW_ETIMEDOUT;
    case ETXTBSY: return GW_ETXTBSY;
    case EXDEV: return GW_EXDEV;
    default: return GW_EIO;
    }
}

uint8_t graft_wasi__filetype(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFBLK: return GW_FILETYPE_BLOCK_DEVICE;
    case S_IFCHR: return GW_FILETYPE_CHARACTER_DEVICE;
    case S_IFDIR: return GW_FILETYPE_DIRECTORY;
    case S_IFREG: return GW_FILETYPE_REGULAR_FILE;
    case S_IFSOCK: return GW_FILETYPE_SOCKET_STREAM;
    case S_IFLNK: return GW_FILETYPE_SYMBOLIC_LINK;
    default: return GW_FILETYPE_UNKNOWN;
    }
}

static uint64_t timespec_ns(struct timespec ts)
{
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* filestat [witx]: dev u64 @0, ino u64 @8, filetype u8 @16, nlink u64 @24,
 * size u64 @32, atim @40, mtim @48, ctim @56 (timestamps in ns). */
void graft_wasi__put_filestat(uint8_t *p, const struct stat *st)
{
    memset(p, 0, GW_SIZEOF_FILESTAT);
    gw_put64(p + 0, (uint64_t)st->st_dev);
    gw_put64(p + 8, (uint64_t)st->st_ino);
    gw_put8(p + 16, graft_wasi__filetype(st->st_mode));
    gw_put64(p + 24, (uint64_t)st->st_nlink);
    gw_put64(p + 32, (uint64_t)st->st_size);
    gw_put64(p + 40, timespec_ns(st->st_atim));
    gw_put64(p + 48, timespec_ns(st->st_mtim));
    gw_put64(p + 56, timespec_ns(st->st_ctim));
}

/* ---- The fd table ------------------------------------------------------- */

gw_fd *graft_wasi__fd(graft_wasi *w, uint64_t fd)
{
    if (fd >= w->nfds || w->fds[fd].kind == GW_FD_FREE) return NULL;
    return &w->fds[fd];
}

uint32_t graft_wasi__fd_rights(graft_wasi *w, uint64_t fd, uint64_t rights, gw_fd **out)
{
    gw_fd *f = graft_wasi__fd(w, fd);
    if (!f) return GW_EBADF;
    if ((f->rights_base & rights) != rights) return GW_ENOTCAPABLE;
    *out = f;
    return GW_ESUCCESS;
}

/* Make room for at least want slots (want <= GW_MAX_FDS). */
static uint32_t grow_table(graft_wasi *w, uint32_t want)
{
    if (want <= w->nfds) return GW_ESUCCESS;
    uint32_t n = w->nfds ? w->nfds : 8;
    while (n < want) n *= 2;
    if (n > GW_MAX_FDS) n = GW_MAX_FDS;
    gw_fd *t = graft_wasi__realloc(w, w->fds, (size_t)w->nfds * sizeof *t, (size_t)n * sizeof *t);
    if (!t) return GW_ENOMEM;
    for (uint32_t i = w->nfds; i < n; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].host = -1;
    }
    w->fds = t;
    w->nfds = n;
    return GW_ESUCCESS;
}

uint32_t graft_wasi__fd_insert(graft_wasi *w, int host, gw_fd_kind kind, uint32_t *out_fd)
{
    uint32_t i = 0;
    while (i < w->nfds && w->fds[i].kind != GW_FD_FREE) i++;
    if (i >= GW_MAX_FDS) return GW_EMFILE;
    uint32_t e = grow_table(w, i + 1);
    if (e) return e;
    gw_fd *f = &w->fds[i];
    memset(f, 0, sizeof *f);
    f->host = host;
    f->kind = (uint8_t)kind;
    *out_fd = i;
    return GW_ESUCCESS;
}

void graft_wasi__fd_release(graft_wasi *w, gw_fd *f)
{
    if (f->dir) closedir(f->dir);
    if (f->kind != GW_FD_STDIO && f->host >= 0) close(f->host);
    if (f->preopen_name) graft_wasi__realloc(w, f->preopen_name, f->preopen_name_len + 1u, 0);
    memset(f, 0, sizeof *f);
    f->host = -1;
}

/* ---- Creation ----------------------------------------------------------- */

/* Pack n C strings into one buffer of NUL-terminated strings. */
static bool pack_strings(graft_wasi *w, const char *const *v, int n, char **out_buf,
                         uint32_t *out_len, uint32_t *out_count)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++) total += strlen(v[i]) + 1;
    if (total > UINT32_MAX) return false;
    *out_buf = NULL;
    *out_len = (uint32_t)total;
    *out_count = (uint32_t)n;
    if (!total) return true;
    char *buf = graft_wasi__realloc(w, NULL, 0, (size_t)total);
    if (!buf) return false;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(v[i]) + 1;
        memcpy(buf + at, v[i], l);
        at += l;
    }
    *out_buf = buf;
    return true;
}

static void add_stdio(graft_wasi *w, uint32_t fd, int host)
{
    if (host < 0) return;
    gw_fd *f = &w->fds[fd];
    f->host = host;
    f->kind = GW_FD_STDIO;
    f->rights_base = GW_RIGHTS_ALL & ~(GW_RIGHT_FD_READDIR);
    f->rights_inheriting = 0;
}

static graft_result add_preopen(graft_wasi *w, const graft_wasi_preopen *p, char *errbuf,
                                size_t errbuf_len)
{
    int host = open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (host < 0) {
        if (errbuf && errbuf_len)
            snprintf(errbuf, errbuf_len, "cannot open preopened directory '%s': %s", p->host_path,
                     strerror(errno));
        return GRAFT_ERR_IO;
    }
    struct stat st;
    if (fstat(host, &st) != 0) {
        if (errbuf && errbuf_len)
            snprintf(errbuf, errbuf_len, "cannot stat preopened directory '%s': %s", p->host_path,
                     strerror(errno));
        close(host);
        return GRAFT_ERR_IO;
    }
    uint32_t fd;
    if (graft_wasi__fd_insert(w, host, GW_FD_DIR, &fd) != GW_ESUCCESS) goto no_room;
    gw_fd *f = &w->fds[fd];
    f->root_dev = (uint64_t)st.st_dev;
    f->root_ino = (uint64_t)st.st_ino;
    const char *name = p->guest_path ? p->guest_path : p->host_path;
    size_t len = strlen(name);
    f->preopen_name = graft_wasi__realloc(w, NULL, 0, len + 1);
    if (!f->preopen_name) {
        graft_wasi__fd_release(w, f);
        goto out_of_memory;
    }
    memcpy(f->preopen_name, name, len + 1);
    f->preopen_name_len = (uint32_t)len;
    f->read_only = p->read_only;
    /* Its own rights are the directory ones, so that a guest reopening it
     * with them asks for no data access. Read-only preopens keep the write
     * rights in what they hand on, so that wasi-libc asks for them and
     * path_open can answer EROFS, not a later ENOTCAPABLE; the read_only
     * mark refuses every change regardless. */
    f->rights_base = GW_RIGHTS_DIR_BASE;
    f->rights_inheriting = GW_RIGHTS_ALL;
    return GRAFT_OK;

no_room:
    close(host);
out_of_memory:
    if (errbuf && errbuf_len) snprintf(errbuf, errbuf_len, "no room for preopen '%s'", p->host_path);
    return GRAFT_ERR_RESOURCE;
}

static void init_bindings(graft_wasi *w)
{
    const struct { const gw_fn *fns; uint32_t n; } groups[] = {
        {graft_wasi__misc_fns, graft_wasi__misc_nfns},
        {graft_wasi__fd_fns, graft_wasi__fd_nfns},
        {graft_wasi__path_fns, graft_wasi__path_nfns},
    };
    uint32_t k = 0;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        for (uint32_t i = 0; i < groups[g].n && k < GW_NFUNCS; i++) {
            w->bindings[k].w = w;
            w->bindings[k].fn = &groups[g].fns[i];
            k++;
        }
    }
}

graft_result graft_wasi_new(graft_env *env, const graft_wasi_config *cfg, graft_wasi **out,
                            char *errbuf, size_t errbuf_len)
{
    if (errbuf && errbuf_len) errbuf[0] = 0;
    if (!out) return GRAFT_ERR_API;
    *out = NULL;
    if (!env || !cfg || cfg->argc < 0 || cfg->envc < 0 || cfg->npreopens < 0 ||
        (cfg->argc && !cfg->argv) || (cfg->envc && !cfg->envp) ||
        (cfg->npreopens && !cfg->preopens) || cfg->npreopens > (int)GW_MAX_FDS - 3)
        return GRAFT_ERR_API;
    if (graft_wasi__misc_nfns + graft_wasi__fd_nfns + graft_wasi__path_nfns != GW_NFUNCS)
        return GRAFT_ERR_API;
    graft_wasi *w = graft_env_realloc(env, NULL, 0, sizeof *w);
    if (!w) goto out_of_memory;
    memset(w, 0, sizeof *w);
    w->env = env;
    init_bindings(w);
    graft_result r = GRAFT_ERR_RESOURCE;
    if (!pack_strings(w, cfg->argv, cfg->argc, &w->args, &w->args_len, &w->argc)) goto fail;
    if (!pack_strings(w, cfg->envp, cfg->envc, &w->environ, &w->environ_len, &w->envc)) goto fail;
    if (grow_table(w, 3u + (uint32_t)cfg->npreopens) != GW_ESUCCESS) goto fail;
    add_stdio(w, 0, cfg->stdin_fd);
    add_stdio(w, 1, cfg->stdout_fd);
    add_stdio(w, 2, cfg->stderr_fd);
    for (int i = 0; i < cfg->npreopens; i++) {
        /* Keep 0-2 reserved even when a stdio descriptor is absent, so that
         * preopens are always 3, 4, ... as wasi-libc expects. */
        for (uint32_t s = 0; s < 3; s++)
            if (w->fds[s].kind == GW_FD_FREE) w->fds[s].kind = GW_FD_STDIO;
        r = add_preopen(w, &cfg->preopens[i], errbuf, errbuf_len);
        for (uint32_t s = 0; s < 3; s++)
            if (w->fds[s].host < 0) w->fds[s].kind = GW_FD_FREE;
        if (r != GRAFT_OK) goto fail;
    }
    *out = w;
    return GRAFT_OK;

fail:
    graft_wasi_free(w);
    if (r == GRAFT_ERR_RESOURCE && errbuf && errbuf_len && !errbuf[0])
        snprintf(errbuf, errbuf_len, "out of memory creating the WASI context");
    return r;
out_of_memory:
    if (errbuf && errbuf_len) snprintf(errbuf, errbuf_len, "out of memory creating the WASI context");
    return GRAFT_ERR_RESOURCE;
}

void graft_wasi_free(graft_wasi *w)
{
    if (!w) return;
    for (uint32_t i = 0; i < w->nfds; i++)
        if (w->fds[i].kind != GW_FD_FREE) graft_wasi__fd_release(w, &w->fds[i]);
    graft_wasi__realloc(w, w->fds, (size_t)w->nfds * sizeof *w->fds, 0);
    graft_wasi__realloc(w, w->args, w->args_len, 0);
    graft_wasi__realloc(w, w->environ, w->environ_len, 0);
    graft_env_realloc(w->env, w, sizeof *w, 0);
}

/* ---- Binding into a store ---------------------------------------------- */

static void widen_args(const gw_fn *fn, const graft_slot *slots, uint64_t *a)
{
    for (size_t i = 0; fn->params[i]; i++)
        a[i] = fn->params[i] == 'I' ? (uint64_t)slots[i].i64 : (uint64_t)(uint32_t)slots[i].i32;
}

static graft_result trampoline(graft_caller *c, graft_slot *slots, void *user)
{
    const gw_binding *b = user;
    graft_memory *mem = graft_caller_memory(c);
    gw_mem m = {NULL, 0};
    if (mem) {
        m.base = graft_memory_data(mem);
        m.size = graft_memory_size(mem);
    }
    uint64_t a[GW_MAX_PARAMS] = {0};
    widen_args(b->fn, slots, a);
    uint32_t e = b->fn->impl(b->w, &m, a);
    if (e == GW_EXIT) return graft_caller_exit(c, b->w->exit_code);
    slots[0].raw = 0;
    slots[0].i32 = (int32_t)e;
    return GRAFT_OK;
}

graft_result graft_wasi_define(graft_wasi *w, graft_store *s)
{
    if (!w || !s) return GRAFT_ERR_API;
    for (uint32_t k = 0; k < GW_NFUNCS; k++) {
        const gw_fn *fn = w->bindings[k].fn;
        graft_valtype params[GW_MAX_PARAMS];
        uint32_t n = 0;
        for (; fn->params[n]; n++) params[n] = fn->params[n] == 'I' ? GRAFT_I64 : GRAFT_I32;
        static const graft_valtype result_i32[1] = {GRAFT_I32};
        graft_functype type = {params, n, result_i32, fn->returns_errno ? 1u : 0u};
        graft_result r = graft_store_define_func(s, "wasi_snapshot_preview1", fn->name, &type,
                                                 trampoline, &w->bindings[k]);
        if (r != GRAFT_OK) return r;
    }
    return GRAFT_OK;
}

uint32_t graft_wasi__invoke(graft_wasi *w, const char *name, uint8_t *mem, uint64_t mem_size,
                            const uint64_t *args, size_t nargs, int32_t *out_exit)
{
    for (uint32_t k = 0; k < GW_NFUNCS; k++) {
        const gw_fn *fn = w->bindings[k].fn;
        if (strcmp(fn->name, name) != 0) continue;
        if (strlen(fn->params) != nargs) return UINT32_MAX;
        uint64_t a[GW_MAX_PARAMS] = {0};
        for (size_t i = 0; i < nargs; i++)
            a[i] = fn->params[i] == 'I' ? args[i] : (uint64_t)(uint32_t)args[i];
        gw_mem m = {mem, mem_size};
        uint32_t e = fn->impl(w, &m, a);
        if (e == GW_EXIT && out_exit) *out_exit = w->exit_code;
        return e;
    }
    return UINT32_MAX;
}
