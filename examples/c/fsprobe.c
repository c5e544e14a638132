/* fsprobe.c - tries file operations named on the command line and prints,
 * for each, "ok" or the errno it failed with, by number and name. The
 * sandbox tests (tests/e2e/cli.sh) run it under graft to show that paths
 * escaping a preopened directory fail inside the guest with ENOTCAPABLE
 * while legitimate reads succeed, and that a read-only preopen refuses
 * writes.
 *
 * Operations (each one word, then a path):
 *   read P     fopen(P, "r") and read it all
 *   write P    open(P, O_WRONLY|O_CREAT|O_TRUNC) and write 6 bytes
 *   mkdir P    mkdir(P)
 *   unlink P   unlink(P)
 *   raw P      (wasm only) WASI path_open on fd 3, the first preopen,
 *              with P as given, bypassing wasi-libc's own path handling,
 *              so that the engine's confinement is what answers
 * The exit status is 0 whatever the results: the output is the verdict. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

static const char *errno_name(int e)
{
    switch (e) {
#ifdef ENOTCAPABLE
    case ENOTCAPABLE: return "ENOTCAPABLE";
#endif
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EROFS: return "EROFS";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static void verdict(const char *op, const char *path, int ok, int err, long n)
{
    if (ok)
        printf("%s %s: ok %ld\n", op, path, n);
    else
        printf("%s %s: errno=%d %s\n", op, path, err, errno_name(err));
}

static void probe_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        verdict("read", path, 0, errno, 0);
        return;
    }
    char buf[512];
    long total = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        total += (long)n;
    int failed = ferror(f);
    int err = errno;
    fclose(f);
    verdict("read", path, !failed, err, total);
}

static void probe_write(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        verdict("write", path, 0, errno, 0);
        return;
    }
    ssize_t n = write(fd, "hello\n", 6);
    int err = errno;
    close(fd);
    verdict("write", path, n == 6, err, (long)n);
}

static void probe_raw(const char *path)
{
#ifdef __wasi__
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0,
                                        __WASI_RIGHTS_FD_READ, 0, 0, &fd);
    if (e == 0)
        (void)!__wasi_fd_close(fd);
    verdict("raw", path, e == 0, e, 0);
#else
    printf("raw %s: unsupported natively\n", path);
#endif
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *op = argv[i], *path = argv[i + 1];
        errno = 0;
        if (!strcmp(op, "read"))
            probe_read(path);
        else if (!strcmp(op, "write"))
            probe_write(path);
        else if (!strcmp(op, "mkdir"))
            verdict(op, path, mkdir(path, 0755) == 0, errno, 0);
        else if (!strcmp(op, "unlink"))
            verdict(op, path, unlink(path) == 0, errno, 0);
        else if (!strcmp(op, "raw"))
            probe_raw(path);
        else
            printf("%s: unknown operation\n", op);
    }
    return 0;
}
