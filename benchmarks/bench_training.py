"""Benchmark: fitting LPIPS-alex lin (10 epochs, 20k triplets), our fast path against lpips.Trainer.

One run, same machine, same PNG files (a synthetic BAPPS folder, ``bench_evaluate.ensure_data``:
20k train triplets in traditional/cnn/mix, 64×64, judged by a hidden LPIPS), same random alex
trunk (ours, copied into the official module), same recipe (Adam lr 1e-4, β1 0.5, batch 50,
dropout 0.5, clamp ≥ 0; 5 + 5 epochs):

- **ours**, end to end: ``metrics.training.fit`` on the folder, fast path, checkpoints on,
  timed from the call to the returned result (reading every PNG once, the trunk over every image
  once, 10 epochs on the cached vectors, a checkpoint per epoch).
- **official**: ``lpips.Trainer(is_train=True)`` fed by a shuffled ``DataLoader`` that reads the
  files as the official loader does, ``set_input`` + ``optimize_parameters`` per batch, as the
  official ``train.py`` does. It runs ``--official-epochs`` (default 1) and its time is scaled to
  10 epochs (every official epoch does the same work; the scaling is printed).

Neither side validates while timed. Afterwards (untimed) both are scored on the val sets
traditional + cnn (5k triplets): ours after 10 epochs, and ours and the official model after the
epochs the official side ran (our 1-epoch model comes from a separate 1-epoch fit, which equals
the first epoch of the 10-epoch run), with a paired bootstrap of the difference. Our own full
path (element-wise dropout, images through the trunk every step; same seed, so the same
initialisation and batches) is also run for ``--full-epochs`` (default: the whole 10-epoch
recipe) and compared with the fast path the same way, and by the direction and size of the lin
weights' updates: that is the check of the fast path's dropout stand-in.

Run it (the figures in docs/performance.md come from this)::

    .venv/bin/python benchmarks/bench_training.py --data /tmp/perceptlab-bench-bapps

Exit status 1 when ours is less than 20× faster or a paired interval excludes 0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_evaluate import (
    TRAIN,
    OfficialStyleLoader,
    OfficialStyleTwoAFC,
    ensure_data,
    official_trainer,
)

TARGET = 20.0
EPOCHS = 10
VAL_SETS = ("traditional", "cnn")


def _ours_val(result, root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from metrics.training.evaluation import bapps_distances

    dist = bapps_distances(
        result.create_metric(device="cpu"), root, categories=list(VAL_SETS), jnd_categories=[]
    )["2afc"]
    return tuple(np.concatenate([dist[c][i] for c in VAL_SETS]) for i in range(3))


def _official_val(trainer, root: Path, workers: int):
    import lpips

    trainer.net.eval()  # dropout off, as the official test script's model is
    d0, d1, judge = [], [], []
    for category in VAL_SETS:
        data = OfficialStyleTwoAFC([root / "2afc" / "val" / category])
        _, extra = lpips.score_2afc_dataset(
            OfficialStyleLoader(data, 50, workers), trainer.forward, name=category
        )
        d0.append(extra["d0s"])
        d1.append(extra["d1s"])
        judge.append(extra["gts"])
    return np.concatenate(d0), np.concatenate(d1), np.concatenate(judge)


def _official_epochs(root: Path, trunk_model, epochs: int, workers: int) -> tuple[object, float]:
    torch.manual_seed(0)  # the official lin and G initialisation use the global generator
    trainer = official_trainer(trunk_model, is_train=True, lr=1e-4, beta1=0.5)
    data = OfficialStyleTwoAFC([root / "2afc" / "train" / c for c in TRAIN])
    print(f"  {len(data)} training triplets", flush=True)
    loader = OfficialStyleLoader(data, 50, workers, shuffle=True, seed=0)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        for step, batch in enumerate(loader.load_data(), start=1):
            trainer.set_input(batch)
            trainer.optimize_parameters()
            if step % 50 == 0:
                elapsed = time.perf_counter() - started
                print(f"  official epoch {epoch}: step {step}, {elapsed:.0f} s", flush=True)
    return trainer, time.perf_counter() - started


def _score(d0, d1, judge) -> dict:
    from metrics.scoring import score_2afc_set

    s = score_2afc_set(d0, d1, judge, category="val")
    return {"score": s.score, "ci_low": s.ci_low, "ci_high": s.ci_high, "n": s.n}


def _flat(state: dict) -> torch.Tensor:
    return torch.cat([v.flatten() for v in state.values()])


def _paired(test) -> dict:
    return {
        "difference": test.difference,
        "ci_low": test.ci_low,
        "ci_high": test.ci_high,
        "p_value": test.p_value,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/perceptlab-bench-bapps"))
    parser.add_argument("--threads", type=int, default=2, help="torch threads (both sides)")
    parser.add_argument("--workers", type=int, default=2, help="official loader processes")
    parser.add_argument(
        "--official-epochs",
        type=int,
        default=1,
        help="official epochs to run; the time is scaled to 10",
    )
    parser.add_argument(
        "--full-epochs",
        type=int,
        default=EPOCHS,
        help="epochs of our full path for the fast-vs-full check (10: the recipe)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--quick", action="store_true", help="1/50 of the data (smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = ensure_data(args.data, args.quick)

    from metrics.bapps import BappsDataset
    from metrics.lpips import LPIPS
    from metrics.scoring import paired_bootstrap_2afc
    from metrics.training import Trainer, fit

    n_train = sum(len(BappsDataset(root).twoafc("train", c)) for c in TRAIN)
    work = Path(tempfile.mkdtemp(prefix="bench-training-"))
    try:
        common = {"trunk_weights": None, "device": "cpu", "val": False}
        print("ours: 10 epochs, fast path, end to end...", flush=True)
        started = time.perf_counter()
        ours10 = fit(root, checkpoint_dir=work / "ours10", **common)
        ours_s = time.perf_counter() - started
        print(f"  {ours_s:.1f} s", flush=True)

        # The 1-epoch model for the paired comparison, on the cached vectors (untimed).
        (work / "ours1").mkdir()
        for cache in (work / "ours10").glob("vectors-*.pt"):
            shutil.copy(cache, work / "ours1" / cache.name)
        ours1 = fit(
            root,
            checkpoint_dir=work / "ours1",
            epochs=args.official_epochs,
            decay_epochs=0,
            **common,
        )

        # Our own full path (images through the trunk every step, element-wise dropout), same
        # seed, so the same initialisation and batches: only the dropout noise differs from the
        # fast path. This is the check of the fast path's dropout stand-in.
        full_epochs = args.full_epochs
        print(f"ours: {full_epochs} epoch(s), full path...", flush=True)
        started = time.perf_counter()
        decay = max(0, full_epochs - 5)  # the recipe's 5 + 5 when full_epochs is 10
        full = fit(root, path="full", epochs=full_epochs - decay, decay_epochs=decay, **common)
        full_run_s = time.perf_counter() - started
        print(f"  {full_run_s:.1f} s", flush=True)
        fast_same = ours10 if full_epochs == EPOCHS else ours1
        initial = Trainer(root, **common).lin.weight.detach().clone()
        update_fast = _flat(fast_same.lin_state_dict) - initial
        update_full = _flat(full.lin_state_dict) - initial
        updates = {
            "cosine": float(torch.nn.functional.cosine_similarity(update_fast, update_full, 0)),
            "relative_difference": float((update_fast - update_full).norm() / update_full.norm()),
            "relative_update": float(update_full.norm() / initial.norm()),
        }

        print(f"official: {args.official_epochs} epoch(s)...", flush=True)
        trunk = LPIPS("alex", trunk_weights=None, seed=0, variant="baseline", device="cpu")
        trainer, official_run_s = _official_epochs(root, trunk, args.official_epochs, args.workers)
        official_s = official_run_s * EPOCHS / args.official_epochs
        print(
            f"  {official_run_s:.1f} s, scaled to {EPOCHS} epochs: {official_s:.1f} s", flush=True
        )

        print("scoring on val traditional + cnn (untimed)...", flush=True)
        v10, v1, vf = _ours_val(ours10, root), _ours_val(ours1, root), _ours_val(full, root)
        vfast = v10 if full_epochs == EPOCHS else v1
        off = _official_val(trainer, root, args.workers)
        assert np.allclose(v1[2], off[2], atol=1e-6), "both sides must read the same judges"
        off = (off[0], off[1], v1[2])  # the official loader keeps float32 judges
        paired = paired_bootstrap_2afc(v1[0], v1[1], off[0], off[1], v1[2], seed=0)
        paired_full = paired_bootstrap_2afc(vfast[0], vfast[1], vf[0], vf[1], v1[2], seed=0)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    speedup = official_s / ours_s
    figures = {
        "train_triplets": n_train, "epochs": EPOCHS,
        "official_epochs_run": args.official_epochs, "official_run_s": official_run_s,
        "official_10_epochs_s": official_s, "ours_10_epochs_s": ours_s, "speedup": speedup,
        "ours_full_path_epochs": full_epochs, "ours_full_path_run_s": full_run_s,
        "val_ours_10": _score(*v10), "val_ours_1": _score(*v1), "val_official_1": _score(*off),
        "val_ours_full": _score(*vf),
        "paired_ours1_minus_official1": _paired(paired),
        "paired_fast_minus_full": _paired(paired_full),
        "lin_update_fast_vs_full": updates,
        "threads": torch.get_num_threads(), "official_loader_workers": args.workers,
    }  # fmt: skip
    e = args.official_epochs
    print(f"\nLPIPS-alex lin, {figures['train_triplets']} triplets, {EPOCHS} epochs, CPU")
    print("| | time for 10 epochs | note |")
    print("|---|---|---|")
    print(
        f"| official `lpips.Trainer` | {official_s:.0f} s | {e} epoch(s) run "
        f"({official_run_s:.0f} s), scaled ×{EPOCHS / e:g} |"
    )
    print(f"| ours, fast path, end to end | {ours_s:.1f} s | measured |")
    print(f"\nspeed-up {speedup:.1f}× (target ≥ {TARGET}×)")
    print(f"ours, full path: {full_epochs} epoch(s) in {full_run_s:.0f} s")
    for name in ("val_ours_10", "val_ours_1", "val_ours_full", "val_official_1"):
        s = figures[name]
        print(
            f"{name}: {100 * s['score']:.2f} [{100 * s['ci_low']:.2f}, "
            f"{100 * s['ci_high']:.2f}] on {s['n']} val triplets"
        )
    for label, test, n in (
        ("ours (fast) − official", paired, e),
        ("ours fast − ours full", paired_full, full_epochs),
    ):
        print(
            f"{label} after {n} epoch(s): {100 * test.difference:+.2f} "
            f"[{100 * test.ci_low:+.2f}, {100 * test.ci_high:+.2f}], p = {test.p_value:.2f}"
        )
    print(
        f"lin-weight updates after {full_epochs} epoch(s), fast vs full path: cosine "
        f"{updates['cosine']:.4f}, relative difference {updates['relative_difference']:.3f} "
        f"(update / initial weights {updates['relative_update']:.3f})"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    same = all(t.ci_low <= 0 <= t.ci_high for t in (paired, paired_full))
    return 0 if speedup >= TARGET and same else 1


if __name__ == "__main__":
    sys.exit(main())
