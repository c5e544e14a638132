/* notify.h - systemd's readiness and watchdog protocol (sd_notify) without
 * libsystemd.
 *
 * Under systemd (Type=notify), $NOTIFY_SOCKET names a unix datagram socket:
 * an absolute path, or an abstract-namespace name when it starts with '@'.
 * Each state change is one datagram of newline-separated "KEY=value" lines:
 * READY=1 once serving, WATCHDOG=1 at least every WATCHDOG_USEC/2
 * microseconds when the unit sets WatchdogSec=, STOPPING=1 when shutting
 * down, STATUS=... as free text. $WATCHDOG_PID, when set, names the process
 * the watchdog is meant for; another process ignores it.
 *
 * The notify value is the caller's (no allocation, no global state); it
 * holds one socket, closed by notify_close. When the agent does not run
 * under systemd every send is a no-op that succeeds, so callers need no
 * special case. Sends do not block (MSG_DONTWAIT). */
#ifndef GRAFT_AGENT_NOTIFY_H
#define GRAFT_AGENT_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

typedef struct notify {
    int fd;                      /* datagram socket, -1 when not under systemd */
    struct sockaddr_un addr;     /* where to send */
    socklen_t addr_len;          /* its length (abstract names are not NUL-terminated) */
    uint64_t watchdog_usec;      /* the watchdog period, 0: no watchdog for us */
} notify;

/* Sets n up from explicit values (NULL: absent), as the environment would
 * give them. 0 on success (also when socket_name is NULL or empty: then n is
 * inactive); -1 with errno when socket_name is neither absolute nor '@...',
 * too long, or no socket can be made. */
int notify_init(notify *n, const char *socket_name, const char *watchdog_usec,
                const char *watchdog_pid);
/* notify_init from $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID. */
int notify_init_env(notify *n);
/* Whether a notification socket is in use. */
bool notify_active(const notify *n);
/* The watchdog period in microseconds (0: none); send WATCHDOG=1 at least
 * twice per period. */
uint64_t notify_watchdog_usec(const notify *n);

/* Sends state (one or more "KEY=value" lines) in one datagram. 0 on success
 * or when inactive; -1 with errno when the send fails. */
int notify_send(const notify *n, const char *state);
int notify_ready(const notify *n);     /* READY=1 */
int notify_watchdog(const notify *n);  /* WATCHDOG=1 */
int notify_stopping(const notify *n);  /* STOPPING=1 */

/* Closes the socket; n becomes inactive. */
void notify_close(notify *n);

#endif
