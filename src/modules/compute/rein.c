/*
 * rein.c — direction from sustained yaw rate.
 *
 * A window whose mean rate about the vertical exceeds the rein_rate option
 * (0.045 rad/s ≈ 2.6 °/s by default) is on the left rein (positive yaw = turning left),
 * below its negative on the right rein, else straight.  The slowest circle
 * is a slow walk (0.7 strides/s of ~1.6 m, 1.1 m/s) on a 20 m radius:
 * 0.056 rad/s, above it.  The gyro's bias about the vertical, as measured
 * at standstills, on straight lines and through turns, is taken off first
 * (lead.c).  Only moving time is counted.
 *
 * A window is window_s long and is given the middle of it, so the one that
 * holds a turn's start sees part of the turn: with the threshold far below
 * a circle's rate (0.2-0.4 rad/s at trot and canter) a quarter of a circle
 * in it made all of its time a circle, about a second too much at every
 * start and end of a turn.  The levels before and after a step are read
 * two windows away (the hop is half a window, so their analysed spans do
 * not overlap this one's); the share of the turn in the window's mean
 * places the step in its analysed span, and the span it is given is split
 * there.  Halts are neighbours at rate 0 (a walk-on onto a circle), never
 * counted; a hole between windows is no step.
 */
#include <math.h>
#include <string.h>

#include "compute-internal.h"

int compute_rein_class(double yaw_rate, double rate)
{
    if (yaw_rate > rate)
        return 1;
    if (yaw_rate < -rate)
        return -1;
    return 0;
}

double compute_rein_balance(double left_s, double right_s)
{
    double sum = left_s + right_s;
    return sum > 0 ? (left_s - right_s) / sum : 0;
}

void compute_rein_steps_init(compute_rein_steps *rs, double rate, double window_s)
{
    memset(rs, 0, sizeof *rs);
    rs->rate = rate;
    rs->window_s = window_s;
}

static void add_time(compute_rein_steps *rs, int rein, double dur)
{
    rs->t[rein > 0 ? 0 : rein < 0 ? 1 : 2] += dur;
}

/* p's time to its own rein, or, when the levels two windows before (lo)
 * and after (hi) are on different reins and p's mean lies between them,
 * split at the step: p's mean over its analysed span (W long, centred on
 * the span p is given) is lo + (hi − lo)·(share of the span after the
 * step), which places the step. */
static void settle(compute_rein_steps *rs, compute_rein_win *p, const compute_rein_win *lo,
                   const compute_rein_win *hi)
{
    p->done = 1;
    if (!p->counted)
        return;
    if (lo && hi && lo->rated && hi->rated) {
        int cl = compute_rein_class(lo->y, rs->rate), ch = compute_rein_class(hi->y, rs->rate);
        if (cl != ch && (p->y - lo->y) * (hi->y - p->y) >= 0) {
            double f = (p->y - lo->y) / (hi->y - lo->y);
            double W = rs->window_s > p->dur ? rs->window_s : p->dur;
            double step = p->t0 + p->dur / 2 + W / 2 - f * W;
            double after = (p->t0 + p->dur - step) / p->dur;
            after = after < 0 ? 0 : after > 1 ? 1 : after;
            add_time(rs, ch, after * p->dur);
            add_time(rs, cl, (1 - after) * p->dur);
            return;
        }
    }
    add_time(rs, compute_rein_class(p->y, rs->rate), p->dur);
}

void compute_rein_steps_add(compute_rein_steps *rs, const compute_rein_win *w)
{
    if (rs->n > 0) {
        const compute_rein_win *last = &rs->q[rs->n - 1];
        if (fabs(last->t0 + last->dur - w->t0) > 1e-6)
            compute_rein_steps_flush(rs); /* a hole: no step across it */
    }
    rs->q[rs->n] = *w;
    rs->q[rs->n].done = 0;
    if (++rs->n < COMPUTE_REIN_CTX)
        return;
    settle(rs, &rs->q[2], &rs->q[0], &rs->q[4]);
    if (!rs->q[0].done) /* the first windows of a run have no context */
        settle(rs, &rs->q[0], NULL, NULL);
    memmove(rs->q, rs->q + 1, sizeof rs->q[0] * (COMPUTE_REIN_CTX - 1));
    rs->n--;
}

void compute_rein_steps_flush(compute_rein_steps *rs)
{
    for (int i = 0; i < rs->n; i++)
        if (!rs->q[i].done)
            settle(rs, &rs->q[i], NULL, NULL);
    rs->n = 0;
}
