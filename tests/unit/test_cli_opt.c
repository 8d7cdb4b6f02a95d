/* test_cli_opt.c — keel_cli_opt, the option reader of modules' own CLI
 * commands: "--name value", "--name=value", a missing value, and names that
 * only share a prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "keel/module.h"

static void separate_value_moves_onto_it(void **state)
{
    char *argv[] = {"cmd", "--email", "a@b.c", "--x"};
    int i = 1, missing = 0;
    const char *v;

    (void)state;
    v = keel_cli_opt(4, argv, &i, "--email", &missing);
    assert_string_equal(v, "a@b.c");
    assert_int_equal(i, 2);
    assert_int_equal(missing, 0);
}

static void equals_value_stays(void **state)
{
    char *argv[] = {"cmd", "--email=a@b.c"};
    int i = 1, missing = 0;

    (void)state;
    assert_string_equal(keel_cli_opt(2, argv, &i, "--email", &missing), "a@b.c");
    assert_int_equal(i, 1);
    i = 1;   /* an empty value is a value */
    argv[1] = "--email=";
    assert_string_equal(keel_cli_opt(2, argv, &i, "--email", &missing), "");
    assert_int_equal(missing, 0);
}

static void last_argument_is_missing_its_value(void **state)
{
    char *argv[] = {"cmd", "--email"};
    int i = 1, missing = 0;

    (void)state;
    assert_null(keel_cli_opt(2, argv, &i, "--email", &missing));
    assert_int_equal(missing, 1);
    assert_int_equal(i, 1);
}

static void other_names_do_not_match(void **state)
{
    char *argv[] = {"cmd", "--emailx", "v", "--emai", "--email-to=x"};
    int i, missing = 0;

    (void)state;
    for (i = 1; i < 5; i++) {
        int at = i;
        assert_null(keel_cli_opt(5, argv, &i, "--email", &missing));
        assert_int_equal(i, at);
    }
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(separate_value_moves_onto_it),
        cmocka_unit_test(equals_value_stays),
        cmocka_unit_test(last_argument_is_missing_its_value),
        cmocka_unit_test(other_names_do_not_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
