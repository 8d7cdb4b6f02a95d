/* test_json.c — keel's JSON reader and writer (src/core/json_parse.c,
 * json_dump.c).  Expected values come from RFC 8259 / RFC 3629 and the
 * Unicode code charts (the literal bytes below), and for everything else
 * from jansson, the specification these functions must match: the same
 * texts accepted, equal values, byte-identical output.  Inputs are hand
 * picked edge cases plus token soup from a generator that knows neither
 * implementation. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/json-internal.h"

/* Both readers on text with flags: the same verdict, equal values.
 * Returns keel's value (new reference) or NULL. */
static json_t *both(const char *text, size_t len, size_t flags)
{
    json_error_t e1, e2;
    json_t *mine = keel__json_parse(text, len, flags, &e1);
    json_t *theirs = json_loadb(text, len, flags, &e2);

    if ((mine == NULL) != (theirs == NULL))
        fail_msg("verdicts differ on [%.*s] flags %zu: keel %s (%s), jansson %s (%s)",
                 (int)len, text, flags, mine ? "accepts" : "refuses", e1.text,
                 theirs ? "accepts" : "refuses", e2.text);
    if (mine != NULL && !json_equal(mine, theirs))
        fail_msg("values differ on [%.*s]", (int)len, text);
    if (mine == NULL)
        assert_true(e1.text[0] != '\0');
    json_decref(theirs);
    return mine;
}

static json_t *both_s(const char *text, size_t flags)
{
    return both(text, strlen(text), flags);
}

static void accepts(const char *text, size_t flags)
{
    json_t *v = both(text, strlen(text), flags);
    if (v == NULL)
        fail_msg("refused: %s", text);
    json_decref(v);
}

static void refuses(const char *text, size_t flags)
{
    json_t *v = both(text, strlen(text), flags);
    if (v != NULL)
        fail_msg("accepted: %s", text);
}

static void test_grammar(void **state)
{
    (void)state;
    /* RFC 8259 §2–§7 */
    accepts("{}", 0);
    accepts(" \t\r\n[ ] \n", 0);
    accepts("{\"a\":[1,-0,0.5,1e3,1E+3,2e-3,-1.25e-7,true,false,null],\"\":{}}", 0);
    accepts("\"text\"", JSON_DECODE_ANY);
    accepts("12", JSON_DECODE_ANY);
    accepts("null", JSON_DECODE_ANY);
    refuses("12", 0);                   /* jansson: '[' or '{' expected */
    refuses("", 0);
    refuses("", JSON_DECODE_ANY);
    refuses("[01]", 0);                 /* leading zero */
    refuses("[1.]", 0);
    refuses("[.5]", 0);
    refuses("[+1]", 0);
    refuses("[1e]", 0);
    refuses("[1e+]", 0);
    refuses("[-]", 0);
    refuses("[NaN]", 0);
    refuses("[Infinity]", 0);
    refuses("[tru]", 0);
    refuses("[truex]", 0);
    refuses("[true1]", 0);
    refuses("[1,]", 0);
    refuses("[,1]", 0);
    refuses("{\"a\":1,}", 0);
    refuses("{\"a\" 1}", 0);
    refuses("{a:1}", 0);
    refuses("{1:1}", 0);
    refuses("[1] x", 0);
    refuses("[1]]", 0);
    refuses("[\"a\tb\"]", 0);          /* a raw control character */
    refuses("[\"\\x\"]", 0);
    refuses("[\"\\u12\"]", 0);
    refuses("[\"abc]", 0);
    refuses("\xef\xbb\xbf[]", 0);      /* a byte order mark is not whitespace */
    refuses("[\f]", 0);
}

static void test_numbers(void **state)
{
    json_t *v;
    (void)state;

    v = both_s("[9223372036854775807,-9223372036854775808,-0,1e400]", 0);
    assert_null(v);                       /* 1e400 overflows a double */
    v = both_s("[9223372036854775807,-9223372036854775808,-0]", 0);
    assert_non_null(v);
    assert_true(json_integer_value(json_array_get(v, 0)) == INT64_MAX);
    assert_true(json_integer_value(json_array_get(v, 1)) == INT64_MIN);
    assert_true(json_is_integer(json_array_get(v, 2)));
    json_decref(v);
    refuses("[9223372036854775808]", 0);
    refuses("[-9223372036854775809]", 0);
    v = both_s("[1e-400, 5e-324, 0.1]", 0);   /* underflow is not an error */
    assert_non_null(v);
    assert_true(json_is_real(json_array_get(v, 0)));
    assert_true(json_real_value(json_array_get(v, 2)) == 0.1);
    json_decref(v);
}

static void test_strings(void **state)
{
    json_t *v;
    (void)state;

    /* U+00E9 é = C3 A9; U+1D11E 𝄞 = D834 DD1E in UTF-16 = F0 9D 84 9E */
    v = both_s("[\"caf\\u00e9 \\ud834\\udd1e \\\"\\\\\\/\\b\\f\\n\\r\\t\"]", 0);
    assert_non_null(v);
    assert_int_equal(json_string_length(json_array_get(v, 0)), 19);
    assert_memory_equal(json_string_value(json_array_get(v, 0)),
                        "caf\xc3\xa9 \xf0\x9d\x84\x9e \"\\/\b\f\n\r\t", 19);
    json_decref(v);
    accepts("[\"caf\xc3\xa9 \xf0\x9d\x84\x9e\"]", 0);
    refuses("[\"\\u0000\"]", 0);             /* jansson needs JSON_ALLOW_NUL */
    refuses("{\"a\\u0000b\":1}", 0);
    refuses("[\"\\ud834\"]", 0);             /* high surrogate alone */
    refuses("[\"\\udd1e\"]", 0);             /* low surrogate alone */
    refuses("[\"\\ud834\\u0041\"]", 0);
    refuses("[\"\xc0\x80\"]", 0);            /* overlong NUL */
    refuses("[\"\xed\xa0\x80\"]", 0);        /* UTF-8 encoded surrogate */
    refuses("[\"\xf4\x90\x80\x80\"]", 0);    /* past U+10FFFF */
    refuses("[\"\xc3\"]", 0);                /* truncated */
    refuses("[\"\x80\"]", 0);                /* continuation first */
    accepts("[\"\x7f\"]", 0);                /* DEL is not a control character to JSON */
    /* a long string crosses the eight-byte steps at every alignment */
    {
        char buf[200];
        int off;
        for (off = 0; off < 16; off++) {
            memset(buf, 'a', sizeof buf);
            buf[0] = '[';
            buf[1] = '"';
            buf[2 + 40 + off] = '\\';
            buf[3 + 40 + off] = 'n';
            buf[120] = '"';
            buf[121] = ']';
            v = both(buf, 122, 0);
            assert_non_null(v);
            json_decref(v);
            buf[2 + 40 + off] = '\x01';
            v = both(buf, 122, 0);
            assert_null(v);
            buf[2 + 40 + off] = '\xc3';
            v = both(buf, 122, 0);   /* C3 followed by 'n': not UTF-8 */
            assert_null(v);
        }
    }
}

static void test_duplicates_and_depth(void **state)
{
    json_t *v;
    char *deep;
    int i;
    (void)state;

    v = both_s("{\"a\":1,\"b\":2,\"a\":3}", 0);   /* last one wins */
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 3);
    json_decref(v);
    refuses("{\"a\":1,\"b\":2,\"a\":3}", JSON_REJECT_DUPLICATES);
    refuses("{\"a\\u0062\":1,\"ab\":2}", JSON_REJECT_DUPLICATES);   /* the same key, escaped */

    /* 2047 arrays around a scalar is jansson's deepest; 2048 is one too many */
    deep = malloc(2 * 2048 + 2);
    assert_non_null(deep);
    for (i = 0; i < 2047; i++)
        deep[i] = '[';
    deep[2047] = '1';
    for (i = 0; i < 2047; i++)
        deep[2048 + i] = ']';
    v = both(deep, 2047 * 2 + 1, 0);
    assert_non_null(v);
    json_decref(v);
    memmove(deep + 1, deep, 2047 * 2 + 1);
    deep[0] = '[';
    deep[2047 * 2 + 2] = ']';
    v = both(deep, 2047 * 2 + 3, 0);
    assert_null(v);
    free(deep);
    v = both("[1,\0]", 5, 0);
    assert_null(v);
    v = both("[1]\0", 4, 0);   /* a NUL byte after the value is not whitespace */
    assert_null(v);
    /* jansson 2.14 drops a NUL byte that directly follows a number or a
     * literal (its lexer's unget of a 0 byte reads as "nothing buffered");
     * RFC 8259 has no place for one and keel refuses it */
    v = keel__json_parse("[1\0]", 4, 0, NULL);
    assert_null(v);
    v = keel__json_parse("[true\0]", 7, 0, NULL);
    assert_null(v);
}

/* The deepest texts jansson accepts (2047 arrays, or objects, around a
 * scalar), parsed on a thread with the handler workers' 1 MB stack
 * (src/api/http_pool.c). */
typedef struct deep_text {
    char  *text;
    size_t len;
} deep_text;

static void *deep_parse(void *arg)
{
    deep_text *d = arg;
    json_t *v = keel__json_parse(d->text, d->len, JSON_REJECT_DUPLICATES, NULL);
    int ok = v != NULL;

    json_decref(v);
    return ok ? d : NULL;
}

static void deep_on_worker_stack(const char *open, const char *close)
{
    size_t lo = strlen(open), lc = strlen(close), i;
    deep_text d = { malloc(2047 * (lo + lc) + 2), 0 };
    pthread_attr_t attr;
    pthread_t t;
    void *res = NULL;

    assert_non_null(d.text);
    for (i = 0; i < 2047; i++, d.len += lo)
        memmove(d.text + d.len, open, lo); /* NOLINT(bugprone-not-null-terminated-result): a text with a length */
    d.text[d.len++] = '1';
    for (i = 0; i < 2047; i++, d.len += lc)
        memmove(d.text + d.len, close, lc); /* NOLINT(bugprone-not-null-terminated-result) */
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    assert_int_equal(pthread_create(&t, &attr, deep_parse, &d), 0);
    pthread_join(t, &res);
    pthread_attr_destroy(&attr);
    assert_ptr_equal(res, &d);
    free(d.text);
}

static void test_depth_on_worker_stack(void **state)
{
    (void)state;
    deep_on_worker_stack("[", "]");
    deep_on_worker_stack("{\"k\":", "}");
}

/* ---- token soup: random texts from JSON's own pieces ----------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void soup(char *buf, size_t cap, size_t *len)
{
    static const char *const pieces[] = {
        "{", "}", "[", "]", ",", ":", " ", "\n", "\"", "\"a\"", "\"k\"", "\"\\u00e9\"",
        "\"\\ud834\\udd1e\"", "\"\\ud834\"", "\\", "\\n", "\\u", "00", "e9", "0", "1", "-",
        "12", ".", "5", "e", "E", "+", "9223372036854775807", "99999999999999999999", "1e999",
        "true", "false", "null", "nul", "\xc3\xa9", "\xc3", "\xe2\x82\xac", "\xed\xa0\x80",
        "\xf0\x9d\x84\x9e", "\x7f", "\t", "x", "\"\\t\"", "{\"a\":1}", "[1,2]", "\"a\"",
    };
    size_t n = 0, k = 1 + rnd(24), i;

    for (i = 0; i < k; i++) {
        const char *p = pieces[rnd(sizeof pieces / sizeof *pieces)];
        size_t l = strlen(p);
        if (n + l >= cap)
            break;
        memmove(buf + n, p, l); /* NOLINT(bugprone-not-null-terminated-result): a text with a length */
        n += l;
    }
    *len = n;
}

static void test_differential_soup(void **state)
{
    char buf[512];
    size_t len;
    int i, ok = 0;
    (void)state;

    for (i = 0; i < 200000; i++) {
        size_t flags = (rnd(2) ? JSON_REJECT_DUPLICATES : 0) | (rnd(2) ? JSON_DECODE_ANY : 0);
        json_t *v;
        soup(buf, sizeof buf, &len);
        v = both(buf, len, flags);
        ok += v != NULL;
        json_decref(v);
    }
    /* the soup must reach both verdicts often, or it tests nothing */
    assert_true(ok > 1000);
    assert_true(ok < 199000);
}

/* ---- the writer ------------------------------------------------------------ */

static void same_dump(const json_t *v, size_t flags)
{
    char *a = keel__json_dump(v, flags), *b = json_dumps(v, flags);

    if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
        fail_msg("dumps differ (flags %zu):\n keel    %s\n jansson %s", flags,
                 a ? a : "(null)", b ? b : "(null)");
    free(a);
    free(b);
}

static json_t *random_value(int depth)
{
    static const char *const strs[] = {
        "", "plain", "quote\"back\\slash/", "\b\f\n\r\t", "\x01\x1f\x7f", "caf\xc3\xa9",
        "\xf0\x9d\x84\x9e", "tab\there", "\xe2\x80\xa8 line sep",
    };
    static const double reals[] = { 0.0, -0.0, 0.1, 1.0, -2.5, 1e300, 5e-324, 123456789.125, 1e17,
                                    1e16, 1e-5, -2.5e-7, 1e21, 1.2345e-300, 1e22, 100.0 };
    unsigned t = depth > 4 ? rnd(6) : rnd(8);
    size_t i, n;
    json_t *v;

    switch (t) {
    case 0: return json_null();
    case 1: return json_boolean(rnd(2));
    case 2: return json_integer((json_int_t)rnd(2000000) - 1000000);
    case 3: return json_real(reals[rnd(sizeof reals / sizeof *reals)]);
    case 4: case 5: return json_string(strs[rnd(sizeof strs / sizeof *strs)]);
    case 6:
        v = json_array();
        for (i = 0, n = rnd(5); i < n; i++)
            json_array_append_new(v, random_value(depth + 1));
        return v;
    default:
        v = json_object();
        for (i = 0, n = rnd(5); i < n; i++)
            json_object_set_new(v, strs[rnd(sizeof strs / sizeof *strs)], random_value(depth + 1));
        return v;
    }
}

static void test_dump(void **state)
{
    json_t *v, *bad;
    int i;
    (void)state;

    v = json_pack("{s:[i,f,f,f,s,b,n],s:{}}", "a", 1, 0.5, 1.0, 0.25, "x\"\x01\xc3\xa9", 1, "e");
    same_dump(v, JSON_COMPACT);
    same_dump(v, 0);
    {
        char *a = keel__json_dump(v, JSON_COMPACT);
        assert_string_equal(a, "{\"a\":[1,0.5,1.0,0.25,\"x\\\"\\u0001\xc3\xa9\",true,null],\"e\":{}}");
        free(a);
    }
    json_decref(v);
    /* a scalar only with JSON_ENCODE_ANY */
    v = json_integer(5);
    assert_null(keel__json_dump(v, JSON_COMPACT));
    same_dump(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    /* a string built without the UTF-8 check is refused, as jansson does */
    bad = json_stringn_nocheck("\xff", 1);
    v = json_pack("[o]", bad);
    assert_null(keel__json_dump(v, JSON_COMPACT));
    same_dump(v, JSON_COMPACT);
    json_decref(v);
    for (i = 0; i < 20000; i++) {
        v = random_value(0);
        same_dump(v, JSON_COMPACT | JSON_ENCODE_ANY);
        same_dump(v, JSON_ENCODE_ANY);
        json_decref(v);
    }
}

/* Long strings with one byte to escape at every offset: the writer scans
 * eight bytes at a time, so every alignment of the special byte and every
 * tail length is compared with jansson. */
static void test_dump_long_strings(void **state)
{
    static const char specials[] = { '"', '\\', '\n', '\x01', '\x1f', ' ', '\x7f' };
    char s[64];
    (void)state;
    for (size_t len = 0; len < sizeof s; len++) {
        for (size_t at = 0; at <= len; at++) {
            for (size_t k = 0; k < sizeof specials; k++) {
                for (size_t i = 0; i < len; i++)
                    s[i] = (char)('a' + i % 26);
                if (at < len)
                    s[at] = specials[k];
                json_t *v = json_pack("[s#]", s, (int)len);
                same_dump(v, JSON_COMPACT);
                json_decref(v);
            }
        }
    }
    /* multi-byte UTF-8 across the eight-byte steps */
    json_t *v = json_pack("[s]", "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\\");
    same_dump(v, JSON_COMPACT);
    json_decref(v);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(keel__utf8_valid("", 0));
    assert_true(keel__utf8_valid("a\0b", 3));
    assert_true(keel__utf8_valid("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 18));
    assert_false(keel__utf8_valid("\xc1\xbf", 2));          /* overlong */
    assert_false(keel__utf8_valid("\xe0\x9f\xbf", 3));      /* overlong */
    assert_false(keel__utf8_valid("\xf0\x8f\xbf\xbf", 4));  /* overlong */
    assert_false(keel__utf8_valid("\xed\xbf\xbf", 3));      /* surrogate */
    assert_false(keel__utf8_valid("\xf5\x80\x80\x80", 4));
    assert_false(keel__utf8_valid("aaaaaaaaaaaaaaa\xe2\x82", 17));   /* truncated after a fast step */
    assert_false(keel__utf8_valid("\xfe", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_duplicates_and_depth),
        cmocka_unit_test(test_depth_on_worker_stack),
        cmocka_unit_test(test_differential_soup),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_dump_long_strings),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
