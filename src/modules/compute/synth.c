/*
 * synth.c — deterministic synthetic riding sessions with known ground truth.
 *
 * A plan "walk:120,trot-left:60,canter-right:45,jump:1.1,halt:20" is played
 * sample by sample: a stride phase advances at the gait's stride frequency
 * (walk ≈0.85 Hz, trot ≈1.4, canter ≈1.7, gallop ≈2.1, jittered ±3% per
 * segment and wandering ±1% within it); each gait has its own harmonic
 * pattern of vertical, forward and lateral acceleration and of roll/pitch
 * rate; turns add yaw rate and centripetal acceleration; a jump is a push,
 * a ballistic flight (no specific force) and a landing.  Gravity, Gaussian
 * sensor noise, a random-walk gyro bias, a constant accelerometer bias and a
 * mounting rotation make it look like a real export.  Seeded xoshiro256**:
 * the same options give the same bytes.  docs/compute.md "synth".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compute-internal.h"

#define MAX_SEGS 4096
#define JUMP_PUSH 0.30
#define JUMP_RAMP 0.02
#define JUMP_LAND 0.40

typedef struct rng { uint64_t s[4]; int have; double spare; } rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next64(rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return res;
}

static double uni(rng *r) { return (double)(next64(r) >> 11) * 0x1.0p-53; }

static double gauss(rng *r)
{
    if (r->have) {
        r->have = 0;
        return r->spare;
    }
    double u1 = uni(r), u2 = uni(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    double m = sqrt(-2 * log(u1));
    r->spare = m * sin(2 * M_PI * u2);
    r->have = 1;
    return m * cos(2 * M_PI * u2);
}

typedef struct seg {
    int    gait;      /* COMPUTE_* */
    int    rein;      /* +1 left, -1 right, 0 straight */
    double start, dur;
    double stride_hz, amp;
    double jump_h;    /* > 0: a jump segment (gait/rein inherited) */
    double air;
} seg;

static const double base_hz[COMPUTE_NGAITS] = { 0, 0.85, 1.4, 1.7, 2.1 };
static const double speed[COMPUTE_NGAITS] = { 0, 1.6, 3.5, 5.5, 10.0 };
static const double radius[COMPUTE_NGAITS] = { 10, 10, 10, 10, 30 };

static int parse_plan(const char *plan, rng *r, seg *segs, size_t *nseg, char *err, size_t errlen)
{
    const char *p = plan;
    size_t n = 0;
    double t = 0;
    int last_gait = COMPUTE_CANTER, last_rein = 0;

    if (!plan || !*plan) {
        snprintf(err, errlen, "plan: empty (expected e.g. \"walk:120,trot:300,jump:1.1\")");
        return KEEL_EINVAL;
    }
    while (*p) {
        char name[32];
        size_t nl = strcspn(p, ":,");
        if (nl == 0 || nl >= sizeof name || p[nl] != ':') {
            snprintf(err, errlen, "plan item %zu: expected <gait>[-left|-right]:<seconds> or jump:<metres> at '%.20s'", n + 1, p);
            return KEEL_EINVAL;
        }
        memcpy(name, p, nl);
        name[nl] = 0;
        p += nl + 1;
        double val;
        const char *nx;
        int isn;
        compute_parse_number(p, p + strcspn(p, ","), '.', 0, &val, &nx, &isn, NULL);
        if (isn || (*nx && *nx != ',')) {
            snprintf(err, errlen, "plan item %zu (%s): bad number '%.20s'", n + 1, name, p);
            return KEEL_EINVAL;
        }
        p = *nx ? nx + 1 : nx;
        if (n >= MAX_SEGS) {
            snprintf(err, errlen, "plan: more than %d items", MAX_SEGS);
            return KEEL_EINVAL;
        }
        seg *s = &segs[n];
        memset(s, 0, sizeof *s);
        if (strcmp(name, "jump") == 0) {
            if (!(val >= 0.2 && val <= 2.5)) {
                snprintf(err, errlen, "plan item %zu: jump height %g m out of range 0.2..2.5", n + 1, val);
                return KEEL_EINVAL;
            }
            s->jump_h = val;
            s->air = sqrt(8 * val / COMPUTE_G);
            s->dur = JUMP_PUSH + 2 * JUMP_RAMP + s->air + JUMP_LAND;
            s->gait = last_gait;
            s->rein = last_rein;
        } else {
            char *dash = strchr(name, '-');
            s->rein = 0;
            if (dash) {
                if (strcmp(dash, "-left") == 0) s->rein = 1;
                else if (strcmp(dash, "-right") == 0) s->rein = -1;
                else if (strcmp(dash, "-straight") != 0) {
                    snprintf(err, errlen, "plan item %zu: unknown direction '%s' (left, right, straight)", n + 1, dash + 1);
                    return KEEL_EINVAL;
                }
                *dash = 0;
            }
            s->gait = -1;
            for (int g = 0; g < COMPUTE_NGAITS; g++)
                if (strcmp(name, compute_gait_names[g]) == 0)
                    s->gait = g;
            if (s->gait < 0) {
                snprintf(err, errlen, "plan item %zu: unknown gait '%s' (halt, walk, trot, canter, gallop, jump)", n + 1, name);
                return KEEL_EINVAL;
            }
            if (!(val > 0 && val <= 86400)) {
                snprintf(err, errlen, "plan item %zu: duration %g s out of range (0, 86400]", n + 1, val);
                return KEEL_EINVAL;
            }
            if (s->gait == COMPUTE_HALT)
                s->rein = 0;
            s->dur = val;
            last_gait = s->gait == COMPUTE_HALT ? COMPUTE_CANTER : s->gait;
            last_rein = s->rein;
        }
        s->stride_hz = base_hz[s->gait] * (1 + 0.03 * (2 * uni(r) - 1));
        s->amp = 1 + 0.1 * (2 * uni(r) - 1);
        s->start = t;
        t += s->dur;
        n++;
        if (t > 86400.0 * 2) {
            snprintf(err, errlen, "plan: longer than 48 h");
            return KEEL_EINVAL;
        }
    }
    *nseg = n;
    return 0;
}

static double c(int k, double ph, double off) { return cos(2 * M_PI * k * ph + off); }

/* The trot symmetry this model has, by the field's definition: for each
 * diagonal step (the half stride around its peak) A = peak-to-trough of the
 * clean vertical acceleration; 100 − 100·|A1 − A2| / mean(A1, A2).  Read off
 * the waveform numerically, not from the envelope's parameter. */
static double trot_truth_symmetry(double asym)
{
    double amp[2];
    for (int st = 0; st < 2; st++) {
        double hi = -1e300, lo = 1e300;
        for (int i = 0; i < 1000; i++) {
            double ph = -0.25 + 0.5 * st + 0.5 * i / 1000.0;
            double env = 1 - asym * (1 - cos(2 * M_PI * ph)) / 2;
            double v = env * (4.5 * cos(4 * M_PI * ph) + 1.2 * cos(8 * M_PI * ph));
            if (v > hi) hi = v;
            if (v < lo) lo = v;
        }
        amp[st] = hi - lo;
    }
    return 100 - 100 * fabs(amp[0] - amp[1]) / ((amp[0] + amp[1]) / 2);
}

/* Body-frame specific force f[3] (x fwd, y left, z up) and rate w[3]. */
static void gait_signal(const seg *s, double ph, double t, double asym, double *f, double *w)
{
    double A = s->amp * (1 + 0.05 * sin(2 * M_PI * t / 7.3));
    double v = 0, fw = 0, lat = 0, roll = 0, pitch = 0, yawo = 0;
    int lead = s->rein >= 0 ? 1 : -1;

    switch (s->gait) {
    case COMPUTE_HALT:
        v = 0.05 * sin(2 * M_PI * 0.3 * t);
        lat = 0.05 * sin(2 * M_PI * 0.2 * t);
        roll = 0.01 * sin(2 * M_PI * 0.25 * t);
        break;
    case COMPUTE_WALK:
        v = A * (1.3 * c(2, ph, 0) + 0.35 * c(1, ph, 0.5) + 0.3 * c(4, ph, 0));
        fw = A * 0.8 * c(2, ph, 1.2);
        lat = A * 0.7 * sin(2 * M_PI * ph);
        roll = A * 0.12 * sin(2 * M_PI * ph + 0.4);
        pitch = A * 0.1 * c(2, ph, 0.8);
        yawo = 0.05 * sin(2 * M_PI * ph);
        break;
    case COMPUTE_TROT: {
        double env = 1 - asym * (1 - cos(2 * M_PI * ph)) / 2;
        v = A * env * (4.5 * c(2, ph, 0) + 1.2 * c(4, ph, 0));
        fw = A * 1.2 * c(2, ph, 1.0);
        lat = A * 1.2 * sin(2 * M_PI * ph);
        roll = A * 0.25 * sin(2 * M_PI * ph);
        pitch = A * 0.2 * c(2, ph, 0.5);
        yawo = 0.06 * sin(2 * M_PI * ph);
        break;
    }
    case COMPUTE_CANTER:
        v = A * (4.0 * c(1, ph, 0) + 2.0 * c(2, ph, 0.8) + 1.2 * c(3, ph, 1.9));
        fw = A * (2.0 * c(1, ph, 1.2) + 0.8 * c(2, ph, 0.3));
        lat = A * 0.6 * sin(2 * M_PI * ph + 0.7);
        /* roll against pitch on the left lead, with it on the right: the
         * load runs from the outside hind to the leading fore (lead.c) */
        roll = -A * 0.35 * lead * c(1, ph, 0.9);
        pitch = A * 0.4 * c(1, ph, 0.6);
        yawo = 0.05 * sin(2 * M_PI * ph + 0.3);
        break;
    case COMPUTE_GALLOP:
        /* 4-beat: the hind pair's push and then the fore pair's, two
         * pushes a stride — the second harmonic rivals the first, which a
         * canter's one broad push never has */
        v = A * (5.0 * c(1, ph, 0) + 4.5 * c(2, ph, 0.5) + 2.0 * c(3, ph, 1.2) + 1.0 * c(4, ph, 2.0));
        fw = A * 3.0 * c(1, ph, 1.0);
        lat = A * 0.8 * sin(2 * M_PI * ph + 0.4);
        roll = -A * 0.3 * lead * c(1, ph, 0.5);
        pitch = A * 0.5 * c(1, ph, 0.3);
        yawo = 0.04 * sin(2 * M_PI * ph);
        break;
    }
    double omega = s->gait == COMPUTE_HALT ? 0 : s->rein * speed[s->gait] / radius[s->gait];
    /* On a circle the horse leans in until gravity and the centripetal
     * acceleration v·ω add up along its trunk: the frame is rolled by
     * atan(v·ω / g), so the trunk's z is the mean specific force. */
    double c0 = speed[s->gait] * omega, bl = atan2(c0, COMPUTE_G);
    double cb = cos(bl), sb = sin(bl);
    double y0 = lat + c0, z0 = COMPUTE_G + v;
    f[0] = fw;
    f[1] = cb * y0 - sb * z0;
    f[2] = sb * y0 + cb * z0;
    w[0] = roll;
    w[1] = cb * pitch - sb * (omega + yawo);
    w[2] = sb * pitch + cb * (omega + yawo);
}

static void jump_signal(const seg *s, double tau, double *f, double *w)
{
    double t1 = JUMP_PUSH, t2 = t1 + JUMP_RAMP, t3 = t2 + s->air, t4 = t3 + JUMP_RAMP;
    f[0] = f[1] = 0;
    if (tau < t1) {
        f[2] = COMPUTE_G + 12 * sin(M_PI * tau / t1);
        f[0] = 3 * sin(M_PI * tau / t1);
    } else if (tau < t2) {
        f[2] = COMPUTE_G * (1 - (tau - t1) / JUMP_RAMP);
    } else if (tau < t3) {
        f[2] = 0;
    } else if (tau < t4) {
        f[2] = COMPUTE_G * (tau - t3) / JUMP_RAMP;
    } else {
        f[2] = COMPUTE_G + 18 * sin(M_PI * (tau - t4) / JUMP_LAND);
        f[0] = -4 * sin(M_PI * (tau - t4) / JUMP_LAND);
    }
    w[0] = 0;
    w[1] = 1.5 * sin(2 * M_PI * tau / s->dur);
    w[2] = 0;
}

static void fmt(char *buf, size_t *pos, double x, int prec, int comma)
{
    int n = snprintf(buf + *pos, 32, "%.*f", prec, x);
    if (comma)
        for (int i = 0; i < n; i++)
            if (buf[*pos + i] == '.')
                buf[*pos + i] = ',';
    *pos += (size_t)n;
}

static json_t *truth_json(const compute_synth_opts *o, const seg *segs, size_t n, double dur)
{
    double gt[COMPUTE_NGAITS] = { 0 }, gf[COMPUTE_NGAITS] = { 0 };
    double rl = 0, rr = 0, rs = 0, ll = 0, lr = 0;
    json_t *js = json_array(), *jumps = json_array(), *gaits = json_object();

    for (size_t i = 0; i < n; i++) {
        const seg *s = &segs[i];
        double d = s->start + s->dur > dur ? dur - s->start : s->dur;
        if (d <= 0)
            break;
        gt[s->gait] += d;
        gf[s->gait] += d * s->stride_hz;
        if (s->gait != COMPUTE_HALT) {
            if (s->rein > 0) rl += d;
            else if (s->rein < 0) rr += d;
            else rs += d;
        }
        if (s->gait == COMPUTE_CANTER) {
            if (s->rein >= 0) ll += d;
            else lr += d;
        }
        json_t *e = json_pack("{s:s,s:f,s:f,s:f,s:s}", "gait", compute_gait_names[s->gait],
                              "start", s->start, "end", s->start + d, "stride_hz", s->stride_hz,
                              "rein", s->rein > 0 ? "left" : s->rein < 0 ? "right" : "straight");
        if (s->gait == COMPUTE_CANTER || s->gait == COMPUTE_GALLOP)
            json_object_set_new(e, "lead", json_string(s->rein >= 0 ? "left" : "right"));
        if (s->jump_h > 0) {
            json_object_set_new(e, "jump_height_m", json_real(s->jump_h));
            json_array_append_new(jumps, json_pack("{s:f,s:f,s:f}", "t",
                                  s->start + JUMP_PUSH + JUMP_RAMP, "airtime_s", s->air,
                                  "height_m", s->jump_h));
        }
        json_array_append_new(js, e);
    }
    for (int g = 0; g < COMPUTE_NGAITS; g++)
        json_object_set_new(gaits, compute_gait_names[g],
                            json_pack("{s:f,s:f}", "time_s", gt[g], "cadence_spm",
                                      gt[g] > 0 ? 60 * gf[g] / gt[g] : 0.0));
    return json_pack("{s:I,s:f,s:f,s:f,s:{s:f,s:f,s:f},s:f,s:f,s:{s:f,s:f},s:o,s:o,"
                     "s:{s:f,s:f,s:f,s:f},s:f,s:{s:f,s:f},s:o,s:I,"
                     "s:{s:s,s:s,s:s,s:s}}",
                     "seed", (json_int_t)o->seed, "rate_hz", o->rate_hz, "noise", o->noise,
                     "drift", o->drift, "orientation", "roll_deg", o->roll_deg, "pitch_deg",
                     o->pitch_deg, "yaw_deg", o->yaw_deg, "trot_asym", o->trot_asym, "duration_s", dur, "noise_sigma",
                     "accel_ms2", 0.15 * o->noise, "gyro_rads", 0.01 * o->noise, "segments", js,
                     "gaits", gaits, "rein", "left_s", rl, "right_s", rr, "straight_s", rs,
                     "balance", compute_rein_balance(rl, rr), "trot_symmetry_pct",
                     gt[COMPUTE_TROT] > 0 ? trot_truth_symmetry(o->trot_asym) : 0.0,
                     "canter_lead", "left_s", ll, "right_s", lr, "jumps", jumps, "jump_count",
                     (json_int_t)json_array_size(jumps),
                     "units", "time", o->time_ms ? "ms" : "s", "accel", o->accel_g ? "g" : "m/s2",
                     "gyro", o->gyro_deg ? "deg/s" : "rad/s", "delimiter", o->semicolon ? ";" : ",");
}

int compute_synth(const compute_synth_opts *o, FILE *out, json_t **truth, char *err, size_t errlen)
{
    rng r = { { 0 }, 0, 0 };
    uint64_t x = o->seed;
    size_t nseg = 0;
    int rc = 0;
    seg *segs = malloc(sizeof *segs * MAX_SEGS);

    if (truth)
        *truth = NULL;
    if (!segs)
        return KEEL_ENOMEM;
    for (int i = 0; i < 4; i++)
        r.s[i] = splitmix64(&x);
    if (!(o->rate_hz >= 10 && o->rate_hz <= 1000) || !(o->noise >= 0 && o->noise <= 10) ||
        !(o->trot_asym >= 0 && o->trot_asym <= 0.5) || !(o->drift >= 0 && o->drift <= 10)) {
        snprintf(err, errlen, "rate must be 10..1000 Hz, noise 0..10, drift 0..10, trot asymmetry 0..0.5");
        rc = KEEL_EINVAL;
        goto out;
    }
    rc = parse_plan(o->plan, &r, segs, &nseg, err, errlen);
    if (rc < 0)
        goto out;
    double total = segs[nseg - 1].start + segs[nseg - 1].dur;
    size_t nsamp = (size_t)floor(total * o->rate_hz);
    if (nsamp < 2)
        nsamp = 2;
    double dur = (double)(nsamp - 1) / o->rate_hz;

    if (out) {
        double cy = cos(o->yaw_deg * M_PI / 180), sy = sin(o->yaw_deg * M_PI / 180);
        double cr = cos(o->roll_deg * M_PI / 180), sr = sin(o->roll_deg * M_PI / 180);
        double cp = cos(o->pitch_deg * M_PI / 180), sp = sin(o->pitch_deg * M_PI / 180);
        double sa = 0.15 * o->noise, sg = 0.01 * o->noise;
        double abias[3], gbias[3] = { 0, 0, 0 };
        double ascale = o->accel_g ? 1.0 / COMPUTE_G : 1.0, gscale = o->gyro_deg ? 180.0 / M_PI : 1.0;
        double dt = 1.0 / o->rate_hz, ph = 0, gstep = 0.0003 * o->drift * sqrt(dt);
        double glim = 0.02 * o->drift;
        char d = o->semicolon ? ';' : ',';
        char line[320];
        size_t si = 0;
        for (int k = 0; k < 3; k++)
            abias[k] = 0.05 * (2 * uni(&r) - 1);
        if (fprintf(out, "time%s%cax%cay%caz%cgx%cgy%cgz\n", o->time_ms ? "_ms" : "", d, d, d, d, d, d) < 0) {
            rc = KEEL_EIO;
            goto out;
        }
        for (size_t i = 0; i < nsamp; i++) {
            double t = (double)i * dt, f[3], w[3];
            while (si + 1 < nseg && t >= segs[si + 1].start)
                si++;
            const seg *s = &segs[si];
            ph += s->stride_hz * (1 + 0.01 * sin(2 * M_PI * t / 23.0)) * dt;
            ph -= floor(ph);
            if (s->jump_h > 0)
                jump_signal(s, t - s->start, f, w);
            else
                gait_signal(s, ph, t, o->trot_asym, f, w);
            for (int k = 0; k < 3; k++) {
                gbias[k] += gstep * gauss(&r);
                if (gbias[k] > glim) gbias[k] = glim;
                if (gbias[k] < -glim) gbias[k] = -glim;
            }
            /* mounting: rotate body vectors by yaw (about z), pitch (about y),
             * then roll (about x) */
            double v2[2][3];
            const double *src[2] = { f, w };
            for (int q = 0; q < 2; q++) {
                const double *b0 = src[q];
                double b[3] = { cy * b0[0] - sy * b0[1], sy * b0[0] + cy * b0[1], b0[2] };
                double x1 = cp * b[0] + sp * b[2], y1 = b[1], z1 = -sp * b[0] + cp * b[2];
                v2[q][0] = x1;
                v2[q][1] = cr * y1 + sr * z1;
                v2[q][2] = -sr * y1 + cr * z1;
            }
            size_t pos = 0;
            fmt(line, &pos, o->time_ms ? t * 1000 : t, o->time_ms ? 2 : 5, o->semicolon);
            for (int k = 0; k < 3; k++) {
                line[pos++] = d;
                fmt(line, &pos, (v2[0][k] + abias[k] + sa * gauss(&r)) * ascale, 4, o->semicolon);
            }
            for (int k = 0; k < 3; k++) {
                line[pos++] = d;
                fmt(line, &pos, (v2[1][k] + gbias[k] + sg * gauss(&r)) * gscale, 5, o->semicolon);
            }
            line[pos++] = '\n';
            if (fwrite(line, 1, pos, out) != pos) {
                snprintf(err, errlen, "write failed");
                rc = KEEL_EIO;
                goto out;
            }
        }
    }
    if (truth) {
        *truth = truth_json(o, segs, nseg, dur);
        if (!*truth)
            rc = KEEL_ENOMEM;
    }
out:
    free(segs);
    return rc;
}

int compute_synth_buffer(const compute_synth_opts *o, char **csv, size_t *len,
                         json_t **truth, char *err, size_t errlen)
{
    *csv = NULL;
    *len = 0;
    FILE *f = open_memstream(csv, len);
    if (!f)
        return KEEL_ENOMEM;
    int rc = compute_synth(o, f, truth, err, errlen);
    if (fclose(f) != 0 && rc == 0)
        rc = KEEL_ENOMEM;
    if (rc < 0) {
        free(*csv);
        *csv = NULL;
        *len = 0;
        if (truth && *truth) {
            json_decref(*truth);
            *truth = NULL;
        }
    }
    return rc;
}
