/*
 * riding_cli.c — `keel riding assign-owner`: the operator hands rows without
 * an owner (made by the operator, or stored before ownership existed) to a
 * user.
 *
 *   keel riding assign-owner --horse_id N --email X   the horse, and its riders
 *                                                     that have no owner yet
 *   keel riding assign-owner --rider_id N --email X   one rider
 *
 * A module's migration cannot read auth's tables, so this is how an existing
 * database gets its owners; the email is resolved through auth.lookup_user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riding-internal.h"

static const char usage[] =
    "usage: keel riding assign-owner (--horse_id N | --rider_id N) --email EMAIL\n"
    "  Makes the user EMAIL the owner of a horse (and of its riders that have no\n"
    "  owner yet) or of one rider.  For rows made by the operator or stored before\n"
    "  riding had owners; an owned horse changes hands too (the old owner is printed).\n";

static int parse_id(const char *s, int64_t *id)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);

    if (end == s || *end != '\0' || v < 1)
        return -1;
    *id = v;
    return 0;
}

struct assign_job {
    int64_t horse_id, rider_id, user_id;
    json_t *result;  /* out */
};

static int assign_tx(keel_store *st, void *arg)
{
    struct assign_job *job = arg;
    const char *table = job->horse_id > 0 ? "horse" : "rider";
    int64_t id = job->horse_id > 0 ? job->horse_id : job->rider_id;
    json_t *params = json_pack("[I,I]", (json_int_t)job->user_id, (json_int_t)id);
    json_t *one = json_pack("[I]", (json_int_t)id), *row = NULL, *riders = NULL;
    int rc;

    if (params == NULL || one == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_one(st, job->horse_id > 0 ? "SELECT owner_id FROM riding_horses WHERE id = $1"
                                               : "SELECT owner_id FROM riding_riders WHERE id = $1",
                        one, &row);
    if (rc != 0)
        goto out;
    rc = keel_store_exec(st, job->horse_id > 0
                                 ? "UPDATE riding_horses SET owner_id = $1 WHERE id = $2"
                                 : "UPDATE riding_riders SET owner_id = $1 WHERE id = $2",
                         params, NULL);
    if (rc == 0 && job->horse_id > 0)
        rc = keel_store_exec(st, "UPDATE riding_riders SET owner_id = $1 WHERE owner_id IS NULL "
                                 "AND id IN (SELECT rider_id FROM riding_horse_riders "
                                 "WHERE horse_id = $2) RETURNING id", params, &riders);
    if (rc != 0)
        goto out;
    job->result = json_pack("{s:s, s:I, s:I, s:O}", "assigned", table, "id", (json_int_t)id,
                            "owner_id", (json_int_t)job->user_id, "previous_owner_id",
                            json_object_get(row, "owner_id") ? json_object_get(row, "owner_id")
                                                             : json_null());
    if (job->result == NULL)
        rc = KEEL_ENOMEM;
    else if (riders != NULL)
        json_object_set_new(job->result, "riders_assigned",
                            json_integer((json_int_t)json_array_size(riders)));
out:
    json_decref(riders);
    json_decref(row);
    json_decref(one);
    json_decref(params);
    return rc;
}

int riding_cli(keel_ctx *ctx, int argc, char **argv)
{
    keel_store *st = keel_ctx_store(ctx);
    struct assign_job job = {0};
    const char *email = NULL;
    char *text = NULL;
    int i, missing = 0, rc;

    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs("commands:\n  assign-owner (--horse_id N | --rider_id N) --email E  hand rows "
              "without an owner to a user\n\n", stdout);
        return KEEL_CLI_PASS;
    }
    if (argc < 1 || strcmp(argv[0], "assign-owner") != 0)
        return KEEL_CLI_PASS;
    for (i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = keel_cli_opt(argc, argv, &i, "--email", &missing)) != NULL) {
            email = v;
        } else if ((v = keel_cli_opt(argc, argv, &i, "--horse_id", &missing)) != NULL
                   || (v = keel_cli_opt(argc, argv, &i, "--horse-id", &missing)) != NULL) {
            if (parse_id(v, &job.horse_id) != 0)
                goto bad_id;
        } else if ((v = keel_cli_opt(argc, argv, &i, "--rider_id", &missing)) != NULL
                   || (v = keel_cli_opt(argc, argv, &i, "--rider-id", &missing)) != NULL) {
            if (parse_id(v, &job.rider_id) != 0)
                goto bad_id;
        } else {
            fprintf(stderr, "keel riding assign-owner: %s '%s'\n%s",
                    missing ? "missing value for" : "unknown argument", argv[i], usage);
            return 2;
        }
    }
    if (email == NULL || (job.horse_id > 0) == (job.rider_id > 0)) {
        fprintf(stderr, "keel riding assign-owner: --email and one of --horse_id / --rider_id "
                "are required\n%s", usage);
        return 2;
    }
    if (!keel_ctx_is_admin(ctx)) {
        fprintf(stderr, "keel riding assign-owner: operator only\n");
        return 2;
    }
    if (st == NULL) {
        fprintf(stderr, "keel riding assign-owner: the riding module has no store (not started?)\n");
        return 4;
    }
    rc = riding_user_lookup(ctx, email, 0, &job.user_id);
    if (rc == 0)
        rc = keel_store_tx(st, assign_tx, &job);
    if (rc == 0) {
        text = json_dumps(job.result, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text != NULL)
            printf("%s\n", text);
    } else {
        const char *msg = keel_ctx_errmsg(ctx);
        if (rc == KEEL_ENOTFOUND && msg == NULL)
            msg = job.horse_id > 0 ? "no such horse" : "no such rider";
        fprintf(stderr, "keel riding assign-owner: %s%s%s\n", keel_strerror(rc),
                msg ? ": " : "", msg ? msg : "");
    }
    free(text);
    json_decref(job.result);
    return keel_exit_status(rc);
bad_id:
    fprintf(stderr, "keel riding assign-owner: ids are positive integers\n%s", usage);
    return 2;
}
