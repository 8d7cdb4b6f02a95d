/*
 * bouts.c — the bout timeline: the final windows (timeline.c) merged into
 * runs of one gait, rein and lead (docs/compute.md "bouts").
 *
 * Windows with the same gait, rein and lead extend the open bout; in canter
 * a window without a lead (a weak one) goes with the bout it is in.  A run
 * of windows of the same gait that differs only in rein or lead and lasts
 * less than bout_min_s (5 s by default) is held as pending: if the run after it
 * returns to the open bout's rein and lead, the pending run is absorbed into
 * the bout; if it lasts, it becomes a bout of its own.  A gait change, and
 * unclassified time, always make a bout: the bouts of a gait add up to the
 * summary's time for it.  A hole between windows (a gap of 1 s or more)
 * ends the open bout, so bouts tile the session as the windows do.
 *
 * Memory is the fixed list: at most COMPUTE_MAX_BOUTS listed, all counted.
 */
#include <math.h>
#include <string.h>

#include "compute-internal.h"

static int same(const compute_bout *a, const compute_bout *b)
{
    return a->gait == b->gait && a->rein == b->rein &&
           (a->lead == b->lead || a->lead == 0 || b->lead == 0);
}

static void merge(compute_bout *into, const compute_bout *w)
{
    into->end = w->end;
    if (into->lead == 0)
        into->lead = w->lead;
}

static void commit(compute_bouts *b, const compute_bout *x)
{
    if (b->n < COMPUTE_MAX_BOUTS)
        b->list[b->n] = *x;
    b->n++;
}

void compute_bouts_add(compute_bouts *b, const compute_bout *w, double min_s)
{
    b->min_s = min_s;
    if (!b->have_cur) {
        b->cur = *w;
        b->have_cur = 1;
        return;
    }
    double last = b->have_pend ? b->pend.end : b->cur.end;
    if (fabs(w->start - last) > 1e-6) { /* a hole: a gap ended the segment */
        compute_bouts_flush(b);
        b->cur = *w;
        b->have_cur = 1;
        return;
    }
    if (b->have_pend) {
        if (same(&b->pend, w)) {
            merge(&b->pend, w);
            if (b->pend.end - b->pend.start >= b->min_s) {
                commit(b, &b->cur);
                b->cur = b->pend;
                b->have_pend = 0;
            }
            return;
        }
        b->have_pend = 0;
        if (same(&b->cur, w)) { /* back to the bout: the short run was noise */
            merge(&b->cur, w);
            return;
        }
        /* neither: the short run stands as a bout of its own */
        commit(b, &b->cur);
        b->cur = b->pend;
    }
    if (same(&b->cur, w)) {
        merge(&b->cur, w);
        return;
    }
    if (w->gait == b->cur.gait && w->gait != COMPUTE_UNCLASSIFIED &&
        w->end - w->start < b->min_s) {
        b->pend = *w;
        b->have_pend = 1;
        return;
    }
    commit(b, &b->cur);
    b->cur = *w;
}

void compute_bouts_flush(compute_bouts *b)
{
    if (b->have_cur)
        commit(b, &b->cur);
    if (b->have_pend)
        commit(b, &b->pend);
    b->have_cur = b->have_pend = 0;
}

static json_t *num3(double x)
{
    return json_real(round((isfinite(x) ? x : 0) * 1000) / 1000);
}

static json_t *side(int v)
{
    return v == 1 ? json_string("left") : v == -1 ? json_string("right")
         : v == 0 ? json_string("straight") : json_null();
}

json_t *compute_bouts_json(const compute_summary *s)
{
    json_t *arr = json_array();
    size_t n = s->bout_count < COMPUTE_MAX_BOUTS ? s->bout_count : COMPUTE_MAX_BOUTS;
    for (size_t i = 0; arr && i < n; i++) {
        const compute_bout *x = &s->bouts[i];
        /* accelerometer only: no rein, no lead */
        int known = !s->no_gyro;
        if (json_array_append_new(arr, json_pack("{s:s,s:o,s:o,s:o,s:o}",
                "gait", compute_window_gait(x->gait), "start", num3(x->start),
                "end", num3(x->end), "rein", known ? side(x->rein) : json_null(),
                "lead", known && x->lead ? side(x->lead) : json_null())) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int side_of(const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s)
        return 2;
    return strcmp(s, "left") == 0 ? 1 : strcmp(s, "right") == 0 ? -1 : 0;
}

int compute_bouts_from_json(const json_t *arr, compute_summary *s)
{
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) {
        if (i >= COMPUTE_MAX_BOUTS)
            break;
        compute_bout *x = &s->bouts[i];
        const char *g = json_string_value(json_object_get(e, "gait"));
        x->gait = COMPUTE_UNCLASSIFIED;
        for (int k = 0; g && k < COMPUTE_NGAITS; k++)
            if (strcmp(g, compute_gait_names[k]) == 0)
                x->gait = (signed char)k;
        x->start = json_number_value(json_object_get(e, "start"));
        x->end = json_number_value(json_object_get(e, "end"));
        x->rein = (signed char)side_of(json_object_get(e, "rein"));
        int l = side_of(json_object_get(e, "lead"));
        x->lead = (signed char)(l == 2 ? 0 : l);
        if (!g)
            return KEEL_EBADDATA;
    }
    return 0;
}
