/*
 * http_config.c — what the configuration says the HTTP server should be:
 * host and ports (KEEL_PORT, KEEL_EXPOSE, KEEL_ADMIN_PORT), loops, the
 * worker pool's size, and the connection hook's limits.  The server's life
 * is in http.c.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "api/http_server-internal.h"
#include "core/membudget-internal.h"

/* The connection hook's limits, and evhttp's body cap above the largest. */
static void http_limits(http_server *srv, keel_runtime *rt)
{
    keel_config *cfg = keel__rt_config(rt);
    keel_http_limits *l = &srv->limits;
    size_t i;

    l->max_header = (size_t)keel__config_int(cfg, NULL, "max_header_bytes");
    l->max_body = srv->max_body;
    l->max_upload = keel__config_int(cfg, NULL, "max_upload");
    l->request_timeout_ms = keel__config_int(cfg, NULL, "request_timeout_ms");
    l->max_connections = (int)keel__config_int(cfg, NULL, "max_connections");
    l->max_inflight = keel__config_int(cfg, NULL, "max_inflight_bytes");
    l->upload_mem_factor = keel__config_int(cfg, NULL, "upload_mem_factor");
    /* event handlers' working memory (keel_ctx_mem_reserve) shares the budget */
    keel__mem_budget_set(&keel__http_conn_stats.inflight_bytes, l->max_inflight);
    l->max_gzip_ratio = keel__config_int(cfg, NULL, "max_gzip_ratio");
    srv->evhttp_max_body = l->max_body > l->max_upload ? l->max_body : l->max_upload;
    for (i = 0; i < keel__rt_count(rt); i++) {
        const keel_module *d = keel_module_desc(keel__rt_at(rt, i));
        const keel_method *m;
        for (m = d ? d->methods : NULL; m != NULL && m->name != NULL; m++)
            if ((long long)m->max_body > srv->evhttp_max_body)
                srv->evhttp_max_body = (long long)m->max_body;
    }
}

/* 1 when host names the loopback interface only (127.0.0.0/8, ::1, localhost). */
static int http_host_loopback(const char *host)
{
    unsigned char a[16];
    static const unsigned char v6_loop[16] = {0,0,0,0, 0,0,0,0, 0,0,0,0, 0,0,0,1};

    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1)
        return memcmp(a, v6_loop, 16) == 0;
    return 0;
}

int keel__http_configure(http_server *srv, keel_runtime *rt, char *err, size_t errlen)
{
    keel_config *cfg = keel__rt_config(rt);
    size_t nexp = 0, i;
    long long port = keel__config_int(cfg, NULL, "port");
    long long threads = keel__config_int(cfg, NULL, "threads");
    long long admin_port;
    int rc;

    srv->rt = rt;
    srv->host = keel__config_get(cfg, NULL, "host");
    if (!srv->host || !*srv->host)
        srv->host = "0.0.0.0";
    if (keel__config_bool(cfg, NULL, "auth_disabled") && !http_host_loopback(srv->host)) {
        snprintf(err, errlen, "KEEL_AUTH_DISABLED=1 trusts every caller as the operator: it is for "
                 "local development and needs KEEL_HOST on loopback (127.0.0.1 or ::1), not '%s'. "
                 "Between keel processes use KEEL_SERVICE_TOKEN (docs/placement.md)", srv->host);
        return KEEL_ECONFIG;
    }
    srv->max_body = keel__config_int(cfg, NULL, "max_body");
    if (srv->max_body <= 0)
        srv->max_body = 8 << 20;
    srv->timeout_ms = keel__config_int(cfg, NULL, "timeout_ms");
    http_limits(srv, rt);
    srv->drain_delay_ms = keel__config_int(cfg, NULL, "drain_delay_ms");
    srv->workers = (int)keel__config_int(cfg, NULL, "workers");
    srv->worker_queue = (int)keel__config_int(cfg, NULL, "worker_queue");
    if (srv->workers < 1)
        srv->workers = 1;
    if (srv->worker_queue < 0)
        srv->worker_queue = 0;
    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "KEEL_PORT=%lld: must be 0..65535", port);
        return KEEL_ECONFIG;
    }
    if (threads > HTTP_MAX_THREADS) {
        snprintf(err, errlen, "KEEL_THREADS=%lld: at most %d", threads, HTTP_MAX_THREADS);
        return KEEL_ECONFIG;
    }
    srv->nloops = threads > 0 ? (int)threads : 1;
    rc = keel__http_expose_parse(keel__config_get(cfg, NULL, "expose"), srv->expose, &nexp,
                                 err, errlen);
    if (rc != 0)
        return rc;
    srv->ports[0] = (int)port;
    srv->modules[0] = NULL;
    for (i = 0; i < nexp; i++) {
        keel_module_ctx *mc = keel__rt_find(rt, srv->expose[i].module);
        if (!mc || keel__mc_placement(mc) != KEEL_PLACE_LOCAL) {
            snprintf(err, errlen, "KEEL_EXPOSE: module '%s' is %s", srv->expose[i].module,
                     mc ? "not local in this process" : "not built in");
            return KEEL_ECONFIG;
        }
        if (port != 0 && srv->expose[i].port == port) {
            snprintf(err, errlen, "KEEL_EXPOSE: %s:%d uses the main port", srv->expose[i].module,
                     srv->expose[i].port);
            return KEEL_ECONFIG;
        }
        srv->ports[i + 1] = srv->expose[i].port;
        srv->modules[i + 1] = srv->expose[i].module;
    }
    srv->nlisteners = 1 + (int)nexp;
    for (i = 0; i < (size_t)srv->nlisteners; i++)
        srv->hosts[i] = srv->host;
    admin_port = keel__config_int(cfg, NULL, "admin_port");
    if (admin_port >= 0) {
        const char *ah = keel__config_get(cfg, NULL, "admin_host");
        if (admin_port != 0 && admin_port == port) {
            snprintf(err, errlen, "KEEL_ADMIN_PORT=%lld: the same as KEEL_PORT", admin_port);
            return KEEL_ECONFIG;
        }
        for (i = 0; i < nexp; i++)
            if (admin_port != 0 && srv->expose[i].port == admin_port) {
                snprintf(err, errlen, "KEEL_ADMIN_PORT=%lld: used by KEEL_EXPOSE %s", admin_port,
                         srv->expose[i].module);
                return KEEL_ECONFIG;
            }
        srv->admin_li = srv->nlisteners++;
        srv->ports[srv->admin_li] = (int)admin_port;
        srv->hosts[srv->admin_li] = ah && *ah ? ah : "127.0.0.1";
        srv->modules[srv->admin_li] = NULL;
    }
    return 0;
}

