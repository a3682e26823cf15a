"""Benchmark: metric duels (issue #17) — pool scoring, MAD synthesis speed, a whole duel study.

1. **Pool scoring** (``metrics.duels.score_pool``) of a gMAD pool (R references × C candidates,
   64×64) against ``metrics.score_pairs`` on the same pairs already laid out (reference repeated):
   pairs/s of each, rounds interleaved, and the ratio pool/score_pairs (1.0 = no overhead).
2. **MAD synthesis** of one 64×64 pair with LPIPS-alex (random trunk: same speed as ImageNet's) as
   one of the two metrics, both ways round against L2: steps/s (each step advances both the max
   and the min search) on CPU, and on CUDA when present.
3. **A duel study** of 6 metrics × 3 levels × 10 pairs on 2 threads: gMAD selection end to end
   (pool built with ``experiments`` distortions, scored by the 6 metrics, 30 ordered pairs
   selected) is timed in full; MAD synthesis for the differentiable ordered pairs runs each
   ordered pair's 30 pairs as one batch for ``--probe-steps`` steps and the time per step is
   scaled to ``--study-steps`` (a timed estimate: later steps cost about what early ones do, since
   every step is one move, the same projection budget and one evaluation).

Run from the repository root (the figures in docs/performance.md come from this)::

    nice -n -20 .venv/bin/python benchmarks/bench_duels.py
    .venv/bin/python benchmarks/bench_duels.py --quick          # smoke run
    .venv/bin/python benchmarks/bench_duels.py --device cuda    # MAD steps/s on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from duels_pool import build_pool, references  # noqa: E402

import metrics  # noqa: E402
from metrics.duels import (  # noqa: E402
    is_differentiable,
    score_pool,
    select_gmad_pairs,
    synthesize_mad_pairs,
)

STUDY_METRICS = ("l2", "psnr", "ssim", "ms-ssim", "gmsd", "lpips-alex")
TARGET_S = 600.0


def build(name: str, device: str = "cpu"):
    options = {"trunk_weights": None} if name.startswith("lpips-") else {}
    return metrics.create_metric(name, device=device, **options)


def bench_pool(refs, cands, names, rounds: int) -> list[dict]:
    from metrics.images import to_range

    rows = []
    for name in names:
        m = build(name)
        # Both sides get inputs already in the metric's range (the mapping is not timed).
        refs_m, cands_m = to_range(refs, m.info.input_range), to_range(cands, m.info.input_range)
        flat_refs = refs_m.repeat_interleave(cands.shape[1], dim=0)
        flat = cands_m.flatten(0, 1)
        score_pool(m, refs_m, cands_m)  # warm-up
        metrics.score_pairs(m, flat_refs, flat, progress=False)
        best = {"pool": float("inf"), "pairs": float("inf")}
        for k in range(rounds):
            order = ("pool", "pairs") if k % 2 == 0 else ("pairs", "pool")
            for which in order:
                t = time.perf_counter()
                if which == "pool":
                    score_pool(m, refs_m, cands_m)
                else:
                    metrics.score_pairs(m, flat_refs, flat, progress=False)
                best[which] = min(best[which], time.perf_counter() - t)
        n = flat.shape[0]
        rows.append(
            {
                "metric": name,
                "pairs": n,
                "pool_pairs_s": n / best["pool"],
                "score_pairs_pairs_s": n / best["pairs"],
                "ratio": best["pairs"] / best["pool"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_mad(refs, cands, device: str, steps: int) -> list[dict]:
    rows = []
    ref, start = refs[0], cands[0, 3]  # white noise at severity 0.4
    lp, l2 = build("lpips-alex", device), build("l2", device)
    for fixed, moved, label in (
        (l2, lp, "L2 fixed, LPIPS-alex moved"),
        (lp, l2, "LPIPS-alex fixed, L2 moved"),
    ):
        synthesize_mad_pairs(fixed, moved, ref[None], start[None], tolerance=0.01, steps=2)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        (r,) = synthesize_mad_pairs(
            fixed, moved, ref[None], start[None], tolerance=0.01, steps=steps
        )
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        dt = time.perf_counter() - t
        rows.append(
            {
                "pair": label,
                "device": device,
                "steps": r.steps_run,
                "steps_s": r.steps_run / dt,
                "fixed": r.fixed,
                "moved": r.moved,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_study(n_refs: int, severities: int, probe_steps: int, study_steps: int) -> dict:
    levels, per_level = 3, 10
    t0 = time.perf_counter()
    refs, cands, _ = build_pool(references(n_refs), severities=severities)
    t_pool = time.perf_counter() - t0
    built = {n: build(n) for n in STUDY_METRICS}
    t = time.perf_counter()
    scores = {n: score_pool(m, refs, cands, unit_range=True) for n, m in built.items()}
    t_score = time.perf_counter() - t
    t = time.perf_counter()
    selected = 0
    for d in STUDY_METRICS:
        for a in STUDY_METRICS:
            if a != d:
                selected += len(
                    select_gmad_pairs(
                        scores[d],
                        scores[a],
                        levels=levels,
                        pairs_per_level=per_level,
                        tolerance=0.1,
                    )
                )
    t_select = time.perf_counter() - t
    selection = {
        "pool_candidates": int(cands.shape[0] * cands.shape[1]),
        "pool_build_s": t_pool,
        "pool_scoring_s": t_score,
        "selection_s": t_select,
        "pairs_selected": selected,
        "total_s": t_pool + t_score + t_select,
    }
    print(json.dumps({"selection": selection}), flush=True)

    # Synthesis: for each ordered (fixed, moved) pair of differentiable metrics, 10 starts per
    # level of the fixed metric (pool candidates at that level, one per reference), one batch.
    diff = [n for n in STUDY_METRICS if is_differentiable(n)]
    per_pair = {}
    for fixed in diff:
        d = scores[fixed]
        edges = np.quantile(d[np.isfinite(d)], np.linspace(0, 1, levels + 1))
        idx_r, idx_c = [], []
        for level in range(levels):
            mid = (edges[level] + edges[level + 1]) / 2
            for r in range(per_level):
                rr = r % d.shape[0]
                idx_r.append(rr)
                idx_c.append(int(np.argmin(np.abs(d[rr] - mid))))
        starts = cands[idx_r, idx_c]
        rs = refs[idx_r]
        for moved in diff:
            if moved == fixed:
                continue
            t = time.perf_counter()
            res = synthesize_mad_pairs(
                built[fixed], built[moved], rs, starts, tolerance=0.02, steps=probe_steps
            )
            dt = time.perf_counter() - t
            per_pair[f"{fixed}->{moved}"] = dt / res[0].steps_run
            print(
                json.dumps(
                    {"fixed": fixed, "moved": moved, "s_per_step": per_pair[f"{fixed}->{moved}"]}
                ),
                flush=True,
            )
    synthesis = {
        "ordered_pairs": len(per_pair),
        "mad_pairs": len(per_pair) * levels * per_level,
        "probe_steps": probe_steps,
        "study_steps": study_steps,
        "estimate_s": sum(per_pair.values()) * study_steps,
        "slowest": max(per_pair, key=per_pair.get),
        "slowest_s_per_step": max(per_pair.values()),
    }
    print(json.dumps({"synthesis": synthesis}), flush=True)
    return {"selection": selection, "synthesis": synthesis, "per_pair_s_per_step": per_pair}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="device of the MAD steps/s part")
    parser.add_argument("--parts", nargs="+", default=["pool", "mad", "study"])
    parser.add_argument("--probe-steps", type=int, default=5)
    parser.add_argument("--study-steps", type=int, default=100)
    parser.add_argument("--json", type=pathlib.Path, help="write the results here")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    n_refs, sev = (4, 3) if args.quick else (20, 10)
    print(f"torch {torch.__version__}, {args.threads} threads, load {os.getloadavg()}", flush=True)
    out: dict = {"threads": args.threads, "load_before": os.getloadavg()}
    if "pool" in args.parts or "mad" in args.parts:
        refs, cands, _ = build_pool(references(n_refs), severities=sev)
    if "pool" in args.parts:
        out["pool"] = bench_pool(refs, cands, ("l2", "ssim", "lpips-alex"), 1 if args.quick else 3)
    if "mad" in args.parts:
        out["mad"] = bench_mad(refs, cands, "cpu", 5 if args.quick else 30)
        if args.device != "cpu":
            out["mad"] += bench_mad(refs, cands, args.device, 5 if args.quick else 100)
    if "study" in args.parts:
        out["study"] = bench_study(
            n_refs, sev, 2 if args.quick else args.probe_steps, args.study_steps
        )
        total = out["study"]["selection"]["total_s"] + out["study"]["synthesis"]["estimate_s"]
        out["study"]["both_s"] = total
        print(
            f"study: selection {out['study']['selection']['total_s']:.1f} s, synthesis "
            f"≈ {out['study']['synthesis']['estimate_s']:.1f} s, target {TARGET_S:.0f} s"
        )
    out["load_after"] = os.getloadavg()
    print(f"load after {out['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
