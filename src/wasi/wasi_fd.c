/* wasi_fd.c - the fd_* functions of wasi_snapshot_preview1: reading and
 * writing through iovec lists, seeking, fdstat and filestat, directory
 * listing with cookies, renumbering, closing, and the preopen queries.
 *
 * Data structure: each call finds its gw_fd in the context's table
 * (wasi.c). A directory's listing state is a DIR stream opened on a fresh
 * descriptor for the directory (so its offset is its own) plus dir_pos, the
 * index of the entry the stream returns next; a cookie is an entry index,
 * and a cookie that is not dir_pos rewinds and skips.
 *
 * Guest iovec lists are converted to host iovecs in batches of IOV_BATCH
 * on the C stack; a short transfer ends the call, as readv/writev would.
 * Every guest range is checked before any host call. */
#include "wasi_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define IOV_BATCH 64
#define IO_MAX 0x7ffff000u   /* the most one call moves, as Linux caps read/write */

typedef enum io_op { IO_READ, IO_WRITE, IO_PREAD, IO_PWRITE } io_op;

/* Convert up to IOV_BATCH guest iovecs starting at index first; *out_n
 * gets how many, *out_bytes their total (capped so the grand total stays
 * within IO_MAX). EFAULT when an iovec or its buffer is out of bounds. */
static uint32_t load_iovs(const gw_mem *m, const uint8_t *gv, uint64_t count, uint64_t first,
                          uint64_t budget, struct iovec *iov, int *out_n, uint64_t *out_bytes)
{
    int n = 0;
    uint64_t bytes = 0;
    for (uint64_t i = first; i < count && n < IOV_BATCH && bytes < budget; i++) {
        uint32_t ptr = gw_get32(gv + i * GW_SIZEOF_IOVEC);
        uint64_t len = gw_get32(gv + i * GW_SIZEOF_IOVEC + 4);
        uint8_t *p = gw_ptr(m, ptr, len);
        if (!p) return GW_EFAULT;
        if (len > budget - bytes) len = budget - bytes;
        iov[n].iov_base = p;
        iov[n].iov_len = (size_t)len;
        bytes += len;
        n++;
    }
    *out_n = n;
    *out_bytes = bytes;
    return GW_ESUCCESS;
}

static ssize_t host_io(io_op op, int fd, const struct iovec *iov, int n, uint64_t offset)
{
    switch (op) {
    case IO_READ: return readv(fd, iov, n);
    case IO_WRITE: return writev(fd, iov, n);
    case IO_PREAD: return preadv(fd, iov, n, (off_t)offset);
    case IO_PWRITE: return pwritev(fd, iov, n, (off_t)offset);
    }
    return -1;
}

/* The shared body of fd_read, fd_write, fd_pread and fd_pwrite. */
static uint32_t do_io(graft_wasi *w, const gw_mem *m, io_op op, uint64_t fd, uint64_t iovs,
                      uint64_t count, uint64_t offset, uint64_t out_ptr)
{
    bool writing = op == IO_WRITE || op == IO_PWRITE;
    uint64_t need = writing ? GW_RIGHT_FD_WRITE : GW_RIGHT_FD_READ;
    if (op == IO_PREAD || op == IO_PWRITE) need |= GW_RIGHT_FD_SEEK;
    gw_fd *f;
    uint32_t e = graft_wasi__fd_rights(w, fd, 0, &f);
    if (e) return e;
    if (writing && f->read_only) return GW_EROFS;
    if ((f->rights_base & need) != need) return GW_ENOTCAPABLE;
    if (f->kind == GW_FD_DIR) return GW_EISDIR;
    const uint8_t *gv = gw_ptr(m, iovs, count * GW_SIZEOF_IOVEC);
    uint8_t *out = gw_ptr(m, out_ptr, 4);
    if (!gv || !out) return GW_EFAULT;
    uint64_t total = 0;
    for (uint64_t i = 0; i < count;) {
        struct iovec iov[IOV_BATCH];
        int n;
        uint64_t want;
        e = load_iovs(m, gv, count, i, IO_MAX - total, iov, &n, &want);
        if (e) return e;
        if (n == 0) break;
        ssize_t r = host_io(op, f->host, iov, n, offset + total);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (total) break;   /* report what moved before the error */
            return graft_wasi__errno(errno);
        }
        total += (uint64_t)r;
        i += (uint64_t)n;
        if ((uint64_t)r < want) break;
    }
    gw_put32(out, (uint32_t)total);
    return GW_ESUCCESS;
}

static uint32_t fd_read(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    return do_io(w, m, IO_READ, a[0], a[1], a[2], 0, a[3]);
}

static uint32_t fd_write(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    return do_io(w, m, IO_WRITE, a[0], a[1], a[2], 0, a[3]);
}

static uint32_t fd_pread(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    if (a[3] > INT64_MAX) return GW_EINVAL;
    return do_io(w, m, IO_PREAD, a[0], a[1], a[2], a[3], a[4]);
}

static uint32_t fd_pwrite(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    if (a[3] > INT64_MAX) return GW_EINVAL;
    return do_io(w, m, IO_PWRITE, a[0], a[1], a[2], a[3], a[4]);
}

/* ---- Position ---------------------------------------------------------- */

static uint32_t fd_seek(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    int whence;
    switch (a[2]) {
    case GW_WHENCE_SET: whence = SEEK_SET; break;
    case GW_WHENCE_CUR: whence = SEEK_CUR; break;
    case GW_WHENCE_END: whence = SEEK_END; break;
    default: return GW_EINVAL;
    }
    /* A plain "where am I" needs only the tell right. */
    uint64_t need = (whence == SEEK_CUR && a[1] == 0) ? GW_RIGHT_FD_TELL : GW_RIGHT_FD_SEEK;
    gw_fd *f;
    uint32_t e = graft_wasi__fd_rights(w, a[0], 0, &f);
    if (e) return e;
    if (!(f->rights_base & (need | GW_RIGHT_FD_SEEK))) return GW_ENOTCAPABLE;
    if (f->kind == GW_FD_DIR) return GW_EBADF;
    uint8_t *out = gw_ptr(m, a[3], 8);
    if (!out) return GW_EFAULT;
    off_t r = lseek(f->host, (off_t)(int64_t)a[1], whence);
    if (r < 0) return graft_wasi__errno(errno);
    gw_put64(out, (uint64_t)r);
    return GW_ESUCCESS;
}

static uint32_t fd_tell(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    uint64_t args[4] = {a[0], 0, GW_WHENCE_CUR, a[1]};
    return fd_seek(w, m, args);
}

/* ---- fdstat [witx fdstat: filetype u8 @0, flags u16 @2, rights_base u64 @8,
 *      rights_inheriting u64 @16] ------------------------------------------- */

static uint32_t fd_fdstat_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *f = graft_wasi__fd(w, a[0]);
    if (!f) return GW_EBADF;
    uint8_t *p = gw_ptr(m, a[1], GW_SIZEOF_FDSTAT);
    if (!p) return GW_EFAULT;
    struct stat st;
    if (fstat(f->host, &st) != 0) return graft_wasi__errno(errno);
    int fl = fcntl(f->host, F_GETFL);
    if (fl < 0) return graft_wasi__errno(errno);
    uint16_t flags = 0;
    if (fl & O_APPEND) flags |= GW_FDFLAG_APPEND;
    if (fl & O_NONBLOCK) flags |= GW_FDFLAG_NONBLOCK;
    if ((fl & O_SYNC) == O_SYNC) flags |= GW_FDFLAG_SYNC | GW_FDFLAG_RSYNC;
    else if (fl & O_DSYNC) flags |= GW_FDFLAG_DSYNC;
    uint64_t base = f->rights_base;
    /* wasi-libc's isatty() asks for a character device without seek/tell. */
    if (S_ISCHR(st.st_mode) && isatty(f->host)) base &= ~(GW_RIGHT_FD_SEEK | GW_RIGHT_FD_TELL);
    memset(p, 0, GW_SIZEOF_FDSTAT);
    gw_put8(p + 0, graft_wasi__filetype(st.st_mode));
    gw_put16(p + 2, flags);
    gw_put64(p + 8, base);
    gw_put64(p + 16, f->rights_inheriting);
    return GW_ESUCCESS;
}

static uint32_t fd_fdstat_set_flags(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f;
    uint32_t e = graft_wasi__fd_rights(w, a[0], GW_RIGHT_FD_FDSTAT_SET_FLAGS, &f);
    if (e) return e;
    uint64_t want = a[1];
    if (want & ~(uint64_t)(GW_FDFLAG_APPEND | GW_FDFLAG_NONBLOCK | GW_FDFLAG_DSYNC |
                           GW_FDFLAG_RSYNC | GW_FDFLAG_SYNC))
        return GW_EINVAL;
    /* Linux cannot change the sync flags of an open description. */
    if (want & (GW_FDFLAG_DSYNC | GW_FDFLAG_RSYNC | GW_FDFLAG_SYNC)) return GW_ENOTSUP;
    int fl = fcntl(f->host, F_GETFL);
    if (fl < 0) return graft_wasi__errno(errno);
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (want & GW_FDFLAG_APPEND) fl |= O_APPEND;
    if (want & GW_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
    if (fcntl(f->host, F_SETFL, fl) != 0) return graft_wasi__errno(errno);
    return GW_ESUCCESS;
}

/* Rights may only shrink [witx fd_fdstat_set_rights]. */
static uint32_t fd_fdstat_set_rights(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f = graft_wasi__fd(w, a[0]);
    if (!f) return GW_EBADF;
    if ((a[1] & ~f->rights_base) || (a[2] & ~f->rights_inheriting)) return GW_ENOTCAPABLE;
    f->rights_base = a[1];
    f->rights_inheriting = a[2];
    return GW_ESUCCESS;
}

/* ---- filestat ------------------------------------------------------------ */

static uint32_t fd_filestat_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *f = graft_wasi__fd(w, a[0]);
    if (!f) return GW_EBADF;
    uint8_t *p = gw_ptr(m, a[1], GW_SIZEOF_FILESTAT);
    if (!p) return GW_EFAULT;
    struct stat st;
    if (fstat(f->host, &st) != 0) return graft_wasi__errno(errno);
    graft_wasi__put_filestat(p, &st);
    return GW_ESUCCESS;
}

static uint32_t fd_filestat_set_size(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f = graft_wasi__fd(w, a[0]);
    if (!f) return GW_EBADF;
    if (f->read_only) return GW_EROFS;
    if (!(f->rights_base & GW_RIGHT_FD_FILESTAT_SET_SIZE)) return GW_ENOTCAPABLE;
    if (a[1] > INT64_MAX) return GW_EINVAL;
    if (ftruncate(f->host, (off_t)a[1]) != 0) return graft_wasi__errno(errno);
    return GW_ESUCCESS;
}

uint32_t graft_wasi__times(uint64_t atim, uint64_t mtim, uint64_t fst, struct timespec ts[2])
{
    if (fst & ~(uint64_t)(GW_FST_ATIM | GW_FST_ATIM_NOW | GW_FST_MTIM | GW_FST_MTIM_NOW))
        return GW_EINVAL;
    if (((fst & GW_FST_ATIM) && (fst & GW_FST_ATIM_NOW)) ||
        ((fst & GW_FST_MTIM) && (fst & GW_FST_MTIM_NOW)))
        return GW_EINVAL;
    const uint64_t t[2] = {atim, mtim};
    const uint64_t given[2] = {GW_FST_ATIM, GW_FST_MTIM}, now[2] = {GW_FST_ATIM_NOW, GW_FST_MTIM_NOW};
    for (int i = 0; i < 2; i++) {
        if (fst & given[i]) {
            ts[i].tv_sec = (time_t)(t[i] / 1000000000ull);
            ts[i].tv_nsec = (long)(t[i] % 1000000000ull);
        } else {
            ts[i].tv_sec = 0;
            ts[i].tv_nsec = (fst & now[i]) ? UTIME_NOW : UTIME_OMIT;
        }
    }
    return GW_ESUCCESS;
}

static uint32_t fd_filestat_set_times(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f = graft_wasi__fd(w, a[0]);
    if (!f) return GW_EBADF;
    if (f->read_only) return GW_EROFS;
    if (!(f->rights_base & GW_RIGHT_FD_FILESTAT_SET_TIMES)) return GW_ENOTCAPABLE;
    struct timespec ts[2];
    uint32_t e = graft_wasi__times(a[1], a[2], a[3], ts);
    if (e) return e;
    if (futimens(f->host, ts) != 0) return graft_wasi__errno(errno);
    return GW_ESUCCESS;
}

/* ---- Hints, space and syncing ---------------------------------------------- */

static uint32_t fd_advise(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f;
    uint32_t e = graft_wasi__fd_rights(w, a[0], GW_RIGHT_FD_ADVISE, &f);
    if (e) return e;
    int adv;
    switch (a[3]) {
    case GW_ADVICE_NORMAL: adv = POSIX_FADV_NORMAL; break;
    case GW_ADVICE_SEQUENTIAL: adv = POSIX_FADV_SEQUENTIAL; break;
    case GW_ADVICE_RANDOM: adv = POSIX_FADV_RANDOM; break;
    case GW_ADVICE_WILLNEED: adv = POSIX_FADV_WILLNEED; break;
    case GW_ADVICE_DONTNEED: adv = POSIX_FADV_DONTNEED; break;
    case GW_ADVICE_NOREUSE: adv = POSIX_FADV_NOREUSE; break;
    default: return GW_EINVAL;
    }
    if (a[1] > INT64_MAX || a[2] > INT64_MAX) return GW_EINVAL;
    int r = posix_fadvise(f->host, (off_t)a[1], (off_t)a[2], adv);
    return r ? graft_wasi__errno(r) : GW_ESUCCESS;
}

static uint32_t fd_allocate(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f = graft_wasi__fd(w, a[0]);
    if (!f) return GW_EBADF;
    if (f->read_only) return GW_EROFS;
    if (!(f->rights_base & GW_RIGHT_FD_ALLOCATE)) return GW_ENOTCAPABLE;
    if (a[1] > INT64_MAX || a[2] > INT64_MAX || a[2] == 0) return GW_EINVAL;
    int r = posix_fallocate(f->host, (off_t)a[1], (off_t)a[2]);
    if (r == EOPNOTSUPP) {
        /* Filesystems without fallocate: extending the size is what the
         * guest can observe. */
        struct stat st;
        if (fstat(f->host, &st) != 0) return graft_wasi__errno(errno);
        uint64_t end = a[1] + a[2];
        if (end > INT64_MAX) return GW_EFBIG;
        if ((uint64_t)st.st_size < end && ftruncate(f->host, (off_t)end) != 0)
            return graft_wasi__errno(errno);
        return GW_ESUCCESS;
    }
    return r ? graft_wasi__errno(r) : GW_ESUCCESS;
}

static uint32_t fd_datasync(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f;
    uint32_t e = graft_wasi__fd_rights(w, a[0], GW_RIGHT_FD_DATASYNC, &f);
    if (e) return e;
    return fdatasync(f->host) != 0 ? graft_wasi__errno(errno) : GW_ESUCCESS;
}

static uint32_t fd_sync(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f;
    uint32_t e = graft_wasi__fd_rights(w, a[0], GW_RIGHT_FD_SYNC, &f);
    if (e) return e;
    return fsync(f->host) != 0 ? graft_wasi__errno(errno) : GW_ESUCCESS;
}

/* ---- Table operations ------------------------------------------------------ */

static uint32_t fd_close(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *f = graft_wasi__fd(w, a[0]);
    if (!f) return GW_EBADF;
    graft_wasi__fd_release(w, f);
    return GW_ESUCCESS;
}

/* Move fd `from` onto `to`, closing what `to` held [witx fd_renumber]. */
static uint32_t fd_renumber(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    (void)m;
    gw_fd *from = graft_wasi__fd(w, a[0]), *to = graft_wasi__fd(w, a[1]);
    if (!from || !to) return GW_EBADF;
    if (from == to) return GW_ESUCCESS;
    graft_wasi__fd_release(w, to);
    *to = *from;
    memset(from, 0, sizeof *from);
    from->host = -1;
    return GW_ESUCCESS;
}

/* ---- Preopens [witx prestat: tag u8 @0, dir.pr_name_len u32 @4] -------- */

static uint32_t fd_prestat_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *f = graft_wasi__fd(w, a[0]);
    if (!f || !f->preopen_name) return GW_EBADF;
    uint8_t *p = gw_ptr(m, a[1], GW_SIZEOF_PRESTAT);
    if (!p) return GW_EFAULT;
    memset(p, 0, GW_SIZEOF_PRESTAT);
    gw_put8(p, 0);   /* preopentype dir */
    gw_put32(p + 4, f->preopen_name_len);
    return GW_ESUCCESS;
}

static uint32_t fd_prestat_dir_name(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *f = graft_wasi__fd(w, a[0]);
    if (!f || !f->preopen_name) return GW_EBADF;
    if (a[2] < f->preopen_name_len) return GW_ENAMETOOLONG;
    uint8_t *p = gw_ptr(m, a[1], f->preopen_name_len);
    if (!p) return GW_EFAULT;
    memcpy(p, f->preopen_name, f->preopen_name_len);
    return GW_ESUCCESS;
}

/* ---- fd_readdir [witx dirent: d_next u64 @0, d_ino u64 @8, d_namlen u32
 *      @16, d_type u8 @20, then the name; 24-byte header] ----------------- */

/* Position the stream so that its next entry has index cookie. */
static uint32_t dir_seek(graft_wasi *w, gw_fd *f, uint64_t cookie)
{
    (void)w;
    if (!f->dir) {
        int d = openat(f->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) return graft_wasi__errno(errno);
        f->dir = fdopendir(d);
        if (!f->dir) {
            int err = errno;
            close(d);
            return graft_wasi__errno(err);
        }
        f->dir_pos = 0;
    }
    if (cookie < f->dir_pos) {
        rewinddir(f->dir);
        f->dir_pos = 0;
    }
    while (f->dir_pos < cookie) {
        errno = 0;
        if (!readdir(f->dir)) {
            if (errno) return graft_wasi__errno(errno);
            break;   /* past the end: the next read reports no entries */
        }
        f->dir_pos++;
    }
    return GW_ESUCCESS;
}

static uint8_t dirent_type(int dirfd, const struct dirent *de)
{
    switch (de->d_type) {
    case DT_BLK: return GW_FILETYPE_BLOCK_DEVICE;
    case DT_CHR: return GW_FILETYPE_CHARACTER_DEVICE;
    case DT_DIR: return GW_FILETYPE_DIRECTORY;
    case DT_REG: return GW_FILETYPE_REGULAR_FILE;
    case DT_SOCK: return GW_FILETYPE_SOCKET_STREAM;
    case DT_LNK: return GW_FILETYPE_SYMBOLIC_LINK;
    default: {
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return GW_FILETYPE_UNKNOWN;
        return graft_wasi__filetype(st.st_mode);
    }
    }
}

static uint32_t fd_readdir(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *f;
    uint32_t e = graft_wasi__fd_rights(w, a[0], GW_RIGHT_FD_READDIR, &f);
    if (e) return e;
    if (f->kind != GW_FD_DIR) return GW_ENOTDIR;
    uint64_t len = a[2];
    uint8_t *buf = gw_ptr(m, a[1], len);
    uint8_t *used_p = gw_ptr(m, a[4], 4);
    if (!buf || !used_p) return GW_EFAULT;
    e = dir_seek(w, f, a[3]);
    if (e) return e;
    uint64_t used = 0;
    while (used < len) {
        long loc = telldir(f->dir);
        errno = 0;
        struct dirent *de = readdir(f->dir);
        if (!de) {
            if (errno) return graft_wasi__errno(errno);
            break;
        }
        uint8_t head[GW_SIZEOF_DIRENT] = {0};
        size_t namlen = strlen(de->d_name);
        gw_put64(head + 0, f->dir_pos + 1);
        gw_put64(head + 8, (uint64_t)de->d_ino);
        gw_put32(head + 16, (uint32_t)namlen);
        gw_put8(head + 20, dirent_type(dirfd(f->dir), de));
        uint64_t room = len - used, whole = GW_SIZEOF_DIRENT + namlen;
        uint64_t nh = room < GW_SIZEOF_DIRENT ? room : GW_SIZEOF_DIRENT;
        memcpy(buf + used, head, (size_t)nh);
        if (room > GW_SIZEOF_DIRENT) {
            uint64_t nn = room - GW_SIZEOF_DIRENT < namlen ? room - GW_SIZEOF_DIRENT : namlen;
            memcpy(buf + used + GW_SIZEOF_DIRENT, de->d_name, (size_t)nn);
        }
        used += whole < room ? whole : room;
        if (whole > room) {
            /* The entry did not fit whole: the guest sees a full buffer and
             * asks again from this entry's cookie, so unread it. */
            seekdir(f->dir, loc);
            break;
        }
        f->dir_pos++;
    }
    gw_put32(used_p, (uint32_t)used);
    return GW_ESUCCESS;
}

const gw_fn graft_wasi__fd_fns[] = {
    {"fd_advise", "iIIi", true, fd_advise},
    {"fd_allocate", "iII", true, fd_allocate},
    {"fd_close", "i", true, fd_close},
    {"fd_datasync", "i", true, fd_datasync},
    {"fd_fdstat_get", "ii", true, fd_fdstat_get},
    {"fd_fdstat_set_flags", "ii", true, fd_fdstat_set_flags},
    {"fd_fdstat_set_rights", "iII", true, fd_fdstat_set_rights},
    {"fd_filestat_get", "ii", true, fd_filestat_get},
    {"fd_filestat_set_size", "iI", true, fd_filestat_set_size},
    {"fd_filestat_set_times", "iIIi", true, fd_filestat_set_times},
    {"fd_pread", "iiiIi", true, fd_pread},
    {"fd_prestat_get", "ii", true, fd_prestat_get},
    {"fd_prestat_dir_name", "iii", true, fd_prestat_dir_name},
    {"fd_pwrite", "iiiIi", true, fd_pwrite},
    {"fd_read", "iiii", true, fd_read},
    {"fd_readdir", "iiiIi", true, fd_readdir},
    {"fd_renumber", "ii", true, fd_renumber},
    {"fd_seek", "iIii", true, fd_seek},
    {"fd_sync", "i", true, fd_sync},
    {"fd_tell", "ii", true, fd_tell},
    {"fd_write", "iiii", true, fd_write},
};
const uint32_t graft_wasi__fd_nfns = sizeof graft_wasi__fd_fns / sizeof graft_wasi__fd_fns[0];
