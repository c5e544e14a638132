/* wasi_path.c - confinement and the path_* functions of wasi_snapshot_preview1.
 *
 * Every guest path is relative to a directory fd and must stay beneath it.
 * Absolute paths, `..` above that directory, and symlinks (absolute ones,
 * ones that climb out, chains of them, ones planted mid-path) are refused
 * with ENOTCAPABLE. Resolution never checks and then uses a path: it opens
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), where the kernel
 * enforces the boundary atomically; when the kernel lacks openat2 (ENOSYS)
 * it walks the path one component at a time, each openat() relative to the
 * directory fd reached so far with O_NOFOLLOW, expanding symlinks itself
 * (relative targets only) and keeping a stack of the directory fds it came
 * through so that `..` pops back to a descriptor it already holds and can
 * never rise above the base.
 *
 * Calls that act on a name rather than a file (mkdir, unlink, rename,
 * symlink, link, readlink, utimes without following) first open the
 * name's parent directory beneath the base the same way, then act with a
 * single-component *at() call that does not follow a final symlink, so the
 * kernel never resolves guest text outside the confined directory.
 *
 * Read-only preopens: every call that would change the file system (open
 * for writing, create, truncate, mkdir, rmdir, unlink, rename, link,
 * symlink, set times) answers EROFS, checked before anything else; that
 * includes link and rename whose other side is writable. Rights missing on
 * the directory fd answer ENOTCAPABLE.
 *
 * Symlinks the guest creates, renames or hard-links must not point outside
 * the preopen once they are on the host ("Symlinks that stay inside").
 *
 * Ownership: descriptors opened while resolving are closed before each
 * call returns; path_open hands its descriptor to the fd table. */
#include "wasi_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WALK_DEPTH 128      /* directory levels the fallback walk can hold */
#define MAX_SYMLINKS 40     /* as Linux's own limit on a lookup */

/* ---- Guest path text ---------------------------------------------------- */

/* Copy the guest's path into buf (PATH_MAX bytes), NUL-terminated. */
static uint32_t copy_path(const gw_mem *m, uint64_t ptr, uint64_t len, char *buf)
{
    const uint8_t *p = gw_ptr(m, ptr, len);
    if (!p) return GW_EFAULT;
    if (len >= PATH_MAX) return GW_ENAMETOOLONG;
    if (memchr(p, 0, (size_t)len)) return GW_EINVAL;
    if (len == 0) return GW_ENOENT;
    if (p[0] == '/') return GW_ENOTCAPABLE;
    memcpy(buf, p, (size_t)len);
    buf[len] = 0;
    return GW_ESUCCESS;
}

/* ---- The fallback walk -------------------------------------------------- */

typedef struct walk {
    int stack[WALK_DEPTH];   /* [0] the base (borrowed), then directories we opened */
    int depth;               /* index of the current directory */
    char buf[PATH_MAX];      /* the path still to resolve */
    size_t at;               /* cursor in buf */
    int links;               /* symlinks expanded so far */
} walk;

static void walk_close(walk *k)
{
    for (int i = 1; i <= k->depth; i++) close(k->stack[i]);
    k->depth = 0;
}

/* Replace the component just read (a symlink in the current directory)
 * by its target, in front of what remains. ENOENT-like answers mean "not a
 * symlink" and are returned as fail_errno. */
static uint32_t walk_splice(walk *k, const char *name, bool trailing, int fail_errno)
{
    char target[PATH_MAX];
    ssize_t r = readlinkat(k->stack[k->depth], name, target, sizeof target);
    if (r < 0) return graft_wasi__errno(fail_errno);
    if (r >= (ssize_t)sizeof target) return GW_ENAMETOOLONG;
    target[r] = 0;
    if (++k->links > MAX_SYMLINKS) return GW_ELOOP;
    if (target[0] == '/') return GW_ENOTCAPABLE;
    const char *rest = k->buf + k->at;
    const char *sep = *rest || trailing ? "/" : "";
    size_t need = (size_t)r + strlen(sep) + strlen(rest);
    if (need >= PATH_MAX) return GW_ENAMETOOLONG;
    char next[PATH_MAX];
    memcpy(next, target, (size_t)r);
    memcpy(next + r, sep, strlen(sep));
    memcpy(next + r + strlen(sep), rest, strlen(rest) + 1);
    memcpy(k->buf, next, need + 1);
    k->at = 0;
    return GW_ESUCCESS;
}

/* Open the last component. Returns 1 when it was a symlink that has been
 * spliced (keep walking), 0 with *out_fd set, or an errno + 2. */
static uint32_t walk_last(walk *k, const char *name, bool trailing, int flags, mode_t mode,
                          bool follow, int *out_fd)
{
    int top = k->stack[k->depth];
    int fl = flags | O_NOFOLLOW | O_CLOEXEC;
    if (trailing) {
        if (flags & O_CREAT) return 2 + GW_EISDIR;
        fl |= O_DIRECTORY;
    }
    int fd = openat(top, name, fl, mode);
    if (fd >= 0) {
        struct stat st;
        if (follow && (flags & O_PATH) && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
            close(fd);
            uint32_t e = walk_splice(k, name, trailing, ENOENT);
            return e ? 2 + e : 1;
        }
        *out_fd = fd;
        return 0;
    }
    int err = errno;
    if (follow && (err == ELOOP || err == ENOTDIR)) {
        uint32_t e = walk_splice(k, name, trailing, err);
        return e ? 2 + e : 1;
    }
    return 2 + graft_wasi__errno(err);
}

/* Resolve path beneath base one component at a time (see the file comment). */
static uint32_t walk_open(int base, const char *path, int flags, mode_t mode, bool follow,
                          int *out_fd)
{
    walk k;
    size_t len = strlen(path);
    if (len >= PATH_MAX) return GW_ENAMETOOLONG;
    memcpy(k.buf, path, len + 1);
    k.stack[0] = base;
    k.depth = 0;
    k.at = 0;
    k.links = 0;
    uint32_t e = GW_ESUCCESS;
    for (;;) {
        while (k.buf[k.at] == '/') k.at++;
        if (!k.buf[k.at]) {
            /* Ended on ".", ".." or a followed symlink to a directory. */
            int fd = openat(k.stack[k.depth], ".", (flags | O_CLOEXEC) & ~O_NOFOLLOW, mode);
            if (fd < 0) e = graft_wasi__errno(errno);
            else *out_fd = fd;
            break;
        }
        size_t start = k.at, end = k.at;
        while (k.buf[end] && k.buf[end] != '/') end++;
        size_t rest = end;
        while (k.buf[rest] == '/') rest++;
        bool last = !k.buf[rest], trailing = last && rest != end;
        char name[NAME_MAX + 1];
        if (end - start > NAME_MAX) { e = GW_ENAMETOOLONG; break; }
        memcpy(name, k.buf + start, end - start);
        name[end - start] = 0;
        k.at = rest;
        if (!strcmp(name, ".")) continue;
        if (!strcmp(name, "..")) {
            if (k.depth == 0) { e = GW_ENOTCAPABLE; break; }
            close(k.stack[k.depth--]);
            continue;
        }
        if (last) {
            uint32_t r = walk_last(&k, name, trailing, flags, mode, follow || trailing, out_fd);
            if (r == 1) continue;
            e = r ? r - 2 : GW_ESUCCESS;
            break;
        }
        int fd = openat(k.stack[k.depth], name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            if (k.depth + 1 >= WALK_DEPTH) { close(fd); e = GW_ENAMETOOLONG; break; }
            k.stack[++k.depth] = fd;
            continue;
        }
        int err = errno;
        if (err != ENOTDIR && err != ELOOP) { e = graft_wasi__errno(err); break; }
        e = walk_splice(&k, name, false, err);
        if (e) break;
    }
    walk_close(&k);
    return e;
}

/* ---- openat2 ---------------------------------------------------------- */

static int sys_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned)flags;
    how.mode = (flags & O_CREAT) ? (uint64_t)mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

uint32_t graft_wasi__open_beneath(graft_wasi *w, int dirfd, const char *path, int flags,
                                  mode_t mode, bool follow, int *out_fd)
{
    if (!path[0]) return GW_ENOENT;
    if (path[0] == '/') return GW_ENOTCAPABLE;
    if (!w->no_openat2 && !w->force_walk) {
        int fl = flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
        for (int tries = 0; tries < 16; tries++) {
            int fd = sys_openat2(dirfd, path, fl, mode);
            if (fd >= 0) {
                *out_fd = fd;
                return GW_ESUCCESS;
            }
            if (errno == EAGAIN || errno == EINTR) continue;   /* a rename raced the lookup */
            if (errno == ENOSYS) {
                w->no_openat2 = true;
                break;
            }
            if (errno == EXDEV) return GW_ENOTCAPABLE;   /* the lookup tried to leave */
            return graft_wasi__errno(errno);
        }
        if (!w->no_openat2) return GW_EAGAIN;
    }
    return walk_open(dirfd, path, flags, mode, follow, out_fd);
}

/* ---- Parent + name ------------------------------------------------------- */

/* Split path (modified in place) into its last component's name and that
 * component's directory, opened beneath base (*out_dirfd, which the caller
 * closes). A path that ends in "." or ".." names a directory itself: it is
 * opened whole and the name is ".". *out_trailing says the path ended in
 * '/', which requires a directory. */
static uint32_t resolve_parent(graft_wasi *w, int base, char *path, int *out_dirfd,
                               const char **out_name, bool *out_trailing)
{
    size_t len = strlen(path);
    bool trailing = false;
    while (len > 1 && path[len - 1] == '/') {
        path[--len] = 0;
        trailing = true;
    }
    *out_trailing = trailing;
    char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (!strcmp(name, ".") || !strcmp(name, "..")) {
        *out_name = ".";
        return graft_wasi__open_beneath(w, base, path, O_PATH | O_DIRECTORY, 0, true, out_dirfd);
    }
    if (slash) *slash = 0;
    *out_name = name;
    return graft_wasi__open_beneath(w, base, slash ? path : ".", O_PATH | O_DIRECTORY, 0, true,
                                    out_dirfd);
}

/* resolve_parent, then (when follow) expand symlinks in the last component
 * ourselves, re-resolving each target beneath base, until the name is not
 * a symlink. The caller then acts with AT_SYMLINK_NOFOLLOW, so a symlink
 * swapped in afterwards is acted on, never followed. path is a PATH_MAX
 * buffer. */
static uint32_t resolve_final(graft_wasi *w, int base, char *path, bool follow, int *out_dirfd,
                              const char **out_name)
{
    for (int links = 0;; links++) {
        bool trailing;
        uint32_t e = resolve_parent(w, base, path, out_dirfd, out_name, &trailing);
        if (e) return e;
        if (!follow && !trailing) return GW_ESUCCESS;
        char target[PATH_MAX];
        ssize_t r = readlinkat(*out_dirfd, *out_name, target, sizeof target);
        if (r < 0) return GW_ESUCCESS;   /* not a symlink: the call reports on it */
        close(*out_dirfd);
        if (links >= MAX_SYMLINKS) return GW_ELOOP;
        if (r >= (ssize_t)sizeof target) return GW_ENAMETOOLONG;
        target[r] = 0;
        if (target[0] == '/') return GW_ENOTCAPABLE;
        char next[PATH_MAX];
        size_t plen = *out_name == path ? 0 : strlen(path) + 1;   /* parent and '/' */
        if (plen + (size_t)r + 1 >= PATH_MAX) return GW_ENAMETOOLONG;
        if (plen) {
            memcpy(next, path, plen - 1);
            next[plen - 1] = '/';
        }
        memcpy(next + plen, target, (size_t)r + 1);
        if (trailing) strcat(next, "/");
        memcpy(path, next, strlen(next) + 1);
    }
}

/* The directory fd a path call works from: EBADF, EROFS (when the call
 * changes something beneath a read-only preopen), ENOTCAPABLE, ENOTDIR. */
static uint32_t get_dir(graft_wasi *w, uint64_t fd, uint64_t right, bool changes, gw_fd **out)
{
    gw_fd *d = graft_wasi__fd(w, fd);
    if (!d) return GW_EBADF;
    if (changes && d->read_only) return GW_EROFS;
    if (!(d->rights_base & right)) return GW_ENOTCAPABLE;
    if (d->kind != GW_FD_DIR) return GW_ENOTDIR;
    *out = d;
    return GW_ESUCCESS;
}

/* A name given with a trailing '/' must be a directory. */
static uint32_t check_trailing(int dirfd, const char *name, bool trailing)
{
    struct stat st;
    if (trailing && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
        return GW_ENOTDIR;
    return GW_ESUCCESS;
}

/* A name that path_symlink or path_link would create, given with a
 * trailing '/': only a directory may be named so, and neither call makes
 * one. ENOENT when nothing is there, EEXIST for a directory, else ENOTDIR,
 * as symlinkat(2) and linkat(2) answer. */
static uint32_t check_new_name(int dirfd, const char *name, bool trailing)
{
    if (!trailing) return GW_ESUCCESS;
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return graft_wasi__errno(errno);
    return S_ISDIR(st.st_mode) ? GW_EEXIST : GW_ENOTDIR;
}

/* ---- Symlinks that stay inside ------------------------------------------
 * A symlink the guest leaves behind is followed later by whoever uses the
 * directory, not only through our confined lookups, so one whose target
 * would resolve outside the preopen is refused when it is made, and so is
 * moving or hard-linking one to where it would. A target may climb only
 * at its start ("../../a/b"), and by no more levels than its directory
 * lies below the preopen's root; a ".." after a name ("a/../..") is
 * refused outright, because what that name is (a directory, or a symlink
 * planted later) can change after the check. The depth is measured on the
 * host, walking ".." up to the root. */

/* The ".." steps target takes before its first name, or -1 when it is
 * absolute or climbs again after a name. */
static long target_climb(const char *target)
{
    if (target[0] == '/') return -1;
    long up = 0;
    bool named = false;
    for (const char *c = target; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            if (named) return -1;
            up++;
        } else if (n > 0 && !(n == 1 && c[0] == '.')) {
            named = true;
        }
        c += n;
        while (*c == '/') c++;
    }
    return up;
}

/* How many levels dirfd lies below the preopen root of d (*out_depth).
 * ENOTCAPABLE when walking ".." up reaches the host's "/" without meeting
 * the root: dirfd is not beneath it. */
static uint32_t depth_below_root(const gw_fd *d, int dirfd, long *out_depth)
{
    int cur = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0) return graft_wasi__errno(errno);
    uint32_t e = GW_ENOTCAPABLE;
    for (long depth = 0; depth < PATH_MAX / 2; depth++) {
        struct stat st, up_st;
        if (fstat(cur, &st) != 0) {
            e = graft_wasi__errno(errno);
            break;
        }
        if ((uint64_t)st.st_dev == d->root_dev && (uint64_t)st.st_ino == d->root_ino) {
            *out_depth = depth;
            e = GW_ESUCCESS;
            break;
        }
        int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (up < 0) {
            e = graft_wasi__errno(errno);
            break;
        }
        close(cur);
        cur = up;
        if (fstat(cur, &up_st) != 0 || (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino))
            break;   /* the host's "/": the root was not on the way */
    }
    close(cur);
    return e;
}

/* May a symlink with this target live in dirfd (beneath d's root)? */
static uint32_t check_link_target(const gw_fd *d, int dirfd, const char *target)
{
    long up = target_climb(target);
    if (up < 0) return GW_ENOTCAPABLE;
    if (up == 0) return GW_ESUCCESS;
    long depth;
    uint32_t e = depth_below_root(d, dirfd, &depth);
    if (e) return e;
    return up <= depth ? GW_ESUCCESS : GW_ENOTCAPABLE;
}

/* Would the entry name in dirfd, if a symlink, point outside d's root from
 * there? (Used for the old entry of a rename or link, checked against its
 * new directory: new_dirfd, beneath new_d's root.) */
static uint32_t check_moved_link(int dirfd, const char *name, const gw_fd *new_d, int new_dirfd)
{
    char target[PATH_MAX];
    ssize_t r = readlinkat(dirfd, name, target, sizeof target);
    if (r < 0) return GW_ESUCCESS;   /* not a symlink */
    if (r >= (ssize_t)sizeof target) return GW_ENAMETOOLONG;
    target[r] = 0;
    return check_link_target(new_d, new_dirfd, target);
}

/* A directory moved by a rename takes every symlink inside it along. With
 * its new parent new_depth levels below the root, a symlink `level` levels
 * below it (1 for its own entries) may climb at most new_depth + level.
 * Walks the subtree without following symlinks; ENOTCAPABLE when a symlink
 * would point out, or the tree is deeper than WALK_DEPTH. */
static uint32_t check_moved_tree(int dirfd, long level, long new_depth)
{
    if (level > WALK_DEPTH) return GW_ENOTCAPABLE;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return graft_wasi__errno(errno);
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int err = errno;
        close(fd);
        return graft_wasi__errno(err);
    }
    uint32_t e = GW_ESUCCESS;
    for (struct dirent *de; !e && (de = readdir(dir));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;   /* gone meanwhile */
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t r = readlinkat(fd, de->d_name, target, sizeof target);
            if (r < 0 || r >= (ssize_t)sizeof target) continue;
            target[r] = 0;
            long up = target_climb(target);
            if (up < 0 || up > new_depth + level) e = GW_ENOTCAPABLE;
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(fd, de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) continue;
            e = check_moved_tree(sub, level + 1, new_depth);
            close(sub);
        }
    }
    closedir(dir);
    return e;
}

/* path_rename's confinement check: the entry oname in odfd (beneath od's
 * root) is to become nname in ndfd (beneath nd's root). */
static uint32_t check_rename(const gw_fd *od, int odfd, const char *oname, const gw_fd *nd,
                             int ndfd)
{
    struct stat st;
    if (fstatat(odfd, oname, &st, AT_SYMLINK_NOFOLLOW) != 0) return GW_ESUCCESS;   /* renameat reports */
    if (S_ISLNK(st.st_mode)) return check_moved_link(odfd, oname, nd, ndfd);
    if (!S_ISDIR(st.st_mode)) return GW_ESUCCESS;
    long old_depth, new_depth;
    uint32_t e = depth_below_root(nd, ndfd, &new_depth);
    if (e) return e;
    /* Moving within the same root and no closer to it cannot let a link out. */
    if (od->root_dev == nd->root_dev && od->root_ino == nd->root_ino &&
        depth_below_root(od, odfd, &old_depth) == GW_ESUCCESS && new_depth >= old_depth)
        return GW_ESUCCESS;
    int moved = openat(odfd, oname, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (moved < 0) return graft_wasi__errno(errno);
    e = check_moved_tree(moved, 1, new_depth);
    close(moved);
    return e;
}

/* ---- path_open [witx] ------------------------------------------------------
 * (fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting,
 *  fdflags, out fd). Rights are WASI's bookkeeping; the host descriptor is
 * opened for what the object is. A file is opened for reading when read
 * rights are asked, and for writing when write rights are or O_TRUNC is
 * (the kernel truncates only a writable open), the way wasi-libc and Rust's
 * std ask. A directory is opened read-only whatever else the rights say,
 * and keeps only the directory rights; FD_WRITE alone, asking to write
 * bytes into it, is refused with EISDIR, as POSIX open() refuses a
 * directory opened for writing. */

static int open_flags(uint64_t oflags, uint64_t fdflags, bool want_read, bool want_write)
{
    int fl = want_write ? (want_read ? O_RDWR : O_WRONLY) : O_RDONLY;
    if (oflags & GW_OFLAG_CREAT) fl |= O_CREAT;
    if (oflags & GW_OFLAG_DIRECTORY) fl |= O_DIRECTORY;
    if (oflags & GW_OFLAG_EXCL) fl |= O_EXCL;
    if (oflags & GW_OFLAG_TRUNC) fl |= O_TRUNC;
    if (fdflags & GW_FDFLAG_APPEND) fl |= O_APPEND;
    if (fdflags & GW_FDFLAG_DSYNC) fl |= O_DSYNC;
    if (fdflags & GW_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
    if (fdflags & GW_FDFLAG_RSYNC) fl |= O_RSYNC;
    if (fdflags & GW_FDFLAG_SYNC) fl |= O_SYNC;
    return fl;
}

static uint32_t path_open(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    uint64_t oflags = a[4], base = a[5], inh = a[6], fdflags = a[7];
    bool write_data = (base & GW_RIGHT_FD_WRITE) != 0;
    bool want_write = write_data || (base & (GW_RIGHT_FD_ALLOCATE | GW_RIGHT_FD_FILESTAT_SET_SIZE)) ||
                      (oflags & GW_OFLAG_TRUNC);
    bool want_read = (base & (GW_RIGHT_FD_READ | GW_RIGHT_FD_READDIR)) != 0;
    bool changes = want_write || (oflags & (GW_OFLAG_CREAT | GW_OFLAG_TRUNC));
    gw_fd *d;
    uint32_t e = get_dir(w, a[0], GW_RIGHT_PATH_OPEN, changes, &d);
    if (e) return e;
    if ((oflags & GW_OFLAG_CREAT) && !(d->rights_base & GW_RIGHT_PATH_CREATE_FILE))
        return GW_ENOTCAPABLE;
    if ((oflags & GW_OFLAG_TRUNC) && !(d->rights_base & GW_RIGHT_PATH_FILESTAT_SET_SIZE))
        return GW_ENOTCAPABLE;   /* truncating changes the file's size through a path */
    if (oflags & ~(uint64_t)(GW_OFLAG_CREAT | GW_OFLAG_DIRECTORY | GW_OFLAG_EXCL | GW_OFLAG_TRUNC))
        return GW_EINVAL;
    uint8_t *out = gw_ptr(m, a[8], 4);
    if (!out) return GW_EFAULT;
    char path[PATH_MAX];
    e = copy_path(m, a[2], a[3], path);
    if (e) return e;
    bool follow = (a[1] & GW_LOOKUP_SYMLINK_FOLLOW) != 0;
    bool as_dir = (oflags & GW_OFLAG_DIRECTORY) && !write_data;
    int fl = open_flags(oflags, fdflags, want_read, want_write && !as_dir);
    int host;
    e = graft_wasi__open_beneath(w, d->host, path, fl, 0666, follow, &host);
    if (e == GW_EISDIR && want_write && !write_data && !(oflags & (GW_OFLAG_CREAT | GW_OFLAG_TRUNC))) {
        /* A directory, asked for with write rights that mean nothing for
         * one (allocate, set size): open it for what it is. */
        fl = (fl & ~O_ACCMODE) | O_RDONLY | O_DIRECTORY;
        e = graft_wasi__open_beneath(w, d->host, path, fl, 0, follow, &host);
    }
    if (e) return e;
    struct stat st;
    if (fstat(host, &st) != 0) {
        e = graft_wasi__errno(errno);
        close(host);
        return e;
    }
    /* d may move when the table grows: copy what the new fd inherits first. */
    bool read_only = d->read_only;
    uint64_t root_dev = d->root_dev, root_ino = d->root_ino;
    uint64_t allowed = d->rights_inheriting & (read_only ? ~GW_RIGHTS_WRITE : GW_RIGHTS_ALL);
    uint32_t fd;
    e = graft_wasi__fd_insert(w, host, S_ISDIR(st.st_mode) ? GW_FD_DIR : GW_FD_FILE, &fd);
    if (e) {
        close(host);
        return e;
    }
    gw_fd *f = &w->fds[fd];
    f->read_only = read_only;
    f->root_dev = root_dev;
    f->root_ino = root_ino;
    f->rights_base = base & allowed & (S_ISDIR(st.st_mode) ? GW_RIGHTS_DIR_BASE : GW_RIGHTS_ALL);
    f->rights_inheriting = inh & allowed;
    gw_put32(out, fd);
    return GW_ESUCCESS;
}

/* ---- Calls on one name ------------------------------------------------------ */

static uint32_t path_create_directory(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *d;
    uint32_t e = get_dir(w, a[0], GW_RIGHT_PATH_CREATE_DIRECTORY, true, &d);
    if (e) return e;
    char path[PATH_MAX];
    if ((e = copy_path(m, a[1], a[2], path))) return e;
    int dfd;
    const char *name;
    bool trailing;
    if ((e = resolve_parent(w, d->host, path, &dfd, &name, &trailing))) return e;
    if (mkdirat(dfd, name, 0777) != 0) e = graft_wasi__errno(errno);
    close(dfd);
    return e;
}

static uint32_t path_filestat_get(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *d;
    uint32_t e = get_dir(w, a[0], GW_RIGHT_PATH_FILESTAT_GET, false, &d);
    if (e) return e;
    uint8_t *out = gw_ptr(m, a[4], GW_SIZEOF_FILESTAT);
    if (!out) return GW_EFAULT;
    char path[PATH_MAX];
    if ((e = copy_path(m, a[2], a[3], path))) return e;
    int fd;
    e = graft_wasi__open_beneath(w, d->host, path, O_PATH, 0,
                                 (a[1] & GW_LOOKUP_SYMLINK_FOLLOW) != 0, &fd);
    if (e) return e;
    struct stat st;
    if (fstat(fd, &st) != 0) e = graft_wasi__errno(errno);
    else graft_wasi__put_filestat(out, &st);
    close(fd);
    return e;
}

static uint32_t path_filestat_set_times(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *d;
    uint32_t e = get_dir(w, a[0], GW_RIGHT_PATH_FILESTAT_SET_TIMES, true, &d);
    if (e) return e;
    struct timespec ts[2];
    if ((e = graft_wasi__times(a[4], a[5], a[6], ts))) return e;
    char path[PATH_MAX];
    if ((e = copy_path(m, a[2], a[3], path))) return e;
    int dfd;
    const char *name;
    e = resolve_final(w, d->host, path, (a[1] & GW_LOOKUP_SYMLINK_FOLLOW) != 0, &dfd, &name);
    if (e) return e;
    if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0) e = graft_wasi__errno(errno);
    close(dfd);
    return e;
}

static uint32_t path_readlink(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *d;
    uint32_t e = get_dir(w, a[0], GW_RIGHT_PATH_READLINK, false, &d);
    if (e) return e;
    uint8_t *buf = gw_ptr(m, a[3], a[4]);
    uint8_t *used = gw_ptr(m, a[5], 4);
    if (!buf || !used) return GW_EFAULT;
    char path[PATH_MAX];
    if ((e = copy_path(m, a[1], a[2], path))) return e;
    int dfd;
    const char *name;
    bool trailing;
    if ((e = resolve_parent(w, d->host, path, &dfd, &name, &trailing))) return e;
    char target[PATH_MAX];
    ssize_t r = readlinkat(dfd, name, target, sizeof target);
    if (r < 0) e = graft_wasi__errno(errno);
    close(dfd);
    if (e) return e;
    uint64_t n = (uint64_t)r < a[4] ? (uint64_t)r : a[4];   /* truncate, as readlink(2) does */
    memcpy(buf, target, (size_t)n);
    gw_put32(used, (uint32_t)n);
    return GW_ESUCCESS;
}

static uint32_t path_remove_directory(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *d;
    uint32_t e = get_dir(w, a[0], GW_RIGHT_PATH_REMOVE_DIRECTORY, true, &d);
    if (e) return e;
    char path[PATH_MAX];
    if ((e = copy_path(m, a[1], a[2], path))) return e;
    int dfd;
    const char *name;
    bool trailing;
    if ((e = resolve_parent(w, d->host, path, &dfd, &name, &trailing))) return e;
    if (unlinkat(dfd, name, AT_REMOVEDIR) != 0) e = graft_wasi__errno(errno);
    close(dfd);
    return e;
}

static uint32_t path_unlink_file(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *d;
    uint32_t e = get_dir(w, a[0], GW_RIGHT_PATH_UNLINK_FILE, true, &d);
    if (e) return e;
    char path[PATH_MAX];
    if ((e = copy_path(m, a[1], a[2], path))) return e;
    int dfd;
    const char *name;
    bool trailing;
    if ((e = resolve_parent(w, d->host, path, &dfd, &name, &trailing))) return e;
    struct stat st;
    if (trailing && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        e = S_ISDIR(st.st_mode) ? GW_EISDIR : GW_ENOTDIR;
    else if (unlinkat(dfd, name, 0) != 0)
        e = graft_wasi__errno(errno);
    close(dfd);
    return e;
}

/* (old_path, old_len, fd, new_path, new_len): the link's text is not
 * resolved here, but one that would resolve outside the preopen, absolute
 * or climbing too far, is refused (see "Symlinks that stay inside"). */
static uint32_t path_symlink(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *d;
    uint32_t e = get_dir(w, a[2], GW_RIGHT_PATH_SYMLINK, true, &d);
    if (e) return e;
    char target[PATH_MAX], path[PATH_MAX];
    if ((e = copy_path(m, a[0], a[1], target))) return e;
    if ((e = copy_path(m, a[3], a[4], path))) return e;
    int dfd;
    const char *name;
    bool trailing;
    if ((e = resolve_parent(w, d->host, path, &dfd, &name, &trailing))) return e;
    e = check_new_name(dfd, name, trailing);
    if (!e) e = check_link_target(d, dfd, target);
    if (!e && symlinkat(target, dfd, name) != 0) e = graft_wasi__errno(errno);
    close(dfd);
    return e;
}

/* ---- Calls on two names ------------------------------------------------------ */

/* (fd, old_path, old_len, new_fd, new_path, new_len). Moving a symlink, or
 * a directory holding symlinks closer to the root, must not leave one
 * pointing outside (check_rename). */
static uint32_t path_rename(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *od, *nd;
    uint32_t e = get_dir(w, a[0], GW_RIGHT_PATH_RENAME_SOURCE, true, &od);
    if (e) return e;
    if ((e = get_dir(w, a[3], GW_RIGHT_PATH_RENAME_TARGET, true, &nd))) return e;
    char op[PATH_MAX], np[PATH_MAX];
    if ((e = copy_path(m, a[1], a[2], op))) return e;
    if ((e = copy_path(m, a[4], a[5], np))) return e;
    int odfd, ndfd;
    const char *oname, *nname;
    bool otrail, ntrail;
    if ((e = resolve_parent(w, od->host, op, &odfd, &oname, &otrail))) return e;
    if ((e = resolve_parent(w, nd->host, np, &ndfd, &nname, &ntrail))) goto close_old;
    e = check_trailing(odfd, oname, otrail || ntrail);
    if (!e) e = check_rename(od, odfd, oname, nd, ndfd);
    if (!e && renameat(odfd, oname, ndfd, nname) != 0) e = graft_wasi__errno(errno);
    close(ndfd);
close_old:
    close(odfd);
    return e;
}

/* (old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len). A
 * hard link to a file beneath a read-only preopen would make it writable
 * elsewhere, so a read-only source is refused too. A hard link to a
 * symlink is a second name for the link: its target is checked against
 * the new directory, as path_symlink checks it. */
static uint32_t path_link(graft_wasi *w, const gw_mem *m, const uint64_t *a)
{
    gw_fd *od, *nd;
    uint32_t e = get_dir(w, a[0], GW_RIGHT_PATH_LINK_SOURCE, true, &od);
    if (e) return e;
    if ((e = get_dir(w, a[4], GW_RIGHT_PATH_LINK_TARGET, true, &nd))) return e;
    char op[PATH_MAX], np[PATH_MAX];
    if ((e = copy_path(m, a[2], a[3], op))) return e;
    if ((e = copy_path(m, a[5], a[6], np))) return e;
    int odfd, ndfd;
    const char *oname, *nname;
    bool ntrail;
    e = resolve_final(w, od->host, op, (a[1] & GW_LOOKUP_SYMLINK_FOLLOW) != 0, &odfd, &oname);
    if (e) return e;
    if ((e = resolve_parent(w, nd->host, np, &ndfd, &nname, &ntrail))) goto close_old;
    e = check_new_name(ndfd, nname, ntrail);
    if (!e) e = check_moved_link(odfd, oname, nd, ndfd);   /* a hard link to a symlink */
    if (!e && linkat(odfd, oname, ndfd, nname, 0) != 0) e = graft_wasi__errno(errno);
    close(ndfd);
close_old:
    close(odfd);
    return e;
}

const gw_fn graft_wasi__path_fns[] = {
    {"path_create_directory", "iii", true, path_create_directory},
    {"path_filestat_get", "iiiii", true, path_filestat_get},
    {"path_filestat_set_times", "iiiiIIi", true, path_filestat_set_times},
    {"path_link", "iiiiiii", true, path_link},
    {"path_open", "iiiiiIIii", true, path_open},
    {"path_readlink", "iiiiii", true, path_readlink},
    {"path_remove_directory", "iii", true, path_remove_directory},
    {"path_rename", "iiiiii", true, path_rename},
    {"path_symlink", "iiiii", true, path_symlink},
    {"path_unlink_file", "iii", true, path_unlink_file},
};
const uint32_t graft_wasi__path_nfns = sizeof graft_wasi__path_fns / sizeof graft_wasi__path_fns[0];
