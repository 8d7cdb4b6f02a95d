/*
 * harmonic.h — a third session generator for the compute tests: the trunk's
 * motion written as it is measured, not as it is caused.
 *
 * footfall.h builds the trunk's acceleration from hoof forces (causes).  This
 * one writes the accelerations and rotation rates of the trunk directly as a
 * short Fourier series of the stride, the way gait analysis reports them
 * (Barrey et al. 1994, "Biomechanical analysis of the gaits of the horse
 * using accelerometry", Equine Vet J Suppl. 17: the dorso-ventral signal of
 * walk and trot is dominated by the 2nd stride harmonic — two bounces a
 * stride — and that of canter and gallop by the 1st; the longitudinal one
 * brakes and pushes once a step).  No hoof, no duty factor, no suspension
 * rule: the detector's notions of beats and free fall are not written in.
 * The only physics imposed on the waveform is that a trunk cannot be pulled
 * down faster than gravity (the vertical is floored at -1 g: a suspension is
 * then a flat free fall wherever the series asks for more), mirror symmetry
 * (a right lead is a left lead seen in a mirror: the lateral, roll and yaw
 * terms change sign) and circles (yaw rate v/r, centripetal v^2/r, a lean
 * into the circle).
 *
 * The canter's vertical has one broad push a stride (hind, then the
 * diagonal pair, then the leading fore, one after the other: the 2nd
 * harmonic about a third of the 1st) and the gallop two (the hind pair,
 * then the fore pair, apart: the 2nd as strong as the 1st).  The first
 * version of this table had them the other way round; that was the one
 * correction made after seeing the detector's answers, and it is the
 * footfalls' timing that decides it, not the detector.
 *
 * Amplitudes (g, rad/s) and phases per harmonic are listed in hm_table;
 * each session scales them by 0.8-1.2 and turns each higher harmonic's phase
 * by up to +-0.3 rad; the vertical grows with the square of the stride
 * frequency about each gait's middle (a trunk moving the same height in a
 * shorter time), within 0.6-1.4.  The amplitude varies by 5 % from stride to
 * stride (a random walk pulled back over 0.5 s: smooth, so it never jumps
 * inside a step) and the stride frequency wanders by 2 % (over 2 s).  A lame or
 * uneven trot scales the right diagonal's bounce (the one peaking at stride
 * phase 0.5).  Transitions cross-fade over one second.  A restless halt is
 * fidgeting written as Gaussian-windowed bursts (0.15-0.4 s) of 1.5-5 Hz
 * shaking in a random direction, 0.05-0.3 g, with rotation, about one every
 * two seconds, over a slow weight shift — not footfall.h's single pushes.
 *
 * The sensor stage (mounting, noise, bias, drifting gyro bias, clipping,
 * jittered sample times, gaps) follows footfall.h's ff_opts, whose types and
 * helpers this file reuses; the truth is physical: segment times, the
 * driven stride frequency, the turning sense, and each trot step's
 * peak-to-trough on the clean world vertical — its peak and the trough
 * after it, as footfall.h's step runs from a diagonal's contact to the
 * next one's (the push, then the suspension it launches).  The first
 * version took the lower trough on either side of the peak; where a
 * horse's trough falls late, just before the next peak, that trough
 * belongs to the step before, and the truth read up to twice the
 * asymmetry that definition gives.
 */
#ifndef COMPUTE_TESTS_HARMONIC_H
#define COMPUTE_TESTS_HARMONIC_H

#include "footfall.h"

#define HM_NH 6 /* stride harmonics 1..6 */

/* one signal: amplitude and phase of stride harmonics 1..6 */
typedef struct hm_series { double a[HM_NH], p[HM_NH]; } hm_series;

/* vertical, longitudinal, lateral (g); roll, pitch, yaw rate (rad/s) */
enum { HM_V, HM_X, HM_Y, HM_R, HM_P, HM_Z, HM_NSIG };

typedef struct hm_gait { hm_series s[HM_NSIG]; double fmid; } hm_gait;

#define HP (M_PI / 2)
static const hm_gait hm_table[FF_NGAITS] = {
    [FF_WALK] = { .fmid = 0.85, .s = {
        [HM_V] = { { 0.02, 0.16, 0, 0.05 }, { 1.0, 0, 0, 0.5 } },
        [HM_X] = { { 0, 0.10, 0, 0.03 }, { 0, -HP, 0, 0 } },
        [HM_Y] = { { 0.07, 0, 0.02 }, { 0.3, 0, 0 } },
        [HM_R] = { { 0.22, 0, 0.04 }, { 1.2, 0, 0.4 } },
        [HM_P] = { { 0, 0.12 }, { 0, -0.8 } },
        [HM_Z] = { { 0.15 }, { 0.2 } } } },
    [FF_TROT] = { .fmid = 1.4, .s = {
        [HM_V] = { { 0, 1.00, 0, 0.35, 0, 0.10 }, { 0 } },
        [HM_X] = { { 0, 0.30, 0, 0.08 }, { 0, -HP, 0, -HP } },
        [HM_Y] = { { 0.05, 0.03 }, { 0.5, 0 } },
        [HM_R] = { { 0.10, 0.06 }, { 0.9, 0.2 } },
        [HM_P] = { { 0, 0.25 }, { 0, -HP } },
        [HM_Z] = { { 0.10 }, { 0.3 } } } },
    [FF_CANTER] = { .fmid = 1.7, .s = {
        [HM_V] = { { 0.60, 0.21, 0.12 }, { 0, 0.4, 0.8 } },
        [HM_X] = { { 0.35, 0.15 }, { -HP, -1.0 } },
        [HM_Y] = { { 0.12, 0.05 }, { 0.6, 0 } },
        [HM_R] = { { 0.35, 0.08 }, { 1.0, 0.3 } },
        [HM_P] = { { 0.80, 0.20 }, { -HP, 0 } },
        [HM_Z] = { { 0.20 }, { 0.4 } } } },
    [FF_GALLOP] = { .fmid = 2.1, .s = {
        [HM_V] = { { 0.45, 0.50, 0, 0.15 }, { 0, 0.3, 0, 0.2 } },
        [HM_X] = { { 0.50, 0.20 }, { -HP, 0 } },
        [HM_Y] = { { 0.15 }, { 0.5 } },
        [HM_R] = { { 0.40 }, { 1.0 } },
        [HM_P] = { { 0.90 }, { -HP } },
        [HM_Z] = { { 0.25 }, { 0.4 } } } },
};
#undef HP

/* the session's own version of the table (a horse of its own) */
static void hm_horse(uint64_t *rs, hm_gait out[FF_NGAITS])
{
    for (int g = 0; g < FF_NGAITS; g++) {
        out[g] = hm_table[g];
        for (int s = 0; s < HM_NSIG; s++)
            for (int k = 0; k < HM_NH; k++) {
                out[g].s[s].a[k] *= 0.8 + 0.4 * ff_u(rs);
                if (k > 0)
                    out[g].s[s].p[k] += 0.6 * (ff_u(rs) - 0.5);
            }
    }
}

static double hm_eval(const hm_series *s, double ph)
{
    double v = 0;
    for (int k = 0; k < HM_NH; k++)
        if (s->a[k] != 0)
            v += s->a[k] * cos(2 * M_PI * (k + 1) * ph + s->p[k]);
    return v;
}

/* the six trunk signals of gait g at stride phase ph (heading frame,
 * dynamic part only) */
static void hm_gait_signals(const hm_gait *G, int g, const ff_seg *S, double f, double ph,
                            double amp, double out[HM_NSIG])
{
    if (g == FF_HALT) {
        memset(out, 0, sizeof(double) * HM_NSIG);
        return;
    }
    const hm_gait *H = &G[g];
    double sc = (f / H->fmid) * (f / H->fmid);
    sc = sc < 0.6 ? 0.6 : sc > 1.4 ? 1.4 : sc;
    double mir = (g == FF_CANTER || g == FF_GALLOP) && S->lead < 0 ? -1 : 1;
    for (int s = 0; s < HM_NSIG; s++)
        out[s] = hm_eval(&H->s[s], ph) * amp;
    out[HM_V] *= sc;
    if (g == FF_TROT) {
        /* collected: less bounce and push; an uneven right diagonal (its
         * bounce peaks at phase 0.5) scales that step's vertical */
        double c = S->collected ? 0.65 : 1.0;
        double w = 0.5 * (1 - cos(2 * M_PI * ph)); /* 0 at the left peak, 1 at the right */
        double r = S->diag_right > 0 ? S->diag_right : 1;
        out[HM_V] *= c * (1 + (r - 1) * w);
        out[HM_X] *= c;
        out[HM_P] *= c;
    }
    out[HM_Y] *= mir;
    out[HM_R] *= mir;
    out[HM_Z] *= mir;
}

/* One bounce's zone of a trot: its peak, the lowest point before the peak
 * (head) and after it (tail). */
typedef struct hm_zone { int diag, rein; double max, head_min, tail_min; } hm_zone;

static void hm_zone_add(hm_zone *z, double v)
{
    if (v > z->max) {
        z->head_min = fmin(z->head_min, z->tail_min);
        z->max = v;
        z->tail_min = 1e9;
    } else if (v < z->tail_min) {
        z->tail_min = v;
    }
}

/* step z ends where the next zone's peak is: its trough is the lowest point
 * after its peak, in its own zone or the next one's head (next_head) */
static void hm_step_close(ff_truth *tr, const hm_zone *z, double next_head)
{
    double a = z->max - fmin(z->tail_min, next_head);
    tr->diagA[z->rein][z->diag] += a;
    tr->diagA20[z->rein][z->diag] += a; /* smooth at any logger's rate: the same truth */
    tr->diagN[z->rein][z->diag]++;
}

/* Generates the session (same contract as ff_generate, jumps not modelled).
 * Returns 0. */
static int hm_generate(const ff_seg *segs, int nseg, const ff_opts *o, ff_data *out, ff_truth *tr)
{
    uint64_t rs = o->seed * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL;
    double total = 0;
    hm_gait G[FF_NGAITS];

    memset(tr, 0, sizeof *tr);
    memset(out, 0, sizeof *out);
    for (int i = 0; i < nseg; i++)
        total += segs[i].dur;
    tr->duration = total;
    hm_horse(&rs, G);

    double gs[8] = { 0 }, ge[8] = { 0 };
    int ng = ff_gaps(o, total, &rs, gs, ge, tr);
    double M[3][3], abias[3], gbias[3] = { 0 };
    ff_rot(o->roll * M_PI / 180, o->pitch * M_PI / 180, o->yaw * M_PI / 180, M);
    for (int k = 0; k < 3; k++)
        abias[k] = 0.05 * ff_n(&rs);

    double phase = 0, t = 0, next_sample = 0, seg_t0 = 0, wander = 0;
    double amp = 1, amp_v = 0, prev_fs[3] = { 0, 0, FF_G }, prev_w[3] = { 0 };
    int seg = 0;
    /* trot step truth */
    hm_zone cur = { -1, 0, -1e9, 1e9, 1e9 }, prev = cur;
    /* fidgeting: burst centre, width, frequency, direction, size */
    double fb_t = -10, fb_w = 0.2, fb_f = 3, fb_amp = 0, fb_dir[3] = { 0 }, fb_rot[3] = { 0 };
    double sway_ph = 0;

    while (t < total) {
        while (seg < nseg - 1 && t >= seg_t0 + segs[seg].dur) {
            seg_t0 += segs[seg].dur;
            seg++;
        }
        const ff_seg *S = &segs[seg];
        double u = (t - seg_t0) / S->dur;
        double f = S->f0 + (S->f1 - S->f0) * u;
        int g = S->gait;
        wander += -wander * FF_DT / 2.0 + 0.02 * sqrt(FF_DT) * ff_n(&rs);
        double fi = f * (1 + wander);
        double prev_phase = phase;
        phase += (g == FF_HALT ? 1.0 : fi) * FF_DT;
        /* the push varies from stride to stride: smoothly (a random
         * walk pulled back over 0.5 s), never as a jump within a step */
        amp_v += -amp_v * FF_DT / 0.5 + 0.05 * sqrt(2 * FF_DT / 0.5) * ff_n(&rs);
        amp = 1 + amp_v;
        double ph = phase - floor(phase);

        /* truth */
        tr->gait_t[g] += FF_DT;
        tr->gait_ft[g] += f * FF_DT;
        int rein_i = S->turn > 0 ? 0 : S->turn < 0 ? 1 : 2;
        if (g != FF_HALT) {
            if (S->turn > 0) tr->rein_l += FF_DT;
            else if (S->turn < 0) tr->rein_r += FF_DT;
            else tr->rein_s += FF_DT;
        }
        if (g == FF_TROT)
            tr->trot_t[rein_i] += FF_DT;
        if (g == FF_CANTER) {
            if (S->lead > 0) tr->lead_l += FF_DT; else tr->lead_r += FF_DT;
        }

        /* this gait, cross-faded with the neighbour within 0.5 s of a boundary */
        double sig[HM_NSIG], nb[HM_NSIG];
        hm_gait_signals(G, g, S, fi, ph, amp, sig);
        double into = t - seg_t0, left = seg_t0 + S->dur - t;
        const ff_seg *N = NULL;
        double wN = 0;
        if (into < 0.5 && seg > 0) {
            N = &segs[seg - 1];
            wN = 0.5 - into;
        } else if (left < 0.5 && seg < nseg - 1) {
            N = &segs[seg + 1];
            wN = 0.5 - left;
        }
        if (N && N->gait != g) {
            hm_gait_signals(G, N->gait, N, fi, ph, amp, nb);
            for (int s = 0; s < HM_NSIG; s++)
                sig[s] = (1 - wN) * sig[s] + wN * nb[s];
        }
        double vert = sig[HM_V] * FF_G, fwd = sig[HM_X] * FF_G, lat = sig[HM_Y] * FF_G;
        double wr[3] = { sig[HM_R], sig[HM_P], sig[HM_Z] };

        if (g == FF_HALT) {
            /* a slow weight shift, and in a restless halt the fidgeting */
            sway_ph += 0.3 * FF_DT;
            lat += 0.02 * FF_G * sin(2 * M_PI * sway_ph);
            if (S->restless) {
                if (t - fb_t > 3 * fb_w && ff_u(&rs) < 0.5 * FF_DT) {
                    fb_w = 0.15 + 0.25 * ff_u(&rs);
                    fb_t = t + 2 * fb_w;
                    fb_f = 1.5 + 3.5 * ff_u(&rs);
                    fb_amp = (0.05 + 0.25 * ff_u(&rs)) * FF_G;
                    double n2 = 0;
                    for (int k = 0; k < 3; k++) {
                        fb_dir[k] = ff_n(&rs);
                        fb_rot[k] = 0.3 * ff_n(&rs);
                        n2 += fb_dir[k] * fb_dir[k];
                    }
                    for (int k = 0; k < 3; k++)
                        fb_dir[k] /= sqrt(n2);
                }
                double x = (t - fb_t) / fb_w;
                if (fabs(x) < 3) {
                    double e = exp(-0.5 * x * x) * sin(2 * M_PI * fb_f * (t - fb_t));
                    fwd += fb_amp * fb_dir[0] * e;
                    lat += fb_amp * fb_dir[1] * e;
                    vert += fb_amp * fb_dir[2] * e;
                    for (int k = 0; k < 3; k++)
                        wr[k] += fb_rot[k] * e;
                }
            }
        }
        if (vert < -FF_G)
            vert = -FF_G; /* nothing pulls a trunk down faster than gravity */

        /* trot truth: each bounce's zone spans a quarter stride either side
         * of it (phase 0: left diagonal, 0.5: right); a step is its peak
         * and the trough after it, up to the next diagonal's peak: the push
         * and the suspension it launches (footfall.h's step, contact to
         * the next contact) */
        if (g == FF_TROT) {
            double q = ph + 0.25;
            q -= floor(q);
            double pq = prev_phase - floor(prev_phase) + 0.25;
            pq -= floor(pq);
            int cross = q < pq ? 0 : (pq < 0.5 && q >= 0.5) ? 1 : -1;
            if (cross >= 0) {
                if (prev.diag >= 0 && cur.diag >= 0)
                    hm_step_close(tr, &prev, cur.head_min);
                prev = cur;
                cur = (hm_zone){ cross, rein_i, -1e9, 1e9, 1e9 };
            }
            if (cur.diag >= 0)
                hm_zone_add(&cur, vert);
        } else {
            cur.diag = prev.diag = -1;
        }

        /* circles: yaw rate, centripetal force, a lean into the circle */
        double v = g == FF_HALT ? 0 : ff_stride_len[g] * f;
        double Om = S->turn && g != FF_HALT ? S->turn * v / S->radius : 0;
        double lean = S->turn && g != FF_HALT ? atan(v * v / (S->radius * FF_G)) * S->turn : 0;
        double fh[3] = { fwd, lat + Om * v, FF_G + vert }, wh[3] = { 0, 0, Om + wr[2] };
        double Rt[3][3], ft[3], wt[3], fs[3], ws[3];
        ff_rot(-lean, 0, 0, Rt);
        ff_mul_t(Rt, fh, ft);
        ff_mul_t(Rt, wh, wt);
        wt[0] += wr[0];
        wt[1] += wr[1];
        ff_mul_t(M, ft, fs);
        ff_mul_t(M, wt, ws);

        double t1 = t + FF_DT;
        while (next_sample <= t1 && next_sample < total) {
            double a = (next_sample - t) / FF_DT;
            int in_gap = 0;
            for (int i = 0; i < ng; i++)
                in_gap |= next_sample >= gs[i] && next_sample < ge[i];
            if (!in_gap) {
                double sa[3], sw[3];
                for (int k = 0; k < 3; k++) {
                    gbias[k] += o->gyro_drift * sqrt(1.0 / o->rate) * ff_n(&rs);
                    gbias[k] = gbias[k] > 0.05 ? 0.05 : gbias[k] < -0.05 ? -0.05 : gbias[k];
                    sa[k] = prev_fs[k] + a * (fs[k] - prev_fs[k]) + abias[k] + o->acc_noise * ff_n(&rs);
                    if (o->sat_g > 0) {
                        double lim = o->sat_g * FF_G;
                        sa[k] = sa[k] > lim ? lim : sa[k] < -lim ? -lim : sa[k];
                    }
                    sw[k] = prev_w[k] + a * (ws[k] - prev_w[k]) + gbias[k] + o->gyro_noise * ff_n(&rs);
                }
                ff_push(out, next_sample, sa, sw);
            }
            next_sample += (1.0 + o->jitter * (2 * ff_u(&rs) - 1)) / o->rate;
        }
        memcpy(prev_fs, fs, sizeof fs);
        memcpy(prev_w, ws, sizeof ws);
        t = t1;
    }
    return 0;
}

#endif /* COMPUTE_TESTS_HARMONIC_H */
