/*
 * footfall.h — a second, independently modelled session generator for the
 * compute tests (not the product's synth, and written from the physics, not
 * from the detector).  Included by one test file only.
 *
 * Model.  Each hoof contact is a stance of duty·T seconds at its place in
 * the gait's beat pattern (phase offsets of a stride, below).  During stance
 * the hoof's vertical ground reaction is a half sine, its longitudinal one a
 * braking-then-propulsion full sine, its lateral one a small medial push;
 * the load share of fore limbs is 58 %.  The peak force is set so the mean
 * vertical force over a stride equals body weight (m·g), which is what keeps
 * a horse's centre of mass at a constant mean height; suspension phases
 * (no hoof down) are free fall.  Each contact also rings a damped 18 Hz
 * impact transient.  The trunk is the sum of those forces through a soft
 * tissue/saddle low pass (7 Hz, ζ 0.7); a rider (15 % of the mass) sits on a
 * 3 Hz spring and pushes back on the trunk.  Roll and pitch come from the
 * moments of the vertical forces about the trunk's centre (limbs at ±0.2 m
 * laterally, ±0.9 m longitudinally) through a damped spring.  Circles add
 * yaw rate v/r and a lean into the circle (atan(v²/(r·g))).
 *
 *   walk   4-beat LH 0, LF .25, RH .5, RF .75, duty .62 (no suspension)
 *   trot   2-beat LF+RH 0, RF+LH .5, duty .38 (two suspensions), collected .46
 *   canter 3-beat (left lead) RH 0, LH+RF .28, LF .52, duty .36, suspension
 *   gallop 4-beat (left lead) RH 0, LH .12, RF .40, LF .52, duty .27
 *
 * The right lead mirrors left and right.  The sensor then sees the trunk
 * through a mounting rotation (yaw about z, pitch about y, roll about x),
 * white noise, a constant accelerometer bias, a random-walk gyro bias,
 * per-axis saturation, jittered sample times and gaps.
 *
 * Rising trot.  In rising (posting) trot the rider sits in the saddle
 * through one diagonal's stance and stands in the stirrups through the
 * other's, so the rider's centre of mass moves up and down once per stride
 * (half the step frequency) and lands in the saddle on every other step.
 * Modelled as the rider's rest height above the seat p(t) = h·(1 − cos 2π(φ −
 * φs))/2, lowest at mid-stance of the sitting diagonal (φs), h = 0.12 m (the
 * seat leaves the saddle by about a hand's breadth), tracked through the
 * same 3 Hz leg/seat spring as in sitting trot, plus the seat's contact with
 * the saddle (5 Hz, ζ 0.3: the vertical resonance of a seated person is
 * 4-6 Hz, Griffin, Handbook of Human Vibration, 1990) whenever the rider is
 * below the seated height: the landing.  The trunk takes the reaction of
 * both.  The literature this follows: forces on the horse's back in the
 * sitting phase of rising trot are clearly above those of the standing
 * phase (Peham et al. 2010, Vet J; de Cocq et al. 2009, EVJ), the sitting
 * diagonal's limbs carry more load (Roepstorff et al. 2009, EVJ), and
 * rising trot alone makes a sound horse's trunk and pelvis move
 * asymmetrically by as much as a mild lameness (Persson-Sjodin et al. 2018,
 * PLoS ONE).  Magnitudes here are chosen from those, not fitted to the
 * detector: with a 15 % rider a sound horse's two diagonal step amplitudes
 * differ by about 7 % in working trot and 14 % in collected trot
 * (test_compute_rising prints it) — of the order of a 5-15 % lameness, not
 * beyond it.  Which diagonal's trunk acceleration grows depends on how the
 * rider lands (with this seat the rising diagonal's; a stiff 15 Hz landing
 * makes it the sitting one's, larger still but mostly above the band a
 * 25 Hz analysis sees), so the detector must not rely on the sign.  A
 * change of diagonal ("sitting twice") is the rider staying down for one
 * more step: for one stride after a segment whose sitting diagonal
 * differs, p is the lower of the old and the new course.
 * In sitting trot (post 0) nothing of this runs: those sessions are
 * sample for sample what they were.
 *
 * Truth is physical: segment times, the stride frequency that was driven,
 * the circle's turning sense, the lead, the jump's height, and for the trot
 * the peak-to-trough vertical acceleration of every diagonal step measured
 * on the clean world-vertical trunk acceleration, the rising-trot time, the
 * posting steps' amplitudes and how often the rider changed diagonal.
 */
#ifndef COMPUTE_TESTS_FOOTFALL_H
#define COMPUTE_TESTS_FOOTFALL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FF_G 9.80665
#define FF_DT 0.001 /* the body is integrated at 1 kHz */

enum { FF_HALT, FF_WALK, FF_TROT, FF_CANTER, FF_GALLOP, FF_NGAITS };

typedef struct ff_seg {
    int    gait;
    double dur;            /* s */
    double f0, f1;         /* stride Hz at the start and the end (a tiring horse drifts) */
    int    turn;           /* +1 circle turning left, -1 right, 0 straight */
    double radius;         /* m */
    int    lead;           /* canter/gallop: +1 left lead, -1 right lead */
    int    collected;      /* trot: collected (longer stance, less bounce) */
    double diag_right;     /* trot: right diagonal (RF+LH) push relative to left, 1 = even */
    double jump_h;         /* > 0: a jump of this height (m) in the middle of the segment */
    int    restless;       /* halt: stamping, weight shifts, head tosses */
    int    post;           /* trot: 0 sitting trot; rising (posting) trot with the
                            * rider sitting on the left diagonal (LF+RH) +1, on
                            * the right diagonal (RF+LH) -1 (see "Rising trot") */
} ff_seg;

typedef struct ff_opts {
    uint64_t seed;
    double rate, jitter;   /* Hz; jitter as a fraction of the period (uniform ±) */
    int    ngaps;          /* gaps of 0.3..gap_max s */
    double gap_max;
    double roll, pitch, yaw; /* mounting, degrees */
    double acc_noise, gyro_noise, gyro_drift; /* m/s², rad/s, rad/s/√s */
    double sat_g;          /* per-axis accelerometer clip, g (0: none) */
} ff_opts;

typedef struct ff_truth {
    double duration;
    double gait_t[FF_NGAITS], gait_ft[FF_NGAITS]; /* time, ∫ stride Hz dt */
    double rein_l, rein_r, rein_s;                 /* moving time */
    double lead_l, lead_r, counter;                /* canter (and gallop for counter) */
    double trot_t[3];                              /* trot time: 0 left rein, 1 right, 2 straight */
    double diagA[3][2];                            /* Σ peak-to-trough per [rein][L, R diagonal] */
    long   diagN[3][2];
    double rising_t;                               /* rising (posting) trot time */
    double riseA[3][2];                            /* diagA, posting steps only */
    long   riseN[3][2];
    /* diagA and riseA on the clean vertical through a 20 ms moving average:
     * the band a 100 Hz logger resolves (its anti-alias filter's); a
     * posting rider makes one diagonal's peak sharper than that, and the
     * two truths then differ (footfall_truth.h) */
    double diagA20[3][2], riseA20[3][2];
    int    diag_changes;                           /* the rider changed the sitting diagonal */
    int    jumps;
    double jump_h[16];
    double gap_s;
} ff_truth;

typedef struct ff_data {
    size_t  n, cap;
    double *t, *a[3], *w[3];
} ff_data;

/* ---- random numbers: xorshift64* and Box-Muller ------------------------- */
static double ff_u(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static double ff_n(uint64_t *s)
{
    double u1 = ff_u(s), u2 = ff_u(s);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* second-order section: x'' = w²(u − x) − 2ζw x' (unity DC gain), semi-implicit Euler */
typedef struct ff_lp { double x, v, w, z; } ff_lp;
static double ff_lp_step(ff_lp *f, double u)
{
    f->v += (f->w * f->w * (u - f->x) - 2 * f->z * f->w * f->v) * FF_DT;
    f->x += f->v * FF_DT;
    return f->x;
}

/* hoof: side +1 left, -1 right; fore 1/0; stance offset within a stride */
typedef struct ff_hoof { int side, fore; double off; } ff_hoof;

static int ff_pattern(int gait, int lead, int collected, ff_hoof h[4], double *duty)
{
    /* lead +1 left: the left fore leads (lands last) */
    int L = lead >= 0 ? 1 : -1;
    switch (gait) {
    case FF_WALK:
        h[0] = (ff_hoof){ +1, 0, 0.00 }; h[1] = (ff_hoof){ +1, 1, 0.25 };
        h[2] = (ff_hoof){ -1, 0, 0.50 }; h[3] = (ff_hoof){ -1, 1, 0.75 };
        *duty = 0.62;
        return 4;
    case FF_TROT:
        h[0] = (ff_hoof){ +1, 1, 0.0 }; h[1] = (ff_hoof){ -1, 0, 0.0 };   /* left diagonal */
        h[2] = (ff_hoof){ -1, 1, 0.5 }; h[3] = (ff_hoof){ +1, 0, 0.5 };   /* right diagonal */
        *duty = collected ? 0.46 : 0.38;
        return 4;
    case FF_CANTER:
        h[0] = (ff_hoof){ -L, 0, 0.00 }; h[1] = (ff_hoof){ L, 0, 0.28 };
        h[2] = (ff_hoof){ -L, 1, 0.28 }; h[3] = (ff_hoof){ L, 1, 0.52 };
        *duty = 0.36;
        return 4;
    case FF_GALLOP:
        h[0] = (ff_hoof){ -L, 0, 0.00 }; h[1] = (ff_hoof){ L, 0, 0.12 };
        h[2] = (ff_hoof){ -L, 1, 0.40 }; h[3] = (ff_hoof){ L, 1, 0.52 };
        *duty = 0.27;
        return 4;
    default:
        *duty = 1;
        return 0;
    }
}

static const double ff_stride_len[FF_NGAITS] = { 0, 1.7, 2.6, 3.1, 5.0 }; /* m per stride */

static void ff_push(ff_data *d, double t, const double a[3], const double w[3])
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 65536;
        d->t = realloc(d->t, nc * sizeof(double));
        for (int k = 0; k < 3; k++) {
            d->a[k] = realloc(d->a[k], nc * sizeof(double));
            d->w[k] = realloc(d->w[k], nc * sizeof(double));
        }
        d->cap = nc;
    }
    d->t[d->n] = t;
    for (int k = 0; k < 3; k++) {
        d->a[k][d->n] = a[k];
        d->w[k][d->n] = w[k];
    }
    d->n++;
}

static void ff_free(ff_data *d)
{
    free(d->t);
    for (int k = 0; k < 3; k++) {
        free(d->a[k]);
        free(d->w[k]);
    }
    memset(d, 0, sizeof *d);
}

/* v' = R v with R = Rz(yaw) Ry(pitch) Rx(roll); transposed = inverse */
static void ff_rot(double roll, double pitch, double yaw, double R[3][3])
{
    double cr = cos(roll), sr = sin(roll), cp = cos(pitch), sp = sin(pitch);
    double cy = cos(yaw), sy = sin(yaw);
    R[0][0] = cy * cp; R[0][1] = cy * sp * sr - sy * cr; R[0][2] = cy * sp * cr + sy * sr;
    R[1][0] = sy * cp; R[1][1] = sy * sp * sr + cy * cr; R[1][2] = sy * sp * cr - cy * sr;
    R[2][0] = -sp;     R[2][1] = cp * sr;                R[2][2] = cp * cr;
}

static void ff_mul_t(const double R[3][3], const double v[3], double o[3])
{
    for (int i = 0; i < 3; i++)
        o[i] = R[0][i] * v[0] + R[1][i] * v[1] + R[2][i] * v[2];
}

/* The session's gaps (up to 8) spread over its middle 80 %: [gs, ge) with
 * no samples, 0.3..gap_max s each, their total in tr->gap_s.  Returns how
 * many. */
static int ff_gaps(const ff_opts *o, double total, uint64_t *rs, double gs[8], double ge[8],
                   ff_truth *tr)
{
    int ng = o->ngaps > 8 ? 8 : o->ngaps;
    for (int i = 0; i < ng; i++) {
        gs[i] = total * (0.1 + 0.8 * (i + ff_u(rs) * 0.5) / ng);
        ge[i] = gs[i] + 0.3 + (o->gap_max - 0.3) * ff_u(rs);
        tr->gap_s += ge[i] - gs[i];
    }
    return ng;
}

/* Generates the session.  Returns 0. */
static int ff_generate(const ff_seg *segs, int nseg, const ff_opts *o, ff_data *out, ff_truth *tr)
{
    uint64_t rs = o->seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    double total = 0;
    memset(tr, 0, sizeof *tr);
    memset(out, 0, sizeof *out);
    for (int i = 0; i < nseg; i++)
        total += segs[i].dur;
    tr->duration = total;

    /* gaps: [gs, ge) with no samples */
    double gs[8] = { 0 }, ge[8] = { 0 };
    int ng = ff_gaps(o, total, &rs, gs, ge, tr);

    double M[3][3];
    ff_rot(o->roll * M_PI / 180, o->pitch * M_PI / 180, o->yaw * M_PI / 180, M);
    double abias[3], gbias[3] = { 0 };
    for (int k = 0; k < 3; k++)
        abias[k] = 0.05 * ff_n(&rs);

    ff_lp body_z = { FF_G, 0, 2 * M_PI * 7, 0.7 }, body_x = { 0, 0, 2 * M_PI * 7, 0.7 },
          body_y = { 0, 0, 2 * M_PI * 7, 0.7 };
    ff_lp ring_z = { 0, 0, 2 * M_PI * 18, 0.12 }, ring_x = { 0, 0, 2 * M_PI * 18, 0.12 };
    double rider_x = 0, rider_v = 0; /* rider displacement relative to the saddle */
    const double rw = 2 * M_PI * 3, rz = 0.3, rmass = 0.15;
    /* rising trot: seat excursion, saddle contact; the sitting diagonal of
     * the last posting segment and when the current one began */
    const double post_h = 0.12, sw_ = 2 * M_PI * 5, sz = 0.3;
    int last_post = 0, post_from = 0;
    double post_t0 = -1;
    double roll = 0, roll_v = 0, pitch = 0, pitch_v = 0, yawosc_v = 0;
    const double wr = 2 * M_PI * 2.2, zr = 0.35;

    double phase = 0, t = 0, next_sample = 0;
    int seg = 0;
    double seg_t0 = 0;
    double prev_fs[3] = { 0, 0, FF_G }, prev_w[3] = { 0 };
    double prev_vert = FF_G;
    /* trot diagonal step tracking */
    double step_max = -1e9, step_min = 1e9, step_max20 = -1e9, step_min20 = 1e9;
    double ma20[20] = { 0 }, ma20_sum = 0;
    int ma20_i = 0, ma20_n = 0;
    int step_diag = -1, step_rein = 0, step_post = 0;
    /* restless halt events */
    double ev_t = -1, ev_amp = 0, ev_dur = 0, ev_lat = 0, ev_yaw = 0;
    /* jump */
    int jumped = 0;
    double jump_t0 = -1, jump_air = 0;
    double seg_f_base = 1.0;

    while (t < total) {
        while (seg < nseg - 1 && t >= seg_t0 + segs[seg].dur) {
            seg_t0 += segs[seg].dur;
            seg++;
            jumped = 0;
        }
        const ff_seg *S = &segs[seg];
        double u = (t - seg_t0) / S->dur;
        double f = S->f0 + (S->f1 - S->f0) * u;
        if (seg_f_base != f)
            seg_f_base = f;
        int g = S->gait;
        double v = g == FF_HALT ? 0 : ff_stride_len[g] * f;
        double Omega = (S->turn && g != FF_HALT) ? S->turn * v / S->radius : 0;
        /* into the circle, + toward the left: the trunk lines up with the
         * mean of gravity and the centripetal force */
        double lean = (S->turn && g != FF_HALT) ? atan(v * v / (S->radius * FF_G)) * S->turn : 0;

        /* truth bookkeeping */
        tr->gait_t[g] += FF_DT;
        tr->gait_ft[g] += f * FF_DT;
        if (g != FF_HALT) {
            if (S->turn > 0) tr->rein_l += FF_DT;
            else if (S->turn < 0) tr->rein_r += FF_DT;
            else tr->rein_s += FF_DT;
        }
        if (g == FF_CANTER) {
            if (S->lead > 0) tr->lead_l += FF_DT; else tr->lead_r += FF_DT;
        }
        if ((g == FF_CANTER || g == FF_GALLOP) && S->turn && S->turn != S->lead)
            tr->counter += FF_DT;
        int rein_i = S->turn > 0 ? 0 : S->turn < 0 ? 1 : 2;
        if (g == FF_TROT)
            tr->trot_t[rein_i] += FF_DT;
        int posting = g == FF_TROT && S->post != 0;
        if (posting) {
            tr->rising_t += FF_DT;
            if (S->post != last_post) {
                if (last_post != 0) {
                    tr->diag_changes++;
                    post_from = last_post;
                    post_t0 = t;
                }
                last_post = S->post;
            }
        }

        /* forces per unit mass, in the heading frame (x fwd, y left, z up) */
        double Fz = 0, Fx = 0, Fy = 0, Mx = 0, My = 0, Mz = 0;
        double prev_phase = phase;
        phase += f * FF_DT;
        int in_jump = 0;
        if (S->jump_h > 0 && !jumped && u >= 0.5) {
            jumped = 1;
            jump_t0 = t;
            jump_air = sqrt(8 * S->jump_h / FF_G);
            if (tr->jumps < 16)
                tr->jump_h[tr->jumps] = S->jump_h;
            tr->jumps++;
        }
        if (jump_t0 >= 0 && t - jump_t0 < 0.3 + jump_air + 0.4) {
            double jt = t - jump_t0;
            in_jump = 1;
            if (jt < 0.3)
                Fz = FF_G * (1 + 0.9 * sin(M_PI * jt / 0.3));
            else if (jt < 0.3 + jump_air)
                Fz = 0;
            else
                Fz = FF_G * (1 + 1.3 * sin(M_PI * (jt - 0.3 - jump_air) / 0.4));
            Fx = 0;
        } else if (g == FF_HALT) {
            Fz = FF_G;
            if (S->restless) {
                if (ev_t < 0 || t - ev_t > ev_dur + 0.5 + 3 * ff_u(&rs)) {
                    if (ff_u(&rs) < 0.002) { /* ~2 events per second of idle at 1 kHz */
                        ev_t = t;
                        ev_dur = 0.25 + 0.5 * ff_u(&rs);
                        ev_amp = 0.8 + 2.2 * ff_u(&rs);
                        ev_lat = (ff_u(&rs) - 0.5) * 2.0;
                        ev_yaw = (ff_u(&rs) - 0.5) * 0.5;
                    }
                }
                if (ev_t >= 0 && t - ev_t < ev_dur) {
                    double s = sin(M_PI * (t - ev_t) / ev_dur);
                    Fz += ev_amp * sin(2 * M_PI * (t - ev_t) / ev_dur);
                    Fy += ev_lat * s;
                    Fx += 0.5 * ev_amp * s * (ff_u(&rs) - 0.5);
                    Mz += ev_yaw * s * 20;
                }
            }
        } else {
            ff_hoof h[4];
            double duty;
            int nh = ff_pattern(g, S->lead, S->collected, h, &duty);
            double wsum = 0;
            for (int k = 0; k < nh; k++)
                wsum += (h[k].fore ? 0.58 : 0.42) * 0.5;
            /* walk: the M-shaped (two-peaked) vertical force of a walking
             * limb, sin(πs) + 0.4·sin(3πs); other gaits a half sine.  Mean
             * over a stride: duty·(2/π)(1 + mshape/3). */
            double mshape = g == FF_WALK ? 0.4 : 0.0;
            double P = FF_G / (wsum * duty * 2 / M_PI * (1 + mshape / 3));
            for (int k = 0; k < nh; k++) {
                double wk = (h[k].fore ? 0.58 : 0.42) * 0.5;
                if (g == FF_TROT && h[k].off > 0.25)
                    wk *= S->diag_right > 0 ? S->diag_right : 1;
                double fr = phase - h[k].off;
                fr -= floor(fr);
                double pf = prev_phase - h[k].off;
                pf -= floor(pf);
                if (fr < pf) { /* contact: ring the impact transient */
                    ring_z.v += 35.0 * wk * (g == FF_WALK ? 0.4 : 1.0);
                    ring_x.v += 15.0 * wk;
                }
                if (fr < duty) {
                    double s = fr / duty;
                    double fz = P * wk * (sin(M_PI * s) + mshape * sin(3 * M_PI * s));
                    Fz += fz;
                    Fx += -0.18 * P * wk * sin(2 * M_PI * s);
                    Fy += -h[k].side * 0.06 * P * wk * sin(M_PI * s);
                    Mx += (fz - FF_G * 0.25) * 0.2 * h[k].side;
                    My += fz * (h[k].fore ? -0.9 : 0.9);
                    Mz += -0.18 * P * wk * sin(2 * M_PI * s) * 0.2 * h[k].side;
                }
            }
            if (g == FF_TROT && S->diag_right > 0 && S->diag_right != 1) {
                /* keep the mean vertical force at body weight */
                double mean = (1 + S->diag_right) / 2;
                Fz = FF_G + (Fz - FF_G * mean) / mean;
            }
        }

        /* body: soft tissue and saddle low pass, impact ring, rider spring */
        double ring = ff_lp_step(&ring_z, 0);
        double ringx = ff_lp_step(&ring_x, 0);
        double az = ff_lp_step(&body_z, Fz);
        double ax = ff_lp_step(&body_x, Fx);
        double ay = ff_lp_step(&body_y, Fy);
        double trunk_dyn = az - FF_G;
        double vert;
        if (posting && !in_jump) {
            /* rising trot: the rider's rest height p(t), lowest at mid-stance
             * of the sitting diagonal (off 0 left, 0.5 right) */
            double duty = S->collected ? 0.46 : 0.38;
            double ph = phase - ((S->post > 0 ? 0.0 : 0.5) + duty / 2);
            double p = post_h * 0.5 * (1 - cos(2 * M_PI * ph));
            if (post_t0 >= 0 && t - post_t0 < 1 / f) { /* sitting twice */
                double po = phase - ((post_from > 0 ? 0.0 : 0.5) + duty / 2);
                double pold = post_h * 0.5 * (1 - cos(2 * M_PI * po));
                if (pold < p)
                    p = pold;
            }
            double fr = rw * rw * (p - rider_x) - 2 * rz * rw * rider_v;
            if (rider_x < 0) /* landing in the saddle */
                fr += -sw_ * sw_ * rider_x - 2 * sz * sw_ * rider_v;
            rider_v += (fr - trunk_dyn) * FF_DT;
            rider_x += rider_v * FF_DT;
            fr = rw * rw * (p - rider_x) - 2 * rz * rw * rider_v;
            if (rider_x < 0)
                fr += -sw_ * sw_ * rider_x - 2 * sz * sw_ * rider_v;
            vert = az - rmass * fr + ring;
        } else {
            double racc = -rw * rw * rider_x - 2 * rz * rw * rider_v - trunk_dyn;
            rider_v += racc * FF_DT;
            rider_x += rider_v * FF_DT;
            /* in a jump the rider goes with the horse (two-point seat) */
            vert = az + (in_jump ? 0 : rmass * (rw * rw * rider_x + 2 * rz * rw * rider_v)) + ring;
        }
        double fwd = ax + ringx;

        /* trunk attitude: roll/pitch springs driven by the limb moments */
        double racc2 = 0.9 * Mx - wr * wr * roll - 2 * zr * wr * roll_v;
        roll_v += racc2 * FF_DT;
        roll += roll_v * FF_DT;
        double pacc = 0.05 * My - wr * wr * pitch - 2 * zr * wr * pitch_v;
        pitch_v += pacc * FF_DT;
        pitch += pitch_v * FF_DT;
        yawosc_v += (0.6 * Mz - 2 * 0.8 * 12.0 * yawosc_v) * FF_DT;

        ma20_sum += vert - ma20[ma20_i];
        ma20[ma20_i] = vert;
        ma20_i = (ma20_i + 1) % 20;
        if (ma20_n < 20)
            ma20_n++;
        /* trot truth: peak-to-trough of the clean vertical per diagonal step */
        if (g == FF_TROT && !in_jump) {
            double fr = phase - floor(phase), pf = prev_phase - floor(prev_phase);
            int cross = (fr < pf) ? 0 : (pf < 0.5 && fr >= 0.5) ? 1 : -1;
            if (cross >= 0) {
                if (step_diag >= 0) {
                    tr->diagA[step_rein][step_diag] += step_max - step_min;
                    tr->diagA20[step_rein][step_diag] += step_max20 - step_min20;
                    tr->diagN[step_rein][step_diag]++;
                    if (step_post) {
                        tr->riseA[step_rein][step_diag] += step_max - step_min;
                        tr->riseA20[step_rein][step_diag] += step_max20 - step_min20;
                        tr->riseN[step_rein][step_diag]++;
                    }
                }
                step_diag = cross;
                step_rein = rein_i;
                step_post = posting;
                step_max = step_max20 = -1e9;
                step_min = step_min20 = 1e9;
            }
            if (step_diag >= 0) {
                if (vert > step_max) step_max = vert;
                if (vert < step_min) step_min = vert;
                if (ma20_n == 20) {
                    double v20 = ma20_sum / 20;
                    if (v20 > step_max20) step_max20 = v20;
                    if (v20 < step_min20) step_min20 = v20;
                }
            }
        } else {
            step_diag = -1;
        }

        /* specific force and rate in the trunk frame */
        double fh[3] = { fwd, ay, vert };
        /* centripetal: toward the centre, left for a left turn */
        if (!in_jump) /* no ground contact in flight, no centripetal force */
            fh[1] += Omega * v;
        double Rt[3][3];
        /* a positive angle about x lowers the right side (the limbs'
         * moments above use the same sense); the horse leans into the
         * circle, left side down on a left turn, so the lean enters
         * negated (it entered with the wrong sign before: out of the
         * circle) */
        ff_rot(roll - lean, pitch, 0, Rt);
        double ft[3], wt[3];
        ff_mul_t(Rt, fh, ft);
        double wh[3] = { 0, 0, Omega + yawosc_v };
        ff_mul_t(Rt, wh, wt);
        wt[0] += roll_v;
        wt[1] += pitch_v;
        /* sensor frame */
        double fs[3], ws[3];
        ff_mul_t(M, ft, fs);
        ff_mul_t(M, wt, ws);
        (void)prev_vert;
        prev_vert = vert;

        double t1 = t + FF_DT;
        while (next_sample <= t1 && next_sample < total) {
            double a = (next_sample - t) / FF_DT;
            int in_gap = 0;
            for (int i = 0; i < ng; i++)
                if (next_sample >= gs[i] && next_sample < ge[i])
                    in_gap = 1;
            if (!in_gap) {
                double sa[3], sw[3];
                for (int k = 0; k < 3; k++) {
                    double fa = prev_fs[k] + a * (fs[k] - prev_fs[k]);
                    double fw = prev_w[k] + a * (ws[k] - prev_w[k]);
                    gbias[k] += o->gyro_drift * sqrt(1.0 / o->rate) * ff_n(&rs);
                    if (gbias[k] > 0.05) gbias[k] = 0.05;
                    if (gbias[k] < -0.05) gbias[k] = -0.05;
                    sa[k] = fa + abias[k] + o->acc_noise * ff_n(&rs);
                    if (o->sat_g > 0) {
                        double lim = o->sat_g * FF_G;
                        if (sa[k] > lim) sa[k] = lim;
                        if (sa[k] < -lim) sa[k] = -lim;
                    }
                    sw[k] = fw + gbias[k] + o->gyro_noise * ff_n(&rs);
                }
                ff_push(out, next_sample, sa, sw);
            }
            double step = (1.0 + o->jitter * (2 * ff_u(&rs) - 1)) / o->rate;
            next_sample += step;
        }
        memcpy(prev_fs, fs, sizeof fs);
        memcpy(prev_w, ws, sizeof ws);
        t = t1;
    }
    return 0;
}

#endif /* COMPUTE_TESTS_FOOTFALL_H */
