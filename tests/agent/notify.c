/* tests/agent/notify.c - sd_notify without libsystemd (src/agent/notify.c):
 * the test plays systemd with its own datagram socket, at a file path and in
 * the abstract namespace, points NOTIFY_SOCKET at it and reads what arrives
 * (2 s receive timeout); WATCHDOG_USEC and WATCHDOG_PID parsing; inactive
 * and bad sockets. */
#include "harness.h"

#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

/* A bound datagram socket at name ("/path" or "@abstract"), 2 s timeout. */
static int listener(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    size_t len = strlen(name);
    memcpy(a.sun_path, name, len);
    if (name[0] == '@') a.sun_path[0] = 0;
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (bind(fd, (struct sockaddr *)&a, alen) != 0) { close(fd); return -1; }
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void expect(int fd, const char *want)
{
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    CHECK_EQ_STR(buf, want);
}

static void run_protocol(const char *name)
{
    int fd = listener(name);
    CHECK(fd >= 0);
    if (fd < 0) return;
    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_USEC", "3000000", 1);
    unsetenv("WATCHDOG_PID");
    notify n;
    CHECK_EQ_INT(notify_init_env(&n), 0);
    CHECK(notify_active(&n));
    CHECK_EQ_U64(notify_watchdog_usec(&n), 3000000);
    CHECK_EQ_INT(notify_ready(&n), 0);
    expect(fd, "READY=1");
    CHECK_EQ_INT(notify_watchdog(&n), 0);
    expect(fd, "WATCHDOG=1");
    CHECK_EQ_INT(notify_send(&n, "STATUS=3 modules\nEXTEND_TIMEOUT_USEC=1000"), 0);
    expect(fd, "STATUS=3 modules\nEXTEND_TIMEOUT_USEC=1000");
    CHECK_EQ_INT(notify_stopping(&n), 0);
    expect(fd, "STOPPING=1");
    notify_close(&n);
    CHECK(!notify_active(&n));
    close(fd);
}

static void test_path_and_abstract(void)
{
    char dir[] = "/tmp/graft-notify-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/notify.sock", dir);
    run_protocol(path);
    unlink(path);
    rmdir(dir);
    char abstract[64];
    snprintf(abstract, sizeof abstract, "@graft-notify-test-%ld", (long)getpid());
    run_protocol(abstract);
}

static void test_watchdog_env(void)
{
    notify n;
    char me[32], other[32];
    snprintf(me, sizeof me, "%ld", (long)getpid());
    snprintf(other, sizeof other, "%ld", (long)getpid() + 1);
    CHECK_EQ_INT(notify_init(&n, "@x", "500000", me), 0);
    CHECK_EQ_U64(notify_watchdog_usec(&n), 500000);
    notify_close(&n);
    CHECK_EQ_INT(notify_init(&n, "@x", "500000", other), 0);   /* meant for another process */
    CHECK_EQ_U64(notify_watchdog_usec(&n), 0);
    notify_close(&n);
    const char *bad[] = { "", "0", "-5", "12x", "x", "99999999999999999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(notify_init(&n, "@x", bad[i], NULL), 0);
        CHECK_EQ_U64(notify_watchdog_usec(&n), 0);
        notify_close(&n);
    }
}

static void test_inactive_and_bad(void)
{
    notify n;
    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "1000", 1);
    CHECK_EQ_INT(notify_init_env(&n), 0);
    CHECK(!notify_active(&n));
    CHECK_EQ_U64(notify_watchdog_usec(&n), 0);
    CHECK_EQ_INT(notify_ready(&n), 0);                 /* a no-op, not an error */
    notify_close(&n);
    CHECK_EQ_INT(notify_init(&n, "relative/path", NULL, NULL), -1);
    CHECK_EQ_INT(errno, EINVAL);
    CHECK_EQ_INT(notify_init(&n, "@", NULL, NULL), -1);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = 0;
    CHECK_EQ_INT(notify_init(&n, longname, NULL, NULL), -1);
    /* nobody listening: the send reports the error */
    CHECK_EQ_INT(notify_init(&n, "/nonexistent/graft/notify.sock", NULL, NULL), 0);
    CHECK_EQ_INT(notify_ready(&n), -1);
    notify_close(&n);
}

int main(void)
{
    test_path_and_abstract();
    test_watchdog_env();
    test_inactive_and_bad();
    TEST_MAIN_END();
}
