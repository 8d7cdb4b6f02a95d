/*
 * test_compute_windows.c — the per-window output (compute_windows_buffer):
 * windows in time order tiling the session, their times per gait adding up
 * to the summary's; each
 * window inside one segment of a synthetic session carries that segment's
 * gait, rein and lead from the generator's truth; accelerometer-only and
 * rate-missing windows say unknown, never a guess.
 */
#include "input_util.h"

typedef struct collected {
    size_t n, cap;
    compute_window_row *w;
} collected;

static void collect(void *arg, const compute_window_row *w)
{
    collected *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        compute_window_row *nw = realloc(c->w, cap * sizeof *nw);
        assert_non_null(nw);
        c->w = nw;
        c->cap = cap;
    }
    c->w[c->n++] = *w;
}

static int gait_of(const char *s)
{
    for (int g = 0; g < COMPUTE_NGAITS; g++)
        if (strcmp(s, compute_gait_names[g]) == 0)
            return g;
    return -1;
}

/* the truth segment holding [a, b] with 1 s to spare, or NULL */
static const json_t *segment_of(const json_t *truth, double a, double b)
{
    size_t i;
    const json_t *seg;
    json_array_foreach(json_object_get(truth, "segments"), i, seg) {
        double s0 = json_number_value(json_object_get(seg, "start"));
        double s1 = json_number_value(json_object_get(seg, "end"));
        if (a >= s0 + 1 && b <= s1 - 1)
            return seg;
    }
    return NULL;
}

static void test_windows_follow_truth(void **state)
{
    compute_synth_opts o = { .seed = 41, .rate_hz = 100, .noise = 1, .drift = 1,
        .plan = "walk:40,trot-left:40,canter-right:40,halt:20,canter-left:40,trot-right:40" };
    char *csv = NULL, err[320] = "";
    size_t len = 0;
    json_t *truth = NULL;
    collected c = { 0 };
    compute_summary *s = malloc(sizeof *s);
    (void)state;
    assert_int_equal(compute_synth_buffer(&o, &csv, &len, &truth, err, sizeof err), 0);
    assert_int_equal(compute_windows_buffer(csv, len, NULL, collect, &c, s, err, sizeof err), 0);
    /* they tile the session (no gap in this one): 2 s each, the first and
     * last longer, and per gait they add up to the summary */
    assert_true(c.n >= (size_t)(s->duration_s / 2) - 2);
    assert_true(c.w[0].t_start < 0.1);
    assert_true(fabs(c.w[c.n - 1].t_end - s->duration_s) < 0.05);
    double per[COMPUTE_NGAITS + 1] = { 0 };
    for (size_t i = 0; i < c.n; i++)
        per[c.w[i].gait] += c.w[i].t_end - c.w[i].t_start;
    for (int g = 0; g < COMPUTE_NGAITS; g++)
        if (fabs(per[g] - s->gaits[g].time_s) > 0.02)
            fail_msg("%s: windows %.2f s, summary %.2f s", compute_gait_names[g], per[g], s->gaits[g].time_s);
    size_t inside = 0, gait_ok = 0, rein_ok = 0, lead_n = 0, lead_ok = 0;
    for (size_t i = 0; i < c.n; i++) {
        const compute_window_row *w = &c.w[i];
        if (i > 0)
            assert_true(fabs(w->t_start - c.w[i - 1].t_end) < 1e-9);
        assert_true(w->t_end > w->t_start);
        assert_true(i == 0 || i == c.n - 1 || fabs(w->t_end - w->t_start - 2) < 0.1);
        assert_true(w->confidence >= 0 && w->confidence <= 1);
        assert_true(w->dba >= 0);
        assert_true(w->rein >= -1 && w->rein <= 2);
        const json_t *seg = segment_of(truth, w->t_start, w->t_end);
        if (!seg)
            continue;
        inside++;
        int tg = gait_of(json_string_value(json_object_get(seg, "gait")));
        gait_ok += w->gait == tg;
        const char *tr = json_string_value(json_object_get(seg, "rein"));
        int want = strcmp(tr, "left") == 0 ? 1 : strcmp(tr, "right") == 0 ? -1 : 0;
        rein_ok += tg == COMPUTE_HALT ? w->rein == 2 : w->rein == want;
        if (tg == COMPUTE_CANTER && w->gait == COMPUTE_CANTER) {
            const char *tl = json_string_value(json_object_get(seg, "lead"));
            lead_n++;
            lead_ok += w->lead == (strcmp(tl, "left") == 0 ? 1 : -1);
        }
        if (w->gait == COMPUTE_TROT && !isnan(w->stride_hz))
            assert_true(w->symmetry_pct > 90 && w->symmetry_pct <= 100);
        else if (w->gait != COMPUTE_TROT)
            assert_true(isnan(w->symmetry_pct));
        if (w->gait != COMPUTE_HALT && tg != COMPUTE_HALT && !isnan(w->stride_hz)) {
            double hz = json_number_value(json_object_get(seg, "stride_hz"));
            if (w->gait == tg && fabs(w->cadence_spm - 60 * hz) > 6)
                fail_msg("window at %.0f s: cadence %.1f, truth %.1f", w->t_start, w->cadence_spm, 60 * hz);
        }
    }
    assert_true(inside > c.n / 2);
    if (gait_ok < 0.9 * (double)inside || rein_ok < 0.9 * (double)inside || lead_ok < 0.9 * (double)lead_n)
        fail_msg("of %zu windows inside a segment: gait %zu, rein %zu right; lead %zu of %zu",
                 inside, gait_ok, rein_ok, lead_ok, lead_n);
    /* JSON form: the documented names, unknown as null */
    json_t *j = compute_window_json(&c.w[0]);
    static const char *const keys[] = { "t_start", "t_end", "gait", "confidence", "stride_hz",
        "cadence_spm", "regularity", "yaw_rate", "rein", "lead", "dba", "symmetry_pct", NULL };
    for (int k = 0; keys[k]; k++)
        assert_non_null(json_object_get(j, keys[k]));
    assert_int_equal(json_object_size(j), 12);
    json_decref(j);
    free(c.w);
    free(csv);
    free(s);
    json_decref(truth);
}

/* No rate columns: rein, lead, yaw rate and symmetry are unknown. */
static void test_windows_accel_only(void **state)
{
    const char *t0 = "time,ax,ay,az\n";
    char *b = NULL, err[320] = "";
    size_t bl = 0;
    collected c = { 0 };
    compute_summary *s = malloc(sizeof *s);
    (void)state;
    FILE *f = open_memstream(&b, &bl);
    fputs(t0, f);
    for (int i = 0; i < 3000; i++) /* 30 s of a 1.4 Hz vertical bounce */
        fprintf(f, "%.2f,0.1,0.2,%.4f\n", i * 0.01, 9.8 + 3 * sin(2 * M_PI * 2.8 * i * 0.01));
    fclose(f);
    assert_int_equal(compute_windows_buffer(b, bl, NULL, collect, &c, s, err, sizeof err), 0);
    assert_true(c.n >= 12);
    assert_true(fabs(c.w[c.n - 1].t_end - s->duration_s) < 0.05);
    for (size_t i = 0; i < c.n; i++) {
        assert_int_equal(c.w[i].rein, 2);
        assert_int_equal(c.w[i].lead, 0);
        assert_true(isnan(c.w[i].yaw_rate));
        assert_true(isnan(c.w[i].symmetry_pct));
    }
    json_t *j = compute_window_json(&c.w[0]);
    assert_true(json_is_null(json_object_get(j, "rein")));
    assert_true(json_is_null(json_object_get(j, "yaw_rate")));
    json_decref(j);
    free(c.w);
    free(b);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_follow_truth),
        cmocka_unit_test(test_windows_accel_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
