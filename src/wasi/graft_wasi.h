/* graft_wasi.h - WASI preview 1 (wasi_snapshot_preview1) for libgraft, over
 * POSIX. Used by the graft CLI; the agent will use a restricted subset.
 *
 * A graft_wasi holds one guest process's view of the world: its arguments,
 * environment, standard streams, preopened directories (each optionally
 * read-only) and its file-descriptor table. graft_wasi_define binds every
 * wasi_snapshot_preview1 function into a store's registry; functions that
 * are not implemented still link and return ENOSYS, so instantiation never
 * fails because a program imports them.
 *
 * Confinement: every path is resolved beneath its preopened directory
 * without a check-then-use race (openat2 with RESOLVE_BENEATH where the
 * kernel has it, else a component walk with O_NOFOLLOW). `..`, absolute
 * paths and symlinks that lead outside get ENOTCAPABLE (76). So does
 * leaving behind a symlink that would point outside the preopen, for any
 * host program to follow: creating one whose target is absolute, climbs
 * ("..") higher than its directory lies below the preopen's root, or
 * climbs after a name ("a/../.."); and renaming or hard-linking a symlink,
 * or renaming a directory holding symlinks, to where one would.
 *
 * Read-only preopens answer EROFS (69) to everything that would change the
 * file system beneath them, checked before confinement: opening for
 * writing, create, truncate, mkdir, rmdir, unlink, rename and link (either
 * side), symlink, set times, set size, allocate, write. Files opened
 * beneath one never carry write rights. Missing rights answer ENOTCAPABLE;
 * path_open with O_TRUNC needs path_filestat_set_size on the directory.
 *
 * Rights are bookkeeping; how a host descriptor is opened follows what the
 * object is. A directory fd (a preopen, or one path_open found) holds only
 * the directory rights (no read, write, seek, tell, allocate or set size)
 * and is opened read-only; asking FD_WRITE on a directory is EISDIR, as
 * open(2) answers. A preopen hands on every right to what is opened
 * beneath it.
 *
 * Sockets: a guest cannot make one, but a stdio descriptor may be one.
 * The sock_* calls answer EBADF (8) for no fd and ENOTSOCK (57) for one
 * that is not a socket; sock_shutdown shuts a socket down. Not implemented
 * (they link and answer ENOSYS, 52): sock_accept, sock_recv and sock_send
 * on a socket, and proc_raise.
 *
 * Ownership: graft_wasi_new copies every string in the config; the caller
 * keeps its own. The graft_wasi must outlive the store it is defined in. */
#ifndef GRAFT_WASI_H
#define GRAFT_WASI_H

#include <graft.h>

typedef struct graft_wasi graft_wasi;

typedef struct graft_wasi_preopen {
    const char *host_path;   /* directory on the host */
    const char *guest_path;  /* name the guest sees (e.g. "/data" or ".") */
    bool read_only;          /* refuse every write, create, rename, unlink (EROFS) */
} graft_wasi_preopen;

typedef struct graft_wasi_config {
    const char *const *argv; /* argv[0] is the program name the guest sees */
    int argc;
    const char *const *envp; /* "K=V" strings */
    int envc;
    const graft_wasi_preopen *preopens;
    int npreopens;
    int stdin_fd;            /* host descriptors for guest fds 0, 1, 2 (-1: none);
                                they stay the caller's: never closed here */
    int stdout_fd;
    int stderr_fd;
} graft_wasi_config;

/* Create the WASI context. GRAFT_ERR_IO when a preopen cannot be opened
 * (the message names it). Allocates through env. */
graft_result graft_wasi_new(graft_env *env, const graft_wasi_config *cfg, graft_wasi **out,
                            char *errbuf, size_t errbuf_len);
void graft_wasi_free(graft_wasi *w);

/* Bind all wasi_snapshot_preview1 functions into the store's registry. */
graft_result graft_wasi_define(graft_wasi *w, graft_store *s);

/* Exit status semantics for the CLI: after a call returned GRAFT_EXIT, the
 * store's error holds the guest's proc_exit code in exit_code. */

#endif
