#!/usr/bin/env python3
"""pandas reference of `keel compute trend` (docs/compute.md "## trend").

Reads the same NDJSON session lines, computes per horse and metric the
latest value, baseline (median of the previous 5), robust z (MAD, with the
mean-absolute-deviation fallback), Theil-Sen slope per 30 days
(all pairwise slopes of the last 200 sessions, the estimator of
scipy.stats.theilslopes, batched over horses), ISO-week aggregates and
EWMA acute/chronic load, vectorised with groupby where pandas allows it.

usage: trend_ref.py sessions.ndjson [--check keel_output.json]
Prints wall and CPU seconds of the work; with --check compares every number with keel's
output and exits 1 on a mismatch.
"""
import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

METRICS = ["duration_s", "gaits.halt.time_s", "gaits.walk.time_s", "gaits.trot.time_s",
           "gaits.canter.time_s", "gaits.gallop.time_s", "gaits.walk.cadence_spm",
           "gaits.trot.cadence_spm", "gaits.canter.cadence_spm", "gaits.trot.regularity",
           "gaits.canter.regularity", "rein.balance", "trot_symmetry_pct", "intensity.mdba",
           "intensity.load", "jump_count"]
GATE = {"gaits.walk.cadence_spm": ["gaits.walk.time_s"], "gaits.trot.cadence_spm": ["gaits.trot.time_s"],
        "gaits.canter.cadence_spm": ["gaits.canter.time_s"], "gaits.trot.regularity": ["gaits.trot.time_s"],
        "gaits.canter.regularity": ["gaits.canter.time_s"], "trot_symmetry_pct": ["gaits.trot.time_s"],
        "rein.balance": ["rein.left_s", "rein.right_s"]}
BASELINE_N, MIN_BASELINE, SLOPE_MAX_N, ACUTE, CHRONIC = 5, 3, 200, 7, 28


def load(path):
    df = pd.read_json(path, lines=True, dtype=False, convert_dates=False)
    summ = pd.json_normalize(df["summary"].tolist()) if "summary" in df else pd.DataFrame(index=df.index)
    summ.index = df.index
    out = pd.DataFrame({"horse": df["horse_id"].astype(str), "order": np.arange(len(df))})
    out["ts"] = pd.to_datetime(df["date"], utc=True)
    out["t"] = (out["ts"] - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds() / 86400.0
    out["day"] = pd.to_datetime(df["date"].str.slice(0, 10))
    for m in METRICS:
        v = pd.to_numeric(summ[m], errors="coerce") if m in summ else pd.Series(np.nan, index=df.index)
        if m in GATE:
            gates = [pd.to_numeric(summ[g], errors="coerce") for g in GATE[m] if g in summ]
            if gates:
                gsum = sum(g.fillna(0) for g in gates)
                present = pd.concat(gates, axis=1).notna().any(axis=1)
                v = v.mask(present & (gsum <= 0))
        out[m] = v
    return out.sort_values(["horse", "t", "order"], kind="mergesort").reset_index(drop=True)


def metric_stats(df, m):
    d = df[["horse", "t", m]].dropna()
    g = d.groupby("horse", sort=False)
    rank = g.cumcount(ascending=False)          # 0 = latest
    latest = d[rank == 0].set_index("horse")[m]
    prev = d[(rank >= 1) & (rank <= BASELINE_N)]
    pg = prev.groupby("horse", sort=False)[m]
    base = pg.median()
    nb = pg.size()
    dev = (prev[m] - prev["horse"].map(base)).abs()
    mad = dev.groupby(prev["horse"]).median()
    meanad = dev.groupby(prev["horse"]).mean()
    res = pd.DataFrame({"latest": latest, "baseline": base, "nb": nb}).reindex(latest.index)
    res["change"] = res["latest"] - res["baseline"]
    scale = np.where(mad.reindex(res.index) > 0, 1.4826 * mad.reindex(res.index),
                     np.where(meanad.reindex(res.index) > 0, 1.253314 * meanad.reindex(res.index), np.nan))
    z = res["change"] / scale
    z = z.where(~(np.isnan(scale) & (res["change"] == 0)), 0.0)
    res["z"] = z.where(res["nb"] >= MIN_BASELINE)
    # Theil-Sen for every horse at once: pad each horse's last SLOPE_MAX_N
    # values into an (H, L) grid, take all pairwise slopes, nanmedian per horse
    # (same estimator as scipy.stats.theilslopes, without its confidence interval)
    tail = d[rank < SLOPE_MAX_N]
    hcode, horses = pd.factorize(tail["horse"], sort=False)
    pos = tail.groupby("horse", sort=False).cumcount().to_numpy()
    L = pos.max() + 1
    tg = np.full((len(horses), L), np.nan)
    vg = np.full((len(horses), L), np.nan)
    tg[hcode, pos] = tail["t"].to_numpy()
    vg[hcode, pos] = tail[m].to_numpy()
    dt = tg[:, None, :] - tg[:, :, None]
    with np.errstate(invalid="ignore", divide="ignore", all="ignore"):
        sl = np.where(dt > 0, (vg[:, None, :] - vg[:, :, None]) / dt, np.nan).reshape(len(horses), -1)
        has = (dt > 0).reshape(len(horses), -1).any(axis=1)
        med = np.full(len(horses), np.nan)
        med[has] = np.nanmedian(sl[has], axis=1)
    res["slope_30d"] = pd.Series(30 * med, index=horses)
    return res


def ewma_load(df):
    daily = df.groupby(["horse", "day"])["intensity.load"].sum(min_count=1).fillna(0)
    out = {}
    for h, s in daily.groupby(level=0, sort=False):
        s = s.droplevel(0)
        idx = pd.date_range(s.index.min() - pd.Timedelta(days=1), s.index.max())
        s = s.reindex(idx, fill_value=0.0)     # the zero day before the first session
        a = s.ewm(alpha=2 / (ACUTE + 1), adjust=False).mean().iloc[-1]
        c = s.ewm(alpha=2 / (CHRONIC + 1), adjust=False).mean().iloc[-1]
        out[h] = (a, c, a / c if c > 0 else np.nan)
    return out


def weekly(df):
    iso = df["day"].dt.isocalendar()
    w = df.assign(week=iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2))
    return w.groupby(["horse", "week"]).agg(sessions=("t", "size"), duration_s=("duration_s", "sum"),
                                            load=("intensity.load", "sum"),
                                            sym=("trot_symmetry_pct", "mean"))


def compute(path):
    df = load(path)
    res = {m: metric_stats(df, m) for m in METRICS}
    return res, ewma_load(df), weekly(df)


def close(a, b):
    if a is None or (isinstance(b, float) and np.isnan(b)):
        return a is None and (b is None or np.isnan(b))
    return abs(a - b) <= 1e-6 * (1 + abs(b))


def check(res, loads, weeks, keel_path):
    k = json.load(open(keel_path))
    bad = n = 0
    for h in k["horses"]:
        hid = str(h["horse_id"])
        for m, km in h["metrics"].items():
            r = res[m].loc[hid]
            for kf, rf in (("latest", "latest"), ("baseline", "baseline"), ("z", "z"), ("slope_30d", "slope_30d")):
                n += 1
                if not close(km[kf], float(r[rf])):
                    bad += 1
                    if bad <= 5:
                        print(f"mismatch horse {hid} {m}.{kf}: keel {km[kf]} pandas {r[rf]}", file=sys.stderr)
        a, c, r = loads[hid]
        for kf, rv in (("acute", a), ("chronic", c), ("acwr", r)):
            n += 1
            if not close(h["load"][kf], float(rv)):
                bad += 1
                print(f"mismatch horse {hid} load.{kf}: keel {h['load'][kf]} pandas {rv}", file=sys.stderr)
        for wk in h["weekly"]:
            rw = weeks.loc[(hid, wk["week"])]
            n += 2
            bad += (wk["sessions"] != rw["sessions"]) + (not close(wk["load"], float(rw["load"])))
    print(f"check: {n - bad}/{n} numbers agree with keel", file=sys.stderr)
    return bad == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sessions")
    ap.add_argument("--check")
    a = ap.parse_args()
    t0, c0 = time.perf_counter(), time.process_time()
    res, loads, weeks = compute(a.sessions)
    print(f"{time.perf_counter() - t0:.3f} {time.process_time() - c0:.3f}")
    if a.check and not check(res, loads, weeks, a.check):
        sys.exit(1)


if __name__ == "__main__":
    main()
