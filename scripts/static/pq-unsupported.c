/*
 * pq-unsupported.c — link-time stand-ins for GSSAPI and LDAP, for a static libpq.
 *
 * Debian's libpq.a is built --with-gssapi --with-ldap, but Debian ships no
 * static libgssapi_krb5 or libldap, so `-static -lpq` leaves these symbols
 * undefined.  keel does not offer Kerberos or LDAP service lookup: every stand-in
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

typedef uint32_t pqna_om_uint32;
#define PQNA_GSS_S_FAILURE ((pqna_om_uint32)13u << 16)

/* ---- GSSAPI (RFC 2744) ---------------------------------------------------- */
extern void *GSS_C_NT_HOSTBASED_SERVICE;
void *GSS_C_NT_HOSTBASED_SERVICE = NULL;

pqna_om_uint32 gss_acquire_cred(pqna_om_uint32 *minor, void *name, pqna_om_uint32 t,
                                  void *mechs, int usage, void **cred, void **amechs,
                                  pqna_om_uint32 *trec);
pqna_om_uint32 gss_delete_sec_context(pqna_om_uint32 *minor, void **ctx, void *tok);
pqna_om_uint32 gss_display_status(pqna_om_uint32 *minor, pqna_om_uint32 status, int type,
                                    void *mech, pqna_om_uint32 *msgctx, void *buf);
pqna_om_uint32 gss_import_name(pqna_om_uint32 *minor, void *buf, void *type, void **name);
pqna_om_uint32 gss_init_sec_context(pqna_om_uint32 *minor, void *cred, void **ctx,
                                      void *target, void *mech, pqna_om_uint32 flags,
                                      pqna_om_uint32 t, void *chan, void *in, void **amech,
                                      void *out, pqna_om_uint32 *rflags,
                                      pqna_om_uint32 *trec);
pqna_om_uint32 gss_release_buffer(pqna_om_uint32 *minor, void *buf);
pqna_om_uint32 gss_release_cred(pqna_om_uint32 *minor, void **cred);
pqna_om_uint32 gss_release_name(pqna_om_uint32 *minor, void **name);
pqna_om_uint32 gss_unwrap(pqna_om_uint32 *minor, void *ctx, void *in, void *out,
                            int *conf, void *qop);
pqna_om_uint32 gss_wrap(pqna_om_uint32 *minor, void *ctx, int conf, pqna_om_uint32 qop,
                          void *in, int *confst, void *out);
pqna_om_uint32 gss_wrap_size_limit(pqna_om_uint32 *minor, void *ctx, int conf,
                                     pqna_om_uint32 qop, pqna_om_uint32 req,
                                     pqna_om_uint32 *max);

static pqna_om_uint32 pqna_gss_fail(pqna_om_uint32 *minor)
{
    if (minor)
        *minor = 0;
    return PQNA_GSS_S_FAILURE;
}

static pqna_om_uint32 pqna_gss_ok(pqna_om_uint32 *minor)
{
    if (minor)
        *minor = 0;
    return 0;
}

pqna_om_uint32 gss_acquire_cred(pqna_om_uint32 *minor, void *name, pqna_om_uint32 t,
                                  void *mechs, int usage, void **cred, void **amechs,
                                  pqna_om_uint32 *trec)
{
    if (cred)
        *cred = NULL;
    return pqna_gss_fail(minor);
}

pqna_om_uint32 gss_delete_sec_context(pqna_om_uint32 *minor, void **ctx, void *tok)
{
    if (ctx)
        *ctx = NULL;
    return pqna_gss_ok(minor);
}

/* gss_buffer_desc is {size_t length; void *value;}: answer an empty text. */
pqna_om_uint32 gss_display_status(pqna_om_uint32 *minor, pqna_om_uint32 status, int type,
                                    void *mech, pqna_om_uint32 *msgctx, void *buf)
{
    struct { size_t length; void *value; } *b = buf;
    if (msgctx)
        *msgctx = 0;
    if (b) {
        b->length = 0;
        b->value = NULL;
    }
    return pqna_gss_ok(minor);
}

pqna_om_uint32 gss_import_name(pqna_om_uint32 *minor, void *buf, void *type, void **name)
{
    if (name)
        *name = NULL;
    return pqna_gss_fail(minor);
}

pqna_om_uint32 gss_init_sec_context(pqna_om_uint32 *minor, void *cred, void **ctx,
                                      void *target, void *mech, pqna_om_uint32 flags,
                                      pqna_om_uint32 t, void *chan, void *in, void **amech,
                                      void *out, pqna_om_uint32 *rflags,
                                      pqna_om_uint32 *trec)
{
    return pqna_gss_fail(minor);
}

pqna_om_uint32 gss_release_buffer(pqna_om_uint32 *minor, void *buf)
{
    return pqna_gss_ok(minor);
}

pqna_om_uint32 gss_release_cred(pqna_om_uint32 *minor, void **cred)
{
    return pqna_gss_ok(minor);
}

pqna_om_uint32 gss_release_name(pqna_om_uint32 *minor, void **name)
{
    return pqna_gss_ok(minor);
}

pqna_om_uint32 gss_unwrap(pqna_om_uint32 *minor, void *ctx, void *in, void *out,
                            int *conf, void *qop)
{
    return pqna_gss_fail(minor);
}

pqna_om_uint32 gss_wrap(pqna_om_uint32 *minor, void *ctx, int conf, pqna_om_uint32 qop,
                          void *in, int *confst, void *out)
{
    return pqna_gss_fail(minor);
}

pqna_om_uint32 gss_wrap_size_limit(pqna_om_uint32 *minor, void *ctx, int conf,
                                     pqna_om_uint32 qop, pqna_om_uint32 req,
                                     pqna_om_uint32 *max)
{
    if (max)
        *max = 0;
    return pqna_gss_fail(minor);
}

/* ---- LDAP (OpenLDAP API) -------------------------------------------------- */
#define PQNA_LDAP_OTHER 0x50

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
    return PQNA_LDAP_OTHER;
}
int ldap_set_option(void *ld, int option, const void *value) { return -1; }
int ldap_simple_bind(void *ld, const char *who, const char *passwd) { return -1; }
int ldap_unbind(void *ld) { return 0; }
void ldap_value_free_len(void **vals) { }
