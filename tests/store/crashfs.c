/* crashfs.c - an LD_PRELOAD shim that simulates a power loss under one
 * directory tree, for tests/store/campaign.c.
 *
 * Model (the simplest honest one): a file's data survives a crash only as
 * of its last fsync/fdatasync, and a directory's entries only as of the
 * directory's last fsync/fdatasync. The shim keeps, per file object, the
 * bytes it held at its last sync ("durable data"; what it held when the
 * shim started for files that existed then, nothing for files created
 * since), and per directory the name -> object listing at its last sync.
 * It counts the mutating calls on paths under CRASHFS_DIR (write, pwrite,
 * pwrite64, ftruncate, ftruncate64, rename, unlink, fsync, fdatasync);
 * when the count reaches CRASHFS_CRASH_AT, before doing that call, it
 * rewrites every directory of the tree to its durable listing with each
 * file's durable data and SIGKILLs the process.
 *
 * Objects are tracked by inode number with a generation: a file created
 * through open/open64/openat(O_CREAT) is a new object even when the file
 * system reuses a freed inode number, so an old durable listing never
 * lends its data to a new file.
 *
 * Not covered: writes through mmap (SQLite's -shm file, which SQLite
 * rebuilds from the WAL when the first connection opens, is left out of
 * the model; the store sets mmap_size=0 so the database is never written
 * through a mapping); mkdir/rmdir (the tree's directories exist before the
 * shim starts); torn or reordered writes within a file between two syncs
 * (a file reverts whole to its last synced bytes); writes through stdio
 * or raw syscalls that bypass these libc symbols; fsync on one fd making
 * another file's data durable (ext4 data=ordered may do that; the model
 * does not assume it, which is the stricter side). CRASHFS_COUNT_FILE, if
 * set, receives the count at exit (a run with CRASHFS_CRASH_AT=0 counts
 * the points of a workload). Single-threaded callers only. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct object {
    ino_t ino;
    unsigned char *data;    /* durable data (NULL with len 0: empty) */
    size_t len;
} object;

typedef struct entry { char name[256]; int obj; } entry;

typedef struct tdir {
    char path[PATH_MAX];
    entry *durable;         /* the listing at its last sync */
    size_t count;
} tdir;

static char root[PATH_MAX];
static size_t root_len;
static long crash_at, ops;
static bool active, crashing;
static object *objs;
static size_t nobj;
static tdir dirs[16];
static size_t ndirs;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_rename)(const char *, const char *);
static int (*real_unlink)(const char *);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);

static void die(const char *what)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "crashfs: %s: %s\n", what, strerror(errno));
    if (real_write) real_write(2, buf, (size_t)n);
    abort();
}

/* The current object of an inode: the newest one with that number. */
static int object_of(ino_t ino)
{
    for (size_t i = nobj; i-- > 0;)
        if (objs[i].ino == ino) return (int)i;
    return -1;
}

static int object_new(ino_t ino)
{
    objs = realloc(objs, (nobj + 1) * sizeof *objs);
    if (!objs) die("realloc");
    objs[nobj] = (object){ .ino = ino };
    return (int)nobj++;
}

/* Records the file's current bytes as durable; reads through a fresh
 * descriptor, since fd may be write-only. */
static void capture(int obj, int wfd)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", wfd);
    int fd = real_open(link, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(link);
    struct stat st;
    if (fstat(fd, &st) != 0) die("fstat");
    object *o = &objs[obj];
    free(o->data);
    o->len = (size_t)st.st_size;
    o->data = malloc(o->len ? o->len : 1);
    if (!o->data) die("malloc");
    size_t got = 0;
    while (got < o->len) {
        ssize_t n = pread(fd, o->data + got, o->len - got, (off_t)got);
        if (n <= 0) die("pread");
        got += (size_t)n;
    }
    close(fd);
}

static bool skipped(const char *name)
{
    size_t n = strlen(name);
    return n >= 4 && strcmp(name + n - 4, "-shm") == 0;
}

/* Records dir's current listing as durable, and with `contents`, every
 * file's current data too (at start only). */
static void snapshot_dir(tdir *d, bool contents)
{
    DIR *dp = opendir(d->path);
    if (!dp) die(d->path);
    free(d->durable);
    d->durable = NULL;
    d->count = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.' || skipped(e->d_name)) continue;
        char p[PATH_MAX + 260];
        snprintf(p, sizeof p, "%.4095s/%.255s", d->path, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0) die(p);
        if (S_ISDIR(st.st_mode)) {
            if (contents && ndirs < sizeof dirs / sizeof dirs[0] && strlen(p) < sizeof dirs[ndirs].path) {
                memcpy(dirs[ndirs].path, p, strlen(p) + 1);
                ndirs++;
            }
            continue;
        }
        if (!S_ISREG(st.st_mode)) continue;
        int obj = object_of(st.st_ino);
        if (obj < 0) obj = object_new(st.st_ino);
        if (contents) {
            int fd = real_open(p, O_RDONLY | O_CLOEXEC);
            if (fd < 0) die(p);
            capture(obj, fd);
            close(fd);
        }
        d->durable = realloc(d->durable, (d->count + 1) * sizeof *d->durable);
        if (!d->durable) die("realloc");
        snprintf(d->durable[d->count].name, sizeof d->durable[d->count].name, "%s", e->d_name);
        d->durable[d->count++].obj = obj;
    }
    closedir(dp);
}

__attribute__((constructor)) static void crashfs_init(void)
{
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
    real_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
    real_rename = dlsym(RTLD_NEXT, "rename");
    real_unlink = dlsym(RTLD_NEXT, "unlink");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_open = dlsym(RTLD_NEXT, "open");
    real_openat = dlsym(RTLD_NEXT, "openat");
    const char *d = getenv("CRASHFS_DIR");
    if (!d || !realpath(d, root)) return;
    root_len = strlen(root);
    const char *at = getenv("CRASHFS_CRASH_AT");
    crash_at = at ? atol(at) : 0;
    snprintf(dirs[0].path, sizeof dirs[0].path, "%s", root);
    ndirs = 1;
    for (size_t i = 0; i < ndirs; i++) snapshot_dir(&dirs[i], true);
    active = true;
}

__attribute__((destructor)) static void crashfs_fini(void)
{
    const char *f = getenv("CRASHFS_COUNT_FILE");
    if (!active || !f) return;
    int fd = real_open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", ops);
    real_write(fd, buf, (size_t)n);
    close(fd);
}

static bool under(const char *p)
{
    return strncmp(p, root, root_len) == 0 && (p[root_len] == '\0' || p[root_len] == '/') && !skipped(p);
}

static bool path_tracked(const char *path)
{
    if (!active || crashing || !path) return false;
    char abs[PATH_MAX];
    if (path[0] == '/') snprintf(abs, sizeof abs, "%s", path);
    else if (!getcwd(abs, sizeof abs)) return false;
    else snprintf(abs + strlen(abs), sizeof abs - strlen(abs), "/%s", path);
    return under(abs);
}

static bool fd_tracked(int fd, char *out, size_t cap)
{
    if (!active || crashing) return false;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, cap - 1);
    if (n <= 0) return false;
    out[n] = '\0';
    return under(out);
}

/* The power loss: every directory back to its durable listing, every file
 * back to its durable data, then SIGKILL. */
static void crash(void)
{
    crashing = true;
    for (size_t i = 0; i < ndirs; i++) {
        tdir *d = &dirs[i];
        DIR *dp = opendir(d->path);
        if (!dp) die(d->path);
        struct dirent *e;
        while ((e = readdir(dp)) != NULL) {
            if (e->d_name[0] == '.' || skipped(e->d_name) || e->d_type == DT_DIR) continue;
            char p[PATH_MAX + 260];
            snprintf(p, sizeof p, "%.4095s/%.255s", d->path, e->d_name);
            real_unlink(p);
        }
        closedir(dp);
        for (size_t k = 0; k < d->count; k++) {
            char p[PATH_MAX + 260];
            snprintf(p, sizeof p, "%.4095s/%.255s", d->path, d->durable[k].name);
            int fd = real_open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd < 0) die(p);
            object *o = &objs[d->durable[k].obj];
            if (o->len && real_write(fd, o->data, o->len) != (ssize_t)o->len) die(p);
            close(fd);
        }
    }
    kill(getpid(), SIGKILL);
    _exit(137);
}

static void count(void)
{
    ops++;
    if (crash_at > 0 && ops >= crash_at) crash();
}

static void synced(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        for (size_t i = 0; i < ndirs; i++)
            if (strcmp(dirs[i].path, path) == 0) snapshot_dir(&dirs[i], false);
        return;
    }
    int obj = object_of(st.st_ino);
    if (obj < 0) obj = object_new(st.st_ino);
    capture(obj, fd);
}

/* A file that open creates is a new object, whatever its inode number. */
static int opened(int fd, const char *path, bool existed)
{
    struct stat st;
    if (fd >= 0 && !existed && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) object_new(st.st_ino);
    return fd;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* open, open64 and openat all come here, as openat. Only absolute or
 * cwd-relative paths are tracked, and only creations matter: a file that
 * open creates is a new object. */
static int tracked_open(int dirfd, const char *path, int flags, mode_t mode)
{
    if (!(flags & O_CREAT) || dirfd != AT_FDCWD || !path_tracked(path)) return real_openat(dirfd, path, flags, mode);
    bool existed = exists(path);
    return opened(real_openat(dirfd, path, flags, mode), path, existed);
}

/* The mode argument that follows flags when they create a file. */
static mode_t mode_of(int flags, va_list ap)
{
    return flags & (O_CREAT | O_TMPFILE) ? va_arg(ap, mode_t) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    return tracked_open(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    return tracked_open(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    return tracked_open(dirfd, path, flags, mode);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    char p[PATH_MAX];
    if (fd_tracked(fd, p, sizeof p)) count();
    return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    char p[PATH_MAX];
    if (fd_tracked(fd, p, sizeof p)) count();
    return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    char p[PATH_MAX];
    if (fd_tracked(fd, p, sizeof p)) count();
    return real_pwrite64(fd, buf, n, off);
}

int ftruncate(int fd, off_t len)
{
    char p[PATH_MAX];
    if (fd_tracked(fd, p, sizeof p)) count();
    return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len)
{
    char p[PATH_MAX];
    if (fd_tracked(fd, p, sizeof p)) count();
    return real_ftruncate64(fd, len);
}

int rename(const char *from, const char *to)
{
    if (path_tracked(from) || path_tracked(to)) count();
    return real_rename(from, to);
}

int unlink(const char *path)
{
    if (path_tracked(path)) count();
    return real_unlink(path);
}

int fsync(int fd)
{
    char p[PATH_MAX];
    bool t = fd_tracked(fd, p, sizeof p);
    if (t) count();
    int r = real_fsync(fd);
    if (t && r == 0) synced(fd, p);
    return r;
}

int fdatasync(int fd)
{
    char p[PATH_MAX];
    bool t = fd_tracked(fd, p, sizeof p);
    if (t) count();
    int r = real_fdatasync(fd);
    if (t && r == 0) synced(fd, p);
    return r;
}
