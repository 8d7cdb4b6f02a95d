#!/usr/bin/env python3
"""Deterministic session lines (NDJSON) for the trend benchmark.

Each line is {"horse_id", "date", "session_id", "summary": <aggregate shape>}.
Horses are interleaved by date, as an upload log would be.  Values drift and
jitter so that baselines, z-scores, slopes and flags all have work to do.

usage: gen_sessions.py --horses 200 --sessions 50 --seed 1 --out sessions.ndjson
"""
import argparse
import datetime as dt
import json
import random


def summary(rng, h, k):
    walk = rng.uniform(600, 1500)
    trot = rng.uniform(300, 1200) if rng.random() > 0.05 else 0.0
    canter = rng.uniform(0, 600)
    gallop = rng.uniform(0, 60) if rng.random() < 0.2 else 0.0
    halt = rng.uniform(30, 300)
    dur = walk + trot + canter + gallop + halt
    gaits = {}
    for name, t, cad in (("halt", halt, 0), ("walk", walk, 52), ("trot", trot, 75),
                         ("canter", canter, 98), ("gallop", gallop, 120)):
        gaits[name] = {
            "time_s": round(t, 2),
            "share": round(t / dur, 4),
            "cadence_spm": round(cad * (1 + 0.002 * k) + rng.gauss(0, 1.5), 2) if t > 0 and cad else 0,
            "regularity": round(min(10.0, max(0.0, rng.gauss(7.5, 0.6))), 3) if t > 0 and cad else 0,
        }
    left = rng.uniform(200, 600)
    right = left * max(0.2, rng.gauss(1.0, 0.12))
    load = dur / 60 * rng.uniform(2.0, 4.0) * (2.5 if rng.random() < 0.03 else 1.0)
    sym = 96 - (0.15 * k if h % 17 == 0 else 0) + rng.gauss(0, 1.2) if trot > 0 else 0
    return {
        "duration_s": round(dur, 2), "samples": int(dur * 100), "rate_hz": 100.0,
        "quality": {"gaps": 0, "gap_s": 0.0, "dropped_rows": 0, "nonmonotonic_rows": 0, "nan_cells": 0},
        "gaits": gaits,
        "rein": {"left_s": round(left, 2), "right_s": round(right, 2), "straight_s": round(dur - left - right, 2),
                 "balance": round((left - right) / (left + right), 4)},
        "trot_symmetry_pct": round(sym, 2),
        "canter_lead": {"left_s": round(canter / 2, 2), "right_s": round(canter / 2, 2)},
        "jumps": [],
        "jump_count": rng.choice((0, 0, 0, 4, 8, 12)),
        "intensity": {"mdba": round(rng.uniform(1.5, 4.0), 3), "load": round(load, 3)},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--horses", type=int, default=200)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    start = dt.date(2025, 1, 6)
    rows = []
    for h in range(1, a.horses + 1):
        day = rng.randrange(0, 5)
        for k in range(a.sessions):
            day += rng.choice((1, 1, 1, 2, 2, 3))
            rows.append((day, h, k))
    rows.sort()
    with open(a.out, "w") as f:
        for day, h, k in rows:
            line = {"horse_id": h, "date": (start + dt.timedelta(days=day)).isoformat(),
                    "session_id": f"h{h}-s{k}", "summary": summary(rng, h, k)}
            f.write(json.dumps(line, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
