/*
 * test_http_date.c — keel__http_date (src/api/http_date.c): the Date value
 * keel puts on its answers is RFC 9110's IMF-fixdate of the current second,
 * the same text strftime gives in the C locale (weekday and month names
 * included), and stays one value within a second on a thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "api/http-internal.h"

static void test_matches_strftime(void **state)
{
    char want[64];
    const char *got = NULL;
    int tries;

    (void)state;
    for (tries = 0; tries < 5; tries++) {   /* a second boundary between the two reads: again */
        time_t before = time(NULL), after;
        struct tm tm;

        got = keel__http_date();
        after = time(NULL);
        if (before != after)
            continue;
        assert_non_null(gmtime_r(&before, &tm));
        assert_true(strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
        assert_non_null(got);
        assert_string_equal(got, want);
        assert_int_equal(strlen(got), 29);
        return;
    }
    fail_msg("the clock moved on every try");
}

static void test_same_text_within_a_second(void **state)
{
    const char *a, *b;
    char copy[64];
    time_t t0;

    (void)state;
    do {
        t0 = time(NULL);
        a = keel__http_date();
        assert_non_null(a);
        snprintf(copy, sizeof copy, "%s", a);
        b = keel__http_date();
    } while (time(NULL) != t0);
    assert_ptr_equal(a, b);          /* the per-thread buffer, not a new one */
    assert_string_equal(b, copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_strftime),
        cmocka_unit_test(test_same_text_within_a_second),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
