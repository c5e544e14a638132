/* metrics_http.c - the loopback HTTP endpoint of metrics.h, over
 * libmicrohttpd: GET /metrics renders the registry (running its collector),
 * GET /healthz asks the health callback, which may write the JSON body.
 *
 * The server binds 127.0.0.1 only (never a public address) and runs on
 * libmicrohttpd's internal polling thread; each connection times out after
 * a few seconds so a stuck client cannot hold it. metrics_http owns the
 * daemon; the registry and the callback's user data stay the caller's. */
#include "metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define CONNECTION_TIMEOUT_S 5u

struct metrics_http {
    struct MHD_Daemon *daemon;   /* owned */
    metrics *reg;                /* not owned */
    metrics_health_fn health;    /* NULL: always healthy */
    void *user;                  /* for health */
    uint16_t port;               /* the bound port */
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *body)
{
    return reply(c, status, "text/plain; charset=utf-8", (char *)body, strlen(body),
                 MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    metrics_http *s = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/metrics") == 0) {
        char *body;
        size_t len;
        if (!metrics_render(s->reg, &body, &len))
            return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len,
                     MHD_RESPMEM_MUST_FREE);
    }
    if (strcmp(url, "/healthz") == 0) {
        char *body = NULL;
        bool healthy = !s->health || s->health(s->user, &body);
        unsigned status = healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        if (body) return reply(c, status, "application/json", body, strlen(body), MHD_RESPMEM_MUST_FREE);
        return text(c, status, healthy ? "ok\n" : "unhealthy\n");
    }
    return text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

bool metrics_http_start(metrics *m, const char *listen, uint16_t port, metrics_health_fn health,
                        void *user, metrics_http **out)
{
    metrics_http *s = calloc(1, sizeof *s);
    if (!s) return false;
    s->reg = m;
    s->health = health;
    s->user = user;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listen && inet_pton(AF_INET, listen, &addr.sin_addr) != 1) return free(s), false;
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, port, NULL, NULL,
                                 handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_END);
    if (!s->daemon) { free(s); return false; }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    *out = s;
    return true;
}

uint16_t metrics_http_port(const metrics_http *s) { return s->port; }

void metrics_http_stop(metrics_http *s)
{
    if (!s) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
