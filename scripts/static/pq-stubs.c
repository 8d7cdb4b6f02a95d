/*
 * pq-stubs.c — link-time stand-ins for GSSAPI and LDAP, for a static libpq.
 *
 * Debian's libpq.a is built --with-gssapi --with-ldap, but Debian ships no
 * static libgssapi_krb5 or libldap, so `-static -lpq` leaves these symbols
 * undefined.  keel does not offer Kerberos or LDAP service lookup: every stub
 * answers "not available", which libpq already handles:
 *   - gss_acquire_cred fails  → libpq sees no credential cache and skips GSS
 *     encryption (gssencmode=prefer falls back to TLS/plain); a server that
 *     demands GSS auth gets a clean connection error, never a crash.
 *   - ldap_init returns NULL  → an ldap:// service lookup (pg_service.conf
 *     "ldap" lines) fails with libpq's own error message.
 * Only ABI shapes matter here (no headers exist for these libs on the build
 * host): every argument is a pointer or an integer, returns are the library's
 * failure values.  Not compiled into the dynamic build: there the real
 * libraries are linked.  Add to the keel link only when KEEL_STATIC and libpq.
 */
#include <stddef.h>
#include <stdint.h>

typedef uint32_t pqstub_om_uint32;
#define PQSTUB_GSS_S_FAILURE ((pqstub_om_uint32)13u << 16)

/* ---- GSSAPI (RFC 2744) ---------------------------------------------------- */
extern void *GSS_C_NT_HOSTBASED_SERVICE;
void *GSS_C_NT_HOSTBASED_SERVICE = NULL;

pqstub_om_uint32 gss_acquire_cred(pqstub_om_uint32 *minor, void *name, pqstub_om_uint32 t,
                                  void *mechs, int usage, void **cred, void **amechs,
                                  pqstub_om_uint32 *trec);
pqstub_om_uint32 gss_delete_sec_context(pqstub_om_uint32 *minor, void **ctx, void *tok);
pqstub_om_uint32 gss_display_status(pqstub_om_uint32 *minor, pqstub_om_uint32 status, int type,
                                    void *mech, pqstub_om_uint32 *msgctx, void *buf);
pqstub_om_uint32 gss_import_name(pqstub_om_uint32 *minor, void *buf, void *type, void **name);
pqstub_om_uint32 gss_init_sec_context(pqstub_om_uint32 *minor, void *cred, void **ctx,
                                      void *target, void *mech, pqstub_om_uint32 flags,
                                      pqstub_om_uint32 t, void *chan, void *in, void **amech,
                                      void *out, pqstub_om_uint32 *rflags,
                                      pqstub_om_uint32 *trec);
pqstub_om_uint32 gss_release_buffer(pqstub_om_uint32 *minor, void *buf);
pqstub_om_uint32 gss_release_cred(pqstub_om_uint32 *minor, void **cred);
pqstub_om_uint32 gss_release_name(pqstub_om_uint32 *minor, void **name);
pqstub_om_uint32 gss_unwrap(pqstub_om_uint32 *minor, void *ctx, void *in, void *out,
                            int *conf, void *qop);
pqstub_om_uint32 gss_wrap(pqstub_om_uint32 *minor, void *ctx, int conf, pqstub_om_uint32 qop,
                          void *in, int *confst, void *out);
pqstub_om_uint32 gss_wrap_size_limit(pqstub_om_uint32 *minor, void *ctx, int conf,
                                     pqstub_om_uint32 qop, pqstub_om_uint32 req,
                                     pqstub_om_uint32 *max);

static pqstub_om_uint32 pqstub_gss_fail(pqstub_om_uint32 *minor)
{
    if (minor)
        *minor = 0;
    return PQSTUB_GSS_S_FAILURE;
}

static pqstub_om_uint32 pqstub_gss_ok(pqstub_om_uint32 *minor)
{
    if (minor)
        *minor = 0;
    return 0;
}

pqstub_om_uint32 gss_acquire_cred(pqstub_om_uint32 *minor, void *name, pqstub_om_uint32 t,
                                  void *mechs, int usage, void **cred, void **amechs,
                                  pqstub_om_uint32 *trec)
{
    if (cred)
        *cred = NULL;
    return pqstub_gss_fail(minor);
}

pqstub_om_uint32 gss_delete_sec_context(pqstub_om_uint32 *minor, void **ctx, void *tok)
{
    if (ctx)
        *ctx = NULL;
    return pqstub_gss_ok(minor);
}

/* gss_buffer_desc is {size_t length; void *value;}: answer an empty text. */
pqstub_om_uint32 gss_display_status(pqstub_om_uint32 *minor, pqstub_om_uint32 status, int type,
                                    void *mech, pqstub_om_uint32 *msgctx, void *buf)
{
    struct { size_t length; void *value; } *b = buf;
    if (msgctx)
        *msgctx = 0;
    if (b) {
        b->length = 0;
        b->value = NULL;
    }
    return pqstub_gss_ok(minor);
}

pqstub_om_uint32 gss_import_name(pqstub_om_uint32 *minor, void *buf, void *type, void **name)
{
    if (name)
        *name = NULL;
    return pqstub_gss_fail(minor);
}

pqstub_om_uint32 gss_init_sec_context(pqstub_om_uint32 *minor, void *cred, void **ctx,
                                      void *target, void *mech, pqstub_om_uint32 flags,
                                      pqstub_om_uint32 t, void *chan, void *in, void **amech,
                                      void *out, pqstub_om_uint32 *rflags,
                                      pqstub_om_uint32 *trec)
{
    return pqstub_gss_fail(minor);
}

pqstub_om_uint32 gss_release_buffer(pqstub_om_uint32 *minor, void *buf)
{
    return pqstub_gss_ok(minor);
}

pqstub_om_uint32 gss_release_cred(pqstub_om_uint32 *minor, void **cred)
{
    return pqstub_gss_ok(minor);
}

pqstub_om_uint32 gss_release_name(pqstub_om_uint32 *minor, void **name)
{
    return pqstub_gss_ok(minor);
}

pqstub_om_uint32 gss_unwrap(pqstub_om_uint32 *minor, void *ctx, void *in, void *out,
                            int *conf, void *qop)
{
    return pqstub_gss_fail(minor);
}

pqstub_om_uint32 gss_wrap(pqstub_om_uint32 *minor, void *ctx, int conf, pqstub_om_uint32 qop,
                          void *in, int *confst, void *out)
{
    return pqstub_gss_fail(minor);
}

pqstub_om_uint32 gss_wrap_size_limit(pqstub_om_uint32 *minor, void *ctx, int conf,
                                     pqstub_om_uint32 qop, pqstub_om_uint32 req,
                                     pqstub_om_uint32 *max)
{
    if (max)
        *max = 0;
    return pqstub_gss_fail(minor);
}

/* ---- LDAP (OpenLDAP API) -------------------------------------------------- */
#define PQSTUB_LDAP_OTHER 0x50

int         ldap_count_entries(void *ld, void *res);
const char *ldap_err2string(int err);
void       *ldap_first_entry(void *ld, void *res);
void      **ldap_get_values_len(void *ld, void *entry, const char *attr);
void       *ldap_init(const char *host, int port);
int         ldap_msgfree(void *res);
int         ldap_result(void *ld, int msgid, int all, void *timeout, void **res);
int         ldap_search_st(void *ld, const char *base, int scope, const char *filter,
                           char **attrs, int attrsonly, void *timeout, void **res);
int         ldap_set_option(void *ld, int option, const void *value);
int         ldap_simple_bind(void *ld, const char *who, const char *passwd);
int         ldap_unbind(void *ld);
void        ldap_value_free_len(void **vals);

int ldap_count_entries(void *ld, void *res) { return -1; }
const char *ldap_err2string(int err) { return "LDAP is not available in the static keel build"; }
void *ldap_first_entry(void *ld, void *res) { return NULL; }
void **ldap_get_values_len(void *ld, void *entry, const char *attr) { return NULL; }
void *ldap_init(const char *host, int port) { return NULL; }
int ldap_msgfree(void *res) { return 0; }
int ldap_result(void *ld, int msgid, int all, void *timeout, void **res)
{
    if (res)
        *res = NULL;
    return -1;
}
int ldap_search_st(void *ld, const char *base, int scope, const char *filter,
                   char **attrs, int attrsonly, void *timeout, void **res)
{
    if (res)
        *res = NULL;
    return PQSTUB_LDAP_OTHER;
}
int ldap_set_option(void *ld, int option, const void *value) { return -1; }
int ldap_simple_bind(void *ld, const char *who, const char *passwd) { return -1; }
int ldap_unbind(void *ld) { return 0; }
void ldap_value_free_len(void **vals) { }
