/*
 * auth_cli.c — `keel auth create-admin --email E [--password P]`.
 *
 * Bootstrap for operators: creates the user with scope "admin" and prints a
 * first admin token, once, as JSON on stdout.  Without --password a new
 * user gets a random password nobody knows: the token is the way in
 * (create_token issues more).  An existing user is promoted only with
 * --password: their password is reset and every token they held revoked,
 * so whoever registered that email first (perhaps not the operator) keeps
 * nothing.  Runs as the local operator; no bearer token is involved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "auth-internal.h"

static const char usage[] =
    "usage: keel auth create-admin --email EMAIL [--password PASSWORD]\n"
    "  Creates the user EMAIL with scope \"admin\" and prints a first admin token as\n"
    "  JSON.  The token is shown once: store it now.  If EMAIL is already registered,\n"
    "  --password is required: the account's password is reset to it and all its\n"
    "  tokens are revoked before it becomes an admin.\n"
    "  Other auth commands: keel auth <method> --help (register, login, …)\n";

struct admin_job {
    keel_module_ctx *mc;
    const char      *email;
    const char      *hash;     /* new password hash or NULL (keep) for a promotion */
    const char      *new_hash; /* password hash for a new user (never NULL) */
    int              need_password; /* out: the user exists and no --password was given */
    json_t          *result;   /* out */
};

static int admin_tx(keel_store *st, void *arg)
{
    struct admin_job *job = arg;
    json_t *row = NULL, *scopes = NULL, *admin = NULL, *user = NULL, *token = NULL;
    json_t *params = NULL;
    char *csv = NULL, err[160];
    int created = 0, rc;

    rc = auth_user_find(st, job->email, &row);
    if (rc == KEEL_ENOTFOUND) {
        admin = json_pack("[s]", "admin");
        rc = admin ? auth_user_create(st, job->email, job->new_hash, admin, &user) : KEEL_ENOMEM;
        created = 1;
    } else if (rc == 0 && job->hash == NULL) {
        /* promoting an account someone else may have registered: not with its
         * current password */
        job->need_password = 1;
        rc = KEEL_EINVAL;
    } else if (rc == 0) {
        rc = auth_token_revoke_all_of(st, json_integer_value(json_object_get(row, "id")));
        if (rc != 0)
            goto out;
        rc = auth_scopes_parse(json_string_value(json_object_get(row, "scopes")), &scopes,
                               err, sizeof err);
        if (rc != 0)
            goto out;
        if (!auth_scopes_grant(scopes, "admin"))
            json_array_append_new(scopes, json_string("admin"));
        csv = auth_scopes_join(scopes);
        params = csv ? json_pack("[s,s,O]", csv, job->hash, json_object_get(row, "id")) : NULL;
        if (params == NULL) {
            rc = KEEL_ENOMEM;
            goto out;
        }
        rc = keel_store_exec(st,
            "UPDATE auth_users SET scopes = $1, password_hash = $2 WHERE id = $3", params, NULL);
        if (rc != 0)
            goto out;
        json_object_set_new(row, "scopes", json_string(csv));
        user = auth_user_public(row);
    }
    if (rc != 0)
        goto out;
    if (user == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    json_decref(admin);
    admin = json_pack("[s]", "admin");
    rc = admin ? auth_token_issue(st, json_integer_value(json_object_get(user, "id")), admin,
                                  auth_now() + keel_config_int(job->mc, "token_ttl_s"),
                                  "create-admin", 0, &token)
               : KEEL_ENOMEM;
    if (rc != 0)
        goto out;
    job->result = json_pack("{s:O, s:b, s:O}", "user", user, "created", created, "token", token);
    if (job->result == NULL)
        rc = KEEL_ENOMEM;
out:
    json_decref(params);
    free(csv);
    json_decref(token);
    json_decref(user);
    json_decref(admin);
    json_decref(scopes);
    json_decref(row);
    return rc;
}

int auth_cli(keel_ctx *ctx, int argc, char **argv)
{
    keel_module_ctx *mc = keel_ctx_module(ctx);
    keel_store *st = mc ? keel_module_store(mc) : NULL;
    const char *email_in = NULL, *password = NULL;
    char *email = NULL, *hash = NULL, *p, *text = NULL;
    struct admin_job job = {0};
    int i, missing = 0, rc;

    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        /* our own command first; the generic help lists the methods */
        fputs("commands:\n  create-admin --email E [--password P]  create or promote an admin, "
              "print a first token\n\n", stdout);
        return KEEL_CLI_PASS;
    }
    if (argc < 1 || strcmp(argv[0], "create-admin") != 0)
        return KEEL_CLI_PASS;
    for (i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = keel_cli_opt(argc, argv, &i, "--email", &missing)) != NULL) {
            email_in = v;
        } else if ((v = keel_cli_opt(argc, argv, &i, "--password", &missing)) != NULL) {
            password = v;
        } else {
            fprintf(stderr, "keel auth create-admin: %s '%s'\n%s",
                    missing ? "missing value for" : "unknown argument", argv[i], usage);
            return 2;
        }
    }
    if (email_in == NULL) {
        fprintf(stderr, "keel auth create-admin: --email is required\n%s", usage);
        return 2;
    }
    if (!auth_email_valid(email_in)) {
        fprintf(stderr, "keel auth create-admin: --email '%s' is not a valid address\n", email_in);
        return 3;
    }
    if (password != NULL && (strlen(password) < AUTH_PASSWORD_MIN
                             || strlen(password) > AUTH_PASSWORD_MAX)) {
        fprintf(stderr, "keel auth create-admin: --password needs %d to %d characters\n",
                AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
        return 3;
    }
    if (st == NULL) {
        fprintf(stderr, "keel auth create-admin: the auth module has no store (not started?)\n");
        return 4;
    }
    email = strdup(email_in);
    if (email == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    for (p = email; *p; p++)
        *p = (char)tolower((unsigned char)*p);

    job.mc = mc;
    job.email = email;
    if (password == NULL) {
        /* a new user without --password gets a random one nobody knows */
        char rnd[AUTH_TOKEN_MAXLEN];
        rc = auth_token_generate(rnd, sizeof rnd);
        if (rc == 0)
            rc = auth_password_new(ctx, mc, rnd, &hash);
        job.new_hash = hash;
    } else {
        rc = auth_password_new(ctx, mc, password, &hash);
        job.new_hash = job.hash = hash;
    }
    if (rc != 0)
        goto out;
    rc = keel_store_tx(st, admin_tx, &job);
out:
    if (rc == 0) {
        text = json_dumps(job.result, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text != NULL)
            printf("%s\n", text);
        fprintf(stderr, "keel auth create-admin: %s admin %s; the token above is shown once\n",
                json_is_true(json_object_get(job.result, "created")) ? "created" : "promoted",
                email);
    } else if (job.need_password) {
        fprintf(stderr, "keel auth create-admin: %s is already registered; to make it an admin, "
                "give --password: its password is reset and all its tokens are revoked\n", email);
        rc = KEEL_EINVAL;
    } else {
        const char *msg = keel_ctx_errmsg(ctx);
        fprintf(stderr, "keel auth create-admin: %s%s%s\n", keel_strerror(rc),
                msg ? ": " : "", msg ? msg : "");
    }
    free(text);
    free(hash);
    free(email);
    json_decref(job.result);
    return job.need_password ? 2 : keel_exit_status(rc);
}
