/*
 * aggregate_sym.c — the trot symmetry's bookkeeping over a session's final
 * windows: naming each window's two diagonal steps the same way as the
 * windows before it, and keeping the reins' amplitude sums (all counted
 * trot windows, and the evidence: the ones inside a run of trot).
 * aggregate_finish.c turns the sums into trot_symmetry_pct and trot_reins;
 * docs/compute.md "trot_symmetry_pct".
 */
#include <math.h>

#include "aggregate-internal.h"

/* gait.c names a window's steps by the sign of the roll a quarter stride
 * after a peak on the stride's rate axis, with a rule fixed in the sensor
 * frame; that axis's direction is found again in every window, and where
 * the mounting puts it near the rule's boundary (a sensor turned ~63
 * degrees about the vertical) its sign flipped from window to window: the
 * two diagonals' amplitudes mixed and a 15 % asymmetry read 2-10 %, or
 * with the wrong sign.  The roll's phase vector (sym_dir, sensor frame) of
 * one diagonal points the same way in every window, so each window's is
 * compared with the sum of those before it, strong windows weighing most.
 * A window that shows no roll at the stride stays named by size (the larger
 * step as a, which is no diagonal): 0, and it stays out of the reins'
 * means and the rising-trot decision (compute_agg_sym_add). */
int compute_agg_sym_name(compute_agg *g, compute_tl_win *w)
{
    compute_window_result *r = &w->r;
    if (r->gait != COMPUTE_TROT || w->inherited || w->gmiss || isnan(r->amp_a) || isnan(r->amp_b))
        return 0;
    double d0 = r->sym_dir[0], d1 = r->sym_dir[1];
    if (d0 == 0 && d1 == 0)
        return 0;
    if (d0 * g->sym_ref[0] + d1 * g->sym_ref[1] < 0) {
        double t = r->amp_a;
        r->amp_a = r->amp_b;
        r->amp_b = t;
        r->sym_log = -r->sym_log;
        d0 = -d0;
        d1 = -d1;
    }
    g->sym_ref[0] += d0;
    g->sym_ref[1] += d1;
    return 1;
}

/* A trot window's 4 s span reaches 1 s into its neighbours' slots: the
 * first and the last window of a run of trot hold the gait before or after
 * it too, and the two-step template of such a mix is no diagonal's step (a
 * canter-to-walk change read as 2 s of "trot" with a 63 % asymmetry, which
 * moved a sound horse's session symmetry by 2.7 points).  So the reins'
 * diagonal means take the windows inside a run: each trot window's
 * amplitudes are held until the next window, and counted if it is trot
 * too, unless it was the first of its run.  Its time counts in any case,
 * and a rein with no window inside a run falls back to all of its own. */
void compute_agg_sym_next(compute_agg *g, const compute_tl_win *w)
{
    int trot = w->r.gait == COMPUTE_TROT && !w->gmiss;
    int goes_on = trot && w->t0 <= g->symq.end + 1e-6;   /* no hole before it */
    if (goes_on && g->symq.held) {
        int ri = g->symq.ri;
        g->sym_ea[ri] += g->symq.a * g->symq.dur;
        g->sym_eb[ri] += g->symq.b * g->symq.dur;
        g->sym_et[ri] += g->symq.dur;
    }
    g->symq.held = 0;
    g->symq.end = w->t0 + w->dur;
    g->symq.run = !trot ? 0 : goes_on ? g->symq.run + 1 : 1;
}

void compute_agg_sym_add(compute_agg *g, const compute_tl_win *w, int rein, int named)
{
    const compute_window_result *r = &w->r;
    int ri = rein > 0 ? 0 : rein < 0 ? 1 : 2;
    g->sym_a[ri] += r->amp_a * w->dur;
    g->sym_b[ri] += r->amp_b * w->dur;
    g->sym_t[ri] += w->dur;
    if (!named)
        return;   /* named by size: it would read as the other posting state too */
    if (g->symq.run >= 2) {   /* not the first of its run: held for the next window */
        g->symq.held = 1;
        g->symq.ri = ri;
        g->symq.a = r->amp_a;
        g->symq.b = r->amp_b;
        g->symq.dur = w->dur;
    }
    /* out of memory: the window counts as sitting trot */
    (void)compute_trotlog_add(&g->trotlog, w->t0, w->dur, rein, r->amp_a, r->amp_b);
}
