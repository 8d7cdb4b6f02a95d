/*
 * sweep_debug.h — test_compute_sweep's debugging aids, kept out of the
 * sweep itself: SWEEP_DUMP=DIR writes each session as a CSV `keel compute
 * windows` reads, with its plan; SWEEP_DEBUG=1 prints a missing session's
 * plan, gait and rein times and each rein's trot asymmetry beside the
 * truth.  Included by test_compute_sweep.c only.
 */
#ifndef COMPUTE_TESTS_SWEEP_DEBUG_H
#define COMPUTE_TESTS_SWEEP_DEBUG_H

#include <stdio.h>

#include "compute-internal.h"
#include "footfall_truth.h"

/* SWEEP_DUMP=DIR: each session's samples as DIR/sN.csv (what `keel compute
 * windows` reads) and its plan as DIR/sN.plan (start, end, gait, restless,
 * collected, turn per segment), the first time the session is run. */
static void dump_session(const char *dir, int sd, const ff_seg *seg, int n, const ff_data *d, int gyro)
{
    char fn[256];
    snprintf(fn, sizeof fn, "%s/s%d.csv", dir, sd);
    FILE *f = fopen(fn, "wx");
    if (!f)
        return;
    fprintf(f, "t,ax,ay,az%s\n", gyro ? ",gx,gy,gz" : "");
    for (size_t i = 0; i < d->n; i++) {
        fprintf(f, "%.5f,%.4f,%.4f,%.4f", d->t[i], d->a[0][i], d->a[1][i], d->a[2][i]);
        if (gyro)
            fprintf(f, ",%.5f,%.5f,%.5f", d->w[0][i], d->w[1][i], d->w[2][i]);
        fputc('\n', f);
    }
    fclose(f);
    snprintf(fn, sizeof fn, "%s/s%d.plan", dir, sd);
    f = fopen(fn, "w");
    if (!f)
        return;
    double t0 = 0;
    for (int i = 0; i < n; i++) {
        fprintf(f, "%.3f %.3f %d %d %d %d\n", t0, t0 + seg[i].dur, seg[i].gait, seg[i].restless,
                seg[i].collected, seg[i].turn);
        t0 += seg[i].dur;
    }
    fclose(f);
}

/* SWEEP_DEBUG=1: a missing session's plan, what was read and the truth */
static void print_miss(const ff_seg *seg, int n, const ff_truth *tr, const compute_summary *s)
{
    double t0 = 0;
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "    [%6.1f %6.1f) %s f %.2f-%.2f turn %d lead %d restless %d collected %d\n", t0,
                t0 + seg[i].dur, compute_window_gait(seg[i].gait), seg[i].f0, seg[i].f1, seg[i].turn,
                seg[i].lead, seg[i].restless, seg[i].collected);
        t0 += seg[i].dur;
    }
    for (int k = 0; k < FF_NGAITS; k++)
        fprintf(stderr, "    %-7s truth %6.1f s got %6.1f s\n", compute_window_gait(k), tr->gait_t[k],
                s->gaits[k].time_s);
    fprintf(stderr, "    unclassified %.1f s of %.1f; rein left %.1f (truth %.1f) right %.1f (%.1f) "
            "straight %.1f (%.1f)\n", s->unclassified_s, tr->duration, s->rein_left_s, tr->rein_l,
            s->rein_right_s, tr->rein_r, s->rein_straight_s, tr->rein_s);
    for (int r = 0; r < 3; r++) {
        double sg = 0, a = ff_rein_asym(tr, r, &sg);
        fprintf(stderr, "    trot %s: %.0f s (truth %.0f), asymmetry %+.1f (truth %+.1f, |%.1f|)\n",
                r == 0 ? "left" : r == 1 ? "right" : "straight", s->trot_rein_s[r], tr->trot_t[r],
                s->trot_rein_asym[r], sg, a);
    }
}

#endif /* COMPUTE_TESTS_SWEEP_DEBUG_H */
