/*
 * riding_csv.c — the stored raw CSV: gzip-compressed on the way in, read
 * back (plain or still compressed) for get_session_csv and anything that
 * needs a stored session's samples again.
 *
 * riding_session_data.encoding says how a row keeps its CSV (migration
 * 0003): 'identity' rows hold the text in csv — rows uploaded before 0003,
 * and every upload until its riding.session_uploaded handler ran: zlib costs
 * 0.7–1.5 s on an hour at 100 Hz, so it is done there, beside the summary,
 * and not while the uploader waits; 'gzip' rows hold one gzip member
 * (RFC 1952) in csv_gz and '' in csv.  The member goes to the store and
 * comes back as bytes (keel_store_exec_blob, keel_store_one_blob: never as
 * base64 text or a JSON string); rows written by the first version of
 * 0003's code, on SQLite, hold its base64 text and are decoded (read_gz).
 * The content
 * hash stays the SHA-256 of the uncompressed bytes, so duplicates are found
 * whatever the encoding on the wire or in the store.
 *
 * Memory: a summary never holds the CSV whole (riding_session_gz): an
 * identity row's text comes from the store in pieces (substr), each
 * compressed as it comes into a buffer that grows (CSV of decimals
 * compresses 2.5–15×, so it starts at half the input), and compute
 * aggregates the gzip member (aggregate_csv_gz).  Reading for a client
 * (get_session_csv, the views) decompresses into one buffer of exactly the
 * stored size (riding_sessions.bytes), beside the member only (a row not
 * yet compressed: its text and the copy) — reserved in the in-flight budget
 * first (riding_csv_read_mem).  A client
 * that accepts gzip gets the stored member as it is, never decompressed.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <openssl/evp.h>  /* EVP_DecodeBlock: rows that hold base64 text */
#include <zlib.h>

#include "riding-internal.h"

/* zlib level 3: on a 21 MB hour at 100 Hz, 8.5 MB in 0.75 s where level 6
 * gives 7.8 MB in 1.7 s and level 1 9.1 MB in 0.4 s (gzip(1) on the shared
 * test machine) — most of the size for less than half the time. */
#define RIDING_CSV_GZIP_LEVEL 3

/* 1 when s[0..n) is valid UTF-8 (RFC 3629: no overlongs, surrogates or
 * code points past U+10FFFF).  The CSV used to be checked by becoming a JSON
 * string; compressed, it no longer does, and text/csv answers promise text. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t k, need;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
            || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += need + 1;
    }
    return 1;
}

int riding_csv_text(const char *csv, size_t len, json_t **text)
{
    *text = NULL;
    if (!utf8_valid((const unsigned char *)csv, len))
        return KEEL_EBADDATA;
    *text = json_stringn_nocheck(csv, len);
    return *text != NULL ? 0 : KEEL_ENOMEM;
}

/* A gzip member written a piece at a time (deflate_piece, then
 * deflate_piece(…, last = 1)): the output grows (CSV of decimals compresses
 * 2.5–15×, so it starts at half of hint). */
typedef struct gz_out {
    z_stream       zs;
    unsigned char *gz;
    size_t         cap;
    int            init;
} gz_out;

static int gz_out_init(gz_out *o, size_t hint)
{
    memset(o, 0, sizeof *o);
    o->cap = hint / 2 + 1024;
    if ((o->gz = malloc(o->cap)) == NULL)
        return KEEL_ENOMEM;
    if (deflateInit2(&o->zs, RIDING_CSV_GZIP_LEVEL, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        free(o->gz);
        o->gz = NULL;
        return KEEL_ENOMEM;
    }
    o->init = 1;
    return 0;
}

static void gz_out_free(gz_out *o)
{
    if (o->init)
        deflateEnd(&o->zs);
    free(o->gz);
    memset(o, 0, sizeof *o);
}

/* Compresses csv[0..len) (valid UTF-8, else KEEL_EBADDATA: text/csv
 * answers promise text); last ends the member. */
static int gz_out_piece(gz_out *o, const char *csv, size_t len, int last)
{
    int zrc;

    if (!utf8_valid((const unsigned char *)csv, len))
        return KEEL_EBADDATA;
    o->zs.next_in = (Bytef *)(uintptr_t)csv;
    do {
        if (o->zs.total_out == o->cap) {
            unsigned char *ng = realloc(o->gz, o->cap + o->cap / 2);
            if (ng == NULL)
                return KEEL_ENOMEM;
            o->gz = ng;
            o->cap += o->cap / 2;
        }
        if (o->zs.avail_in == 0) {
            size_t done = (size_t)((const char *)o->zs.next_in - csv);
            o->zs.avail_in = (uInt)(len - done > (1u << 30) ? (1u << 30) : len - done);
        }
        o->zs.next_out = o->gz + o->zs.total_out;
        o->zs.avail_out = (uInt)(o->cap - o->zs.total_out > (1u << 30) ? (1u << 30)
                                                                      : o->cap - o->zs.total_out);
        zrc = deflate(&o->zs, last && (size_t)((const char *)o->zs.next_in - csv)
                                          + o->zs.avail_in == len ? Z_FINISH : Z_NO_FLUSH);
        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR)
            return KEEL_EINTERNAL;
        /* not last: done when zlib took every byte and has room left over */
    } while (last ? zrc != Z_STREAM_END
                  : (o->zs.avail_in > 0
                     || (size_t)((const char *)o->zs.next_in - csv) < len
                     || o->zs.avail_out == 0));
    return 0;
}

/* base64 text → bytes (malloc'd).  EVP_DecodeBlock counts the padding as
 * zero bytes: they are taken off.  0, KEEL_ESTORE (not base64), KEEL_ENOMEM. */
static int unbase64(const char *t, size_t n, unsigned char **out, size_t *len)
{
    unsigned char *b;
    int got;

    *out = NULL;
    *len = 0;
    if (n % 4 != 0 || n / 4 * 3 > (size_t)INT32_MAX)
        return KEEL_ESTORE;
    if ((b = malloc(n / 4 * 3 + 1)) == NULL)
        return KEEL_ENOMEM;
    got = n ? EVP_DecodeBlock(b, (const unsigned char *)t, (int)n) : 0;
    if (got < 0) {
        free(b);
        return KEEL_ESTORE;
    }
    if (n >= 1 && t[n - 1] == '=')
        got--;
    if (n >= 2 && t[n - 2] == '=')
        got--;
    *out = b;
    *len = (size_t)got;
    return 0;
}

/* The member a 'gzip' row stores (*gz malloc'd), read as bytes
 * (keel_store_one_blob).  Rows written by the first version of 0003's code,
 * on SQLite, hold its base64 text instead (TEXT, 4/3 of the size): a gzip
 * member starts with ID1 ID2 = 0x1f 0x8b (RFC 1952), base64 text never does
 * (its alphabet is ASCII letters, digits, '+', '/' and '='), so such a value
 * is decoded here.  KEEL_ENOTFOUND: no 'gzip' row (yet, or any more);
 * KEEL_ESTORE: NULL or not base64. */
static int read_gz(keel_store *st, const json_t *params, unsigned char **gz, size_t *len)
{
    unsigned char *b = NULL;
    void *v = NULL;
    size_t n = 0;
    int rc;

    *gz = NULL;
    *len = 0;
    rc = keel_store_one_blob(st, "SELECT csv_gz FROM riding_session_data "
                                 "WHERE session_id = $1 AND encoding = 'gzip'", params, &v, &n);
    if (rc != 0)
        return rc;
    if ((b = v) == NULL)
        return KEEL_ESTORE;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
        *gz = b;
        *len = n;
        return 0;
    }
    rc = unbase64((const char *)b, n, gz, len);
    free(b);
    return rc;
}

int riding_csv_inflate(keel_ctx *ctx, const unsigned char *gz, size_t n, size_t want,
                         char **out)
{
    char *csv = malloc(want ? want : 1);
    z_stream zs;
    int zrc;

    *out = NULL;
    memset(&zs, 0, sizeof zs);
    if (csv == NULL || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        free(csv);
        return KEEL_ENOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)gz;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)csv;
    zs.avail_out = (uInt)want;
    zrc = inflate(&zs, Z_FINISH);
    inflateEnd(&zs);
    if (zrc != Z_STREAM_END || zs.total_out != want || zs.avail_in != 0) {
        free(csv);
        return keel_ctx_error(ctx, KEEL_ESTORE, "the stored CSV does not decompress to its "
                              "%zu bytes (zlib: %s)", want, zs.msg ? zs.msg : "size differs");
    }
    *out = csv;
    return 0;
}

int riding_session_csv(keel_ctx *ctx, keel_store *st, const riding_who *who, int64_t session_id,
                       int gzip_ok, char **data, size_t *len, int *is_gzip)
{
    json_t *session = NULL, *row = NULL, *params = NULL;
    unsigned char *gz = NULL;
    const char *enc;
    size_t want, gzlen = 0;
    int rc, gzip = 0;

    *data = NULL;
    *len = 0;
    *is_gzip = 0;
    /* the same visibility as get_session: another user's session is not found */
    rc = riding_session_get(st, who, session_id, &session);
    if (rc == KEEL_ENOTFOUND)
        return riding_not_found(ctx, "session", session_id);
    if (rc != 0)
        return rc;
    want = (size_t)json_integer_value(json_object_get(session, "bytes"));
    params = json_pack("[I]", (json_int_t)session_id);
    /* what reading it will hold, reserved in the in-flight budget before
     * anything is read (length() reads neither column's bytes) */
    rc = params ? keel_store_one(st, "SELECT encoding, COALESCE(length(csv_gz), 0) AS gzlen "
                                     "FROM riding_session_data WHERE session_id = $1",
                                 params, &row)
                : KEEL_ENOMEM;
    if (rc == 0) {
        enc = json_string_value(json_object_get(row, "encoding"));
        gzip = enc != NULL && strcmp(enc, "gzip") == 0;
        rc = keel_ctx_mem_reserve(ctx, riding_csv_read_mem(
                 gzip, gzip_ok, (int64_t)want,
                 (int64_t)json_integer_value(json_object_get(row, "gzlen"))));
        json_decref(row);
    }
    if (rc == 0 && !gzip) {
        /* the text's bytes as they are stored, no JSON string of them */
        void *text = NULL;
        size_t n = 0;
        rc = keel_store_one_blob(st, "SELECT csv FROM riding_session_data "
                                     "WHERE session_id = $1 AND encoding = 'identity'",
                                 params, &text, &n);
        if (rc == 0 && text != NULL) {
            *data = text;
            *len = n;
            goto out;
        }
        if (rc == 0)
            rc = KEEL_ESTORE;
        else if (rc == KEEL_ENOTFOUND) {  /* compressed since: read the member */
            gzip = 1;
            rc = 0;
        }
    }
    if (rc == 0)
        rc = read_gz(st, params, &gz, &gzlen);
    if (rc == 0 && gzip_ok) {
        *data = (char *)gz;
        *len = gzlen;
        *is_gzip = 1;
    } else if (rc == 0) {
        rc = riding_csv_inflate(ctx, gz, gzlen, want, data);
        if (rc == 0)
            *len = want;
        free(gz);
    }
    if (rc == KEEL_ENOTFOUND)
        rc = riding_not_found(ctx, "session", session_id);
    else if (rc == KEEL_ESTORE && keel_ctx_errmsg(ctx) == NULL)
        keel_ctx_error(ctx, rc, "session %lld: the stored CSV is not readable",
                       (long long)session_id);
out:
    json_decref(params);
    json_decref(session);
    return rc;
}

int riding_session_gz(keel_ctx *ctx, keel_store *st, int64_t session_id, size_t want,
                      unsigned char **gz, size_t *gzlen, int *fresh)
{
    json_t *row = NULL, *params = json_pack("[I]", (json_int_t)session_id);
    const char *enc;
    size_t got = 0, bytes = 0, chunk, chars;
    gz_out o;
    int rc, last = 0;

    *gz = NULL;
    *gzlen = 0;
    *fresh = 0;
    rc = params ? keel_store_one(st, "SELECT encoding FROM riding_session_data "
                                     "WHERE session_id = $1", params, &row)
                : KEEL_ENOMEM;
    if (rc == 0) {
        enc = json_string_value(json_object_get(row, "encoding"));
        /* a gzip row's member, as bytes */
        if (enc != NULL && strcmp(enc, "gzip") == 0) {
            json_decref(row);
            rc = read_gz(st, params, gz, gzlen);
            json_decref(params);
            if (rc == KEEL_ENOTFOUND)
                return riding_not_found(ctx, "session", session_id);
            if (rc == KEEL_ESTORE)
                keel_ctx_error(ctx, rc, "session %lld: the stored CSV is not readable",
                               (long long)session_id);
            return rc;
        }
    }
    json_decref(params);
    if (rc == KEEL_ENOTFOUND)
        return riding_not_found(ctx, "session", session_id);
    if (rc != 0)
        return rc;
    json_decref(row);
    /* identity: RIDING_READ_CHARS characters at a time (substr counts
     * characters on both backends; the rows are valid UTF-8), each piece
     * compressed as it comes */
    if ((rc = gz_out_init(&o, want)) != 0)
        return rc;
    chunk = want / RIDING_READ_PIECES + 1 > RIDING_READ_CHARS ? want / RIDING_READ_PIECES + 1
                                                                : RIDING_READ_CHARS;
    while (!last) {
        json_t *part = NULL;
        const char *t;
        size_t n;

        params = json_pack("[I,I,I]", (json_int_t)session_id, (json_int_t)got + 1,
                           (json_int_t)chunk);
        rc = params ? keel_store_one(st, "SELECT substr(csv, $2, $3) AS part FROM "
                                         "riding_session_data WHERE session_id = $1 "
                                         "AND encoding = 'identity'", params, &part)
                    : KEEL_ENOMEM;
        json_decref(params);
        if (rc == KEEL_ENOTFOUND)  /* compressed (or deleted) while we read: read again */
            rc = keel_ctx_error(ctx, KEEL_ESTORE, "session %lld: the stored CSV changed while "
                                "it was read", (long long)session_id);
        if (rc != 0)
            break;
        t = json_string_value(json_object_get(part, "part"));
        n = json_string_length(json_object_get(part, "part"));
        /* characters, not bytes: the offset of the next piece counts them;
         * a short piece is the last (no query more to load the text again) */
        chars = 0;
        for (size_t i = 0; i < n; i++)
            chars += ((unsigned char)t[i] & 0xc0) != 0x80;
        last = chars < chunk;
        rc = gz_out_piece(&o, t ? t : "", n, last);
        got += chars;
        bytes += n;
        json_decref(part);
        if (rc != 0)
            break;
    }
    if (rc == 0 && bytes != want)
        rc = keel_ctx_error(ctx, KEEL_ESTORE, "session %lld: the stored CSV has %zu bytes, "
                            "not its recorded %zu", (long long)session_id, bytes, want);
    if (rc == 0) {
        *gz = o.gz;
        *gzlen = o.zs.total_out;
        *fresh = 1;
        o.gz = NULL;
    }
    gz_out_free(&o);
#ifdef __GLIBC__
    /* SQLite's copies of the text, one per piece, were freed into the
     * heap, which glibc keeps resident (+1 x the CSV measured on an hour):
     * hand the pages back before the work that follows */
    malloc_trim(0);
#endif
    return rc;
}

int riding_h_get_session_csv(keel_ctx *ctx, const json_t *in, json_t **out)
{
    int64_t id = json_integer_value(json_object_get(in, "session_id"));
    char *data = NULL;
    size_t len = 0;
    int is_gzip = 0, rc;
    riding_who who;

    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    rc = riding_session_csv(ctx, keel_ctx_store(ctx), &who, id, keel_ctx_accepts_gzip(ctx),
                            &data, &len, &is_gzip);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:I, s:I, s:s}", "session_id", (json_int_t)id, "bytes", (json_int_t)len,
                     "encoding", is_gzip ? "gzip" : "identity");
    if (*out == NULL) {
        free(data);
        return KEEL_ENOMEM;
    }
    return keel_ctx_set_output_raw(ctx, data, len, "text/csv; charset=utf-8",
                                   is_gzip ? "gzip" : NULL);
}
