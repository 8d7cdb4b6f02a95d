/*
 * compute/trend_flags.c — the flag rules of docs/compute.md "## trend"
 * (symmetry_drop, rein_imbalance, cadence_shift, regularity_drop,
 * load_spike) applied to one horse's metric statistics and load, which
 * trend.c has computed.  Depends on jansson and keel/error.h only.
 */
#include "trend-internal.h"

#include <math.h>
#include <stdio.h>

#include "keel/error.h"

/* Appends one flag; 0 or KEEL_ENOMEM. */
static int trend_flag(json_t *flags, const char *flag, const char *metric, double value,
                      const trend_stat *st, const char *statistic, double observed,
                      double threshold, const char *msg)
{
    json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:s,s:o,s:f,s:o,s:s}", "flag", flag, "metric", metric,
                          "value", compute_trend_num(1, value),
                          "baseline", compute_trend_num(st && st->has_base, st ? st->baseline : 0),
                          "statistic", statistic, "observed", compute_trend_num(1, observed),
                          "threshold", threshold, "z", compute_trend_num(st && st->has_z, st ? st->z : 0),
                          "message", msg);
    return json_array_append_new(flags, o) ? KEEL_ENOMEM : 0;
}

int compute_trend_flags(const trend_opts *o, const trend_stat st[M_COUNT], const int have[M_COUNT],
                        const trend_load *ld, json_t *flags)
{
    static const struct { int m; const char *gait; } cad[] = {
        {M_WALK_CAD, "walk"}, {M_TROT_CAD, "trot"}, {M_CANTER_CAD, "canter"}, {0, NULL}};
    static const struct { int m; const char *gait; } reg[] = {
        {M_TROT_REG, "trot"}, {M_CANTER_REG, "canter"}, {0, NULL}};
    double zt = o->z_threshold;
    char msg[256], zs[64];
    const trend_stat *s = &st[M_SYM];
    int rc = 0;

#define TREND_ZTEXT(s_, cmp_)                                                                   \
    ((s_)->has_z ? (snprintf(zs, sizeof zs, ", robust z %.2f " cmp_, (s_)->z, zt), zs)          \
                 : ", too few or identical earlier sessions for a z-score")
    if (have[M_SYM] && s->has_base && s->change <= -o->symmetry_drop && (!s->has_z || s->z <= -zt)) {
        snprintf(msg, sizeof msg, "trot symmetry %.1f%% is %.1f points below its baseline %.1f%% (threshold %.1f points%s)",
                 s->latest, -s->change, s->baseline, o->symmetry_drop, TREND_ZTEXT(s, "<= -%.2f"));
        rc = trend_flag(flags, "symmetry_drop", compute_trend_metrics[M_SYM].name, s->latest, s, "change",
                        s->change, -o->symmetry_drop, msg);
    }
    s = &st[M_REIN_BAL];
    if (!rc && have[M_REIN_BAL] && fabs(s->latest) >= o->rein_balance_max) {
        snprintf(msg, sizeof msg, "rein balance %+.2f: one rein dominates (|balance| %.2f >= %.2f)",
                 s->latest, fabs(s->latest), o->rein_balance_max);
        rc = trend_flag(flags, "rein_imbalance", compute_trend_metrics[M_REIN_BAL].name, s->latest, s, "abs",
                        fabs(s->latest), o->rein_balance_max, msg);
    }
    for (int i = 0; !rc && cad[i].gait; i++) {
        s = &st[cad[i].m];
        if (!have[cad[i].m] || !s->has_pct || fabs(s->change_pct) < o->cadence_shift_pct ||
            (s->has_z && fabs(s->z) < zt))
            continue;
        snprintf(msg, sizeof msg, "%s cadence %.1f spm is %+.1f%% from its baseline %.1f spm (threshold %.1f%%%s)",
                 cad[i].gait, s->latest, s->change_pct, s->baseline, o->cadence_shift_pct,
                 TREND_ZTEXT(s, "beyond +/-%.2f"));
        rc = trend_flag(flags, "cadence_shift", compute_trend_metrics[cad[i].m].name, s->latest, s, "change_pct",
                        s->change_pct, o->cadence_shift_pct, msg);
    }
    for (int i = 0; !rc && reg[i].gait; i++) {
        s = &st[reg[i].m];
        if (!have[reg[i].m] || !s->has_pct || s->change_pct > -o->regularity_drop_pct ||
            (s->has_z && s->z > -zt))
            continue;
        snprintf(msg, sizeof msg, "%s regularity %.3f is %.1f%% below its baseline %.3f (threshold %.1f%%%s)",
                 reg[i].gait, s->latest, -s->change_pct, s->baseline, o->regularity_drop_pct,
                 TREND_ZTEXT(s, "<= -%.2f"));
        rc = trend_flag(flags, "regularity_drop", compute_trend_metrics[reg[i].m].name, s->latest, s, "change_pct",
                        s->change_pct, -o->regularity_drop_pct, msg);
    }
#undef TREND_ZTEXT
    if (!rc && ld->has_acwr && ld->days >= (long)o->acwr_min_days && ld->acwr >= o->acwr_max) {
        snprintf(msg, sizeof msg, "acute:chronic load ratio %.2f >= %.2f (acute %.1f, chronic %.1f over %ld days)",
                 ld->acwr, o->acwr_max, ld->acute, ld->chronic, ld->days);
        rc = trend_flag(flags, "load_spike", compute_trend_metrics[M_LOAD].name, ld->acwr, NULL, "acwr", ld->acwr,
                        o->acwr_max, msg);
    }
    return rc;
}
