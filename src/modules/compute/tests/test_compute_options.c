/*
 * test_compute_options.c — aggregate's thresholds as options (params.c,
 * docs/compute.md "aggregate options"): the defaults are the documented
 * values and give the result of no options at all; moving one threshold
 * moves the result the way the physics says; a bad key, value or type is
 * invalid input naming the key.
 */
#include "input_util.h"

static json_t *run(const char *csv, size_t len, const char *options_json, compute_summary *s)
{
    compute_params p;
    compute_options opt = { .params = &p };
    char err[320] = "";
    json_t *o = options_json ? json_loads(options_json, 0, NULL) : NULL;
    assert_int_equal(compute_params_from_json(&p, o, err, sizeof err), 0);
    json_decref(o);
    int rc = compute_aggregate_buffer(csv, len, options_json ? &opt : NULL, s, err, sizeof err);
    if (rc != 0)
        fail_msg("aggregate: %s", err);
    return compute_summary_json(s);
}

static double at(const json_t *j, const char *path)
{
    return json_number_value(compute_summary_path(j, path));
}

/* The defaults are the values docs/compute.md states for the fixed
 * thresholds, and asking for them changes nothing, byte for byte. */
static void test_defaults_are_the_documented_values(void **state)
{
    compute_params p;
    (void)state;
    compute_params_defaults(&p);
    assert_true(p.window_s == 4.0 && p.halt_rms == 0.5 && p.rhythm_min == 0.1);
    assert_true(p.bounce_min_hz == 1.3 && p.bounce_max_hz == 4.0);
    assert_true(p.side_reversal == -0.25 && p.clear_reversal == -0.45 && p.weak_regularity == 0.2);
    assert_true(p.susp_g == 0.4 && p.susp_share == 0.05 && p.walk_max_hz == 1.15);
    assert_true(p.canter_max_hz == 2.25 && p.gallop_min_hz == 2.1 && p.gallop_h2_ratio == 0.6);
    assert_true(p.asym_max_hz == 2.7 && p.nosusp_asym_min_acf == 0.3 && p.rein_rate == 0.045);
    assert_true(p.jump_g == 0.3 && p.jump_min_air_s == 0.25 && p.jump_max_air_s == 2.0);
    assert_true(p.bout_min_s == 5.0 && p.noise_halt == 1.2 && p.cadence_band == 0.2 && p.gyro_rhythm_min == 0.3);
    assert_true(p.burst_max_cv == 0.45 && p.suspended_min_rms == 2.0 && p.walk_max_rms == 3.5);
    assert_true(p.walk_top_hz == 1.05 && p.walk_top_rms == 2.5);

    size_t len;
    char *csv = synth("halt:10,walk:40,trot-left:40,canter-right:30,jump:1.1,gallop:15,trot-right:30", 100,
                      0, 0, 0, 0, &len);
    compute_summary *s = malloc(sizeof *s);
    json_t *a = run(csv, len, NULL, s);
    json_t *b = run(csv, len, "{\"halt_rms\": 0.5, \"window_s\": 4, \"rein_rate\": 0.045}", s);
    char *ta = json_dumps(a, JSON_SORT_KEYS), *tb = json_dumps(b, JSON_SORT_KEYS);
    assert_string_equal(ta, tb);
    /* the output records every key, at its default */
    const json_t *o = json_object_get(a, "options");
    assert_int_equal(json_object_size(o), 32);
    assert_true(json_real_value(json_object_get(o, "halt_rms")) == 0.5);
    assert_true(json_real_value(json_object_get(o, "jump_max_air_s")) == 2.0);
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
    free(s);
    free(csv);
}

/* A walking trunk moves ~0.1 g (~1 m/s^2 RMS), a trot's ~0.3 g: with the
 * halt energy threshold between the two, walk reads as halt and trot stays. */
static void test_halt_energy_turns_walk_into_halt(void **state)
{
    size_t len;
    (void)state;
    char *csv = synth("walk:60,trot:60", 100, 0, 0, 0, 0, &len);
    compute_summary *s = malloc(sizeof *s);
    json_t *a = run(csv, len, NULL, s);
    json_t *b = run(csv, len, "{\"halt_rms\": 2.0}", s);
    assert_true(at(a, "gaits.walk.time_s") > 50);
    assert_true(at(a, "gaits.halt.time_s") < 5);
    assert_true(at(b, "gaits.walk.time_s") < 5);
    assert_true(at(b, "gaits.halt.time_s") > 50);
    assert_true(fabs(at(b, "gaits.trot.time_s") - at(a, "gaits.trot.time_s")) < 6);
    assert_true(json_real_value(json_object_get(json_object_get(b, "options"), "halt_rms")) == 2.0);
    json_decref(a);
    json_decref(b);
    free(s);
    free(csv);
}

/* A 1.1 m jump is ~0.95 s in the air (sqrt(8h/g)): a shortest flight of
 * 1.2 s leaves no jump; a free-fall threshold of 0.01 g (below the noise)
 * none either; the default finds it. */
static void test_jump_thresholds(void **state)
{
    size_t len;
    (void)state;
    char *csv = synth("canter:20,jump:1.1,canter:20", 100, 0, 0, 0, 0, &len);
    compute_summary *s = malloc(sizeof *s);
    json_t *a = run(csv, len, NULL, s);
    json_t *b = run(csv, len, "{\"jump_min_air_s\": 1.2, \"jump_max_air_s\": 3}", s);
    json_t *c = run(csv, len, "{\"jump_max_air_s\": 0.5}", s);
    assert_int_equal((int)at(a, "jump_count"), 1);
    assert_int_equal((int)at(b, "jump_count"), 0);
    assert_int_equal((int)at(c, "jump_count"), 0);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    free(s);
    free(csv);
}

/* No horse turns at 10 rad/s: with that as the circle's rate every moving
 * second is straight; a walk (~0.85 Hz stride) read with walk_max_hz 0.5
 * is a 2-beat gait faster than any walk: trot, when no energy floor is
 * asked of a trot (suspended_min_rms 0); with the default floor the walk's
 * 1-2 m/s^2 are no trot's, and it is no gait. */
static void test_rein_and_walk_rates(void **state)
{
    size_t len;
    (void)state;
    char *csv = synth("walk-left:40,trot-right:40", 100, 0, 0, 0, 0, &len);
    compute_summary *s = malloc(sizeof *s);
    json_t *a = run(csv, len, NULL, s);
    json_t *b = run(csv, len, "{\"rein_rate\": 10}", s);
    json_t *c = run(csv, len, "{\"walk_max_hz\": 0.5, \"suspended_min_rms\": 0}", s);
    json_t *d = run(csv, len, "{\"walk_max_hz\": 0.5}", s);
    assert_true(at(a, "rein.left_s") > 30 && at(a, "rein.right_s") > 30);
    assert_true(at(b, "rein.left_s") == 0 && at(b, "rein.right_s") == 0);
    assert_true(at(b, "rein.straight_s") > 70);
    assert_true(at(a, "gaits.walk.time_s") > 30);
    assert_true(at(c, "gaits.walk.time_s") < 5);
    assert_true(at(c, "gaits.trot.time_s") > 70);
    assert_true(at(d, "gaits.walk.time_s") < 5);
    assert_true(at(d, "gaits.trot.time_s") < 45);
    json_decref(d);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    free(s);
    free(csv);
}

static void on_row(void *arg, const compute_window_row *w)
{
    double *d = arg;
    if (w->t_start > 10 && w->t_end < 50) {
        d[0] += 1;
        d[1] += w->t_end - w->t_start;
    }
}

/* The hop, and so a windows row, is half the window: 8 s → 4 s rows. */
static void test_window_length(void **state)
{
    size_t len;
    double d4[2] = { 0, 0 }, d8[2] = { 0, 0 };
    compute_params p;
    compute_options opt = { .params = &p };
    char err[320];
    (void)state;
    char *csv = synth("trot:60", 100, 0, 0, 0, 0, &len);
    compute_summary *s = malloc(sizeof *s);
    json_t *o = json_pack("{s:f}", "window_s", 8.0);
    assert_int_equal(compute_params_from_json(&p, o, err, sizeof err), 0);
    json_decref(o);
    assert_int_equal(compute_windows_buffer(csv, len, NULL, on_row, d4, s, err, sizeof err), 0);
    assert_int_equal(compute_windows_buffer(csv, len, &opt, on_row, d8, s, err, sizeof err), 0);
    assert_true(d4[0] > 10 && d8[0] > 5);
    assert_true(fabs(d4[1] / d4[0] - 2.0) < 0.05);
    assert_true(fabs(d8[1] / d8[0] - 4.0) < 0.1);
    assert_true(s->gaits[COMPUTE_TROT].time_s > 50);
    free(s);
    free(csv);
}

static void expect_invalid(const char *json, const char *needle)
{
    compute_params p;
    char err[160] = "";
    json_t *o = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(o);
    assert_int_equal(compute_params_from_json(&p, o, err, sizeof err), KEEL_EINVAL);
    if (!strstr(err, needle))
        fail_msg("'%s' gave '%s', not naming '%s'", json, err, needle);
    json_decref(o);
}

static void test_bad_options_name_the_key(void **state)
{
    (void)state;
    expect_invalid("{\"halt_rmz\": 1}", "options.halt_rmz: unknown option");
    expect_invalid("{\"halt_rms\": -1}", "options.halt_rms: must be a number between 0 and 20");
    expect_invalid("{\"walk_top_rms\": -1}", "options.walk_top_rms: must be a number between 0 and 100");
    expect_invalid("{\"walk_top_hz\": \"fast\"}", "options.walk_top_hz:");
    expect_invalid("{\"window_s\": 1e9}", "options.window_s:");
    expect_invalid("{\"susp_share\": \"0.1\"}", "options.susp_share:");
    expect_invalid("{\"rein_rate\": null}", "options.rein_rate:");
    expect_invalid("{\"jump_g\": true}", "options.jump_g:");
    expect_invalid("{\"bounce_min_hz\": 5, \"bounce_max_hz\": 4}", "options.bounce_max_hz");
    expect_invalid("{\"jump_min_air_s\": 3}", "options.jump_max_air_s");
    expect_invalid("[1]", "options: must be an object");
    expect_invalid("{\"walk_max_hz\": 10.5}", "options.walk_max_hz: must be a number between 0 and 10");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_documented_values),
        cmocka_unit_test(test_halt_energy_turns_walk_into_halt),
        cmocka_unit_test(test_jump_thresholds),
        cmocka_unit_test(test_rein_and_walk_rates),
        cmocka_unit_test(test_window_length),
        cmocka_unit_test(test_bad_options_name_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
