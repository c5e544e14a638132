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
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "agent_log.h"
#include "config.h"
#include "notify.h"

static void usage(void)
{
    fprintf(stderr, "usage: graftd --config FILE [--log-level debug|info|warn|error] [--summary-every SECONDS [--summary-text]]\n"
                    "              [--dump-topic FILTER --dump-file PATH] [--inject PATH] [--kv-queue-bytes N]\n");
}

static int parse_level(const char *s)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -2;
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
    const char *config_path = NULL;
    agent_options opt = { .log_level = -1 };
    double summary_s = 0;
    bool summary_text = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--summary-text") == 0) { summary_text = true; continue; }
        if (!v) { fprintf(stderr, "graftd: %s needs a value\n", a); usage(); return 2; }
        if (strcmp(a, "--config") == 0) config_path = v;
        else if (strcmp(a, "--log-level") == 0) {
            opt.log_level = parse_level(v);
            if (opt.log_level < 0) { fprintf(stderr, "graftd: --log-level %s: expected debug, info, warn or error\n", v); return 2; }
        } else if (strcmp(a, "--summary-every") == 0) {
            summary_s = strtod(v, NULL);
            opt.observe = summary_s > 0;
        } else if (strcmp(a, "--dump-topic") == 0) opt.dump_filter = v;
        else if (strcmp(a, "--dump-file") == 0) opt.dump_path = v;
        else if (strcmp(a, "--inject") == 0) opt.inject_path = v;
        else if (strcmp(a, "--kv-queue-bytes") == 0) {
            char *end;
            unsigned long long n = strtoull(v, &end, 10);
            if (*end || n < 4096 || n > ((size_t)1 << 40)) {
                fprintf(stderr, "graftd: --kv-queue-bytes %s: expected a byte count from 4096 up\n", v);
                return 2;
            }
            opt.kv_queue_bytes = (size_t)n;
        }
        else { fprintf(stderr, "graftd: unknown option %s\n", a); usage(); return 2; }
        i++;
    }
    if (!config_path) { usage(); return 2; }
    if ((opt.dump_filter == NULL) != (opt.dump_path == NULL)) {
        fprintf(stderr, "graftd: --dump-topic and --dump-file go together\n");
        return 2;
    }
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
        if (sig == SIGTERM || sig == SIGINT) break;
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
    if (summary_s > 0) agent_summary(ag);
    if (summary_s > 0 && summary_text) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        agent_summary_print(ag, stdout, (double)(now.tv_sec - t0.tv_sec));
    }
    bool kv_written = agent_stop(ag);
    notify_close(&nt);
    alog(lg, kv_written ? ALOG_INFO : ALOG_ERROR, NULL, kv_written ? "exiting" : "exiting with status 3: kv state lost");
    alog_free(lg);
    return kv_written ? 0 : 3;
}
