/*
 * timeline.c — the sequence of analysed windows, in order, with one
 * decision that needs context: a window whose evidence is weak (a stride
 * that barely repeats and no clear sway reversal, gait.c) takes its gait
 * from its neighbours.
 *
 *   same gait on both sides          → that gait (the horse went on; its
 *                                      time and rein count, not its stride)
 *   a halt on either side            → halt (fidgeting next to a standstill)
 *   anything else                    → unclassified
 *
 * "Both sides" are the last final window before it and the first window
 * after it whose evidence is not weak, looked for at most
 * COMPUTE_TL_DEPTH - 1 windows ahead.  docs/compute.md "unclassified".
 */
#include <string.h>

#include "compute-internal.h"

void compute_tl_init(compute_tl *tl)
{
    memset(tl, 0, sizeof *tl);
    tl->prev_gait = -1;
}

/* Final gait of the weak head window. */
static int resolve(const compute_tl *tl)
{
    int next = -1;
    for (int i = 1; i < tl->nq; i++)
        if (!tl->q[i].r.weak) {
            next = tl->q[i].r.gait;
            break;
        }
    int prev = tl->prev_gait;
    if (prev >= 0 && prev == next)
        return prev;
    if (prev == COMPUTE_HALT || next == COMPUTE_HALT)
        return COMPUTE_HALT;
    return COMPUTE_UNCLASSIFIED;
}

/* Emits the head window with its final gait and drops it from the queue. */
static void emit_head(compute_tl *tl, compute_tl_emit emit, void *arg)
{
    compute_tl_win w = tl->q[0];
    if (w.r.weak) {
        int g = resolve(tl);
        w.inherited = 1;
        w.r.gait = g;
    }
    if (w.r.gait != COMPUTE_UNCLASSIFIED)
        tl->prev_gait = w.r.gait;
    memmove(tl->q, tl->q + 1, sizeof tl->q[0] * (size_t)(tl->nq - 1));
    tl->nq--;
    emit(arg, &w);
}

void compute_tl_push(compute_tl *tl, const compute_tl_win *w, compute_tl_emit emit, void *arg)
{
    tl->q[tl->nq++] = *w;
    tl->q[tl->nq - 1].inherited = 0;
    /* the head can be decided when it is not weak, when a window after it
     * is not weak, or when the queue is full */
    while (tl->nq > 0) {
        int decidable = !tl->q[0].r.weak || tl->nq == COMPUTE_TL_DEPTH;
        for (int i = 1; !decidable && i < tl->nq; i++)
            decidable = !tl->q[i].r.weak;
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
