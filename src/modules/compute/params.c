/*
 * compute/params.c — aggregate's thresholds as options: one row per key of
 * compute_params (compute.h), its default (the value the detectors were
 * tuned with), range, unit and meaning.  The table code is options.c's,
 * shared with trend.  docs/compute.md "aggregate options".
 */
#include "compute-internal.h"
#include "options.h"

#include "keel/error.h"

#define P(n, d, lo, hi, u, m) COMPUTE_OPT(compute_params, n, 0, d, lo, hi, u, m)
static const compute_optkey param_keys[] = {
    P(window_s,            4.0,   2,     30,  "s",      "analysis window; windows rows and the hop are half of it"),
    P(halt_rms,            0.5,   0,     20,  "m/s2",   "dynamic acceleration RMS below which a window is halt"),
    P(rhythm_min,          0.1,   0,     1,   "acf",    "vertical autocorrelation peak at or below which energy is no rhythm (halt)"),
    P(bounce_min_hz,       1.3,   0.5,   10,  "Hz",     "slowest bounce (half a 2-beat stride, one asymmetric stride) searched"),
    P(bounce_max_hz,       4.0,   0.5,   12,  "Hz",     "fastest bounce searched (> bounce_min_hz)"),
    P(side_reversal,       -0.25, -1,    1,   "acf",    "sideways sway autocorrelation at the bounce below which the gait is 2-beat"),
    P(clear_reversal,      -0.45, -1,    1,   "acf",    "a reversal this clear keeps a window with a weak stride classified"),
    P(weak_regularity,     0.2,   0,     1,   "acf",    "stride autocorrelation below which the evidence is weak (unclassified unless neighbours agree)"),
    P(noise_halt,          1.2,   0,     10,  "ratio",  "a weak window its neighbours do not decide is halt if its dynamic energy is under this many times the sensor's own noise"),
    P(susp_g,              0.4,   0,     1,   "g",      "vertical specific force below (1 - susp_g) g is a suspension phase"),
    P(susp_share,          0.05,  0,     1,   "share",  "share of a window's samples in suspension for it to show suspension"),
    P(walk_max_hz,         1.15,  0,     10,  "Hz",     "a 2-beat stride without suspension at or above this is trot, else walk"),
    P(walk_max_rms,        3.5,   0,     100, "m/s2",   "a 2-beat stride with this dynamic acceleration RMS or more is trot whatever its frequency: no walk moves the trunk that hard (100: off)"),
    P(walk_top_hz,         1.05,  0,     10,  "Hz",     "a 2-beat stride at or above this (the top of the walk band) moving the trunk by walk_top_rms or more is trot"),
    P(walk_top_rms,        2.5,   0,     100, "m/s2",   "dynamic acceleration RMS from which a 2-beat stride at or above walk_top_hz is trot: the top of a walk's 1-2.5 (100: off)"),
    P(canter_max_hz,       2.25,  0,     10,  "Hz",     "one push per stride above this is a 2-beat gait's bounce, not canter"),
    P(gallop_min_hz,       2.1,   0,     10,  "Hz",     "a one-push asymmetric stride at or above this is gallop (above the canter's 2.0 Hz by the stride estimate's error)"),
    P(gallop_h2_ratio,     0.6,   0,     100, "ratio",  "|2nd| / |1st| stride harmonic of the vertical at or above which it is gallop (two pushes)"),
    P(asym_max_hz,         2.7,   0,     10,  "Hz",     "an asymmetric stride faster than this is a 2-beat gait"),
    P(nosusp_asym_min_acf, 0.3,   -1,    1,   "acf",    "an asymmetric stride without suspension must repeat this well, else 2-beat"),
    P(gyro_rhythm_min,     0.3,   -1,    1,   "acf",    "with rate channels: a window whose vertical repeats under nosusp_asym_min_acf, whose sway does not reverse and whose rotation repeats at the stride under this is no gait (a fidgeting halt)"),
    P(burst_max_cv,        0.45,  0,     100, "cv",     "a window whose vertical repeats under nosusp_asym_min_acf, whose sway does not reverse and whose half strides' dynamic energies scatter more than this (coefficient of variation) is no gait: fidgeting comes in bursts, a gait's energy is steady"),
    P(suspended_min_rms,   2.0,   0,     100, "m/s2",   "a trot, canter or gallop swings the trunk through most of a g every step: a window read as one with less dynamic acceleration RMS than this is no gait (fidgeting at a halt)"),
    P(rein_rate,           0.045, 0,     10,  "rad/s",  "|yaw rate| (bias removed) above which a window is on a circle (left/right rein)"),
    P(jump_g,              0.3,   0.01,  1,   "g",      "|a| below this is free fall (in the air)"),
    P(jump_min_air_s,      0.25,  0.1,   10,  "s",      "shortest flight counted as a jump; a gap in the samples this long ends a flight"),
    P(jump_max_air_s,      2.0,   0.1,   10,  "s",      "longest flight counted as a jump (>= jump_min_air_s)"),
    P(bout_min_s,          5.0,   0,     3600, "s",     "a rein or lead change shorter than this is absorbed into its bout"),
    P(cadence_band,        0.2,   0,     1,   "share",  "a gait's cadence is the mean stride frequency of its windows within this share of their median (0: the median)"),
    P(rising_min_asym_pct, 6.0,   0.5,   100, "%",      "rising trot: a run's diagonal asymmetry departs from the horse's own by at least this"),
    P(rising_min_s,        16.0,  2,     3600, "s",     "rising trot: shortest run of trot on one diagonal taken as evidence, and least time on each"),
    P(rising_smooth_s,     6.0,   0,     60,  "s",      "rising trot: running median of the windows' diagonal asymmetry over this span"),
    {0}
};
#undef P

void compute_params_defaults(compute_params *p)
{
    compute_opts_init(param_keys, p);
}

int compute_params_from_json(compute_params *p, const json_t *options, char *err, size_t errlen)
{
    int rc;
    compute_opts_init(param_keys, p);
    if ((rc = compute_opts_set(param_keys, p, options, err, errlen)) != 0)
        return rc;
    if (!(p->bounce_min_hz < p->bounce_max_hz)) {
        snprintf(err, errlen, "options.bounce_max_hz: must exceed bounce_min_hz");
        return KEEL_EINVAL;
    }
    if (!(p->jump_min_air_s <= p->jump_max_air_s)) {
        snprintf(err, errlen, "options.jump_max_air_s: must not be below jump_min_air_s");
        return KEEL_EINVAL;
    }
    return 0;
}

json_t *compute_params_json(const compute_params *p)
{
    return compute_opts_echo(param_keys, p);
}

void compute_params_print(FILE *f, json_t *json)
{
    compute_opts_print(f, "aggregate", param_keys, json);
}
