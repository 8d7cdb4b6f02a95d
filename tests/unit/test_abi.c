/* test_abi.c — pins the layout of the public tables and vtables.
 *
 * SQLite once shipped a layout change without a version bump; this test makes
 * such a change fail loudly: a member moved or inserted anywhere but at the
 * end breaks the offsets below.  Appending a member means adding a line here
 * (and, for keel_module/keel_method, bumping KEEL_ABI). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "keel/keel.h"
#include "modules/echo/echo.h"

#define P sizeof(void *)

static void test_keel_method_layout(void **state)
{
    (void)state;
    assert_int_equal(offsetof(keel_method, name), 0);
    assert_int_equal(offsetof(keel_method, handler), 1 * P);
    assert_int_equal(offsetof(keel_method, flags), 2 * P);
    assert_int_equal(offsetof(keel_method, summary), 3 * P);
    assert_int_equal(offsetof(keel_method, in_schema), 4 * P);
    assert_int_equal(offsetof(keel_method, out_schema), 5 * P);
    assert_int_equal(offsetof(keel_method, scope), 6 * P);
    assert_int_equal(offsetof(keel_method, raw_types), 7 * P);
    assert_int_equal(offsetof(keel_method, raw_field), 8 * P);
    assert_int_equal(offsetof(keel_method, max_body), 9 * P);
    assert_int_equal(offsetof(keel_method, mem_factor), 10 * P);
    assert_int_equal(sizeof(keel_method), 11 * P);
}

static void test_keel_module_layout(void **state)
{
    (void)state;
    assert_int_equal(KEEL_ABI, 4);   /* 2: keel_method.max_body; 3: keel_module.topics/subs;
                                        4: keel_method.mem_factor */
    assert_int_equal(offsetof(keel_module, abi), 0);
    assert_int_equal(offsetof(keel_module, name), 1 * P);
    assert_int_equal(offsetof(keel_module, version), 2 * P);
    assert_int_equal(offsetof(keel_module, summary), 3 * P);
    assert_int_equal(offsetof(keel_module, deps), 4 * P);
    assert_int_equal(offsetof(keel_module, methods), 5 * P);
    assert_int_equal(offsetof(keel_module, migrations), 6 * P);
    assert_int_equal(offsetof(keel_module, config), 7 * P);
    assert_int_equal(offsetof(keel_module, init), 8 * P);
    assert_int_equal(offsetof(keel_module, start), 9 * P);
    assert_int_equal(offsetof(keel_module, stop), 10 * P);
    assert_int_equal(offsetof(keel_module, health), 11 * P);
    assert_int_equal(offsetof(keel_module, cli), 12 * P);
    assert_int_equal(offsetof(keel_module, iface), 13 * P);
    assert_int_equal(offsetof(keel_module, iface_version), 14 * P);
    assert_int_equal(offsetof(keel_module, client), 15 * P);
    assert_int_equal(offsetof(keel_module, mflags), 16 * P);
    assert_int_equal(offsetof(keel_module, topics), 17 * P);
    assert_int_equal(offsetof(keel_module, subs), 18 * P);
    assert_int_equal(sizeof(keel_module), 19 * P);
}

static void test_vtables_layout(void **state)
{
    (void)state;
    /* Every typed iface starts with `unsigned version`. */
    assert_int_equal(offsetof(keel_authn_iface, version), 0);
    assert_int_equal(offsetof(keel_authn_iface, authenticate), P);
    assert_int_equal(offsetof(echo_iface, version), 0);
    assert_int_equal(offsetof(echo_iface, echo), P);
    assert_int_equal(offsetof(keel_store_vt, version), 0);
    assert_int_equal(offsetof(keel_store_vt, name), P);
    assert_int_equal(offsetof(keel_store_vt, open), 2 * P);
    assert_int_equal(offsetof(keel_store_vt, close), 3 * P);
    assert_int_equal(offsetof(keel_store_vt, exec), 4 * P);
    assert_int_equal(offsetof(keel_store_vt, begin), 5 * P);
    assert_int_equal(offsetof(keel_store_vt, commit), 6 * P);
    assert_int_equal(offsetof(keel_store_vt, rollback), 7 * P);
    /* since v2 */
    assert_int_equal(offsetof(keel_store_vt, begin_ex), 8 * P);
    assert_int_equal(offsetof(keel_store_vt, savepoint), 9 * P);
    assert_int_equal(offsetof(keel_store_vt, errmsg), 10 * P);
    assert_int_equal(offsetof(keel_store_vt, retryable), 11 * P);
    assert_int_equal(offsetof(keel_store_vt, healthy), 12 * P);
    /* since v3 */
    assert_int_equal(offsetof(keel_store_vt, exec_blob), 13 * P);
    assert_int_equal(offsetof(keel_store_vt, one_blob), 14 * P);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keel_method_layout),
        cmocka_unit_test(test_keel_module_layout),
        cmocka_unit_test(test_vtables_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
