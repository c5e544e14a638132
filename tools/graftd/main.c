/* main.c - graftd, the gateway agent: `graftd --config FILE [options]`.
 *
 *   --config FILE          the device config (docs/manifest.md)
 *   --log-level L          debug, info, warn, error (overrides the config)
 *   --summary-every S      log a "summary" line every S seconds (the demo)
 *   --summary-text         ... and print it for people on stdout
 *   --dump-topic FILTER    write messages matching FILTER ...
 *   --dump-file PATH       ... as JSON lines to PATH (debug and tests)
 *   --inject PATH          tail PATH for "TOPIC PAYLOAD" lines to publish
 *   --kv-queue-bytes N     bound on kv events not yet on disk (default 1 MiB)
 *   --help, --version      print the help or the version and exit 0
 *
 * A bad value is refused naming the option (exit 2), before the config is
 * read: --summary-every takes seconds in (0, 86400], --dump-topic an MQTT
 * filter; an argument that is not an option is refused too.
 *
 * Exit status: 0 after SIGTERM or SIGINT (input stopped, in-flight events
 * drained, kv flushed); 2 for a usage error or a malformed config (the
 * message gives file:line:column); 1 when the agent cannot start; 3 when it
 * stopped but kv events that modules committed could not be written (the
 * disk failed through kvs_close's bounded retry; the log says how many and
 * SQLite's reason), so a supervisor sees that state was lost.
 * SIGHUP reloads the config file: drivers and modules are added, replaced
 * and removed, and a changed broker or http section restarts the bridge or
 * /metrics, without a restart (state_dir and agent.commit_window_ms need
 * one: a warning says so); a config that does not parse is logged and
 * ignored.
 *
 * Under systemd (Type=notify) it sends READY=1 once running, WATCHDOG=1
 * twice per WatchdogSec, RELOADING=1/READY=1 around a reload and
 * STOPPING=1 on SIGTERM (notify.h; no-ops elsewhere).
 *
 * Signals are blocked in every thread and taken synchronously here with
 * sigtimedwait, so no handler and no global flag is needed. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "agent_log.h"
#include "config.h"
#include "graft.h"
#include "notify.h"
#include "topic.h"

static void usage(FILE *to)
{
    fprintf(to, "usage: graftd --config FILE [--log-level debug|info|warn|error] [--summary-every SECONDS [--summary-text]]\n"
                "              [--dump-topic FILTER --dump-file PATH] [--inject PATH] [--kv-queue-bytes N]\n"
                "       graftd --help | --version\n");
}

static void help(void)
{
    printf("graftd %s - the Graft gateway agent: runs the WebAssembly modules of a device config\n\n",
           GRAFT_VERSION_STRING);
    usage(stdout);
    printf("\n"
           "  --config FILE          the device config (docs/manifest.md); required\n"
           "  --log-level L          debug, info, warn or error (overrides agent.log_level)\n"
           "  --summary-every S      log a \"summary\" line every S seconds (0 < S <= 86400)\n"
           "  --summary-text         ... and print it for people on stdout\n"
           "  --dump-topic FILTER    write the messages matching the MQTT topic FILTER ...\n"
           "  --dump-file PATH       ... as JSON lines to PATH\n"
           "  --inject PATH          tail PATH for \"TOPIC PAYLOAD\" lines to publish on the bus\n"
           "  --kv-queue-bytes N     bound on kv events not yet on disk (default 1 MiB, at least 4096)\n"
           "  --help, --version      print this help or the version, and exit 0\n\n"
           "signals: SIGHUP reloads the config; SIGTERM or SIGINT drains the modules and exits.\n"
           "exit statuses: 0 stopped cleanly, 1 the agent cannot start, 2 usage error or\n"
           "malformed config, 3 stopped with kv events it could not write. See docs/agent.md.\n");
}

static int parse_level(const char *s)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -2;
}

/* What the command line asked for; paths and the filter point into argv. */
typedef struct cmdline {
    const char *config_path;
    agent_options opt;
    double summary_s;       /* 0: no summaries */
    bool summary_text;
} cmdline;

/* A usage error: says what was wrong with which option, then the synopsis;
 * returns the exit status 2. */
__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("graftd: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    usage(stderr);
    return 2;
}

/* Takes the value of option a at argv[i]; returns 0, or the exit status. */
static int option_value(cmdline *cl, const char *a, const char *v)
{
    if (strcmp(a, "--config") == 0) cl->config_path = v;
    else if (strcmp(a, "--log-level") == 0) {
        cl->opt.log_level = parse_level(v);
        if (cl->opt.log_level < 0) return bad_usage("--log-level %s: expected debug, info, warn or error", v);
    } else if (strcmp(a, "--summary-every") == 0) {
        char *end;
        errno = 0;
        double s = strtod(v, &end);
        if (end == v || *end || errno || !(s > 0 && s <= 86400))
            return bad_usage("--summary-every %s: expected a number of seconds above 0, at most 86400", v);
        cl->summary_s = s;
        cl->opt.observe = true;
    } else if (strcmp(a, "--dump-topic") == 0) {
        if (topic_filter_check(v, strlen(v)) != TOPIC_OK)
            return bad_usage("--dump-topic '%s': not a valid MQTT topic filter: %s", v,
                             topic_strerror(topic_filter_check(v, strlen(v))));
        cl->opt.dump_filter = v;
    } else if (strcmp(a, "--dump-file") == 0) cl->opt.dump_path = v;
    else if (strcmp(a, "--inject") == 0) cl->opt.inject_path = v;
    else if (strcmp(a, "--kv-queue-bytes") == 0) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (end == v || *end || errno || v[0] == '-' || n < 4096 || n > ((size_t)1 << 40))
            return bad_usage("--kv-queue-bytes %s: expected a byte count from 4096 up to 2^40", v);
        cl->opt.kv_queue_bytes = (size_t)n;
    }
    return 0;
}

/* Parses argv into cl. Returns -1 to go on, else the exit status: 0 after
 * --help or --version, 2 for a usage error (named option, then the
 * synopsis on stderr). */
static int parse_args(int argc, char **argv, cmdline *cl)
{
    static const char *const with_value[] = { "--config", "--log-level", "--summary-every", "--dump-topic",
                                              "--dump-file", "--inject", "--kv-queue-bytes" };
    static const char *const metavar[] = { "FILE", "L", "SECONDS", "FILTER", "PATH", "PATH", "N" };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { help(); return 0; }
        if (strcmp(a, "--version") == 0) { printf("graftd %s (host API iot_v1)\n", GRAFT_VERSION_STRING); return 0; }
        if (strcmp(a, "--summary-text") == 0) { cl->summary_text = true; continue; }
        size_t k = 0, n = sizeof with_value / sizeof with_value[0];
        while (k < n && strcmp(a, with_value[k]) != 0) k++;
        if (k == n) {
            if (a[0] == '-') return bad_usage("unknown option %s (graftd --help lists them)", a);
            return bad_usage("unexpected argument '%s': graftd takes only options (the config is --config FILE)", a);
        }
        if (i + 1 >= argc) return bad_usage("%s needs a value: %s %s", a, a, metavar[k]);
        int rc = option_value(cl, a, argv[++i]);
        if (rc) return rc;
    }
    if (!cl->config_path) return bad_usage("--config FILE is required");
    if ((cl->opt.dump_filter == NULL) != (cl->opt.dump_path == NULL))
        return bad_usage("--dump-topic and --dump-file go together");
    return -1;
}

static void reload(agent *ag, const char *path, agent_logger *lg)
{
    config cfg;
    char err[2048];
    if (!config_load(path, &cfg, err, sizeof err)) {
        alog(lg, ALOG_ERROR, NULL, "reload refused, keeping the running config: %s", err);
        return;
    }
    if (!agent_reload(ag, &cfg, err, sizeof err)) {
        alog(lg, ALOG_ERROR, NULL, "reload refused, keeping the running config: %s", err);
        config_free(&cfg);
        return;
    }
    alog(lg, ALOG_INFO, NULL, "reloaded %s", path);
}

int main(int argc, char **argv)
{
    cmdline cl = { .opt = { .log_level = -1 } };
    int rc = parse_args(argc, argv, &cl);
    if (rc >= 0) return rc;
    const char *config_path = cl.config_path;
    agent_options opt = cl.opt;
    double summary_s = cl.summary_s;
    bool summary_text = cl.summary_text;
    config cfg;
    char err[2048];
    if (!config_load(config_path, &cfg, err, sizeof err)) {
        fprintf(stderr, "graftd: %s\n", err);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* inherited by every thread */
    signal(SIGPIPE, SIG_IGN);

    agent_logger *lg = alog_new(opt.log_level >= 0 ? opt.log_level : (int)cfg.agent.log_level);
    agent *ag;
    if (!agent_start(&cfg, &opt, &ag, err, sizeof err)) {
        alog(lg, ALOG_ERROR, NULL, "cannot start: %s", err);
        alog_free(lg);
        return 1;
    }
    notify nt;
    if (notify_init_env(&nt) != 0) alog(lg, ALOG_WARN, NULL, "NOTIFY_SOCKET unusable: %s", strerror(errno));
    notify_ready(&nt);
    uint64_t wd_usec = notify_watchdog_usec(&nt);
    struct timespec last, now, t0, pet;
    clock_gettime(CLOCK_MONOTONIC, &last);
    t0 = pet = last;
    for (;;) {
        struct timespec tick = { 0, 100 * 1000000L };
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            alog(lg, ALOG_INFO, NULL, "%s received: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        if (sig == SIGHUP) {
            notify_send(&nt, "RELOADING=1");
            reload(ag, config_path, lg);
            notify_ready(&nt);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        double since_pet = (double)(now.tv_sec - pet.tv_sec) + (double)(now.tv_nsec - pet.tv_nsec) * 1e-9;
        if (wd_usec && since_pet * 2e6 >= (double)wd_usec) {
            notify_watchdog(&nt);
            pet = now;
        }
        double dt = (double)(now.tv_sec - last.tv_sec) + (double)(now.tv_nsec - last.tv_nsec) * 1e-9;
        if (summary_s > 0 && dt >= summary_s) {
            agent_summary(ag);
            if (summary_text) agent_summary_print(ag, stdout, (double)(now.tv_sec - t0.tv_sec));
            last = now;
        }
    }
    notify_stopping(&nt);
    /* The last summary: always in the log (the state at the stop, for
     * tools); on stdout only when no periodic one went out less than a
     * second ago, which it would repeat at the same uptime. */
    clock_gettime(CLOCK_MONOTONIC, &now);
    double since_last = (double)(now.tv_sec - last.tv_sec) + (double)(now.tv_nsec - last.tv_nsec) * 1e-9;
    bool printed_before = last.tv_sec != t0.tv_sec || last.tv_nsec != t0.tv_nsec;
    if (summary_s > 0) agent_summary(ag);
    if (summary_s > 0 && summary_text && (!printed_before || since_last >= 1.0))
        agent_summary_print(ag, stdout, (double)(now.tv_sec - t0.tv_sec));
    bool kv_written = agent_stop(ag);
    notify_close(&nt);
    alog(lg, kv_written ? ALOG_INFO : ALOG_ERROR, NULL, kv_written ? "exiting" : "exiting with status 3: kv state lost");
    alog_free(lg);
    return kv_written ? 0 : 3;
}
