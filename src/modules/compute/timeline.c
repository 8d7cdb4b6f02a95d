/*
 * timeline.c — the sequence of analysed windows, in order, with one
 * decision that needs context: a window whose evidence is weak (a stride
 * that barely repeats and no clear sway reversal, gait.c) takes its gait
 * from its neighbours.
 *
 *   same gait on both sides          → that gait (the horse went on; its
 *                                      time and rein count, not its stride),
 *                                      unless it is at the sensor's noise and
 *                                      far calmer than both: a stop, halt
 *   a halt on either side            → halt (fidgeting next to a standstill)
 *   two different gaits of movement
 *   (decided by their own evidence)  → a transition: the gait whose energy
 *                                      it mostly holds (below)
 *   energy at the sensor's noise     → halt (aggregate.c: at_floor), also
 *                                      between two different gaits
 *   (a window far calmer than both gaits beside it is no change between
 *   them: it keeps its own reading, halt without rhythm, else the above)
 *   anything else                    → unclassified
 *
 * "Both sides" are the last final window before it and the first window
 * after it whose evidence is not weak, looked for at most
 * COMPUTE_TL_DEPTH - 1 windows ahead.  docs/compute.md "unclassified".
 *
 * A transition.  A window that holds the end of one gait and the start of
 * another shows neither rhythm clearly: its stride is weak, or it has
 * energy and no rhythm at all (gait.c: norhythm, otherwise a halt), or its
 * beat is a mix that reads as a third gait (a canter's end and a trot's
 * start: two pushes a stride, gallop).  When a run of weak or rhythmless
 * windows (at most the look-ahead), or one window of a gait unlike both
 * beside it, lies between two different gaits of movement, each decided by
 * its own evidence, each window of it is change between them, and its
 * dynamic energy is the time-weighted mix of theirs: e = (1 - s) e_prev +
 * s e_next.  s > 1/2 gives it the next gait, else the previous one (its
 * time and rein count, not its stride).  A window without rhythm between
 * two windows of one gait stays a halt, a short stop, when its energy is
 * at the sensor's noise or the noise is unknown; above the noise it is
 * that gait (same_gait_through).  One of another gait between two of one
 * stays as read.
 *
 * A doubled stride.  A gallop read by its frequency alone (one push per
 * stride, gait.c keeps the window's trot reading at half of it beside it)
 * next to a trot whose stride its trot reading continues is that trot: a
 * tiring trot at 1.1 Hz bounces at 2.2, and no horse doubles its stride
 * frequency from one window to the next (a trot becomes a gallop through a
 * canter).  Taken forward from the last window in, and backward over the
 * queue when such a trot arrives (such gallops wait in the queue for the
 * next window of another kind, or until it is full).
 */
#include <math.h>
#include <string.h>

#include "compute-internal.h"

/* "Clearly calmer": a window's energy under this share of the calmer side's.
 * A 4 s window at 25 Hz holds ~300 values over three axes, so the energy of
 * one at the noise scatters by ~8 %: 0.8 is 2.5 of that below.  Without the
 * margin a walk's first window in 0.8 m/s^2 of noise (itself ~1.3x the
 * noise) read as a halt after a canter. */
#define TL_CALMER 0.8
/* Far calmer than both: a window of change holds the two gaits, so its
 * energy is at least the calmer one's, less what a 4 s window scatters; a
 * quarter of it is no mix of them (a restless halt of 10 s between a canter
 * and a trot, energy 0.5 against their 10 and 17, read as 8 s of canter). */
#define TL_APART 0.25
/* Two gaits whose energies differ by less than this factor are not told
 * apart by energy at their boundary (boundary()): trot and canter. */
#define TL_LEVELS 3.0
/* A window's trot reading continues a trot when their strides are within
 * this share: one window to the next a stride drifts by a percent or two,
 * and the estimate at ~25 Hz scatters by about as much. */
#define TL_STRIDE_STEP 0.06
#define TL_CARRY_GAP_S 2.0  /* a trot's stride carries over a gap this long, no longer */

void compute_tl_init(compute_tl *tl)
{
    memset(tl, 0, sizeof *tl);
    tl->prev_gait = -1;
    tl->prev_strong = -1;
}

static int moving(int g)
{
    return g >= COMPUTE_WALK && g <= COMPUTE_GALLOP;
}

/* Trot, canter, gallop: the gaits a window too calm for cannot be (gait.c
 * too_calm). */
static int suspended(int g)
{
    return g >= COMPUTE_TROT && g <= COMPUTE_GALLOP;
}

/* Mean square dynamic acceleration of a window, m^2/s^4: its energy. */
static double energy_of(const compute_tl_win *w)
{
    return w->r.rms * w->r.rms;
}

/* Final gait of the weak head window. */
static int resolve(const compute_tl *tl)
{
    int next = -1, j;
    for (j = 1; j < tl->nq; j++)
        if (!tl->q[j].r.weak) {
            next = tl->q[j].r.gait;
            break;
        }
    int prev = tl->prev_gait;
    /* the same gait on both sides went on through it -- unless the window
     * holds only the sensor's noise and a quarter of that gait's energy
     * on either side: a stop between two bouts of it (a canter, 10 s of
     * standing still, a canter read as 30 s of canter) */
    if (prev >= 0 && prev == next && moving(prev) && tl->q[0].r.at_floor &&
        tl->prev_strong == prev && tl->prev_e > 0 &&
        energy_of(&tl->q[0]) < TL_APART * fmin(tl->prev_e, energy_of(&tl->q[j])))
        return COMPUTE_HALT;
    /* nor went a trot, canter or gallop on through a window far too calm
     * for one (gait.c too_calm): the horse stopped between two bouts, and
     * fidgeted (a restless halt of 10 s between two trots, 0.55 m/s^2
     * against their 6.7, read as 10 s of trot) */
    if (prev == next && suspended(prev) && tl->q[0].r.too_calm)
        return COMPUTE_HALT;
    if (prev >= 0 && prev == next)
        return prev;
    if (prev == COMPUTE_HALT || next == COMPUTE_HALT)
        return COMPUTE_HALT;
    /* nothing beside it decides: energy no more than the sensor's own noise
     * is a standstill (at a session's ends, or a halt every window of
     * which the noise made look weakly rhythmic) */
    if (tl->q[0].r.at_floor)
        return COMPUTE_HALT;
    return COMPUTE_UNCLASSIFIED;
}

/* Decided by its own evidence: neither weak nor without rhythm. */
static int strong(const compute_tl_win *w)
{
    return !w->r.weak && !w->r.norhythm;
}

/* The share of a window of energy e holding the gait after a change, when
 * the gait before has energy eb and the one after en (eb != en): the
 * time-weighted mix e = (1 - s) eb + s en solved for s. */
static double share_after(double e, double eb, double en)
{
    return (e - eb) / (en - eb);
}

/* Index of the first window after the head decided by its own evidence: the
 * end of the undecided run the head starts; tl->nq if none is queued. */
static int next_strong(const compute_tl *tl)
{
    int j = 1;
    while (j < tl->nq && !strong(&tl->q[j]))
        j++;
    return j;
}

/* The head window as a transition (see above): its gait, or -1 if it is not
 * one. */
static int transition(const compute_tl *tl)
{
    const compute_tl_win *w = &tl->q[0];
    int prev = tl->prev_strong, j = next_strong(tl);

    if (j >= tl->nq)
        return -1;
    int next = tl->q[j].r.gait;
    if (!moving(prev) || !moving(next) || prev == next || tl->prev_e <= 0)
        return -1;
    double en = energy_of(&tl->q[j]), e = energy_of(w), calmer = fmin(en, tl->prev_e);
    /* a change of gait carries the energy of the gaits on both sides; one
     * far calmer than either, or at the sensor's noise and clearly calmer,
     * is no change between them (resolve) */
    if (e < TL_APART * calmer || (w->r.at_floor && e < TL_CALMER * calmer))
        return -1;
    if (fabs(en - tl->prev_e) < 1e-9)
        return prev;
    return share_after(e, tl->prev_e, en) > 0.5 ? next : prev;
}

/* The head is one window of a gait of movement unlike both windows beside
 * it, which are two other gaits: the beat of a window holding a canter's
 * end and a trot's start reads as neither (two pushes a stride: gallop). */
static int lone(const compute_tl *tl)
{
    const compute_tl_win *w = &tl->q[0];
    return tl->nq >= 2 && strong(&tl->q[1]) && moving(w->r.gait) &&
           w->r.gait != tl->prev_gait && w->r.gait != tl->q[1].r.gait;
}

/* A window without rhythm between two windows of one gait of movement,
 * with more energy than the sensor's noise gives: that gait, whose rhythm
 * the noise hid for a window (a short stop would be at the noise).  Noise
 * hides a trot's, canter's or gallop's rhythm, not its energy: a window too
 * calm for one (gait.c too_calm) stays a halt, the horse fidgeting between
 * two bouts (10 s of restless halt between two trots, 0.55 m/s^2 against
 * their 6.7, read as trot).  Its gait, or -1. */
static int same_gait_through(const compute_tl *tl)
{
    const compute_tl_win *w = &tl->q[0];
    int j = next_strong(tl);

    if (!w->r.norhythm || !w->r.above_floor || !moving(tl->prev_strong) ||
        (suspended(tl->prev_strong) && w->r.too_calm))
        return -1;
    return j < tl->nq && tl->q[j].r.gait == tl->prev_strong ? tl->prev_strong : -1;
}

/* The head decided by its own evidence at a change between a calm and a
 * lively gait (walk and trot, say, or a halt and any gait): which of the
 * two most of its span holds.
 * A window holding both reads as the livelier, whose energy drowns the
 * other's rhythm, so at every such change, either way, the livelier gait
 * gained about a second.  Its energy places the change as for a transition:
 * s = (e - e_before) / (e_after - e_before) of the span is the gait after.
 * The head is the first window of the gait after (s < 1/2: the gait before)
 * or the last of the gait before (s > 1/2: the gait after).  A halt's side
 * is a window of halt by its own evidence (still, or energy without a
 * rhythm): at a stop or a start the moving gait gained a window too, about
 * 1.5 s a stop over 400 random footfall sessions.  Gaits of like
 * energy (trot and canter: under TL_LEVELS apart) are left as read.  The
 * new gait, or -1. */
/* A window whose own evidence settles its gait for boundary(): a gait of
 * movement by its rhythm, or a halt (still, or energy without rhythm). */
static int settled(const compute_tl_win *w)
{
    if (w->r.gait == COMPUTE_HALT && !w->r.weak)
        return 1;
    return strong(w) && moving(w->r.gait);
}

static int boundary(const compute_tl *tl)
{
    const compute_tl_win *w = &tl->q[0], *n = &tl->q[1];
    int before = tl->prev_gait;
    if (tl->nq < 2 || !settled(n) || !moving(w->r.gait) ||
        !(moving(before) || before == COMPUTE_HALT) ||
        tl->prev_strong != before || tl->prev_e <= 0)
        return -1;
    double eb = tl->prev_e, en = energy_of(n), e = energy_of(w);
    if (fmax(eb, en) < TL_LEVELS * fmin(eb, en) || e <= fmin(eb, en) || e >= fmax(eb, en))
        return -1;
    double s = share_after(e, eb, en);
    if (w->r.gait != before && n->r.gait == w->r.gait)   /* the first of the gait after */
        return s < 0.5 ? before : -1;
    if (w->r.gait == before && n->r.gait != before)      /* the last of the gait before */
        return s > 0.5 ? n->r.gait : -1;
    return -1;
}

/* Emits the head window with its final gait and drops it from the queue. */
static void emit_head(compute_tl *tl, compute_tl_emit emit, void *arg)
{
    compute_tl_win w = tl->q[0];
    int g = !strong(&w) || lone(tl) ? transition(tl) : -1;
    if (g < 0)
        g = w.r.weak ? resolve(tl) : same_gait_through(tl);
    if (g < 0 && strong(&w))
        g = boundary(tl);
    if (g >= 0) {   /* the neighbours decided */
        w.inherited = 1;
        w.r.gait = g;
    }
    if (w.r.gait != COMPUTE_UNCLASSIFIED)
        tl->prev_gait = w.r.gait;
    /* a transition is between windows decided by their own evidence */
    if (!w.inherited) {
        tl->prev_strong = w.r.gait;
        tl->prev_e = energy_of(&w);
    }
    memmove(tl->q, tl->q + 1, sizeof tl->q[0] * (size_t)(tl->nq - 1));
    tl->nq--;
    emit(arg, &w);
}

/* A gallop by its frequency alone, with a trot reading (see the top). */
static int doubled(const compute_tl_win *w)
{
    return w->r.gait == COMPUTE_GALLOP && w->r.alt_hz > 0;
}

/* next follows a window that ended at end closely enough that the horse
 * cannot have changed its stride between them: a gap of at most
 * TL_CARRY_GAP_S (a logger's dropout), not a pause in the recording nor a
 * clock reset (a restart after a pause nobody measured). */
static int carries(double end, const compute_tl_win *next)
{
    double d = next->t0 - end;
    return !next->new_run && d >= -1e-6 && d <= TL_CARRY_GAP_S;
}

/* w is doubled and its trot reading continues a trot at trot_hz: it is
 * made that trot.  1 if it was. */
static int undouble(compute_tl_win *w, double trot_hz)
{
    if (!doubled(w) || trot_hz <= 0 || fabs(w->r.alt_hz - trot_hz) > TL_STRIDE_STEP * trot_hz)
        return 0;
    w->r.gait = COMPUTE_TROT;
    w->r.stride_hz = w->r.alt_hz;
    w->r.regularity = w->r.alt_regularity;
    w->r.alt_hz = w->r.alt_regularity = 0;
    return 1;
}

/* The newest window q[nq - 1]: made a trot after one, or the doubled
 * windows queued before a trot made trots. */
static void undouble_around(compute_tl *tl)
{
    compute_tl_win *w = &tl->q[tl->nq - 1];
    if (carries(tl->trot_end, w))
        (void)undouble(w, tl->trot_hz);
    tl->trot_hz = w->r.gait == COMPUTE_TROT && strong(w) ? w->r.stride_hz : 0;
    tl->trot_end = w->t0 + w->dur;
    for (int i = tl->nq - 2; i >= 0 && tl->trot_hz > 0; i--)
        if (!carries(tl->q[i].t0 + tl->q[i].dur, &tl->q[i + 1]) ||
            !undouble(&tl->q[i], tl->q[i + 1].r.stride_hz))
            break;
}

void compute_tl_push(compute_tl *tl, const compute_tl_win *w, compute_tl_emit emit, void *arg)
{
    tl->q[tl->nq++] = *w;
    tl->q[tl->nq - 1].inherited = 0;
    undouble_around(tl);
    /* the head can be decided when its own evidence decides it, when a
     * window after it does, or when the queue is full; one of a moving
     * gait waits for the next (a lone window, a change of gait at it or
     * after it: boundary) */
    while (tl->nq > 0) {
        const compute_tl_win *h = &tl->q[0];
        int decidable;
        if (doubled(h)) {   /* waits for a window of another kind */
            decidable = tl->nq == COMPUTE_TL_DEPTH;
            for (int i = 1; !decidable && i < tl->nq; i++)
                decidable = !doubled(&tl->q[i]);
        } else {
            decidable = strong(h) && moving(h->r.gait) ? tl->nq >= 2 :
                        strong(h) || tl->nq == COMPUTE_TL_DEPTH;
            for (int i = 1; !decidable && i < tl->nq; i++)
                decidable = strong(&tl->q[i]);
        }
        if (!decidable)
            break;
        emit_head(tl, emit, arg);
    }
}

void compute_tl_flush(compute_tl *tl, compute_tl_emit emit, void *arg)
{
    while (tl->nq > 0)
        emit_head(tl, emit, arg);
}
