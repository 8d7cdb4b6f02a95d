#!/usr/bin/env python3
"""pandas/numpy/scipy reference of `keel compute aggregate` (docs/compute.md).

The same documented rules as src/modules/compute (aggregate.c, gait.c,
rein.c, jumps.c), written the way a data scientist would write them fast:
one read_csv, boolean masks instead of row loops, scipy.signal.lfilter for
the gravity low-pass, run-length edges for free fall, block means for the
25 Hz decimation, sliding_window_view for the 4 s windows, FFT
autocorrelation for every lag of every window at once, and bincount to
attribute window time to gaits.  Python loops run only over gap-separated
segments (a handful), never over rows or windows.

usage: reference.py session.csv [--json]   prints wall and CPU seconds (and the summary)
"""
import argparse
import json
import sys
import time

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import lfilter

G = 9.80665
DETECT_ROWS, DECIM_HZ, WIN_S, GAP_FACTOR, GRAV_TAU_S = 8192, 25.0, 4.0, 2.5, 2.0
HALT_RMS, WALK_MAX_HZ, GALLOP_MIN_HZ, BOUNCE_MIN_HZ, BOUNCE_MAX_HZ = 0.5, 1.15, 1.9, 1.3, 4.0
SIDE_REVERSAL, SYM_K = -0.25, 6
HIST_LO, HIST_STEP, HIST_BINS = 0.3, 0.005, 640
CADENCE_BAND = 0.2    # windows within this share of the gait's median stride frequency (aggregate_finish.c)
REIN_TH, JUMP_TH, JUMP_MIN, JUMP_MAX = 0.08, 0.3 * G, 0.25, 2.0
HALT, WALK, TROT, CANTER, GALLOP = range(5)
GAITS = ["halt", "walk", "trot", "canter", "gallop"]


def lround(x):
    return np.floor(np.asarray(x) + 0.5).astype(np.int64)


def read(path):
    with open(path, newline="") as f:
        head, first = f.readline(), f.readline()
    sep = ";" if ";" in head else "\t" if "\t" in head else ","
    # a units row right under the header ("s,g,g,g,deg/s,…"), as some loggers write
    units = [u.strip().strip("[]()").lower() for u in first.rstrip("\r\n").split(sep)]
    has_units = all(u in ("", "s", "ms", "g", "m/s2", "m/s^2", "deg/s", "dps", "rad/s") for u in units)
    if has_units:
        with open(path, newline="") as f:
            f.readline(), f.readline()
            first = f.readline()
    dec = "," if sep != "," and "," in first else "."
    df = pd.read_csv(path, sep=sep, decimal=dec, dtype=np.float64, engine="c",
                     skiprows=[1] if has_units else None)
    names = [c.strip().lower() for c in df.columns]
    want = ["time", "ax", "ay", "az", "gx", "gy", "gz"]
    cols = [names.index(w) if w in names else i for i, w in enumerate(want)]
    unit = (lambda i: units[cols[i]] if has_units and cols[i] < len(units) else "")
    hint = {"t": "ms" if names[cols[0]].endswith("_ms") or unit(0) == "ms" else None,
            "a": "g" if names[cols[1]].endswith("_g") or unit(1) == "g" else None,
            "g": "deg" if names[cols[4]].endswith(("_dps", "_deg")) or unit(4) in ("deg/s", "dps") else None}
    raw = df.to_numpy()[:, cols]
    return raw, hint


def clean(raw):
    """Drops rows without time or not after every earlier time; holds NaN cells.
    Each step copies only when it has something to drop or fill."""
    t = raw[:, 0]
    if np.isnan(t).any():
        raw = raw[~np.isnan(t)]
        t = raw[:, 0]
    prev = np.maximum.accumulate(np.concatenate(([-np.inf], t[:-1])))
    keep = t > prev
    if not keep.all():
        raw = raw[keep]
    x = raw[:, 1:]
    bad = ~np.isfinite(x)
    if bad.any():
        x = x.copy()
        x[bad] = np.nan
        x = pd.DataFrame(x).ffill().to_numpy()
        ok = ~np.isnan(x).any(axis=1)
        return raw[ok, 0], x[ok]
    return raw[:, 0], x


def detect(t, x, hint):
    n = min(len(t), DETECT_ROWS)
    mdt = np.sort(np.diff(t[:n]))[(n - 1) // 2] if n > 1 else 0.0
    tscale = 1e-3 if (hint["t"] == "ms" or (hint["t"] is None and mdt >= 1.0)) else 1.0
    mag = np.sort(np.linalg.norm(x[:n, 0:3], axis=1))
    sd = np.linalg.norm(x[:n, 0:3], axis=1).std()
    amed = mag[n // 2]
    ascale = G if (hint["a"] == "g" or (hint["a"] is None and 0 < amed < 3.0)) else 1.0
    gm = np.sort(np.abs(x[:n, 3:6]).max(axis=1))
    p99, gmed = gm[int(0.99 * (n - 1))], gm[n // 2]
    degs = hint["g"] == "deg" or (hint["g"] is None and (p99 > 6.0 or (sd * ascale < 0.5 and gmed > 0.1)))
    gscale = np.pi / 180 if degs else 1.0
    period = mdt * tscale if mdt > 0 else 0.01
    return tscale, ascale, gscale, period


def autocorr_sums(x, n):
    """sum_i x[i]*x[i+k] for every lag k < n, along axis 1 (FFT, zero padded)."""
    m = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(x, n=m, axis=1)
    s = np.fft.irfft(f * np.conj(f), n=m, axis=1)[:, :n]
    return s.sum(axis=2) if s.ndim == 3 else s


def harmonic(x, nu, T, k):
    """Fourier coefficient at k/T over the first nu samples of each row."""
    n = x.shape[1]
    i = np.arange(n)[None, :]
    w = 2 * np.pi * k / T[:, None] * i
    xm = np.where(i < nu[:, None], x, 0.0)
    return 2 * (xm * np.cos(w)).sum(1) / nu, -2 * (xm * np.sin(w)).sum(1) / nu


def lagged(x, y, k):
    """Per row r: sum_i x[r, i] * y[r, i + k[r]] over i < n - k[r]."""
    n = x.shape[1]
    i = np.arange(n)[None, :]
    ys = np.take_along_axis(y, np.minimum(i + k[:, None], n - 1), axis=1)
    return np.where(i < n - k[:, None], x * ys, 0.0).sum(axis=1)


def min_dir_acf(x, y, k, floor_e):
    """Least normalised lag-k autocorrelation over the directions of the plane
    (x, y): smallest generalised eigenvalue of the lag-k against the lag-0
    covariance, per row; NaN below floor_e of energy (gait.c min_dir_acf)."""
    n = x.shape[1]
    m = (n - k).astype(float)
    a11, a22 = lagged(x, x, k) / m, lagged(y, y, k) / m
    a12 = 0.5 * (lagged(x, y, k) + lagged(y, x, k)) / m
    b11, b22, b12 = (x * x).mean(1), (y * y).mean(1), (x * y).mean(1)
    db = b11 * b22 - b12 * b12
    with np.errstate(divide="ignore", invalid="ignore"):
        one = np.where(b11 >= b22, a11 / b11, a22 / b22)
        c = a11 * b22 + a22 * b11 - 2 * a12 * b12
        da = a11 * a22 - a12 * a12
        two = (c - np.sqrt(np.maximum(c * c - 4 * db * da, 0))) / (2 * db)
    r = np.where(db < 1e-6 * (b11 + b22) ** 2, one, two)
    return np.where(b11 + b22 < floor_e, np.nan, r)


def trot_log_ratio(v, roll, pitch, T):
    """Signed ln(pA/pB) of the two diagonal steps per window (NaN if unusable)."""
    m, n = v.shape
    i = np.arange(n)[None, :]
    w = 2 * np.pi / T[:, None]
    cols = [np.ones((m, n))]
    for k in range(1, SYM_K + 1):
        cols += [np.cos(k * w * i), np.sin(k * w * i)]
    phi = np.stack(cols, axis=2)                                 # (m, n, 13)
    A = np.einsum("mnr,mnc->mrc", phi, phi)
    rhs = np.einsum("mnr,mn->mr", phi, v)
    sol = np.linalg.solve(A, rhs[:, :, None])[:, :, 0]
    re, im = sol[:, 1::2], -sol[:, 2::2]                        # k = 1..SYM_K
    ph = 2 * np.pi * np.arange(200) / 200.0
    k = np.arange(1, SYM_K + 1)[:, None]
    tpl = re @ np.cos(k * ph) - im @ np.sin(k * ph)              # (m, 200)
    imax = np.argmax(tpl, axis=1)
    p1 = tpl[np.arange(m), imax]
    opp = (imax[:, None] + 100 + np.arange(-30, 31)[None, :]) % 200
    p2 = np.take_along_axis(tpl, opp, axis=1).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.where((p1 > 0) & (p2 > 0), np.log(p1 / p2), np.nan)
    er = (roll * roll + pitch * pitch).sum(axis=1)
    xr, xi = harmonic(roll, np.full(m, n), T, 1)
    yr, yi = harmonic(pitch, np.full(m, n), T, 1)
    th = 0.5 * np.arctan2(2 * (xr * yr + xi * yi), (xr * xr + xi * xi) - (yr * yr + yi * yi))
    e1, e2 = np.cos(th), np.sin(th)
    flip = e1 + 0.5 * e2 < 0
    e1, e2 = np.where(flip, -e1, e1), np.where(flip, -e2, e2)
    rr, ri = e1 * xr + e2 * yr, e1 * xi + e2 * yi
    weak = (er <= 0) | ((rr * rr + ri * ri) / 2 < 0.2 * er / n)
    q = 2 * np.pi * ((imax + 50) % 200) / 200.0
    after = rr * np.cos(q) - ri * np.sin(q)
    return np.where(weak | (after >= 0), lr, -lr)


def analyse(a, g, fs):
    """Every window at once: a, g are (windows, n, 3).  Mirrors gait.c."""
    nw, n, _ = a.shape
    out = {"gait": np.full(nw, HALT), "stride": np.zeros(nw), "reg": np.zeros(nw),
           "sym": np.full(nw, np.nan), "lead": np.zeros(nw), "yaw": np.zeros(nw)}
    if n < 4 or nw == 0:
        return out
    ma = a.mean(axis=1)
    gn = np.linalg.norm(ma, axis=1)
    u = np.where((gn > 1.0)[:, None], ma / np.maximum(gn, 1e-300)[:, None], [0.0, 0.0, 1.0])
    f = np.stack([1 - u[:, 0] ** 2, -u[:, 0] * u[:, 1], -u[:, 0] * u[:, 2]], axis=1)
    f2 = np.stack([-u[:, 1] * u[:, 0], 1 - u[:, 1] ** 2, -u[:, 1] * u[:, 2]], axis=1)
    f = np.where((np.linalg.norm(f, axis=1) < 0.3)[:, None], f2, f)
    f /= np.linalg.norm(f, axis=1)[:, None]
    l = np.cross(u, f)
    d = a - ma[:, None, :]
    v = np.einsum("wik,wk->wi", d, u)
    lat = np.einsum("wik,wk->wi", d, l)
    fw = np.einsum("wik,wk->wi", d, f)
    roll = np.einsum("wik,wk->wi", g, f)
    pitch = np.einsum("wik,wk->wi", g, l)
    out["yaw"] = np.einsum("wik,wk->wi", g, u).mean(axis=1)
    e3 = (d * d).sum(axis=2).mean(axis=1)
    moving = np.sqrt(e3) >= HALT_RMS
    roll -= roll.mean(axis=1, keepdims=True)
    pitch -= pitch.mean(axis=1, keepdims=True)
    norm = np.arange(n, 0, -1)[None, :]                 # n - k
    with np.errstate(divide="ignore", invalid="ignore"):
        def acf(x):
            e = (x * x).mean(axis=1, keepdims=True)
            r = autocorr_sums(x, n) / norm / e
            return np.where(e > 0, r, 0.0), e[:, 0]
        rv, _ = acf(v)
        r3 = np.where(e3[:, None] > 0, autocorr_sums(d, n) / norm / e3[:, None], 0.0)
    rv = np.concatenate([rv, np.zeros((nw, 2))], axis=1)   # acf is 0 at lags >= n
    kmin = max(1, int(np.floor(fs / BOUNCE_MAX_HZ)))
    kmax = min(int(np.ceil(fs / BOUNCE_MIN_HZ)), n // 2, 255)
    ks = np.arange(kmin, kmax + 1)
    if ks.size == 0:
        out["gait"][moving] = WALK
        return out
    best = rv[:, ks].max(axis=1)
    peak = (rv[:, ks] >= rv[:, ks - 1]) & (rv[:, ks] >= rv[:, ks + 1]) & (rv[:, ks] >= 0.7 * best[:, None])
    has = peak.any(axis=1)
    P = ks[np.argmax(peak, axis=1)]
    periodic = moving & has & (best > 0.1)
    out["gait"][moving & ~periodic] = WALK
    idx = np.nonzero(periodic)[0]
    if idx.size == 0:
        return out
    rows, P = idx, P[idx]
    ym, y0, yp = rv[rows, P - 1], rv[rows, P], rv[rows, P + 1]
    den = ym - 2 * y0 + yp
    Pf = P + np.where(den < 0, 0.5 * (ym - yp) / np.where(den < 0, den, 1), 0)
    # 2-beat (walk, trot) vs asymmetric: the horizontal sway reverses every
    # bounce, in the least-correlated horizontal direction (gait.c)
    ra = min_dir_acf(fw[rows], lat[rows], P, 0.01)
    rg = min_dir_acf(roll[rows], pitch[rows], P, 1e-4)
    ns = (~np.isnan(ra)).astype(int) + ~np.isnan(rg)
    side = np.where(ns > 0, (np.nan_to_num(ra) + np.nan_to_num(rg)) / np.maximum(ns, 1), 0.0)
    two = side < SIDE_REVERSAL
    T0 = np.where(two, 2 * Pf, Pf)
    T0 = np.where(T0 > n - 4, Pf, T0)
    # refine on the 3-D acf: best integer lag in [0.8 T0, 1.2 T0], then a parabola
    r3 = np.concatenate([r3[rows], np.zeros((rows.size, 2))], axis=1)
    lo = np.maximum(np.floor(T0 * 0.8).astype(int), 1)
    hi = np.minimum(np.ceil(T0 * 1.2).astype(int), n - 2)
    lags = np.arange(n)[None, :]
    cand = np.where((lags >= lo[:, None]) & (lags <= hi[:, None]), r3[:, :n], -np.inf)
    bk = np.argmax(cand, axis=1)
    found = np.isfinite(cand[np.arange(rows.size), bk])
    bv = r3[np.arange(rows.size), bk]
    ym3 = r3[np.arange(rows.size), np.maximum(bk - 1, 0)]
    yp3 = r3[np.arange(rows.size), bk + 1]
    den3 = ym3 - 2 * bv + yp3
    off = np.clip(np.where(den3 < 0, 0.5 * (ym3 - yp3) / np.where(den3 < 0, den3, 1), 0), -0.5, 0.5)
    kf = np.floor(T0).astype(int)
    fr = T0 - kf
    at0 = (1 - fr) * r3[np.arange(rows.size), np.minimum(kf, n + 1)] + fr * r3[np.arange(rows.size), np.minimum(kf + 1, n + 1)]
    T = np.where(found, bk + off, T0)
    rT = np.clip(np.where(found, bv - 0.25 * (ym3 - yp3) * off, at0), 0, 1)
    stride = fs / T
    out["reg"][rows] = 10 * rT
    out["stride"][rows] = stride
    gait = np.where(two, np.where(stride < WALK_MAX_HZ, WALK, TROT),
                    np.where(stride >= GALLOP_MIN_HZ, GALLOP, CANTER))
    out["gait"][rows] = gait
    strides = np.floor(n / T)
    nu = np.minimum(np.where(strides > 0, lround(strides * T), n), n)
    # trot symmetry: least-squares 6-harmonic fit of the vertical, template
    # peak vs the peak half a stride later as ln(pA/pB), the sign naming the
    # diagonal by the roll axis's stride component (gait.c trot_symmetry)
    tr = np.nonzero((gait == TROT) & (n >= 2 * T) & (T >= 2 * SYM_K + 1))[0]
    if tr.size:
        out["sym"][rows[tr]] = trot_log_ratio(v[rows[tr]], roll[rows[tr]], pitch[rows[tr]], T[tr])
    # canter lead: roll's stride harmonic in phase with the vertical one = left lead
    ca = np.nonzero(gait == CANTER)[0]
    if ca.size:
        vr, vi = harmonic(v[rows[ca]], nu[ca], T[ca], 1)
        rr_, ri_ = harmonic(roll[rows[ca]], nu[ca], T[ca], 1)
        out["lead"][rows[ca]] = np.sign(rr_ * vr + ri_ * vi)
    return out


def jumps(t, mag, starts, ends):
    """Free-fall runs (|a| < 0.3 g) of 0.25-2 s, edges interpolated, per segment."""
    air = []
    for s, e in zip(starts, ends):
        tt, mm = t[s:e], mag[s:e]
        below = mm < JUMP_TH
        if below.size < 2:
            continue
        edge = np.diff(below.astype(np.int8))
        up = np.nonzero(edge == 1)[0] + 1          # first sample below
        down = np.nonzero(edge == -1)[0] + 1       # first sample above again
        if below[0] and below[1]:                  # keel opens a run at sample 1 then
            up = np.concatenate(([1], up))
        down = down[down > (up[0] if up.size else np.inf)]
        m = min(up.size, down.size)
        up, down = up[:m], down[:m]

        def cross(i):
            t0, m0, t1, m1 = tt[i - 1], mm[i - 1], tt[i], mm[i]
            with np.errstate(divide="ignore", invalid="ignore"):
                fr = np.clip((JUMP_TH - m0) / (m1 - m0), 0, 1)
            return np.where(m1 == m0, t1, t0 + fr * (t1 - t0))
        a = cross(down) - cross(up)
        air.append(a[(a >= JUMP_MIN) & (a <= JUMP_MAX)])
    return np.concatenate(air) if air else np.zeros(0)


def aggregate(path):
    raw, hint = read(path)
    t, x = clean(raw)
    tscale, ascale, gscale, period = detect(t, x, hint)
    t = (t - t[0]) * tscale
    a = x[:, 0:3] * ascale
    w = x[:, 3:6] * gscale
    dt = np.diff(t, prepend=t[0])
    gap = dt > GAP_FACTOR * period
    dt[gap] = 0
    starts = np.concatenate(([0], np.nonzero(gap)[0]))
    ends = np.concatenate((starts[1:], [len(t)]))
    # gravity low-pass (alpha = dt/(tau+dt)), DBA, load; per segment, state carried over
    alpha = period / (GRAV_TAU_S + period)
    grav = np.empty_like(a)
    prev = a[0]
    for s, e in zip(starts, ends):
        grav[s] = prev
        if e - s > 1:
            zi = ((1 - alpha) * prev)[None, :]
            grav[s + 1:e], _ = lfilter([alpha], [1, -(1 - alpha)], a[s + 1:e], axis=0, zi=zi)
        prev = grav[e - 1]
    dba = np.linalg.norm(a - grav, axis=1)
    mag = np.linalg.norm(a, axis=1)
    air = jumps(t, mag, starts, ends)
    # decimation to ~25 Hz and 4 s windows sliding by 2 s, per segment
    rate = 1.0 / period
    D = max(1, int(lround(rate / DECIM_HZ)))
    fs = rate / D
    S = max(4, int(lround(WIN_S / 2 * fs)))
    N = 2 * S
    gait_t, gait_r = np.zeros(5), np.zeros(5)
    rein = np.zeros(3)
    hist = np.zeros(5 * HIST_BINS)                 # time per (gait, stride bin)
    sym_sum = sym_t = lead_l = lead_r = 0.0
    last = None
    for s, e in zip(starts, ends):
        nd = (e - s) // D
        td = t[s:s + nd * D].reshape(nd, D).mean(axis=1)
        ad = a[s:s + nd * D].reshape(nd, D, 3).mean(axis=1)
        gd = w[s:s + nd * D].reshape(nd, D, 3).mean(axis=1)
        if nd >= N:
            nwin = (nd - N) // S + 1
            aw = sliding_window_view(ad, N, axis=0)[::S][:nwin].transpose(0, 2, 1)
            gw = sliding_window_view(gd, N, axis=0)[::S][:nwin].transpose(0, 2, 1)
            res = analyse(aw, gw, fs)
            b = td[np.arange(nwin) * S + S + S // 2]
            dur = np.diff(b, prepend=t[s])
            dur[-1] += t[e - 1] - b[-1]
        elif nd * 2 >= S and nd >= 4:
            res = analyse(ad[None], gd[None], fs)
            dur = np.array([t[e - 1] - t[s]])
        else:
            res = last or {"gait": np.array([HALT]), "stride": np.zeros(1), "reg": np.zeros(1),
                           "sym": np.full(1, np.nan), "lead": np.zeros(1), "yaw": np.zeros(1)}
            res = {k: v[-1:] for k, v in res.items()}
            dur = np.array([t[e - 1] - t[s]])
        last = res
        gait = res["gait"]
        mov = gait != HALT
        gait_t += np.bincount(gait, weights=dur, minlength=5)
        b = np.clip(lround((res["stride"] - HIST_LO) / HIST_STEP), 0, HIST_BINS - 1)
        rhythm = mov & (res["stride"] > 0)          # a window without rhythm has no stride
        hist += np.bincount((gait * HIST_BINS + b)[rhythm], weights=dur[rhythm], minlength=5 * HIST_BINS)
        gait_r += np.bincount(gait[mov], weights=(res["reg"] * dur)[mov], minlength=5)
        rc = np.where(res["yaw"] > REIN_TH, 0, np.where(res["yaw"] < -REIN_TH, 1, 2))
        rein += np.bincount(rc[mov], weights=dur[mov], minlength=3)
        ts = mov & (gait == TROT) & ~np.isnan(res["sym"])
        sym_sum += (res["sym"][ts] * dur[ts]).sum()
        sym_t += dur[ts].sum()
        cm = mov & (gait == CANTER)
        lead_l += dur[cm & (res["lead"] > 0)].sum()
        lead_r += dur[cm & (res["lead"] < 0)].sum()
    total = gait_t.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        # cadence: time-weighted mean stride frequency of the windows within
        # 20 % of the median (histogram bins of 0.005 Hz; cadence_band)
        hist = hist.reshape(5, HIST_BINS)
        tot = hist.sum(axis=1)
        first = np.argmax(np.cumsum(hist, axis=1) >= tot[:, None] / 2, axis=1)
        hz = HIST_LO + np.arange(HIST_BINS) * HIST_STEP
        med = HIST_LO + first * HIST_STEP
        kept = np.where((hz[None, :] >= med[:, None] / (1 + CADENCE_BAND) - 1e-9) &
                        (hz[None, :] <= med[:, None] * (1 + CADENCE_BAND) + 1e-9), hist, 0)
        cad = np.where(tot > 0, 60 * (kept * hz).sum(axis=1) / np.where(tot > 0, kept.sum(axis=1), 1), 0)
        reg = np.where(gait_t > 0, gait_r / gait_t, 0)
    lr = rein[0] + rein[1]
    return {
        "duration_s": float(t[-1]), "samples": int(len(t)), "rate_hz": rate,
        "gaits": {GAITS[i]: {"time_s": float(gait_t[i]), "share": float(gait_t[i] / total) if total else 0.0,
                             "cadence_spm": float(cad[i]), "regularity": float(reg[i])} for i in range(5)},
        "rein": {"left_s": float(rein[0]), "right_s": float(rein[1]), "straight_s": float(rein[2]),
                 "balance": float((rein[0] - rein[1]) / lr) if lr > 0 else 0.0},
        # windows carry a signed log ratio of the diagonals; the session mean maps to 100 = symmetric
        "trot_symmetry_pct": float(100 * np.exp(-abs(sym_sum / sym_t))) if sym_t > 0 else 0.0,
        "canter_lead": {"left_s": lead_l, "right_s": lead_r},
        "jump_count": int(air.size),
        "intensity": {"mdba": float(dba.mean()), "load": float((dba * dt).sum() / 60.0)},
    }


def flat(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flat(v, prefix + k + ".")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield prefix + k, float(v)


def compare(ref, keel_path):
    """Every numeric field of the reference against keel's (which rounds its output)."""
    keel = dict(flat(json.load(open(keel_path))))
    bad = []
    fields = dict(flat(ref))
    for k, r in fields.items():
        if k not in keel:
            bad.append(f"{k}: missing in keel")
        elif abs(keel[k] - r) > 0.005 * max(abs(r), 1.0) + 0.011:
            bad.append(f"{k}: keel {keel[k]} reference {r:.6g}")
    print(f"agreement: {len(fields) - len(bad)}/{len(fields)} fields within 0.5 %", file=sys.stderr)
    for b in bad:
        print("  differs " + b, file=sys.stderr)
    return not bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--json", action="store_true", help="also print the summary")
    ap.add_argument("--compare", help="keel's summary JSON for the same file")
    a = ap.parse_args()
    t0, c0 = time.perf_counter(), time.process_time()
    summary = aggregate(a.csv)
    print(f"{time.perf_counter() - t0:.3f} {time.process_time() - c0:.3f}")
    if a.json:
        json.dump(summary, sys.stdout)
        print()
    if a.compare and not compare(summary, a.compare):
        sys.exit(1)


if __name__ == "__main__":
    main()
