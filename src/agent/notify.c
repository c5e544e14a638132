/* notify.c - sd_notify over a unix datagram socket (notify.h).
 *
 * One unbound SOCK_DGRAM socket per notify value sends each state as one
 * datagram to the address parsed from $NOTIFY_SOCKET; systemd identifies the
 * sender by its credentials, so nothing else is needed. */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses a decimal u64 with nothing after it; false otherwise. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

/* The watchdog period, when it is meant for this process. */
static uint64_t watchdog_for_us(const char *usec, const char *pid)
{
    uint64_t period, target;
    if (!parse_u64(usec, &period) || period == 0) return 0;
    if (pid && (!parse_u64(pid, &target) || target != (uint64_t)getpid())) return 0;
    return period;
}

/* "/path" or "@abstract" into n->addr; false when neither or too long. */
static bool set_address(notify *n, const char *name)
{
    size_t len = strlen(name);
    if ((name[0] != '/' && name[0] != '@') || len < 2 || len > sizeof n->addr.sun_path - 1)
        return false;
    memset(&n->addr, 0, sizeof n->addr);
    n->addr.sun_family = AF_UNIX;
    memcpy(n->addr.sun_path, name, len);
    if (name[0] == '@') n->addr.sun_path[0] = '\0';     /* abstract: no trailing NUL */
    n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/'));
    return true;
}

int notify_init(notify *n, const char *socket_name, const char *watchdog_usec,
                const char *watchdog_pid)
{
    memset(n, 0, sizeof *n);
    n->fd = -1;
    if (!socket_name || !*socket_name) return 0;
    if (!set_address(n, socket_name)) { errno = EINVAL; return -1; }
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (n->fd < 0) return -1;
    n->watchdog_usec = watchdog_for_us(watchdog_usec, watchdog_pid);
    return 0;
}

int notify_init_env(notify *n)
{
    return notify_init(n, getenv("NOTIFY_SOCKET"), getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"));
}

bool notify_active(const notify *n) { return n->fd >= 0; }
uint64_t notify_watchdog_usec(const notify *n) { return n->fd >= 0 ? n->watchdog_usec : 0; }

int notify_send(const notify *n, const char *state)
{
    if (n->fd < 0) return 0;
    size_t len = strlen(state);
    ssize_t sent = sendto(n->fd, state, len, MSG_NOSIGNAL | MSG_DONTWAIT,
                          (const struct sockaddr *)&n->addr, n->addr_len);
    if (sent < 0) return -1;
    if ((size_t)sent != len) { errno = EMSGSIZE; return -1; }
    return 0;
}

int notify_ready(const notify *n) { return notify_send(n, "READY=1"); }
int notify_watchdog(const notify *n) { return notify_send(n, "WATCHDOG=1"); }
int notify_stopping(const notify *n) { return notify_send(n, "STOPPING=1"); }

void notify_close(notify *n)
{
    if (n->fd >= 0) close(n->fd);
    n->fd = -1;
    n->watchdog_usec = 0;
}
