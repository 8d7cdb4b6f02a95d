/* test_error.c — the error table: names, HTTP and exit mapping, errno bridge. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "keel/error.h"

static void test_mapping(void **state)
{
    (void)state;
    assert_int_equal(keel_http_status(0), 200);
    assert_int_equal(keel_exit_status(0), 0);
    assert_int_equal(keel_http_status(KEEL_EINVAL), 400);
    assert_int_equal(keel_exit_status(KEEL_EINVAL), 3);
    assert_int_equal(keel_http_status(KEEL_ENOMODULE), 404);
    assert_int_equal(keel_exit_status(KEEL_ENOMODULE), 2);
    assert_int_equal(keel_http_status(KEEL_EUNAVAIL), 503);
    assert_int_equal(keel_exit_status(KEEL_EUNAVAIL), 4);
    assert_int_equal(keel_http_status(KEEL_ETOOBIG), 413);
    assert_int_equal(keel_http_status(KEEL_EMEDIA), 415);
    assert_int_equal(keel_http_status(KEEL_ENOTALLOWED), 405);
    assert_int_equal(keel_http_status(KEEL_EUNAUTH), 401);
    assert_int_equal(keel_http_status(KEEL_EFORBIDDEN), 403);
    assert_int_equal(keel_http_status(KEEL_EINTERNAL), 500);
    assert_int_equal(keel_exit_status(KEEL_EBADDATA), 3);
    assert_int_equal(keel_exit_status(KEEL_EUSAGE), 2);
    assert_string_equal(keel_errname(KEEL_EUNAVAIL), "unavailable");
    assert_string_equal(keel_strerror(KEEL_EUNAVAIL), "service unavailable");
}

static void test_unknown_codes(void **state)
{
    (void)state;
    assert_string_equal(keel_strerror(-9999), "unknown error");
    assert_string_equal(keel_errname(-9999), "unknown");
    assert_string_equal(keel_errname(5), "unknown");
    assert_int_equal(keel_http_status(-9999), 500);
    assert_int_equal(keel_exit_status(-9999), 1);
    assert_int_equal(keel_errcode("no_such_code"), KEEL_EINTERNAL);
}

/* Every row round-trips through its name, codes are dense and never reused. */
static void test_table_dense_and_roundtrip(void **state)
{
    int c;
    (void)state;
    for (c = -1; c >= KEEL_ERRNO_MIN; c--) {
        assert_string_not_equal(keel_errname(c), "unknown");
        assert_int_equal(keel_errcode(keel_errname(c)), c);
        assert_true(keel_http_status(c) >= 400 && keel_http_status(c) < 600);
        assert_true(keel_exit_status(c) >= 1 && keel_exit_status(c) <= 4);
    }
    assert_string_equal(keel_errname(KEEL_ERRNO_MIN - 1), "unknown");
}

static void test_errno_bridge(void **state)
{
    (void)state;
    assert_int_equal(keel_from_errno(ENOMEM), KEEL_ENOMEM);
    assert_int_equal(keel_from_errno(ENOENT), KEEL_ENOTFOUND);
    assert_int_equal(keel_from_errno(ECONNREFUSED), KEEL_EUNAVAIL);
    assert_int_equal(keel_from_errno(ETIMEDOUT), KEEL_ETIMEDOUT);
    assert_int_equal(keel_from_errno(EIO), KEEL_EIO);
    assert_int_equal(keel_from_errno(0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_table_dense_and_roundtrip),
        cmocka_unit_test(test_errno_bridge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
