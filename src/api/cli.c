/*
 * cli.c — `keel <command>`: the command table and the process-level commands
 * (serve, modules, config, migrate, version, health).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/cli-internal.h"
#include "api/http-internal.h"
#include "core/events-internal.h"
#include "core/heap-internal.h"
#include "api/remote-internal.h"
#include "api/trace_export-internal.h"
#include "core/store-internal.h"


static const char keel_usage[] =
    "usage: keel [--config FILE] [--set key=value]... [--owner EMAIL] <command> [args]\n"
    "\n"
    "commands:\n"
    "  serve                      serve every local module over HTTP (KEEL_PORT, default 8080)\n"
    "  modules [--json]           list modules, their methods and where they run\n"
    "  call MODULE.METHOD [JSON|@FILE|-]\n"
    "                             call any method with a JSON input\n"
    "  MODULE METHOD [--key value]...\n"
    "                             call a method with flags mapped to its input schema\n"
    "  MODULE --help              list a module's methods (and its own commands)\n"
    "  config [--json]            effective configuration: value and source of every key\n"
    "  migrate [--status]         run pending store migrations of every local module\n"
    "  backup FILE                online copy of the SQLite database to FILE (new file)\n"
    "  health [--host H] [--port N]\n"
    "                             exit 0 if the server answers /healthz (for HEALTHCHECK)\n"
    "  version                    print the version\n"
    "\n"
    "Configuration: defaults < --config file.json < KEEL_* environment < --set flags.\n"
    "Calls run as the local operator (an admin; rows it creates have no owner), or\n"
    "with --owner EMAIL as that user (the rows are theirs).\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage, 3 bad input data, 4 unavailable.\n";

static void keel_cli_release(keel_runtime *rt)
{
    if (rt == NULL)
        return;
    keel__rt_stop(rt);
    keel__remote_uninstall(rt);
    keel__rt_free(rt);
}

/* ---- commands ------------------------------------------------------------ */

static int keel_cmd_version(const keel_cli_opts *o, int argc, char **argv)
{
    (void)o; (void)argc; (void)argv;
    printf("keel %s (ABI %d)\n", KEEL_VERSION, KEEL_ABI);
    return 0;
}

/* Once every listener accepts: the event dispatcher and the health
 * checker's first pass start here, while the loops already answer, so their
 * connections and first rounds stay off the path from exec to the first
 * answer (docs/architecture.md, "The start-up order"). */
static int serve_listening(keel_runtime *rt, char *err, size_t errlen)
{
    int rc = keel__events_start(rt, err, errlen);

    return rc != 0 ? rc : keel__health_launch(rt, err, errlen);
}

static int keel_cmd_serve(const keel_cli_opts *o, int argc, char **argv)
{
    keel_runtime *rt;
    char err[1024] = "";
    int rc;
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: keel serve [--config FILE] [--set key=value]...\n\n"
               "Serves every local module on KEEL_HOST:KEEL_PORT (default 0.0.0.0:8080) with\n"
               "KEEL_THREADS event loops, plus KEEL_EXPOSE=module:port listeners.  Routes:\n"
               "POST /v1/{module}/{method}, GET /v1/modules, /healthz, /readyz.\n"
               "SIGTERM or SIGINT drains in-flight requests, then stops modules in reverse order.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "keel serve: unexpected argument '%s' (use --set key=value)\n", argv[1]);
        return KEEL_EXIT_USAGE;
    }
    keel__heap_setup();   /* a server's malloc thresholds, before any thread (heap.c) */
    if ((rc = keel__cli_runtime(o, NULL, 1, &rt)) != 0)
        return rc;
    keel_log(NULL, KEEL_LOG_INFO, "keel %s starting (%zu modules built in)", KEEL_VERSION, keel__rt_count(rt));
    /* the dispatcher starts after every module started (keel__cli_runtime)
     * and the listeners opened (serve_listening), and only here: one-shot
     * commands never deliver events */
    if ((rc = keel__trace_export_start(rt, err, sizeof(err))) == 0
        && (rc = keel__health_init(rt, err, sizeof(err))) == 0)
        rc = keel__http_serve(rt, serve_listening, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "keel: serve: %s\n", err[0] ? err : keel_strerror(rc));
    keel__health_stop(rt);   /* no hook runs once modules begin to stop */
    keel__events_stop(rt);   /* in-flight handlers finish before modules stop */
    keel__trace_export_stop(KEEL_TRACE_FLUSH_MS); /* queued spans go out (bounded) before modules stop */
    keel_cli_release(rt);
    keel_log(NULL, KEEL_LOG_INFO, "stopped");
    return rc == 0 ? 0 : keel_exit_status(rc);
}

static int keel_cmd_modules(const keel_cli_opts *o, int argc, char **argv)
{
    keel_runtime *rt;
    json_t *d, *m;
    size_t i, k;
    int rc;
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: keel modules [--json]\n\nLists built-in modules, their methods, and where each runs.\n");
        return 0;
    }
    if ((rc = keel__cli_runtime(o, NULL, 0, &rt)) != 0)
        return rc;
    d = keel__rt_describe(rt);
    if (o->json || (argc > 1 && strcmp(argv[1], "--json") == 0)) {
        keel__cli_print_json(d);
    } else {
        json_array_foreach(json_object_get(d, "modules"), i, m) {
            json_t *me, *remote = json_object_get(m, "remote");
            printf("%-10s %-8s %-7s %s", json_string_value(json_object_get(m, "name")),
                   json_string_value(json_object_get(m, "version")),
                   json_string_value(json_object_get(m, "placement")),
                   json_string_value(json_object_get(m, "summary")));
            if (json_is_string(json_object_get(m, "url")))
                printf(" [%s%s%s]", json_string_value(json_object_get(m, "url")),
                       remote ? ", breaker " : "",
                       remote ? json_string_value(json_object_get(remote, "breaker")) : "");
            printf("\n");
            json_array_foreach(json_object_get(m, "methods"), k, me)
                printf("    %-18s %s\n", json_string_value(json_object_get(me, "name")),
                       json_string_value(json_object_get(me, "summary")));
        }
    }
    json_decref(d);
    keel_cli_release(rt);
    return 0;
}

static int keel_cmd_config(const keel_cli_opts *o, int argc, char **argv)
{
    keel_runtime *rt;
    json_t *d, *e;
    size_t i;
    int rc;
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: keel config [--json]\n\nEvery configuration key: its environment variable, effective\n"
               "value (secrets redacted) and where the value came from.\n");
        return 0;
    }
    if ((rc = keel__cli_runtime(o, NULL, 0, &rt)) != 0)
        return rc;
    d = keel__config_dump(keel__rt_config(rt));
    if (o->json || (argc > 1 && strcmp(argv[1], "--json") == 0)) {
        keel__cli_print_json(d);
    } else {
        json_array_foreach(d, i, e) {
            const json_t *v = json_object_get(e, "value");
            printf("%-34s %-22s (%s)\n", json_string_value(json_object_get(e, "env")),
                   json_is_string(v) ? json_string_value(v) : "<unset>",
                   json_string_value(json_object_get(e, "source")));
        }
    }
    json_decref(d);
    keel_cli_release(rt);
    return 0;
}

static int keel_cmd_migrate(const keel_cli_opts *o, int argc, char **argv)
{
    keel_runtime *rt;
    char err[1024] = "";
    int rc, applied = 0, status = 0;
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: keel migrate [--status]\n\nApplies pending migrations of every local module, each in its own\n"
               "transaction, recorded in keel_migrations.  (They also run at `keel serve`.)\n"
               "--status lists applied and pending migrations without applying any.\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--status") == 0)
        status = 1;
    if (argc > 1 + status) {
        fprintf(stderr, "keel migrate: unexpected argument '%s'\n", argv[1 + status]);
        return KEEL_EXIT_USAGE;
    }
    if ((rc = keel__cli_runtime(o, NULL, 0, &rt)) != 0)
        return rc;
    if (status) {
        json_t *st = NULL;
        rc = keel__rt_migrations_status(rt, &st, err, sizeof(err));
        if (rc == 0)
            keel__cli_print_json(st);
        json_decref(st);
    } else {
        rc = keel__rt_migrate(rt, &applied, err, sizeof(err));
        if (rc == 0)
            printf("%d migration(s) applied\n", applied);
    }
    if (rc != 0)
        fprintf(stderr, "keel: migrate: %s\n", err);
    keel_cli_release(rt);
    return keel_exit_status(rc);
}

static int keel_cmd_backup(const keel_cli_opts *o, int argc, char **argv)
{
    keel_runtime *rt;
    char err[1024] = "";
    int rc;
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: keel backup FILE\n\nCopies the SQLite database (database_url) to FILE while keel may be\n"
               "serving: a consistent snapshot (VACUUM INTO), mode 0600.  FILE must not\n"
               "exist.  Restore: stop keel and put FILE in place of the database.\n"
               "PostgreSQL: use pg_dump (docs/store.md, \"Backups\").\n");
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: keel backup FILE\n");
        return KEEL_EXIT_USAGE;
    }
    if ((rc = keel__cli_runtime(o, NULL, 0, &rt)) != 0)
        return rc;
    rc = keel__store_sqlite_backup(keel__config_get(keel__rt_config(rt), NULL, "database_url"), argv[1],
                                   err, sizeof err);
    if (rc == 0)
        printf("backed up to %s\n", argv[1]);
    else
        fprintf(stderr, "keel: backup: %s\n", err);
    keel_cli_release(rt);
    return rc == KEEL_EINVAL || rc == KEEL_ECONFLICT ? KEEL_EXIT_USAGE : keel_exit_status(rc);
}

static int keel_cmd_health(const keel_cli_opts *o, int argc, char **argv)
{
    const char *host = NULL, *port_s = NULL;
    char host_buf[256], port_buf[32];
    keel_runtime *rt = NULL;
    int i, port, rc;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: keel health [--host H] [--port N]\n\nExit 0 if GET /healthz answers 200 within 2 s, "
                   "else 1.\nDefaults: health_host (KEEL_HEALTH_HOST, 127.0.0.1) and port (KEEL_PORT,\n"
                   "8080), from the same file, environment and --set flags as `keel serve`.\n");
            return 0;
        } else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port_s = argv[++i];
        } else {
            fprintf(stderr, "keel health: unknown argument '%s'\n", argv[i]);
            return KEEL_EXIT_USAGE;
        }
    }
    /* the same configuration `keel serve` reads: file, environment, flags */
    if ((rc = keel__cli_runtime(o, NULL, 0, &rt)) != 0)
        return rc;
    if (host == NULL) {
        snprintf(host_buf, sizeof host_buf, "%s", keel__config_get(keel__rt_config(rt), NULL, "health_host"));
        host = host_buf;
    }
    if (port_s == NULL) {
        snprintf(port_buf, sizeof port_buf, "%s", keel__config_get(keel__rt_config(rt), NULL, "port"));
        port_s = port_buf;
    }
    keel_cli_release(rt);
    port = atoi(port_s);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "keel health: bad port '%s'\n", port_s);
        return KEEL_EXIT_USAGE;
    }
    rc = keel__http_health_probe(host ? host : "127.0.0.1", port, 2000);
    if (rc != 0)
        fprintf(stderr, "keel health: %s:%d: %s\n", host ? host : "127.0.0.1", port, keel_strerror(rc));
    return rc == 0 ? 0 : 1;
}

typedef struct keel_cli_cmd {
    const char *name;
    int (*run)(const keel_cli_opts *o, int argc, char **argv);
} keel_cli_cmd;

static const keel_cli_cmd keel_cli_cmds[] = {
    {"serve", keel_cmd_serve},
    {"modules", keel_cmd_modules},
    {"call", keel__cli_call},
    {"config", keel_cmd_config},
    {"migrate", keel_cmd_migrate},
    {"backup", keel_cmd_backup},
    {"health", keel_cmd_health},
    {"version", keel_cmd_version},
    {0}
};

int keel_cli_main(int argc, char **argv)
{
    keel_cli_opts o = {0};
    const char **flags = calloc((size_t)argc + 1, sizeof(char *));
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int i, nrest = 0, rc = KEEL_EXIT_USAGE, cmd_seen = 0;
    const keel_cli_cmd *c;

    if (flags == NULL || rest == NULL) {
        fprintf(stderr, "keel: out of memory\n");
        rc = KEEL_EXIT_RUNTIME;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    o.flags = flags;
    o.config_file = getenv("KEEL_CONFIG");
    /* Global options may stand before the command word, and --config/--set after it. */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0 || strcmp(a, "--set") == 0 || strcmp(a, "--owner") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "keel: %s needs a value\n%s", a, keel_usage);
                goto out;
            }
            if (a[2] == 'c')
                o.config_file = argv[++i];
            else if (a[2] == 'o')
                o.owner = argv[++i];
            else
                flags[o.nflags++] = argv[++i];
        } else if (strncmp(a, "--owner=", 8) == 0) {
            o.owner = a + 8;
        } else if (strncmp(a, "--config=", 9) == 0) {
            o.config_file = a + 9;
        } else if (!cmd_seen && strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if (!cmd_seen && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0)) {
            fputs(keel_usage, stdout);
            rc = 0;
            goto out;
        } else if (!cmd_seen && (strcmp(a, "--version") == 0)) {
            rc = keel_cmd_version(&o, 0, NULL);
            goto out;
        } else {
            cmd_seen = 1;
            rest[nrest++] = argv[i];
        }
    }
    if (nrest == 0) {
        fputs(keel_usage, stderr);
        goto out;
    }
    for (c = keel_cli_cmds; c->name != NULL; c++)
        if (strcmp(rest[0], c->name) == 0) {
            rc = c->run(&o, nrest, rest);
            goto out;
        }
    rc = keel__cli_module(&o, nrest, rest);
out:
    free(flags);
    free(rest);
    return rc;
}
