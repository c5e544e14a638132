/* wasi_internal.h - the insides of graft_wasi, shared by the src/wasi files
 * and the unit test: the context, its fd table, guest-memory access, WASI
 * constants (numbered as in the wasi_snapshot_preview1 witx) and the
 * function table that graft_wasi_define binds.
 *
 * Data structure: a graft_wasi owns a packed copy of argv and environ and a
 * bounded table of gw_fd records indexed by guest fd. Each record maps one
 * guest fd to one host descriptor it owns (stdio excepted: those stay the
 * embedder's), with the rights, read-only mark and readdir state that go
 * with it. Every implementation function sees guest memory as a gw_mem
 * (base, size) taken afresh for each call; it never caches a pointer into
 * it across calls, because a memory may move when it grows.
 *
 * Cross-file symbols are prefixed graft_wasi__ so that the library exports
 * nothing outside the graft_ namespace. */
#ifndef GRAFT_WASI_INTERNAL_H
#define GRAFT_WASI_INTERNAL_H

#include "graft_wasi.h"

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* ---- WASI constants [wasi_snapshot_preview1 witx] ----------------------- */

/* errno (u16) */
enum {
    GW_ESUCCESS = 0, GW_E2BIG = 1, GW_EACCES = 2, GW_EADDRINUSE = 3, GW_EADDRNOTAVAIL = 4,
    GW_EAFNOSUPPORT = 5, GW_EAGAIN = 6, GW_EALREADY = 7, GW_EBADF = 8, GW_EBADMSG = 9,
    GW_EBUSY = 10, GW_ECANCELED = 11, GW_ECHILD = 12, GW_ECONNABORTED = 13,
    GW_ECONNREFUSED = 14, GW_ECONNRESET = 15, GW_EDEADLK = 16, GW_EDESTADDRREQ = 17,
    GW_EDOM = 18, GW_EDQUOT = 19, GW_EEXIST = 20, GW_EFAULT = 21, GW_EFBIG = 22,
    GW_EHOSTUNREACH = 23, GW_EIDRM = 24, GW_EILSEQ = 25, GW_EINPROGRESS = 26, GW_EINTR = 27,
    GW_EINVAL = 28, GW_EIO = 29, GW_EISCONN = 30, GW_EISDIR = 31, GW_ELOOP = 32,
    GW_EMFILE = 33, GW_EMLINK = 34, GW_EMSGSIZE = 35, GW_EMULTIHOP = 36,
    GW_ENAMETOOLONG = 37, GW_ENETDOWN = 38, GW_ENETRESET = 39, GW_ENETUNREACH = 40,
    GW_ENFILE = 41, GW_ENOBUFS = 42, GW_ENODEV = 43, GW_ENOENT = 44, GW_ENOEXEC = 45,
    GW_ENOLCK = 46, GW_ENOLINK = 47, GW_ENOMEM = 48, GW_ENOMSG = 49, GW_ENOPROTOOPT = 50,
    GW_ENOSPC = 51, GW_ENOSYS = 52, GW_ENOTCONN = 53, GW_ENOTDIR = 54, GW_ENOTEMPTY = 55,
    GW_ENOTRECOVERABLE = 56, GW_ENOTSOCK = 57, GW_ENOTSUP = 58, GW_ENOTTY = 59,
    GW_ENXIO = 60, GW_EOVERFLOW = 61, GW_EOWNERDEAD = 62, GW_EPERM = 63, GW_EPIPE = 64,
    GW_EPROTO = 65, GW_EPROTONOSUPPORT = 66, GW_EPROTOTYPE = 67, GW_ERANGE = 68,
    GW_EROFS = 69, GW_ESPIPE = 70, GW_ESRCH = 71, GW_ESTALE = 72, GW_ETIMEDOUT = 73,
    GW_ETXTBSY = 74, GW_EXDEV = 75, GW_ENOTCAPABLE = 76
};

/* rights (u64), one bit each in witx order */
#define GW_RIGHT_FD_DATASYNC (1ull << 0)
#define GW_RIGHT_FD_READ (1ull << 1)
#define GW_RIGHT_FD_SEEK (1ull << 2)
#define GW_RIGHT_FD_FDSTAT_SET_FLAGS (1ull << 3)
#define GW_RIGHT_FD_SYNC (1ull << 4)
#define GW_RIGHT_FD_TELL (1ull << 5)
#define GW_RIGHT_FD_WRITE (1ull << 6)
#define GW_RIGHT_FD_ADVISE (1ull << 7)
#define GW_RIGHT_FD_ALLOCATE (1ull << 8)
#define GW_RIGHT_PATH_CREATE_DIRECTORY (1ull << 9)
#define GW_RIGHT_PATH_CREATE_FILE (1ull << 10)
#define GW_RIGHT_PATH_LINK_SOURCE (1ull << 11)
#define GW_RIGHT_PATH_LINK_TARGET (1ull << 12)
#define GW_RIGHT_PATH_OPEN (1ull << 13)
#define GW_RIGHT_FD_READDIR (1ull << 14)
#define GW_RIGHT_PATH_READLINK (1ull << 15)
#define GW_RIGHT_PATH_RENAME_SOURCE (1ull << 16)
#define GW_RIGHT_PATH_RENAME_TARGET (1ull << 17)
#define GW_RIGHT_PATH_FILESTAT_GET (1ull << 18)
#define GW_RIGHT_PATH_FILESTAT_SET_SIZE (1ull << 19)
#define GW_RIGHT_PATH_FILESTAT_SET_TIMES (1ull << 20)
#define GW_RIGHT_FD_FILESTAT_GET (1ull << 21)
#define GW_RIGHT_FD_FILESTAT_SET_SIZE (1ull << 22)
#define GW_RIGHT_FD_FILESTAT_SET_TIMES (1ull << 23)
#define GW_RIGHT_PATH_SYMLINK (1ull << 24)
#define GW_RIGHT_PATH_REMOVE_DIRECTORY (1ull << 25)
#define GW_RIGHT_PATH_UNLINK_FILE (1ull << 26)
#define GW_RIGHT_POLL_FD_READWRITE (1ull << 27)
#define GW_RIGHT_SOCK_SHUTDOWN (1ull << 28)
#define GW_RIGHT_SOCK_ACCEPT (1ull << 29)
#define GW_RIGHTS_ALL ((1ull << 30) - 1)
/* What a file opened for writing may do; masked off beneath read-only preopens. */
#define GW_RIGHTS_WRITE (GW_RIGHT_FD_DATASYNC | GW_RIGHT_FD_WRITE | GW_RIGHT_FD_ALLOCATE | \
                         GW_RIGHT_FD_FILESTAT_SET_SIZE | GW_RIGHT_FD_FILESTAT_SET_TIMES | \
                         GW_RIGHT_PATH_CREATE_DIRECTORY | GW_RIGHT_PATH_CREATE_FILE |     \
                         GW_RIGHT_PATH_LINK_SOURCE | GW_RIGHT_PATH_LINK_TARGET |          \
                         GW_RIGHT_PATH_RENAME_SOURCE | GW_RIGHT_PATH_RENAME_TARGET |      \
                         GW_RIGHT_PATH_FILESTAT_SET_SIZE | GW_RIGHT_PATH_FILESTAT_SET_TIMES | \
                         GW_RIGHT_PATH_SYMLINK | GW_RIGHT_PATH_REMOVE_DIRECTORY |         \
                         GW_RIGHT_PATH_UNLINK_FILE)

/* What a directory fd may do: path operations beneath it, listing, its own
 * metadata and syncing. Never the data rights (read, write, seek, tell,
 * allocate, set size, advise): a directory holds no bytes to move, so it
 * neither carries nor reports them, whatever a path_open asked for. The
 * set is the one wasmtime reports and the suite's path_open_preopen
 * requires, plus path_filestat_set_size (which O_TRUNC beneath it needs),
 * fdstat_set_flags and the two syncs. */
#define GW_RIGHTS_DIR_BASE (GW_RIGHT_FD_DATASYNC | GW_RIGHT_FD_FDSTAT_SET_FLAGS | GW_RIGHT_FD_SYNC | \
                            GW_RIGHT_PATH_CREATE_DIRECTORY | GW_RIGHT_PATH_CREATE_FILE |           \
                            GW_RIGHT_PATH_LINK_SOURCE | GW_RIGHT_PATH_LINK_TARGET |                \
                            GW_RIGHT_PATH_OPEN | GW_RIGHT_FD_READDIR | GW_RIGHT_PATH_READLINK |    \
                            GW_RIGHT_PATH_RENAME_SOURCE | GW_RIGHT_PATH_RENAME_TARGET |            \
                            GW_RIGHT_PATH_FILESTAT_GET | GW_RIGHT_PATH_FILESTAT_SET_SIZE |         \
                            GW_RIGHT_PATH_FILESTAT_SET_TIMES | GW_RIGHT_FD_FILESTAT_GET |          \
                            GW_RIGHT_FD_FILESTAT_SET_TIMES | GW_RIGHT_PATH_SYMLINK |               \
                            GW_RIGHT_PATH_REMOVE_DIRECTORY | GW_RIGHT_PATH_UNLINK_FILE)

/* filetype (u8) */
enum {
    GW_FILETYPE_UNKNOWN = 0, GW_FILETYPE_BLOCK_DEVICE = 1, GW_FILETYPE_CHARACTER_DEVICE = 2,
    GW_FILETYPE_DIRECTORY = 3, GW_FILETYPE_REGULAR_FILE = 4, GW_FILETYPE_SOCKET_DGRAM = 5,
    GW_FILETYPE_SOCKET_STREAM = 6, GW_FILETYPE_SYMBOLIC_LINK = 7
};

/* fdflags (u16), oflags (u16), lookupflags (u32), fstflags (u16) */
enum { GW_FDFLAG_APPEND = 1, GW_FDFLAG_DSYNC = 2, GW_FDFLAG_NONBLOCK = 4, GW_FDFLAG_RSYNC = 8,
       GW_FDFLAG_SYNC = 16 };
enum { GW_OFLAG_CREAT = 1, GW_OFLAG_DIRECTORY = 2, GW_OFLAG_EXCL = 4, GW_OFLAG_TRUNC = 8 };
enum { GW_LOOKUP_SYMLINK_FOLLOW = 1 };
enum { GW_FST_ATIM = 1, GW_FST_ATIM_NOW = 2, GW_FST_MTIM = 4, GW_FST_MTIM_NOW = 8 };

/* whence (u8), clockid (u32), advice (u8), eventtype (u8) */
enum { GW_WHENCE_SET = 0, GW_WHENCE_CUR = 1, GW_WHENCE_END = 2 };
enum { GW_CLOCK_REALTIME = 0, GW_CLOCK_MONOTONIC = 1, GW_CLOCK_PROCESS_CPUTIME = 2,
       GW_CLOCK_THREAD_CPUTIME = 3 };
enum { GW_ADVICE_NORMAL = 0, GW_ADVICE_SEQUENTIAL = 1, GW_ADVICE_RANDOM = 2,
       GW_ADVICE_WILLNEED = 3, GW_ADVICE_DONTNEED = 4, GW_ADVICE_NOREUSE = 5 };
enum { GW_EVENT_CLOCK = 0, GW_EVENT_FD_READ = 1, GW_EVENT_FD_WRITE = 2 };
enum { GW_EVENT_HANGUP = 1, GW_SUBCLOCK_ABSTIME = 1 };

/* Sizes of the guest structs [witx]. */
#define GW_SIZEOF_IOVEC 8u
#define GW_SIZEOF_FDSTAT 24u
#define GW_SIZEOF_FILESTAT 64u
#define GW_SIZEOF_PRESTAT 8u
#define GW_SIZEOF_DIRENT 24u
#define GW_SIZEOF_SUBSCRIPTION 48u
#define GW_SIZEOF_EVENT 32u

/* ---- The context -------------------------------------------------------- */

#define GW_MAX_FDS 1024u   /* guest fds 0 .. GW_MAX_FDS-1 */
#define GW_EXIT 0x10000u   /* an implementation's "proc_exit was called" (not an errno) */
#define GW_MAX_PARAMS 9    /* path_open */

typedef enum gw_fd_kind {
    GW_FD_FREE = 0,        /* slot unused */
    GW_FD_STDIO,           /* one of the embedder's stdio descriptors, never closed by us */
    GW_FD_FILE,            /* anything that is not a directory */
    GW_FD_DIR              /* a directory: a preopen or opened beneath one */
} gw_fd_kind;

typedef struct gw_fd {
    int host;                    /* host descriptor; -1 when free */
    uint8_t kind;                /* gw_fd_kind */
    bool read_only;              /* beneath a read-only preopen: refuse every change */
    uint64_t rights_base;        /* what this fd may do */
    uint64_t rights_inheriting;  /* what fds opened through it may do */
    char *preopen_name;          /* preopens only: the guest's name for it (owned) */
    uint32_t preopen_name_len;   /* its length, without the NUL */
    DIR *dir;                    /* directories: readdir stream, opened on first fd_readdir */
    uint64_t dir_pos;            /* index of the entry dir's next readdir returns */
    uint64_t root_dev;           /* directories: st_dev of the preopen this fd lies beneath */
    uint64_t root_ino;           /* ...and its st_ino: the bound for symlinks created here */
} gw_fd;

typedef struct gw_mem {
    uint8_t *base;               /* guest memory 0, or NULL when the caller has none */
    uint64_t size;               /* its size in bytes */
} gw_mem;

/* One wasi_snapshot_preview1 function: a[] holds the parameters widened to
 * 64 bits (i32 ones zero-extended). Returns a WASI errno, or GW_EXIT. */
typedef uint32_t (*gw_impl)(graft_wasi *w, const gw_mem *m, const uint64_t *a);

typedef struct gw_fn {
    const char *name;            /* import name */
    const char *params;          /* one char per parameter: 'i' i32, 'I' i64 */
    bool returns_errno;          /* false only for proc_exit */
    gw_impl impl;
} gw_fn;

typedef struct gw_binding {
    graft_wasi *w;               /* the context the host function serves */
    const gw_fn *fn;             /* which function */
} gw_binding;

#define GW_NFUNCS 46

struct graft_wasi {
    graft_env *env;              /* allocates everything below; must outlive us */
    char *args;                  /* argv strings, each NUL-terminated, back to back */
    uint32_t args_len;           /* bytes in args */
    uint32_t argc;
    char *environ;               /* "K=V" strings, packed like args */
    uint32_t environ_len;
    uint32_t envc;
    gw_fd *fds;                  /* fd table, nfds slots */
    uint32_t nfds;               /* slots allocated (grows up to GW_MAX_FDS) */
    int32_t exit_code;           /* set by proc_exit, read by the host trampoline */
    bool no_openat2;             /* the kernel lacks openat2: use the component walk */
    bool force_walk;             /* tests: always use the component walk */
    gw_binding bindings[GW_NFUNCS]; /* user pointers of the defined host functions */
};

/* ---- Guest memory: bounds-checked, little-endian ------------------------ */

/* A pointer to len guest bytes at ptr, or NULL when any of them is out of
 * bounds (64-bit arithmetic: ptr and len are both below 2^33). */
static inline uint8_t *gw_ptr(const gw_mem *m, uint64_t ptr, uint64_t len)
{
    if (!m->base || ptr > m->size || len > m->size - ptr) return NULL;
    return m->base + ptr;
}

static inline void gw_put8(uint8_t *p, uint8_t v) { p[0] = v; }
static inline void gw_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void gw_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void gw_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t gw_get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t gw_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t gw_get64(const uint8_t *p)
{
    return (uint64_t)gw_get32(p) | ((uint64_t)gw_get32(p + 4) << 32);
}

/* ---- Cross-file services ------------------------------------------------ */

/* wasi.c: host errno -> WASI errno. */
uint32_t graft_wasi__errno(int host_errno);
/* wasi.c: the open fd record for guest fd, or NULL. */
gw_fd *graft_wasi__fd(graft_wasi *w, uint64_t fd);
/* wasi.c: look up fd and require `rights`; *out on success, else EBADF or ENOTCAPABLE. */
uint32_t graft_wasi__fd_rights(graft_wasi *w, uint64_t fd, uint64_t rights, gw_fd **out);
/* wasi.c: claim the lowest free guest fd for host (which it then owns).
 * EMFILE when the table is full, ENOMEM when it cannot grow. */
uint32_t graft_wasi__fd_insert(graft_wasi *w, int host, gw_fd_kind kind, uint32_t *out_fd);
/* wasi.c: release guest fd's record and close what it owns. */
void graft_wasi__fd_release(graft_wasi *w, gw_fd *f);
/* wasi.c: the WASI filetype of a host mode. */
uint8_t graft_wasi__filetype(mode_t mode);
/* wasi.c: write a filestat (64 bytes) at p. */
void graft_wasi__put_filestat(uint8_t *p, const struct stat *st);
/* wasi.c: raw allocation through the env. */
void *graft_wasi__realloc(graft_wasi *w, void *ptr, size_t old_size, size_t new_size);

/* wasi_fd.c: fstflags -> the two timespecs utimensat/futimens take; EINVAL
 * when a time is both given and "now". */
uint32_t graft_wasi__times(uint64_t atim, uint64_t mtim, uint64_t fst, struct timespec ts[2]);

/* wasi_path.c: open a relative path beneath dirfd without leaving it
 * (openat2 RESOLVE_BENEATH, else a component walk). flags are open(2)
 * flags; follow says whether a symlink in the last component is followed
 * (symlinks earlier in the path always are, while they stay beneath). */
uint32_t graft_wasi__open_beneath(graft_wasi *w, int dirfd, const char *path, int flags,
                                  mode_t mode, bool follow, int *out_fd);

/* The function groups, each a contiguous slice of the table (wasi.c). */
extern const gw_fn graft_wasi__fd_fns[];
extern const uint32_t graft_wasi__fd_nfns;
extern const gw_fn graft_wasi__path_fns[];
extern const uint32_t graft_wasi__path_nfns;
extern const gw_fn graft_wasi__misc_fns[];
extern const uint32_t graft_wasi__misc_nfns;

/* ---- Test seam ------------------------------------------------------------ */

/* Call the named wasi_snapshot_preview1 function directly with guest memory
 * (mem, mem_size) and nargs 64-bit arguments, as its host trampoline would.
 * Returns its WASI errno, or GW_EXIT (then *out_exit holds the code), or
 * UINT32_MAX when no function has that name or nargs is wrong. */
uint32_t graft_wasi__invoke(graft_wasi *w, const char *name, uint8_t *mem, uint64_t mem_size,
                            const uint64_t *args, size_t nargs, int32_t *out_exit);

#endif
