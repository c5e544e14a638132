/* wasi_misc.c - the WASI functions that are not about files: arguments and
 * environment, clocks, randomness, poll_oneoff, sched_yield, proc_exit, the
 * socket calls on descriptors the guest was given, and the ENOSYS stub
 * (proc_raise) that lets every program link.
 *
 * poll_oneoff keeps its per-call scratch (one record per subscription) in a
 * single allocation through the env, freed before it returns; everything
 * else works on the guest's memory and the context's packed strings only. */
#include "wasi_internal.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- Arguments and environment [witx args_get, environ_get] ------------- */

static uint32_t strings_sizes(const gw_mem *m, uint32_t count, uint32_t len, uint64_t count_ptr,
                              uint64_t len_ptr)
{
    uint8_t *pc = gw_ptr(m, count_ptr, 4), *pl = gw_ptr(m, len_ptr, 4);
    if (!pc || !pl) return GW_EFAULT;
    gw_put32(pc, count);
    gw_put32(pl, len);
    return GW_ESUCCESS;
}

/* Write count pointers at vec_ptr and the packed strings at buf_ptr. */
static uint32_t strings_get(const gw_mem *m, const char *buf, uint32_t count, uint32_t len,
                            uint64_t vec_ptr, uint64_t buf_ptr)
{
    uint8_t *vec = gw_ptr(m, vec_ptr, (uint64_t)count * 4);
    uint8_t *dst = gw_ptr(m, buf_ptr, len);
    if (!vec || !dst) return GW_EFAULT;
    uint32_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        gw_put32(vec + 4 * i, (uint32_t)(buf_ptr + at));
        at += (uint32_t)strlen(buf + at) + 1;
    }
    if (len) memcpy(dst, buf, len);
    return GW_ESUCCESS;
}

static uint32_t args_sizes_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    return strings_sizes(m, w->argc, w->args_len, a[0], a[1]);
}

static uint32_t args_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    return strings_get(m, w->args, w->argc, w->args_len, a[0], a[1]);
}

static uint32_t environ_sizes_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    return strings_sizes(m, w->envc, w->environ_len, a[0], a[1]);
}

static uint32_t environ_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    return strings_get(m, w->environ, w->envc, w->environ_len, a[0], a[1]);
}

/* ---- Clocks [witx clock_res_get, clock_time_get] ------------------------ */

static bool host_clock(uint64_t id, clockid_t *out)
{
    switch (id) {
    case GW_CLOCK_REALTIME: *out = CLOCK_REALTIME; return true;
    case GW_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return true;
    case GW_CLOCK_PROCESS_CPUTIME: *out = CLOCK_PROCESS_CPUTIME_ID; return true;
    case GW_CLOCK_THREAD_CPUTIME: *out = CLOCK_THREAD_CPUTIME_ID; return true;
    default: return false;
    }
}

static uint64_t ts_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* The time of WASI clock id in ns, or an errno. */
static uint32_t clock_now(uint64_t id, uint64_t *out)
{
    clockid_t c;
    struct timespec ts;
    *out = 0;
    if (!host_clock(id, &c)) return GW_EINVAL;
    if (clock_gettime(c, &ts) != 0) return graft_wasi__errno(errno);
    *out = ts_ns(&ts);
    return GW_ESUCCESS;
}

static uint32_t clock_res_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)w;
    clockid_t c;
    struct timespec ts;
    if (!host_clock(a[0], &c)) return GW_EINVAL;
    uint8_t *p = gw_ptr(m, a[1], 8);
    if (!p) return GW_EFAULT;
    if (clock_getres(c, &ts) != 0) return graft_wasi__errno(errno);
    gw_put64(p, ts_ns(&ts));
    return GW_ESUCCESS;
}

static uint32_t clock_time_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)w;
    uint64_t now;
    uint32_t e = clock_now(a[0], &now);   /* a[1] is the precision: a hint we ignore */
    if (e) return e;
    uint8_t *p = gw_ptr(m, a[2], 8);
    if (!p) return GW_EFAULT;
    gw_put64(p, now);
    return GW_ESUCCESS;
}

/* ---- Randomness [witx random_get] ---------------------------------------- */

static uint32_t random_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)w;
    uint8_t *p = gw_ptr(m, a[0], a[1]);
    if (!p) return GW_EFAULT;
    uint64_t done = 0;
    while (done < a[1]) {
        ssize_t r = getrandom(p + done, (size_t)(a[1] - done), 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return graft_wasi__errno(errno);
        }
        done += (uint64_t)r;
    }
    return GW_ESUCCESS;
}

/* ---- poll_oneoff [witx] ---------------------------------------------------
 * subscription (48 bytes): userdata u64 @0, tag u8 @8, then at @16 either
 *   clock: id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40
 *   fd_read / fd_write: file_descriptor u32 @16
 * event (32 bytes): userdata u64 @0, error u16 @8, type u8 @10,
 *   fd_readwrite: nbytes u64 @16, flags u16 @24.
 * Clocks are measured as deadlines on CLOCK_MONOTONIC; an absolute
 * deadline on another clock is converted with that clock's current time. */

typedef struct poll_sub {
    uint64_t userdata;     /* echoed in the event */
    uint8_t type;          /* GW_EVENT_* */
    uint16_t error;        /* immediate error to report, or 0 */
    uint64_t deadline;     /* clocks: CLOCK_MONOTONIC ns */
    int pfd;               /* fd subscriptions: index in the pollfd array, else -1 */
    int host;              /* fd subscriptions: host descriptor */
} poll_sub;

static uint64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts_ns(&ts);
}

/* Decode subscription i into s (and pfds for fd subscriptions). Returns
 * false for a malformed tag (the whole call is then EINVAL). */
static bool parse_sub(graft_wasi *w, const uint8_t *in, poll_sub *s, struct pollfd *pfds,
                      nfds_t *npfds, uint64_t mono)
{
    s->userdata = gw_get64(in);
    s->type = in[8];
    s->error = 0;
    s->pfd = -1;
    s->deadline = 0;
    if (s->type == GW_EVENT_CLOCK) {
        uint32_t id = gw_get32(in + 16);
        uint64_t timeout = gw_get64(in + 24);
        uint16_t flags = gw_get16(in + 40);
        uint64_t now;
        uint32_t e = clock_now(id, &now);
        if (e) {
            s->error = (uint16_t)e;
            return true;
        }
        uint64_t rel = timeout;
        if (flags & GW_SUBCLOCK_ABSTIME) rel = timeout > now ? timeout - now : 0;
        s->deadline = rel > UINT64_MAX - mono ? UINT64_MAX : mono + rel;
        return true;
    }
    if (s->type != GW_EVENT_FD_READ && s->type != GW_EVENT_FD_WRITE) return false;
    gw_fd *f;
    uint32_t e = graft_wasi__fd_rights(w, gw_get32(in + 16), 0, &f);
    if (e) {
        s->error = (uint16_t)e;
        return true;
    }
    s->host = f->host;
    s->pfd = (int)*npfds;
    pfds[*npfds].fd = f->host;
    pfds[*npfds].events = s->type == GW_EVENT_FD_READ ? POLLIN : POLLOUT;
    pfds[*npfds].revents = 0;
    (*npfds)++;
    return true;
}

/* Bytes available to read on a ready descriptor, as far as we can tell. */
static uint64_t readable_bytes(int host)
{
    struct stat st;
    if (fstat(host, &st) == 0 && S_ISREG(st.st_mode)) {
        off_t at = lseek(host, 0, SEEK_CUR);
        return at >= 0 && st.st_size > at ? (uint64_t)(st.st_size - at) : 0;
    }
    int n = 0;
    return ioctl(host, FIONREAD, &n) == 0 && n > 0 ? (uint64_t)n : 0;
}

/* Write the events that have fired; returns how many. */
static uint32_t put_events(uint8_t *out, const poll_sub *subs, uint32_t n,
                           const struct pollfd *pfds, uint64_t now)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        const poll_sub *s = &subs[i];
        uint16_t flags = 0;
        uint64_t nbytes = 0;
        bool fired = s->error != 0;
        if (!fired && s->type == GW_EVENT_CLOCK) fired = now >= s->deadline;
        if (!fired && s->pfd >= 0) {
            short re = pfds[s->pfd].revents;
            fired = re != 0;
            if (re & POLLHUP) flags |= GW_EVENT_HANGUP;
            if (fired && s->type == GW_EVENT_FD_READ && !(re & POLLNVAL))
                nbytes = readable_bytes(s->host);
        }
        if (!fired) continue;
        uint8_t *e = out + (uint64_t)k * GW_SIZEOF_EVENT;
        memset(e, 0, GW_SIZEOF_EVENT);
        gw_put64(e, s->userdata);
        gw_put16(e + 8, s->error);
        gw_put8(e + 10, s->type);
        gw_put64(e + 16, nbytes);
        gw_put16(e + 24, flags);
        k++;
    }
    return k;
}

/* Wait until a descriptor is ready or the earliest deadline passes. */
static uint32_t wait_ready(struct pollfd *pfds, nfds_t npfds, uint64_t deadline, bool immediate)
{
    for (;;) {
        uint64_t now = mono_now();
        struct timespec ts = {0, 0}, *tp = &ts;
        if (!immediate) {
            if (deadline == UINT64_MAX) tp = NULL;
            else if (deadline > now) {
                uint64_t rel = deadline - now;
                ts.tv_sec = (time_t)(rel / 1000000000ull);
                ts.tv_nsec = (long)(rel % 1000000000ull);
            }
        }
        int r = ppoll(npfds ? pfds : NULL, npfds, tp, NULL);
        if (r >= 0) {
            if (r > 0 || immediate || mono_now() >= deadline) return GW_ESUCCESS;
            continue;   /* woke early with nothing ready: wait out the rest */
        }
        if (errno != EINTR) return graft_wasi__errno(errno);
    }
}

static uint32_t poll_oneoff(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    uint64_t n = a[2];
    if (n == 0) return GW_EINVAL;
    const uint8_t *in = gw_ptr(m, a[0], n * GW_SIZEOF_SUBSCRIPTION);
    uint8_t *out = gw_ptr(m, a[1], n * GW_SIZEOF_EVENT);
    uint8_t *nout = gw_ptr(m, a[3], 4);
    if (!in || !out || !nout) return GW_EFAULT;
    size_t bytes = (size_t)n * (sizeof(poll_sub) + sizeof(struct pollfd));
    void *scratch = graft_wasi__realloc(w, NULL, 0, bytes);
    if (!scratch) return GW_ENOMEM;
    poll_sub *subs = scratch;
    struct pollfd *pfds = (struct pollfd *)(subs + n);
    nfds_t npfds = 0;
    uint64_t mono = mono_now(), deadline = UINT64_MAX;
    bool immediate = false;
    uint32_t e = GW_ESUCCESS;
    for (uint64_t i = 0; i < n; i++) {
        if (!parse_sub(w, in + i * GW_SIZEOF_SUBSCRIPTION, &subs[i], pfds, &npfds, mono)) {
            e = GW_EINVAL;
            goto done;
        }
        if (subs[i].error) immediate = true;
        else if (subs[i].type == GW_EVENT_CLOCK && subs[i].deadline < deadline)
            deadline = subs[i].deadline;
    }
    e = wait_ready(pfds, npfds, deadline, immediate);
    if (e) goto done;
    gw_put32(nout, put_events(out, subs, (uint32_t)n, pfds, mono_now()));
done:
    graft_wasi__realloc(w, scratch, bytes, 0);
    return e;
}

/* ---- Process ------------------------------------------------------------- */

static uint32_t proc_exit(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    w->exit_code = (int32_t)(uint32_t)a[0];
    return GW_EXIT;
}

static uint32_t sched_yield_(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)w, (void)m, (void)a;
    sched_yield();
    return GW_ESUCCESS;
}

/* proc_raise: linkable, not implemented. */
static uint32_t not_implemented(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)w, (void)m, (void)a;
    return GW_ENOSYS;
}

/* ---- Sockets [witx sock_*] ------------------------------------------------
 * A guest has no way to make a socket, but a descriptor it was given (a
 * stdio stream) may be one. Each call answers what its fd is first: EBADF
 * for none, ENOTSOCK for anything but a socket. sock_shutdown then shuts
 * the socket down; accept, recv and send are not implemented (ENOSYS). */

static uint32_t sock_fd(graft_wasi *w, uint64_t fd, gw_fd **out)
{
    gw_fd *f = graft_wasi__fd(w, fd);
    if (!f) return GW_EBADF;
    struct stat st;
    if (fstat(f->host, &st) != 0) return graft_wasi__errno(errno);
    if (!S_ISSOCK(st.st_mode)) return GW_ENOTSOCK;
    *out = f;
    return GW_ESUCCESS;
}

static uint32_t sock_not_implemented(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f;
    uint32_t e = sock_fd(w, a[0], &f);
    return e ? e : GW_ENOSYS;
}

/* (fd, sdflags): rd 1, wr 2. */
static uint32_t sock_shutdown(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f;
    uint32_t e = sock_fd(w, a[0], &f);
    if (e) return e;
    if (!(f->rights_base & GW_RIGHT_SOCK_SHUTDOWN)) return GW_ENOTCAPABLE;
    int how;
    switch (a[1]) {
    case 1: how = SHUT_RD; break;
    case 2: how = SHUT_WR; break;
    case 3: how = SHUT_RDWR; break;
    default: return GW_EINVAL;
    }
    return shutdown(f->host, how) != 0 ? graft_wasi__errno(errno) : GW_ESUCCESS;
}

const gw_fn graft_wasi__misc_fns[] = {
    {"args_get", "ii", true, args_get},
    {"args_sizes_get", "ii", true, args_sizes_get},
    {"environ_get", "ii", true, environ_get},
    {"environ_sizes_get", "ii", true, environ_sizes_get},
    {"clock_res_get", "ii", true, clock_res_get},
    {"clock_time_get", "iIi", true, clock_time_get},
    {"random_get", "ii", true, random_get},
    {"poll_oneoff", "iiii", true, poll_oneoff},
    {"proc_exit", "i", false, proc_exit},
    {"proc_raise", "i", true, not_implemented},
    {"sched_yield", "", true, sched_yield_},
    {"sock_accept", "iii", true, sock_not_implemented},
    {"sock_recv", "iiiiii", true, sock_not_implemented},
    {"sock_send", "iiiii", true, sock_not_implemented},
    {"sock_shutdown", "ii", true, sock_shutdown},
};
const uint32_t graft_wasi__misc_nfns = sizeof graft_wasi__misc_fns / sizeof graft_wasi__misc_fns[0];
