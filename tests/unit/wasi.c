/* wasi.c - unit tests of WASI preview 1 (src/wasi/): every function group
 * on the host side, with the confinement cases run twice, once through
 * openat2 and once through the fallback component walk.
 *
 * Most tests call the implementations through graft_wasi__invoke, which
 * runs a function on a plain host buffer standing in for guest memory, so
 * they need no engine. The last test goes the real way: a small module
 * (its WAT is below) imports fd_write, path_open and proc_exit and
 * re-exports them; the test instantiates it against graft_wasi_define and
 * calls through graft_call. That part reports itself skipped while the
 * engine cannot load modules yet.
 *
 * Fixture: a tree under a mkdtemp() directory, removed at the end:
 *   outside/secret                     must stay unreachable
 *   sandbox/  (preopen fd 3, "/sandbox")
 *     sub/nested/file.txt              "hello nested"
 *     sub/nested/up -> ../../sub/nested/file.txt    legitimate
 *     inner -> sub/nested                           legitimate dir link
 *     inner_file -> sub/nested/file.txt             legitimate
 *     link_out -> ../outside                        dir link leading out
 *     link_secret -> ../outside/secret
 *     link_abs -> /etc
 *     link_abs_in -> <root>/sandbox/sub             absolute, even if inside
 *     chain1 -> chain2 -> chain3 -> ../outside/secret
 *   ro/       (preopen fd 4, "/ro", read-only)
 *     data.txt "read only data", rdir/ */
#include "harness.h"
#include "wasi_internal.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE 65536u
#define P1 1024u      /* first path string */
#define P2 2048u      /* second path string */
#define OUT 4096u     /* small results */
#define IOV 8192u     /* iovec arrays */
#define BUF 16384u    /* data */
#define BIG 32768u    /* larger structures (readdir, poll) */

static uint8_t mem[MEM_SIZE];
static char root[PATH_MAX];

#define CALL(w, name, ...)                                                       \
    graft_wasi__invoke((w), (name), mem, MEM_SIZE, (const uint64_t[]){__VA_ARGS__}, \
                       sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t), NULL)

/* ---- helpers -------------------------------------------------------------- */

static uint64_t put_str(uint32_t at, const char *s)
{
    size_t n = strlen(s);
    memcpy(mem + at, s, n);
    return n;
}

static uint32_t out32(uint32_t at) { return gw_get32(mem + at); }
static uint64_t out64(uint32_t at) { return gw_get64(mem + at); }

/* path_open beneath dirfd; the new fd lands in *out_fd. */
static uint32_t open_at(graft_wasi *w, uint32_t dirfd, const char *path, uint64_t oflags,
                        uint64_t rights, bool follow, uint32_t *out_fd)
{
    uint64_t len = put_str(P1, path);
    uint32_t e = CALL(w, "path_open", dirfd, follow ? GW_LOOKUP_SYMLINK_FOLLOW : 0, P1, len,
                      oflags, rights, rights, 0, OUT);
    if (e == 0 && out_fd) *out_fd = out32(OUT);
    return e;
}

#define RIGHTS_R (GW_RIGHT_FD_READ | GW_RIGHT_FD_SEEK | GW_RIGHT_FD_TELL | GW_RIGHT_FD_READDIR | \
                  GW_RIGHT_FD_FILESTAT_GET | GW_RIGHT_PATH_OPEN)
#define RIGHTS_RW (GW_RIGHTS_ALL)

/* Read up to cap-1 bytes from fd into out (NUL-terminated). */
static uint32_t read_str(graft_wasi *w, uint32_t fd, char *out, size_t cap)
{
    gw_put32(mem + IOV, BUF);
    gw_put32(mem + IOV + 4, (uint32_t)(cap - 1));
    uint32_t e = CALL(w, "fd_read", fd, IOV, 1, OUT);
    size_t n = e ? 0 : out32(OUT);
    memcpy(out, mem + BUF, n);
    out[n] = 0;
    return e;
}

static uint32_t write_str(graft_wasi *w, uint32_t fd, const char *s)
{
    uint64_t n = put_str(BUF, s);
    gw_put32(mem + IOV, BUF);
    gw_put32(mem + IOV + 4, (uint32_t)n);
    return CALL(w, "fd_write", fd, IOV, 1, OUT);
}

/* Open, read and close a file; "" on any failure. */
static void slurp(graft_wasi *w, uint32_t dirfd, const char *path, char *out, size_t cap)
{
    uint32_t fd;
    out[0] = 0;
    if (open_at(w, dirfd, path, 0, RIGHTS_R, true, &fd)) return;
    read_str(w, fd, out, cap);
    CALL(w, "fd_close", fd);
}

static void host_path(char *out, const char *rel)
{
    size_t a = strlen(root), b = strlen(rel);
    if (a + 1 + b >= PATH_MAX) exit(2);
    memcpy(out, root, a);
    out[a] = '/';
    memcpy(out + a + 1, rel, b + 1);
}

static bool host_exists(const char *rel)
{
    char p[PATH_MAX];
    struct stat st;
    host_path(p, rel);
    return lstat(p, &st) == 0;
}

static void host_write(const char *rel, const char *text)
{
    char p[PATH_MAX];
    host_path(p, rel);
    FILE *f = fopen(p, "w");
    if (!f) { perror(p); exit(2); }
    fputs(text, f);
    fclose(f);
}

static void host_mkdir(const char *rel)
{
    char p[PATH_MAX];
    host_path(p, rel);
    if (mkdir(p, 0755) != 0) { perror(p); exit(2); }
}

static void host_symlink(const char *target, const char *rel)
{
    char p[PATH_MAX];
    host_path(p, rel);
    if (symlink(target, p) != 0) { perror(p); exit(2); }
}

static void make_fixture(void)
{
    snprintf(root, sizeof root, "/tmp/graft-wasi-XXXXXX");
    if (!mkdtemp(root)) { perror("mkdtemp"); exit(2); }
    host_mkdir("outside");
    host_write("outside/secret", "top secret");
    host_mkdir("sandbox");
    host_mkdir("sandbox/sub");
    host_mkdir("sandbox/sub/nested");
    host_write("sandbox/sub/nested/file.txt", "hello nested");
    host_symlink("../../sub/nested/file.txt", "sandbox/sub/nested/up");
    host_symlink("sub/nested", "sandbox/inner");
    host_symlink("sub/nested/file.txt", "sandbox/inner_file");
    host_symlink("../outside", "sandbox/link_out");
    host_symlink("../outside/secret", "sandbox/link_secret");
    host_symlink("/etc", "sandbox/link_abs");
    char abs_in[PATH_MAX];
    host_path(abs_in, "sandbox/sub");
    host_symlink(abs_in, "sandbox/link_abs_in");
    host_symlink("chain2", "sandbox/chain1");
    host_symlink("chain3", "sandbox/chain2");
    host_symlink("../outside/secret", "sandbox/chain3");
    host_mkdir("ro");
    host_write("ro/data.txt", "read only data");
    host_mkdir("ro/rdir");
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void remove_fixture(void)
{
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- confinement -------------------------------------------------------- */

/* Paths that must not be opened: all ENOTCAPABLE. */
static const char *const escapes[] = {
    "../outside/secret",          /* .. above the root */
    "/etc/passwd",                /* absolute */
    "sub/../../outside/secret",   /* .. climbing back out */
    "sub/nested/../../..",        /* ends above the root */
    "link_secret",                /* symlink to outside */
    "link_out/secret",            /* directory symlink mid-path */
    "link_abs/passwd",            /* symlink to an absolute path */
    "link_abs_in/nested/file.txt",/* absolute even when it lands inside */
    "chain1",                     /* chain ending outside */
    "inner/../../../outside/secret", /* .. after a link: physical, sub/nested/.. is sub */
};

static void test_escapes(graft_wasi *w)
{
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        uint32_t fd = 999;
        uint32_t e = open_at(w, 3, escapes[i], 0, RIGHTS_R, true, &fd);
        if (e != GW_ENOTCAPABLE) fprintf(stderr, "escape via \"%s\"\n", escapes[i]);
        CHECK_EQ_INT(e, GW_ENOTCAPABLE);
        uint64_t len = put_str(P1, escapes[i]);
        CHECK_EQ_INT(CALL(w, "path_filestat_get", 3, GW_LOOKUP_SYMLINK_FOLLOW, P1, len, BIG),
                     GW_ENOTCAPABLE);
    }
    /* Writes that would land outside. */
    uint64_t n = put_str(P1, "../evil");
    CHECK_EQ_INT(CALL(w, "path_create_directory", 3, P1, n), GW_ENOTCAPABLE);
    n = put_str(P1, "link_out/evil");
    CHECK_EQ_INT(CALL(w, "path_create_directory", 3, P1, n), GW_ENOTCAPABLE);
    CHECK(!host_exists("evil") && !host_exists("outside/evil"));
    CHECK_EQ_INT(open_at(w, 3, "link_out/new.txt", GW_OFLAG_CREAT, RIGHTS_RW, true, NULL),
                 GW_ENOTCAPABLE);
    CHECK(!host_exists("outside/new.txt"));
    n = put_str(P1, "link_out/secret");
    CHECK_EQ_INT(CALL(w, "path_unlink_file", 3, P1, n), GW_ENOTCAPABLE);
    CHECK(host_exists("outside/secret"));
    uint64_t n1 = put_str(P1, "sub/nested/file.txt"), n2 = put_str(P2, "../stolen");
    CHECK_EQ_INT(CALL(w, "path_rename", 3, P1, n1, 3, P2, n2), GW_ENOTCAPABLE);
    n1 = put_str(P1, "link_secret");
    n2 = put_str(P2, "hard");
    CHECK_EQ_INT(CALL(w, "path_link", 3, GW_LOOKUP_SYMLINK_FOLLOW, P1, n1, 3, P2, n2),
                 GW_ENOTCAPABLE);
    CHECK_EQ_INT(CALL(w, "path_filestat_set_times", 3, GW_LOOKUP_SYMLINK_FOLLOW, P1, n1, 0, 0,
                      GW_FST_ATIM_NOW | GW_FST_MTIM_NOW), GW_ENOTCAPABLE);
    n1 = put_str(P1, "/etc/passwd");
    n2 = put_str(P2, "abs_link");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), GW_ENOTCAPABLE);
    n1 = put_str(P1, "link_out/anything");
    CHECK_EQ_INT(CALL(w, "path_readlink", 3, P1, n1, BUF, 100, OUT), GW_ENOTCAPABLE);
    /* A symlink that is not followed is not an escape: it is seen as a link. */
    n1 = put_str(P1, "link_secret");
    CHECK_EQ_INT(CALL(w, "path_filestat_get", 3, 0, P1, n1, BIG), 0);
    CHECK_EQ_INT(mem[BIG + 16], GW_FILETYPE_SYMBOLIC_LINK);
    CHECK_EQ_INT(open_at(w, 3, "link_secret", 0, RIGHTS_R, false, NULL), GW_ELOOP);
}

/* Legitimate nested access, through links that stay inside. */
static void test_nested(graft_wasi *w)
{
    static const char *const ok[] = {
        "sub/nested/file.txt", "inner/file.txt", "inner_file", "sub/./nested//file.txt",
        "sub/nested/../nested/file.txt", "sub/nested/up", "inner/../nested/file.txt",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char text[64];
        slurp(w, 3, ok[i], text, sizeof text);
        if (strcmp(text, "hello nested") != 0) fprintf(stderr, "nested \"%s\"\n", ok[i]);
        CHECK_EQ_STR(text, "hello nested");
    }
    uint64_t n = put_str(P1, "inner_file");
    CHECK_EQ_INT(CALL(w, "path_filestat_get", 3, GW_LOOKUP_SYMLINK_FOLLOW, P1, n, BIG), 0);
    CHECK_EQ_INT(mem[BIG + 16], GW_FILETYPE_REGULAR_FILE);
    CHECK_EQ_U64(out64(BIG + 32), 12);
    uint32_t fd;
    CHECK_EQ_INT(open_at(w, 3, ".", GW_OFLAG_DIRECTORY, RIGHTS_R, true, &fd), 0);
    CHECK_EQ_INT(CALL(w, "fd_close", fd), 0);
    CHECK_EQ_INT(open_at(w, 3, "sub/nested/..", GW_OFLAG_DIRECTORY, RIGHTS_R, true, &fd), 0);
    /* ...and through that new directory fd, its own root is the boundary. */
    char text[64];
    slurp(w, fd, "nested/file.txt", text, sizeof text);
    CHECK_EQ_STR(text, "hello nested");
    CHECK_EQ_INT(open_at(w, fd, "../inner_file", 0, RIGHTS_R, true, NULL), GW_ENOTCAPABLE);
    CHECK_EQ_INT(CALL(w, "fd_close", fd), 0);
    CHECK_EQ_INT(open_at(w, 3, "missing/file", 0, RIGHTS_R, true, NULL), GW_ENOENT);
    CHECK_EQ_INT(open_at(w, 3, "sub/nested/file.txt/", 0, RIGHTS_R, true, NULL), GW_ENOTDIR);
    CHECK_EQ_INT(open_at(w, 3, "", 0, RIGHTS_R, true, NULL), GW_ENOENT);
}

/* ---- directory rights: the host fd follows the object, not the rights ------- */

static void test_dir_rights(graft_wasi *w)
{
    const uint64_t data = GW_RIGHT_FD_READ | GW_RIGHT_FD_WRITE | GW_RIGHT_FD_SEEK | GW_RIGHT_FD_TELL |
                          GW_RIGHT_FD_ALLOCATE | GW_RIGHT_FD_FILESTAT_SET_SIZE;
    /* A preopen holds the directory rights and hands on all of them. */
    CHECK_EQ_INT(CALL(w, "fd_fdstat_get", 3, OUT), 0);
    uint64_t base = out64(OUT + 8), inh = out64(OUT + 16);
    CHECK_EQ_U64(base, GW_RIGHTS_DIR_BASE);
    CHECK_EQ_U64(base & data, 0);
    CHECK_EQ_U64(inh, GW_RIGHTS_ALL);
    /* Reopened with its own rights, as Rust's test library and std do. */
    uint64_t n = put_str(P1, ".");
    CHECK_EQ_INT(CALL(w, "path_open", 3, 0, P1, n, GW_OFLAG_DIRECTORY, base, inh, 0, OUT), 0);
    uint32_t fd = out32(OUT);
    CHECK_EQ_INT(CALL(w, "fd_fdstat_get", fd, OUT), 0);
    CHECK_EQ_INT(mem[OUT], GW_FILETYPE_DIRECTORY);
    CHECK_EQ_U64(out64(OUT + 8), base);
    CHECK_EQ_INT(CALL(w, "fd_close", fd), 0);
    /* Rights that mean nothing for a directory are dropped, not refused. */
    n = put_str(P1, "sub");
    uint64_t asked = GW_RIGHT_FD_ALLOCATE | GW_RIGHT_FD_FILESTAT_SET_SIZE | GW_RIGHT_FD_SEEK |
                     GW_RIGHT_FD_READDIR | GW_RIGHT_PATH_OPEN;
    CHECK_EQ_INT(CALL(w, "path_open", 3, 0, P1, n, 0, asked, asked, 0, OUT), 0);
    fd = out32(OUT);
    CHECK_EQ_INT(CALL(w, "fd_fdstat_get", fd, OUT), 0);
    CHECK_EQ_U64(out64(OUT + 8), GW_RIGHT_FD_READDIR | GW_RIGHT_PATH_OPEN);
    CHECK_EQ_INT(CALL(w, "fd_seek", fd, 0, GW_WHENCE_CUR, OUT), GW_ENOTCAPABLE);
    CHECK_EQ_INT(CALL(w, "fd_readdir", fd, BIG, 4096, 0, OUT), 0);
    CHECK(out32(OUT) > 0);
    CHECK_EQ_INT(CALL(w, "fd_close", fd), 0);
    /* Writing bytes into a directory is EISDIR, as open(2) answers. */
    n = put_str(P1, ".");
    CHECK_EQ_INT(CALL(w, "path_open", 3, 0, P1, n, GW_OFLAG_DIRECTORY,
                      GW_RIGHT_FD_READ | GW_RIGHT_FD_WRITE, 0, 0, OUT), GW_EISDIR);
    n = put_str(P1, "sub");
    CHECK_EQ_INT(CALL(w, "path_open", 3, 0, P1, n, 0, GW_RIGHT_FD_WRITE, 0, 0, OUT), GW_EISDIR);
}

/* O_TRUNC changes the file through the directory: it needs the directory's
 * path_filestat_set_size right, and no right on the file itself. */
static void test_trunc_rights(graft_wasi *w)
{
    host_write("sandbox/sub/t.txt", "twelve bytes");
    uint32_t sub;
    CHECK_EQ_INT(open_at(w, 3, "sub", GW_OFLAG_DIRECTORY,
                         GW_RIGHTS_DIR_BASE & ~GW_RIGHT_PATH_FILESTAT_SET_SIZE, true, &sub), 0);
    uint64_t n = put_str(P1, "t.txt");
    CHECK_EQ_INT(CALL(w, "path_open", sub, 0, P1, n, GW_OFLAG_TRUNC, 0, 0, 0, OUT), GW_ENOTCAPABLE);
    CHECK_EQ_INT(CALL(w, "path_filestat_get", sub, 0, P1, n, BIG), 0);
    CHECK_EQ_U64(out64(BIG + 32), 12);
    CHECK_EQ_INT(CALL(w, "fd_close", sub), 0);
    n = put_str(P1, "sub/t.txt");
    CHECK_EQ_INT(CALL(w, "path_open", 3, 0, P1, n, GW_OFLAG_TRUNC, 0, 0, 0, OUT), 0);
    CHECK_EQ_INT(CALL(w, "fd_close", out32(OUT)), 0);
    CHECK_EQ_INT(CALL(w, "path_filestat_get", 3, 0, P1, n, BIG), 0);
    CHECK_EQ_U64(out64(BIG + 32), 0);
    CHECK_EQ_INT(CALL(w, "path_unlink_file", 3, P1, n), 0);
}

/* ---- read-only preopen: every change is EROFS ---------------------------- */

static void test_read_only(graft_wasi *w)
{
    char text[64];
    slurp(w, 4, "data.txt", text, sizeof text);
    CHECK_EQ_STR(text, "read only data");
    CHECK_EQ_INT(open_at(w, 4, "new.txt", GW_OFLAG_CREAT, RIGHTS_RW, true, NULL), GW_EROFS);
    CHECK_EQ_INT(open_at(w, 4, "data.txt", 0, GW_RIGHT_FD_WRITE, true, NULL), GW_EROFS);
    CHECK_EQ_INT(open_at(w, 4, "data.txt", GW_OFLAG_TRUNC, GW_RIGHT_FD_READ, true, NULL), GW_EROFS);
    uint64_t n = put_str(P1, "newdir");
    CHECK_EQ_INT(CALL(w, "path_create_directory", 4, P1, n), GW_EROFS);
    n = put_str(P1, "data.txt");
    CHECK_EQ_INT(CALL(w, "path_unlink_file", 4, P1, n), GW_EROFS);
    CHECK_EQ_INT(CALL(w, "path_filestat_set_times", 4, 0, P1, n, 0, 0, GW_FST_MTIM_NOW), GW_EROFS);
    n = put_str(P1, "rdir");
    CHECK_EQ_INT(CALL(w, "path_remove_directory", 4, P1, n), GW_EROFS);
    uint64_t n1 = put_str(P1, "data.txt"), n2 = put_str(P2, "moved.txt");
    CHECK_EQ_INT(CALL(w, "path_rename", 4, P1, n1, 4, P2, n2), GW_EROFS);
    CHECK_EQ_INT(CALL(w, "path_rename", 4, P1, n1, 3, P2, n2), GW_EROFS);   /* out of ro */
    CHECK_EQ_INT(CALL(w, "path_rename", 3, P2, n2, 4, P1, n1), GW_EROFS);   /* into ro */
    CHECK_EQ_INT(CALL(w, "path_link", 4, 0, P1, n1, 3, P2, n2), GW_EROFS);
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 4, P2, n2), GW_EROFS);
    /* A file opened for reading beneath it cannot be changed either. */
    uint32_t fd;
    CHECK_EQ_INT(open_at(w, 4, "data.txt", 0, RIGHTS_RW & ~GW_RIGHTS_WRITE, true, &fd), 0);
    CHECK_EQ_INT(write_str(w, fd, "x"), GW_EROFS);
    CHECK_EQ_INT(CALL(w, "fd_filestat_set_size", fd, 0), GW_EROFS);
    CHECK_EQ_INT(CALL(w, "fd_filestat_set_times", fd, 0, 0, GW_FST_MTIM_NOW), GW_EROFS);
    CHECK_EQ_INT(CALL(w, "fd_allocate", fd, 0, 10), GW_EROFS);
    CHECK_EQ_INT(CALL(w, "fd_fdstat_get", fd, OUT), 0);
    CHECK_EQ_U64(out64(OUT + 8) & GW_RIGHT_FD_WRITE, 0);
    CHECK_EQ_INT(CALL(w, "fd_close", fd), 0);
    /* A directory opened beneath it stays read-only. */
    CHECK_EQ_INT(open_at(w, 4, "rdir", GW_OFLAG_DIRECTORY, RIGHTS_RW, true, &fd), GW_EROFS);
    CHECK_EQ_INT(open_at(w, 4, "rdir", GW_OFLAG_DIRECTORY, RIGHTS_R, true, &fd), 0);
    CHECK_EQ_INT(open_at(w, fd, "x", GW_OFLAG_CREAT, RIGHTS_RW, true, NULL), GW_EROFS);
    CHECK_EQ_INT(CALL(w, "fd_close", fd), 0);
    CHECK(!host_exists("ro/new.txt") && !host_exists("ro/newdir") && !host_exists("ro/moved.txt"));
    CHECK(host_exists("ro/data.txt") && host_exists("ro/rdir"));
}

/* ---- files --------------------------------------------------------------- */

static void test_file_io(graft_wasi *w)
{
    uint64_t n = put_str(P1, "work");
    CHECK_EQ_INT(CALL(w, "path_create_directory", 3, P1, n), 0);
    CHECK_EQ_INT(CALL(w, "path_create_directory", 3, P1, n), GW_EEXIST);
    uint32_t fd;
    CHECK_EQ_INT(open_at(w, 3, "work/f.txt", GW_OFLAG_CREAT | GW_OFLAG_TRUNC, RIGHTS_RW, true, &fd), 0);
    CHECK_EQ_INT(open_at(w, 3, "work/f.txt", GW_OFLAG_CREAT | GW_OFLAG_EXCL, RIGHTS_RW, true, NULL),
                 GW_EEXIST);
    /* Two iovecs in one write. */
    put_str(BUF, "hello world");
    gw_put32(mem + IOV, BUF);
    gw_put32(mem + IOV + 4, 6);
    gw_put32(mem + IOV + 8, BUF + 6);
    gw_put32(mem + IOV + 12, 5);
    CHECK_EQ_INT(CALL(w, "fd_write", fd, IOV, 2, OUT), 0);
    CHECK_EQ_INT(out32(OUT), 11);
    CHECK_EQ_INT(CALL(w, "fd_tell", fd, OUT), 0);
    CHECK_EQ_U64(out64(OUT), 11);
    CHECK_EQ_INT(CALL(w, "fd_seek", fd, (uint64_t)-5, GW_WHENCE_END, OUT), 0);
    CHECK_EQ_U64(out64(OUT), 6);
    CHECK_EQ_INT(CALL(w, "fd_seek", fd, 0, 7, OUT), GW_EINVAL);
    char text[64];
    CHECK_EQ_INT(read_str(w, fd, text, sizeof text), 0);
    CHECK_EQ_STR(text, "world");
    /* pread/pwrite leave the position alone. */
    put_str(BUF, "HELLO");
    gw_put32(mem + IOV, BUF);
    gw_put32(mem + IOV + 4, 5);
    CHECK_EQ_INT(CALL(w, "fd_pwrite", fd, IOV, 1, 0, OUT), 0);
    CHECK_EQ_INT(out32(OUT), 5);
    gw_put32(mem + IOV, BUF + 100);
    gw_put32(mem + IOV + 4, 20);
    CHECK_EQ_INT(CALL(w, "fd_pread", fd, IOV, 1, 0, OUT), 0);
    CHECK_EQ_INT(out32(OUT), 11);
    CHECK(memcmp(mem + BUF + 100, "HELLO world", 11) == 0);
    CHECK_EQ_INT(CALL(w, "fd_tell", fd, OUT), 0);
    CHECK_EQ_U64(out64(OUT), 11);
    /* stat, resize, times. */
    CHECK_EQ_INT(CALL(w, "fd_filestat_get", fd, BIG), 0);
    CHECK_EQ_INT(mem[BIG + 16], GW_FILETYPE_REGULAR_FILE);
    CHECK_EQ_U64(out64(BIG + 32), 11);
    CHECK_EQ_U64(out64(BIG + 24), 1);
    CHECK_EQ_INT(CALL(w, "fd_filestat_set_size", fd, 5), 0);
    CHECK_EQ_INT(CALL(w, "fd_filestat_get", fd, BIG), 0);
    CHECK_EQ_U64(out64(BIG + 32), 5);
    uint64_t t = 1234567890123456789ull;
    CHECK_EQ_INT(CALL(w, "fd_filestat_set_times", fd, t, t, GW_FST_ATIM | GW_FST_MTIM), 0);
    CHECK_EQ_INT(CALL(w, "fd_filestat_get", fd, BIG), 0);
    CHECK_EQ_U64(out64(BIG + 48), t);
    CHECK_EQ_INT(CALL(w, "fd_filestat_set_times", fd, t, t, GW_FST_ATIM | GW_FST_ATIM_NOW), GW_EINVAL);
    n = put_str(P1, "work/f.txt");
    CHECK_EQ_INT(CALL(w, "path_filestat_set_times", 3, 0, P1, n, 0, 1000000000ull, GW_FST_MTIM), 0);
    CHECK_EQ_INT(CALL(w, "path_filestat_get", 3, 0, P1, n, BIG), 0);
    CHECK_EQ_U64(out64(BIG + 48), 1000000000ull);
    /* fdstat, flags, rights. */
    CHECK_EQ_INT(CALL(w, "fd_fdstat_get", fd, OUT), 0);
    CHECK_EQ_INT(mem[OUT], GW_FILETYPE_REGULAR_FILE);
    CHECK_EQ_INT(gw_get16(mem + OUT + 2), 0);
    CHECK_EQ_INT(CALL(w, "fd_fdstat_set_flags", fd, GW_FDFLAG_APPEND), 0);
    CHECK_EQ_INT(CALL(w, "fd_fdstat_get", fd, OUT), 0);
    CHECK_EQ_INT(gw_get16(mem + OUT + 2), GW_FDFLAG_APPEND);
    CHECK_EQ_INT(CALL(w, "fd_advise", fd, 0, 0, GW_ADVICE_SEQUENTIAL), 0);
    CHECK_EQ_INT(CALL(w, "fd_allocate", fd, 0, 4096), 0);
    CHECK_EQ_INT(CALL(w, "fd_sync", fd), 0);
    CHECK_EQ_INT(CALL(w, "fd_datasync", fd), 0);
    CHECK_EQ_INT(CALL(w, "fd_fdstat_set_rights", fd, GW_RIGHT_FD_READ, 0), 0);
    CHECK_EQ_INT(write_str(w, fd, "no"), GW_ENOTCAPABLE);
    CHECK_EQ_INT(CALL(w, "fd_fdstat_set_rights", fd, GW_RIGHTS_ALL, 0), GW_ENOTCAPABLE);
    /* renumber onto another open fd, then close. */
    uint32_t fd2;
    CHECK_EQ_INT(open_at(w, 3, "sub/nested/file.txt", 0, RIGHTS_R, true, &fd2), 0);
    CHECK_EQ_INT(CALL(w, "fd_renumber", fd, fd2), 0);
    CHECK_EQ_INT(CALL(w, "fd_close", fd), GW_EBADF);
    CHECK_EQ_INT(CALL(w, "fd_filestat_get", fd2, BIG), 0);
    CHECK_EQ_U64(out64(BIG + 32), 4096);
    CHECK_EQ_INT(CALL(w, "fd_close", fd2), 0);
    CHECK_EQ_INT(CALL(w, "fd_close", fd2), GW_EBADF);
    CHECK_EQ_INT(CALL(w, "fd_close", 1000000), GW_EBADF);
}

static void test_names(graft_wasi *w)
{
    uint64_t n1 = put_str(P1, "work/f.txt"), n2 = put_str(P2, "work/g.txt");
    CHECK_EQ_INT(CALL(w, "path_rename", 3, P1, n1, 3, P2, n2), 0);
    CHECK(!host_exists("sandbox/work/f.txt") && host_exists("sandbox/work/g.txt"));
    n1 = put_str(P1, "g.txt");
    n2 = put_str(P2, "work/l");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), 0);
    CHECK_EQ_INT(CALL(w, "path_readlink", 3, P2, n2, BUF, 100, OUT), 0);
    CHECK_EQ_INT(out32(OUT), 5);
    CHECK(memcmp(mem + BUF, "g.txt", 5) == 0);
    CHECK_EQ_INT(CALL(w, "path_readlink", 3, P2, n2, BUF, 2, OUT), 0);   /* truncated */
    CHECK_EQ_INT(out32(OUT), 2);
    n1 = put_str(P1, "work/l");
    n2 = put_str(P2, "work/h.txt");
    CHECK_EQ_INT(CALL(w, "path_link", 3, GW_LOOKUP_SYMLINK_FOLLOW, P1, n1, 3, P2, n2), 0);
    CHECK_EQ_INT(CALL(w, "path_filestat_get", 3, 0, P2, n2, BIG), 0);
    CHECK_EQ_U64(out64(BIG + 24), 2);   /* h.txt and g.txt share the inode */
    CHECK_EQ_INT(mem[BIG + 16], GW_FILETYPE_REGULAR_FILE);
    n1 = put_str(P1, "work");
    CHECK_EQ_INT(CALL(w, "path_remove_directory", 3, P1, n1), GW_ENOTEMPTY);
    CHECK_EQ_INT(CALL(w, "path_unlink_file", 3, P1, n1), GW_EISDIR);
    static const char *const names[] = {"work/g.txt", "work/h.txt", "work/l"};
    for (size_t i = 0; i < 3; i++) {
        n1 = put_str(P1, names[i]);
        CHECK_EQ_INT(CALL(w, "path_unlink_file", 3, P1, n1), 0);
    }
    n1 = put_str(P1, "work/g.txt/");
    CHECK_EQ_INT(CALL(w, "path_unlink_file", 3, P1, n1), GW_ENOENT);
    n1 = put_str(P1, "work");
    CHECK_EQ_INT(CALL(w, "path_remove_directory", 3, P1, n1), 0);
    CHECK(!host_exists("sandbox/work"));
}

/* Collect the names fd_readdir returns with buffers of buf_len bytes. */
static int list_dir(graft_wasi *w, uint32_t fd, uint32_t buf_len, char names[][32], int max)
{
    int count = 0;
    uint64_t cookie = 0;
    for (int rounds = 0; rounds < 100; rounds++) {
        if (CALL(w, "fd_readdir", fd, BIG, buf_len, cookie, OUT) != 0) return -1;
        uint32_t used = out32(OUT), at = 0;
        while (at + GW_SIZEOF_DIRENT <= used) {
            uint32_t nl = gw_get32(mem + BIG + at + 16);
            if (at + GW_SIZEOF_DIRENT + nl > used) break;   /* truncated: ask again */
            if (count < max && nl < 32) {
                memcpy(names[count], mem + BIG + at + GW_SIZEOF_DIRENT, nl);
                names[count][nl] = 0;
                count++;
            }
            cookie = gw_get64(mem + BIG + at);
            at += GW_SIZEOF_DIRENT + nl;
        }
        if (used < buf_len) return count;
    }
    return -1;
}

static bool has_name(char names[][32], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return true;
    return false;
}

static void test_readdir(graft_wasi *w, const char *dir)
{
    uint64_t n = put_str(P1, dir);
    CHECK_EQ_INT(CALL(w, "path_create_directory", 3, P1, n), 0);
    static const char *const files[] = {"a", "bb", "ccc", "a_rather_long_name"};
    for (size_t i = 0; i < 4; i++) {
        char p[64];
        uint32_t fd;
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        CHECK_EQ_INT(open_at(w, 3, p, GW_OFLAG_CREAT, RIGHTS_RW, true, &fd), 0);
        CALL(w, "fd_close", fd);
    }
    uint32_t fd;
    CHECK_EQ_INT(open_at(w, 3, dir, GW_OFLAG_DIRECTORY, RIGHTS_R, true, &fd), 0);
    static const uint32_t sizes[] = {4096, 48, 43, 64};  /* 42 = the longest entry */
    for (size_t s = 0; s < 4; s++) {
        char names[16][32];
        int count = list_dir(w, fd, sizes[s], names, 16);
        CHECK_EQ_INT(count, 6);
        if (count < 0) continue;
        for (size_t i = 0; i < 4; i++) CHECK(has_name(names, count, files[i]));
        CHECK(has_name(names, count, ".") && has_name(names, count, ".."));
    }
    CHECK_EQ_INT(CALL(w, "fd_readdir", fd, BIG, 4096, 1000, OUT), 0);   /* past the end */
    CHECK_EQ_INT(out32(OUT), 0);
    CHECK_EQ_INT(CALL(w, "fd_readdir", 1, BIG, 4096, 0, OUT), GW_ENOTCAPABLE);
    CALL(w, "fd_close", fd);
}

/* ---- stdio, poll ------------------------------------------------------------ */

static void test_stdio(graft_wasi *w, int stdin_w, int stdout_r)
{
    CHECK_EQ_INT(write(stdin_w, "input", 5), 5);
    /* poll: stdin readable with 5 bytes, stdout writable, a far-off clock. */
    memset(mem + BIG, 0, 3 * GW_SIZEOF_SUBSCRIPTION);
    gw_put64(mem + BIG, 11);
    mem[BIG + 8] = GW_EVENT_FD_READ;
    gw_put32(mem + BIG + 16, 0);
    gw_put64(mem + BIG + 48, 22);
    mem[BIG + 48 + 8] = GW_EVENT_FD_WRITE;
    gw_put32(mem + BIG + 48 + 16, 1);
    gw_put64(mem + BIG + 96, 33);
    mem[BIG + 96 + 8] = GW_EVENT_CLOCK;
    gw_put32(mem + BIG + 96 + 16, GW_CLOCK_MONOTONIC);
    gw_put64(mem + BIG + 96 + 24, 10000000000ull);
    CHECK_EQ_INT(CALL(w, "poll_oneoff", BIG, BIG + 1024, 3, OUT), 0);
    CHECK_EQ_INT(out32(OUT), 2);
    CHECK_EQ_U64(out64(BIG + 1024), 11);
    CHECK_EQ_INT(mem[BIG + 1024 + 10], GW_EVENT_FD_READ);
    CHECK_EQ_U64(out64(BIG + 1024 + 16), 5);
    CHECK_EQ_U64(out64(BIG + 1024 + 32), 22);
    CHECK_EQ_INT(mem[BIG + 1024 + 32 + 10], GW_EVENT_FD_WRITE);
    char text[64];
    CHECK_EQ_INT(read_str(w, 0, text, sizeof text), 0);
    CHECK_EQ_STR(text, "input");
    CHECK_EQ_INT(write_str(w, 1, "to stdout"), 0);
    CHECK_EQ_INT(out32(OUT), 9);
    char got[32] = {0};
    CHECK_EQ_INT(read(stdout_r, got, sizeof got - 1), 9);
    CHECK_EQ_STR(got, "to stdout");
    CHECK_EQ_INT(CALL(w, "fd_fdstat_get", 1, OUT), 0);
    CHECK(out64(OUT + 8) & GW_RIGHT_FD_WRITE);
    CHECK_EQ_INT(CALL(w, "fd_seek", 1, 0, GW_WHENCE_CUR, OUT), GW_ESPIPE);
    /* poll: a 5 ms relative clock alone sleeps about that long. */
    memset(mem + BIG, 0, GW_SIZEOF_SUBSCRIPTION);
    gw_put64(mem + BIG, 44);
    gw_put32(mem + BIG + 16, GW_CLOCK_MONOTONIC);
    gw_put64(mem + BIG + 24, 5000000);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ_INT(CALL(w, "poll_oneoff", BIG, BIG + 1024, 1, OUT), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ns = (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec);
    CHECK(ns >= 5000000);
    CHECK_EQ_INT(out32(OUT), 1);
    CHECK_EQ_U64(out64(BIG + 1024), 44);
    CHECK_EQ_INT(mem[BIG + 1024 + 10], GW_EVENT_CLOCK);
    CHECK_EQ_INT(gw_get16(mem + BIG + 1024 + 8), 0);
    /* A bad fd is reported as an event error, at once. */
    mem[BIG + 8] = GW_EVENT_FD_READ;
    gw_put32(mem + BIG + 16, 77);
    CHECK_EQ_INT(CALL(w, "poll_oneoff", BIG, BIG + 1024, 1, OUT), 0);
    CHECK_EQ_INT(out32(OUT), 1);
    CHECK_EQ_INT(gw_get16(mem + BIG + 1024 + 8), GW_EBADF);
    CHECK_EQ_INT(CALL(w, "poll_oneoff", BIG, BIG + 1024, 0, OUT), GW_EINVAL);
    mem[BIG + 8] = 9;
    CHECK_EQ_INT(CALL(w, "poll_oneoff", BIG, BIG + 1024, 1, OUT), GW_EINVAL);
}

/* ---- guest pointers out of bounds: EFAULT, never a crash ------------------- */

static void test_efault(graft_wasi *w)
{
    CHECK_EQ_INT(CALL(w, "fd_write", 1, MEM_SIZE - 4, 1, OUT), GW_EFAULT);
    gw_put32(mem + IOV, MEM_SIZE - 2);
    gw_put32(mem + IOV + 4, 10);
    CHECK_EQ_INT(CALL(w, "fd_write", 1, IOV, 1, OUT), GW_EFAULT);
    gw_put32(mem + IOV, 0xfffffff0u);
    gw_put32(mem + IOV + 4, 0x20);
    CHECK_EQ_INT(CALL(w, "fd_write", 1, IOV, 1, OUT), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "fd_read", 0, IOV, 0x20000000u, OUT), GW_EFAULT);
    gw_put32(mem + IOV, BUF);
    gw_put32(mem + IOV + 4, 1);
    CHECK_EQ_INT(CALL(w, "fd_read", 0, IOV, 1, 0xffffffffu), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "args_sizes_get", MEM_SIZE, OUT), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "args_get", MEM_SIZE - 4, BUF), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "environ_get", OUT, 0xffffffffu), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "path_open", 3, 0, MEM_SIZE - 2, 10, 0, RIGHTS_R, RIGHTS_R, 0, OUT),
                 GW_EFAULT);
    put_str(P1, "sub");
    CHECK_EQ_INT(CALL(w, "path_open", 3, 0, P1, 3, 0, RIGHTS_R, RIGHTS_R, 0, MEM_SIZE), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "path_filestat_get", 3, 0, P1, 3, MEM_SIZE - 63), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "random_get", MEM_SIZE - 1, 2), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "clock_time_get", 0, 0, MEM_SIZE - 7), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "fd_prestat_dir_name", 3, MEM_SIZE - 1, 100), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "fd_readdir", 3, MEM_SIZE - 10, 100, 0, OUT), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "poll_oneoff", BIG, BIG, 0x10000000u, OUT), GW_EFAULT);
    CHECK_EQ_INT(CALL(w, "path_readlink", 3, P1, 3, 0xffffff00u, 0x200, OUT), GW_EFAULT);
    /* No memory at all (a module without one). */
    uint64_t args[2] = {0, 4};
    CHECK_EQ_INT(graft_wasi__invoke(w, "args_sizes_get", NULL, 0, args, 2, NULL), GW_EFAULT);
}

/* ---- sockets: what the fd is comes first ------------------------------------- */

static void test_sockets(graft_wasi *w)
{
    static const char *const names[] = {"sock_accept", "sock_recv", "sock_send", "sock_shutdown"};
    static const size_t nargs[] = {3, 6, 5, 2};
    for (size_t i = 0; i < 4; i++) {
        const uint64_t none[6] = {777, IOV, 1, 0, OUT, OUT + 4}, dir[6] = {3, IOV, 1, 0, OUT, OUT + 4};
        CHECK_EQ_INT(graft_wasi__invoke(w, names[i], mem, MEM_SIZE, none, nargs[i], NULL), GW_EBADF);
        CHECK_EQ_INT(graft_wasi__invoke(w, names[i], mem, MEM_SIZE, dir, nargs[i], NULL), GW_ENOTSOCK);
    }
    /* A socket given as a stdio descriptor can be shut down. */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) { CHECK(0); return; }
    graft_env *env;
    if (graft_env_new(NULL, &env) != GRAFT_OK) { CHECK(0); return; }
    graft_wasi_config cfg = {NULL, 0, NULL, 0, NULL, 0, sv[0], -1, -1};
    graft_wasi *sw;
    CHECK_EQ_INT(graft_wasi_new(env, &cfg, &sw, NULL, 0), GRAFT_OK);
    CHECK_EQ_INT(CALL(sw, "sock_shutdown", 0, 0), GW_EINVAL);
    CHECK_EQ_INT(CALL(sw, "sock_shutdown", 0, 2), 0);
    char c;
    CHECK_EQ_INT(read(sv[1], &c, 1), 0);   /* the peer sees the end */
    CHECK_EQ_INT(CALL(sw, "sock_recv", 0, IOV, 1, 0, OUT, OUT + 4), GW_ENOSYS);
    graft_wasi_free(sw);
    graft_env_free(env);
    close(sv[0]), close(sv[1]);
}

/* ---- the rest ------------------------------------------------------------------ */

static void test_misc(graft_wasi *w)
{
    CHECK_EQ_INT(CALL(w, "args_sizes_get", OUT, OUT + 4), 0);
    CHECK_EQ_INT(out32(OUT), 2);
    CHECK_EQ_INT(out32(OUT + 4), 11);   /* "prog\0" "-x=1\0"... */
    CHECK_EQ_INT(CALL(w, "args_get", OUT, BUF), 0);
    CHECK_EQ_INT(out32(OUT), BUF);
    CHECK_EQ_STR((const char *)mem + out32(OUT + 4), "arg 1");
    CHECK_EQ_INT(CALL(w, "environ_sizes_get", OUT, OUT + 4), 0);
    CHECK_EQ_INT(out32(OUT), 1);
    CHECK_EQ_INT(CALL(w, "environ_get", OUT, BUF), 0);
    CHECK_EQ_STR((const char *)mem + out32(OUT), "HOME=/sandbox");
    CHECK_EQ_INT(CALL(w, "clock_res_get", GW_CLOCK_MONOTONIC, OUT), 0);
    CHECK(out64(OUT) > 0);
    CHECK_EQ_INT(CALL(w, "clock_time_get", GW_CLOCK_MONOTONIC, 1, OUT), 0);
    CHECK_EQ_INT(CALL(w, "clock_time_get", GW_CLOCK_MONOTONIC, 1, OUT + 8), 0);
    CHECK(out64(OUT + 8) >= out64(OUT));
    CHECK_EQ_INT(CALL(w, "clock_time_get", GW_CLOCK_REALTIME, 1, OUT), 0);
    CHECK(out64(OUT) > 1600000000ull * 1000000000ull);
    CHECK_EQ_INT(CALL(w, "clock_time_get", GW_CLOCK_PROCESS_CPUTIME, 1, OUT), 0);
    CHECK_EQ_INT(CALL(w, "clock_time_get", GW_CLOCK_THREAD_CPUTIME, 1, OUT), 0);
    CHECK_EQ_INT(CALL(w, "clock_time_get", 9, 1, OUT), GW_EINVAL);
    CHECK_EQ_INT(CALL(w, "clock_res_get", 9, OUT), GW_EINVAL);
    memset(mem + BUF, 0, 64);
    CHECK_EQ_INT(CALL(w, "random_get", BUF, 64), 0);
    int nonzero = 0;
    for (int i = 0; i < 64; i++) nonzero += mem[BUF + i] != 0;
    CHECK(nonzero > 32);
    CHECK_EQ_INT(graft_wasi__invoke(w, "sched_yield", mem, MEM_SIZE, NULL, 0, NULL), 0);
    int32_t code = 0;
    uint64_t seven = 7;
    CHECK_EQ_INT(graft_wasi__invoke(w, "proc_exit", mem, MEM_SIZE, &seven, 1, &code), GW_EXIT);
    CHECK_EQ_INT(code, 7);
    CHECK_EQ_INT(CALL(w, "proc_raise", 2), GW_ENOSYS);
    test_sockets(w);
    CHECK_EQ_INT(CALL(w, "no_such_function", 0), UINT32_MAX);
    /* Preopens: 3 and 4, in order; everything else EBADF. */
    CHECK_EQ_INT(CALL(w, "fd_prestat_get", 3, OUT), 0);
    CHECK_EQ_INT(mem[OUT], 0);
    CHECK_EQ_INT(out32(OUT + 4), 8);
    CHECK_EQ_INT(CALL(w, "fd_prestat_dir_name", 3, BUF, 8), 0);
    CHECK(memcmp(mem + BUF, "/sandbox", 8) == 0);
    CHECK_EQ_INT(CALL(w, "fd_prestat_dir_name", 3, BUF, 4), GW_ENAMETOOLONG);
    CHECK_EQ_INT(CALL(w, "fd_prestat_get", 4, OUT), 0);
    CHECK_EQ_INT(out32(OUT + 4), 3);
    CHECK_EQ_INT(CALL(w, "fd_prestat_get", 5, OUT), GW_EBADF);
    CHECK_EQ_INT(CALL(w, "fd_prestat_get", 1, OUT), GW_EBADF);
    CHECK_EQ_INT(CALL(w, "fd_fdstat_get", 3, OUT), 0);
    CHECK_EQ_INT(mem[OUT], GW_FILETYPE_DIRECTORY);
}

/* ---- links the guest plants, and a symlink swapped in mid-lookup ------------- */

static void test_planted(graft_wasi *w)
{
    /* A relative link that would point out is refused when it is made, as
     * an absolute one is: a host program could follow it later. */
    uint64_t n1 = put_str(P1, "../outside/secret"), n2 = put_str(P2, "planted");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), GW_ENOTCAPABLE);
    n2 = put_str(P2, "sub/planted");
    n1 = put_str(P1, "../../outside/secret");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), GW_ENOTCAPABLE);
    n1 = put_str(P1, "nested/../../..");   /* a climb after a name: refused outright */
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), GW_ENOTCAPABLE);
    n1 = put_str(P1, "nested/../x");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), GW_ENOTCAPABLE);
    CHECK(!host_exists("sandbox/planted") && !host_exists("sandbox/sub/planted"));
    /* Through a directory fd opened beneath the preopen, the bound is still
     * the preopen's root, not that fd's. */
    uint32_t sub;
    CHECK_EQ_INT(open_at(w, 3, "sub", GW_OFLAG_DIRECTORY, GW_RIGHTS_DIR_BASE, true, &sub), 0);
    n1 = put_str(P1, "../../outside");
    n2 = put_str(P2, "nested/out");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, sub, P2, n2), 0);   /* sub/nested: depth 2 */
    n2 = put_str(P2, "nested/out");
    CHECK_EQ_INT(CALL(w, "path_unlink_file", sub, P2, n2), 0);
    n1 = put_str(P1, "../../outside");
    n2 = put_str(P2, "out");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, sub, P2, n2), GW_ENOTCAPABLE);
    CHECK_EQ_INT(CALL(w, "fd_close", sub), 0);
    /* Links that climb no higher than their directory are fine. */
    n1 = put_str(P1, "..");
    n2 = put_str(P2, "sub/up_dir");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), 0);
    char text[64];
    slurp(w, 3, "sub/up_dir/inner_file", text, sizeof text);   /* sub/.. is the root: fine */
    CHECK_EQ_STR(text, "hello nested");
    CHECK_EQ_INT(open_at(w, 3, "sub/up_dir/../outside/secret", 0, RIGHTS_R, true, NULL),
                 GW_ENOTCAPABLE);
    n1 = put_str(P1, "sub/up_dir/..");   /* a link to ".." used as a directory, then up */
    CHECK_EQ_INT(CALL(w, "path_create_directory", 3, P1, n1), GW_ENOTCAPABLE);
    /* Moved or hard-linked to where it would point out: refused. */
    n1 = put_str(P1, "sub/up_dir");
    n2 = put_str(P2, "up_dir");
    CHECK_EQ_INT(CALL(w, "path_rename", 3, P1, n1, 3, P2, n2), GW_ENOTCAPABLE);
    CHECK_EQ_INT(CALL(w, "path_link", 3, 0, P1, n1, 3, P2, n2), GW_ENOTCAPABLE);
    CHECK(host_exists("sandbox/sub/up_dir") && !host_exists("sandbox/up_dir"));
    n2 = put_str(P2, "sub/nested/up_dir");   /* deeper is fine */
    CHECK_EQ_INT(CALL(w, "path_rename", 3, P1, n1, 3, P2, n2), 0);
    CHECK_EQ_INT(CALL(w, "path_rename", 3, P2, n2, 3, P1, n1), 0);
    /* A directory moved closer to the root takes its links along. */
    n1 = put_str(P1, "sub/d");
    CHECK_EQ_INT(CALL(w, "path_create_directory", 3, P1, n1), 0);
    n1 = put_str(P1, "../../inner_file");
    n2 = put_str(P2, "sub/d/l");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), 0);
    n1 = put_str(P1, "sub/d");
    n2 = put_str(P2, "d");
    CHECK_EQ_INT(CALL(w, "path_rename", 3, P1, n1, 3, P2, n2), GW_ENOTCAPABLE);
    CHECK(!host_exists("sandbox/d"));
    n2 = put_str(P2, "inner/d");   /* the same depth through a link: fine */
    CHECK_EQ_INT(CALL(w, "path_rename", 3, P1, n1, 3, P2, n2), 0);
    slurp(w, 3, "sub/nested/d/l", text, sizeof text);
    CHECK_EQ_STR(text, "");   /* sub/nested/d/../.. is sub: no inner_file there */
    n1 = put_str(P1, "sub/nested/d/l");
    CHECK_EQ_INT(CALL(w, "path_unlink_file", 3, P1, n1), 0);
    n1 = put_str(P1, "sub/nested/d");
    CHECK_EQ_INT(CALL(w, "path_remove_directory", 3, P1, n1), 0);
    n1 = put_str(P1, "sub/up_dir");
    CHECK_EQ_INT(CALL(w, "path_unlink_file", 3, P1, n1), 0);
}

/* A symlink or hard link is never a directory, so a new name ending in '/'
 * is refused: ENOENT when free, EEXIST on a directory, ENOTDIR on a file. */
static void test_link_trailing_slash(graft_wasi *w)
{
    uint64_t n1 = put_str(P1, "sub/nested/file.txt"), n2 = put_str(P2, "new_link/");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), GW_ENOENT);
    CHECK_EQ_INT(CALL(w, "path_link", 3, 0, P1, n1, 3, P2, n2), GW_ENOENT);
    CHECK(!host_exists("sandbox/new_link"));
    n2 = put_str(P2, "sub/");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), GW_EEXIST);
    CHECK_EQ_INT(CALL(w, "path_link", 3, 0, P1, n1, 3, P2, n2), GW_EEXIST);
    n2 = put_str(P2, "sub/nested/file.txt/");
    CHECK_EQ_INT(CALL(w, "path_symlink", P1, n1, 3, P2, n2), GW_ENOTDIR);
    CHECK_EQ_INT(CALL(w, "path_link", 3, 0, P1, n1, 3, P2, n2), GW_ENOTDIR);
}

typedef struct swapper {
    atomic_int stop;     /* set by the main thread */
    char a[PATH_MAX];    /* sandbox/swap */
    char b[PATH_MAX];    /* sandbox/swap_other */
} swapper;

static void *swap_loop(void *arg)
{
    swapper *sw = arg;
    while (!atomic_load(&sw->stop)) renameat2(AT_FDCWD, sw->a, AT_FDCWD, sw->b, RENAME_EXCHANGE);
    return NULL;
}

/* sandbox/swap flips between a real directory and a link to ../outside while
 * the guest opens swap/secret: it must read "inside" or be refused, never
 * the outside secret. */
static void test_swap_race(graft_wasi *w)
{
    host_mkdir("sandbox/swap");
    host_write("sandbox/swap/secret", "inside");
    host_symlink("../outside", "sandbox/swap_other");
    swapper sw;
    atomic_init(&sw.stop, 0);
    host_path(sw.a, "sandbox/swap");
    host_path(sw.b, "sandbox/swap_other");
    pthread_t t;
    if (pthread_create(&t, NULL, swap_loop, &sw) != 0) { CHECK(0); return; }
    int inside = 0, refused = 0, leaked = 0;
    for (int mode = 0; mode < 2; mode++) {
        w->force_walk = mode == 1;
        for (int i = 0; i < 3000; i++) {
            uint32_t fd;
            uint32_t e = open_at(w, 3, "swap/secret", 0, RIGHTS_R, true, &fd);
            if (e) { refused++; continue; }
            char text[64];
            read_str(w, fd, text, sizeof text);
            CALL(w, "fd_close", fd);
            if (!strcmp(text, "inside")) inside++;
            else leaked++;
        }
    }
    w->force_walk = false;
    atomic_store(&sw.stop, 1);
    pthread_join(t, NULL);
    printf("swap race: %d inside, %d refused, %d leaked\n", inside, refused, leaked);
    CHECK_EQ_INT(leaked, 0);
    CHECK(inside > 0);
}

/* ---- random calls: bounds are checked everywhere --------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* An argument biased to the interesting places: small numbers (fds,
 * flags), the end of memory, and anything at all. */
static uint64_t random_arg(void)
{
    switch (rng() % 6) {
    case 0: return rng() % 16;
    case 1: return MEM_SIZE - rng() % 64;
    case 2: return rng() % MEM_SIZE;
    case 3: return (uint32_t)rng();
    case 4: return 0xffffffffu - rng() % 64;
    default: return rng();
    }
}

/* Every function but the ones that could block (poll_oneoff, fd_read on
 * a pipe: stdin is /dev/null here) or fill the disk (allocate, set_size,
 * pwrite at a random offset) gets thousands of random calls with random
 * memory behind them, in a context of its own over a scratch directory.
 * The sanitizers do the checking; the test checks the answers are errnos. */
static void test_random_calls(graft_env *env)
{
    host_mkdir("scratch");
    char scratch[PATH_MAX];
    host_path(scratch, "scratch");
    int devnull = open("/dev/null", O_RDWR);
    graft_wasi_preopen pre = {scratch, "/s", false};
    graft_wasi_config cfg = {NULL, 0, NULL, 0, &pre, 1, devnull, devnull, devnull};
    graft_wasi *w;
    if (graft_wasi_new(env, &cfg, &w, NULL, 0) != GRAFT_OK) { CHECK(0); return; }
    static const char *const skip[] = {"poll_oneoff", "fd_allocate", "fd_filestat_set_size",
                                       "fd_pwrite"};
    int bad = 0;
    for (uint32_t k = 0; k < GW_NFUNCS; k++) {
        const gw_fn *fn = w->bindings[k].fn;
        bool skipped = false;
        for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++) skipped |= !strcmp(fn->name, skip[i]);
        if (skipped) continue;
        size_t nargs = strlen(fn->params);
        for (int call = 0; call < 400; call++) {
            for (uint32_t i = 0; i < MEM_SIZE; i += 8) gw_put64(mem + i, random_arg());
            uint64_t args[GW_MAX_PARAMS];
            for (size_t i = 0; i < nargs; i++) args[i] = random_arg();
            uint32_t e = graft_wasi__invoke(w, fn->name, mem, MEM_SIZE, args, nargs, NULL);
            if (e > GW_ENOTCAPABLE && e != GW_EXIT) bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    graft_wasi_free(w);
    close(devnull);
    memset(mem, 0, MEM_SIZE);
}

/* ---- through the engine ----------------------------------------------------------
 * (module
 *   (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
 *   (import "wasi_snapshot_preview1" "path_open"
 *     (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
 *   (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
 *   (memory (export "memory") 1)
 *   (func (export "fd_write") (param i32 i32 i32 i32) (result i32) ... call $fd_write)
 *   (func (export "path_open") (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)
 *     ... call $path_open)
 *   (func (export "exit") (param i32) local.get 0 call $proc_exit)) */
static const uint8_t shim_wasm[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x1a, 0x03, 0x60,
  0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x09, 0x7f, 0x7f, 0x7f,
  0x7f, 0x7f, 0x7e, 0x7e, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x00,
  0x02, 0x69, 0x03, 0x16, 0x77, 0x61, 0x73, 0x69, 0x5f, 0x73, 0x6e, 0x61,
  0x70, 0x73, 0x68, 0x6f, 0x74, 0x5f, 0x70, 0x72, 0x65, 0x76, 0x69, 0x65,
  0x77, 0x31, 0x08, 0x66, 0x64, 0x5f, 0x77, 0x72, 0x69, 0x74, 0x65, 0x00,
  0x00, 0x16, 0x77, 0x61, 0x73, 0x69, 0x5f, 0x73, 0x6e, 0x61, 0x70, 0x73,
  0x68, 0x6f, 0x74, 0x5f, 0x70, 0x72, 0x65, 0x76, 0x69, 0x65, 0x77, 0x31,
  0x09, 0x70, 0x61, 0x74, 0x68, 0x5f, 0x6f, 0x70, 0x65, 0x6e, 0x00, 0x01,
  0x16, 0x77, 0x61, 0x73, 0x69, 0x5f, 0x73, 0x6e, 0x61, 0x70, 0x73, 0x68,
  0x6f, 0x74, 0x5f, 0x70, 0x72, 0x65, 0x76, 0x69, 0x65, 0x77, 0x31, 0x09,
  0x70, 0x72, 0x6f, 0x63, 0x5f, 0x65, 0x78, 0x69, 0x74, 0x00, 0x02, 0x03,
  0x04, 0x03, 0x00, 0x01, 0x02, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x28,
  0x04, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x08, 0x66,
  0x64, 0x5f, 0x77, 0x72, 0x69, 0x74, 0x65, 0x00, 0x03, 0x09, 0x70, 0x61,
  0x74, 0x68, 0x5f, 0x6f, 0x70, 0x65, 0x6e, 0x00, 0x04, 0x04, 0x65, 0x78,
  0x69, 0x74, 0x00, 0x05, 0x0a, 0x2c, 0x03, 0x0c, 0x00, 0x20, 0x00, 0x20,
  0x01, 0x20, 0x02, 0x20, 0x03, 0x10, 0x00, 0x0b, 0x16, 0x00, 0x20, 0x00,
  0x20, 0x01, 0x20, 0x02, 0x20, 0x03, 0x20, 0x04, 0x20, 0x05, 0x20, 0x06,
  0x20, 0x07, 0x20, 0x08, 0x10, 0x01, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x10,
  0x02, 0x0b
};

static graft_val i32v(int32_t v) { return (graft_val){.type = GRAFT_I32, .of.i32 = v}; }
static graft_val i64v(int64_t v) { return (graft_val){.type = GRAFT_I64, .of.i64 = v}; }

static void engine_calls(graft_store *s, graft_instance *inst, int stdout_r)
{
    graft_memory *gm = graft_instance_memory(inst);
    CHECK(gm != NULL);
    if (!gm) return;
    uint8_t *d = graft_memory_data(gm);
    memcpy(d + 100, "via engine", 10);
    gw_put32(d + 200, 100);
    gw_put32(d + 204, 10);
    graft_val args[9] = {i32v(1), i32v(200), i32v(1), i32v(300)}, res[1];
    CHECK_EQ_INT(graft_call(graft_instance_func(inst, "fd_write"), args, 4, res, 1), GRAFT_OK);
    CHECK_EQ_INT(res[0].of.i32, 0);
    CHECK_EQ_INT(gw_get32(graft_memory_data(gm) + 300), 10);
    char got[32] = {0};
    CHECK_EQ_INT(read(stdout_r, got, sizeof got - 1), 10);
    CHECK_EQ_STR(got, "via engine");
    /* An escape through the engine, then a legitimate open. */
    static const char *const paths[2] = {"../outside/secret", "sub/nested/file.txt"};
    static const int32_t want[2] = {GW_ENOTCAPABLE, 0};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(paths[i]);
        memcpy(graft_memory_data(gm) + 400, paths[i], n);
        graft_val pa[9] = {i32v(3), i32v(1), i32v(400), i32v((int32_t)n), i32v(0),
                           i64v((int64_t)RIGHTS_R), i64v((int64_t)RIGHTS_R), i32v(0), i32v(500)};
        CHECK_EQ_INT(graft_call(graft_instance_func(inst, "path_open"), pa, 9, res, 1), GRAFT_OK);
        CHECK_EQ_INT(res[0].of.i32, want[i]);
    }
    graft_val code = i32v(3);
    CHECK_EQ_INT(graft_call(graft_instance_func(inst, "exit"), &code, 1, NULL, 0), GRAFT_EXIT);
    CHECK_EQ_INT(graft_store_error(s)->exit_code, 3);
}

static void test_engine(graft_wasi *w, int stdout_r)
{
    graft_env *env;
    graft_store *s;
    graft_module *mod = NULL;
    if (graft_env_new(NULL, &env) != GRAFT_OK) { CHECK(0); return; }
    if (graft_store_new(env, NULL, &s) != GRAFT_OK) { CHECK(0); goto free_env; }
    CHECK_EQ_INT(graft_wasi_define(w, s), GRAFT_OK);
    if (graft_module_load(env, shim_wasm, sizeof shim_wasm, &mod) != GRAFT_OK) {
        printf("engine path skipped: module load: %s\n", graft_env_error(env)->message);
        goto free_store;
    }
    graft_instance *inst;
    graft_result r = graft_instance_new(s, mod, &inst);
    CHECK_EQ_INT(r, GRAFT_OK);
    if (r == GRAFT_OK) engine_calls(s, inst, stdout_r);
    else fprintf(stderr, "instantiate: %s\n", graft_store_error(s)->message);
free_store:
    graft_store_free(s);
    if (mod) graft_module_free(mod);
free_env:
    graft_env_free(env);
}

/* The fd table is bounded; running out is EMFILE, and closing recovers. */
static void test_fd_limit(graft_wasi *w)
{
    static uint32_t fds[GW_MAX_FDS];
    uint32_t n = 0, e = 0;
    while (n < GW_MAX_FDS && (e = open_at(w, 3, "sub/nested/file.txt", 0, RIGHTS_R, true, &fds[n])) == 0)
        n++;
    CHECK_EQ_INT(e, GW_EMFILE);
    CHECK(n > 500);
    for (uint32_t i = 0; i < n; i++) CHECK_EQ_INT(CALL(w, "fd_close", fds[i]), 0);
    CHECK_EQ_INT(open_at(w, 3, "sub/nested/file.txt", 0, RIGHTS_R, true, &fds[0]), 0);
    CHECK_EQ_INT(fds[0], 5);
    CALL(w, "fd_close", fds[0]);
}

static void run_path_tests(graft_wasi *w, const char *list_dir_name)
{
    test_escapes(w);
    test_nested(w);
    test_dir_rights(w);
    test_trunc_rights(w);
    test_read_only(w);
    test_file_io(w);
    test_names(w);
    test_readdir(w, list_dir_name);
    test_planted(w);
    test_link_trailing_slash(w);
}

int main(void)
{
    make_fixture();
    int in_p[2], out_p[2];
    if (pipe(in_p) != 0 || pipe(out_p) != 0) return 2;
    graft_env *env;
    if (graft_env_new(NULL, &env) != GRAFT_OK) return 2;
    char sandbox[PATH_MAX], ro[PATH_MAX], missing[PATH_MAX], err[256];
    host_path(sandbox, "sandbox");
    host_path(ro, "ro");
    host_path(missing, "missing");
    graft_wasi_preopen pre[2] = {{sandbox, "/sandbox", false}, {ro, "/ro", true}};
    const char *argv[] = {"prog", "arg 1"}, *envp[] = {"HOME=/sandbox"};
    graft_wasi_config cfg = {argv, 2, envp, 1, pre, 2, in_p[0], out_p[1], 2};
    graft_wasi *w = NULL;

    graft_wasi_preopen bad = {missing, "/m", false};
    graft_wasi_config bad_cfg = cfg;
    bad_cfg.preopens = &bad;
    bad_cfg.npreopens = 1;
    CHECK_EQ_INT(graft_wasi_new(env, &bad_cfg, &w, err, sizeof err), GRAFT_ERR_IO);
    CHECK(strstr(err, missing) != NULL);
    CHECK(w == NULL);

    CHECK_EQ_INT(graft_wasi_new(env, &cfg, &w, err, sizeof err), GRAFT_OK);
    if (!w) return 1;
    test_misc(w);
    run_path_tests(w, "list");
    w->force_walk = true;   /* the same again through the fallback walk */
    run_path_tests(w, "list2");
    w->force_walk = false;
    test_stdio(w, in_p[1], out_p[0]);
    test_efault(w);
    test_fd_limit(w);
    test_swap_race(w);
    test_engine(w, out_p[0]);
    test_random_calls(env);
    graft_wasi_free(w);
    CHECK_EQ_INT(write(out_p[1], "x", 1), 1);   /* stdio stays the embedder's */

    graft_env_free(env);
    remove_fixture();
    struct stat st;
    CHECK(stat(root, &st) != 0);
    close(in_p[0]), close(in_p[1]), close(out_p[0]), close(out_p[1]);
    TEST_MAIN_END();
}
