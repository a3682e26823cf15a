"""Benchmark: stimulus generation speed (traditional distortions, study generation, CNN models).

Measures, on 64×64 patches cut from scikit-image's bundled photographs:

1. each of the 20 traditional distortions (``sample_params`` + ``apply``, severity uniform in
   [0, 1]), and the slowest one at severity 1;
2. a mix cycling through all 20: one process, then one process per core (``--workers``);
3. the full generation pipeline of a traditional 2AFC study (plan → patch → two distorted sides →
   three deterministic PNGs), and the projection to a BAPPS-sized study of 480,000 distorted
   patches;
4. two anchors in the same run: our bilateral filter against ``skimage.restoration
   .denoise_bilateral`` and our homography against ``skimage.transform.warp``;
5. CNN autoencoders: training with the CPU defaults plus applying to the patches one needs.

Run from the repository root:  ``.venv/bin/python benchmarks/bench_distortions.py``
(``--quick`` for a smoke run). Figures go to docs/performance.md by hand, with the command.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import pathlib
import platform
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without an install

import numpy as np  # noqa: E402
import skimage.data  # noqa: E402

import experiments  # noqa: E402

BAPPS_DISTORTED = 480_000
TARGET_RATE = 1000.0
TARGET_MINUTES = 10.0


def _patch_pool(count: int) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    images = {}
    for load in (
        skimage.data.astronaut,
        skimage.data.coffee,
        skimage.data.chelsea,
        skimage.data.rocket,
    ):
        image = np.ascontiguousarray(load())
        images[hashlib.sha256(experiments.encode_png(image)).hexdigest()] = image
    per_image = -(-count // len(images))
    patches = [
        r.pixels
        for sha, image in sorted(images.items())
        for r in experiments.sample_patches(image, image_sha256=sha, seed=0, count=per_image)
    ]
    return images, patches[:count]


def _traditional() -> list[str]:
    return [
        i.name
        for i in experiments.list_distortions(category="traditional")
        if i.family != "composed"
    ]


def _run(
    names: list[str], patches: list[np.ndarray], n: int, severity: float | None, seed: int
) -> tuple[float, float]:
    """(wall, CPU) seconds for ``n`` sample+apply calls cycling through names and patches."""
    distortions = [experiments.get_distortion(name) for name in names]
    rng = np.random.default_rng(seed)
    levels = rng.uniform(0.0, 1.0, n) if severity is None else np.full(n, severity)
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(n):
        distortion = distortions[k % len(distortions)]
        params = distortion.sample_params(rng, float(levels[k]))
        distortion.apply(patches[k % len(patches)], **params)
    return time.perf_counter() - start, time.process_time() - cpu


def _worker(args: tuple[list[str], int, int, int]) -> tuple[int, float, float]:
    names, n, count, seed = args
    _, patches = _patch_pool(count)
    _run(names, patches, min(n, 200), None, seed + 1000)  # warm-up
    return (n, *_run(names, patches, n, None, seed))


def _parallel(names: list[str], n: int, workers: int, count: int) -> tuple[float, float]:
    """(wall rate, rate per CPU-second) with ``workers`` processes sharing ``n`` patches."""
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with context.Pool(workers) as pool:
        results = pool.map(_worker, [(names, n // workers, count, s) for s in range(workers)])
    done = sum(r[0] for r in results)
    return done / max(r[1] for r in results), done / sum(r[2] for r in results)


def _pipeline(images: dict[str, np.ndarray], trials: int) -> tuple[float, float, int]:
    """(wall rate, rate per CPU-second, count) of distorted patches through the whole pipeline."""
    design = experiments.TrialDesign.from_dict(
        {
            "seed": 1,
            "kind": "2afc",
            "images": sorted(images),
            "categories": {"traditional": {"choices": [*_traditional(), "composed"]}},
            "counts": {"train": {"traditional": trials}},
        }
    )
    start, cpu = time.perf_counter(), time.process_time()
    distorted = 0
    for index in range(design.total_trials):
        stimuli = experiments.render_trial(
            experiments.plan_trial(design, index), load_image=images.__getitem__
        )
        for stimulus in (stimuli.reference, stimuli.p0, stimuli.p1):
            stimulus.png()
        distorted += 2
    return (
        distorted / (time.perf_counter() - start),
        distorted / (time.process_time() - cpu),
        distorted,
    )


def _anchors(patches: list[np.ndarray], n: int) -> list[tuple[str, float, float]]:
    from skimage import restoration, transform

    bilateral = experiments.get_distortion("bilateral_filter")
    homography = experiments.get_distortion("homography")
    rng = np.random.default_rng(0)
    bil = [bilateral.sample_params(rng, 1.0) for _ in range(n)]
    hom = [homography.sample_params(rng, 1.0) for _ in range(n)]
    rows = []

    def timed(fn):
        start = time.perf_counter()
        for k in range(n):
            fn(k)
        return n / (time.perf_counter() - start)

    ours = timed(lambda k: bilateral.apply(patches[k % len(patches)], **bil[k]))
    theirs = timed(
        lambda k: restoration.denoise_bilateral(
            patches[k % len(patches)],
            win_size=2 * 4 + 1,
            sigma_color=bil[k]["sigma_range"],
            sigma_spatial=bil[k]["sigma_spatial"],
            channel_axis=-1,
        )
    )
    rows.append(("bilateral (σs = 2) vs skimage denoise_bilateral", ours, theirs))

    def skimage_homography(k):
        corners = np.array([[0, 0], [63, 0], [63, 63], [0, 63]], float)
        tform = transform.ProjectiveTransform.from_estimate(
            corners, corners + np.reshape(hom[k]["offsets"], (4, 2))
        )
        transform.warp(patches[k % len(patches)], tform, order=1, mode="symmetric")

    ours = timed(lambda k: homography.apply(patches[k % len(patches)], **hom[k]))
    theirs = timed(skimage_homography)
    rows.append(("homography vs skimage.transform.warp", ours, theirs))
    return rows


def _autoencoders(
    patches: list[np.ndarray], count: int, steps: int | None, per_model: int
) -> list[tuple[float, float, dict]]:
    from experiments.models import autoencoder

    distortion = experiments.get_distortion("cnn_autoencoder")
    results = []
    for seed in range(count):
        hparams = experiments.sample_hparams("autoencoder", np.random.default_rng(seed))
        start, cpu = time.perf_counter(), time.process_time()
        model = experiments.train_model(
            "autoencoder", patches, seed=seed, hparams=hparams, steps=steps
        )
        train = time.perf_counter() - start
        train_cpu = time.process_time() - cpu
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        for k in range(per_model):
            params = distortion.sample_params(rng, 1.0, models=[model.sha256])
            distortion.apply(patches[k % len(patches)], **params)
        apply = (time.perf_counter() - start) / per_model
        summary = {k: hparams[k] for k in ("corruption", "depth", "first_stride", "norm")}
        summary["steps"] = steps or autoencoder.DEFAULT_STEPS
        summary["device"] = model.training["device"]
        summary["train_cpu_s"] = round(train_cpu, 2)
        results.append((train, apply, summary))
    return results


def _rate(n: int, times: tuple[float, float]) -> tuple[float, float]:
    return n / times[0], n / times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    per_distortion = 60 if args.quick else 600
    mix_n = 400 if args.quick else 6000
    trials = 40 if args.quick else 600
    ae_count, ae_steps, ae_apply = (1, 5, 20) if args.quick else (3, None, 400)

    images, patches = _patch_pool(200)
    names = _traditional()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# bench_distortions  python {platform.python_version()}  numpy {np.__version__}  "
        f"cpus {os.cpu_count()}  load average {load:.2f}  experiments {experiments.__version__}"
    )
    print(
        "Rates are patches per wall-clock second and per CPU-second of the benchmarking "
        "processes; on a shared machine the CPU rate is the stable one."
    )
    _run(names, patches, 200, None, 99)  # warm caches and lazy imports

    print("\n## Traditional distortions, 64×64, severity ~ U[0, 1], one process")
    print(f"{'distortion':24s} {'wall/s':>9s} {'cpu/s':>9s}")
    rates = {}
    for name in names:
        wall, cpu = _rate(per_distortion, _run([name], patches, per_distortion, None, 0))
        rates[name] = cpu
        print(f"{name:24s} {wall:9.0f} {cpu:9.0f}")
    slowest = min(rates, key=rates.get)
    worst = _rate(per_distortion, _run([slowest], patches, per_distortion, 1.0, 0))[1]
    print(f"slowest: {slowest} ({rates[slowest]:.0f}/CPU-s; {worst:.0f}/CPU-s at severity 1)")

    wall1, cpu1 = _rate(mix_n, _run(names, patches, mix_n, None, 1))
    wall_n, cpu_n = (
        _parallel(names, mix_n * args.workers, args.workers, 200)
        if args.workers > 1
        else (wall1, cpu1)
    )
    capacity = cpu_n * args.workers
    verdict = "meets" if capacity >= TARGET_RATE else "MISSES"
    print(
        f"\n## Mix of all 20\none process: {wall1:.0f}/s wall, {cpu1:.0f}/CPU-s\n"
        f"{args.workers} processes: {wall_n:.0f}/s wall (shared machine), {cpu_n:.0f}/CPU-s "
        f"each → {capacity:.0f}/s with {args.workers} dedicated cores "
        f"({verdict} the {TARGET_RATE:.0f}/s target)"
    )

    wall_rate, cpu_rate, distorted = _pipeline(images, trials)
    cpu_minutes = BAPPS_DISTORTED / cpu_rate / 60.0
    wall_minutes = cpu_minutes / args.workers
    verdict = "meets" if wall_minutes <= TARGET_MINUTES else "MISSES"
    print(
        f"\n## Study generation pipeline (plan, patch, 2 sides incl. composed, 3 PNGs)\n"
        f"{wall_rate:.0f} distorted patches/s wall, {cpu_rate:.0f}/CPU-s, one process "
        f"({distorted} measured)\n"
        f"480k distorted patches: {cpu_minutes:.1f} CPU-minutes = {wall_minutes:.1f} min on "
        f"{args.workers} dedicated cores ({verdict} the {TARGET_MINUTES:.0f}-minute target); "
        f"at this run's wall rate: {BAPPS_DISTORTED / wall_rate / 60 / args.workers:.1f} min"
    )

    print("\n## Anchors (same run): ours vs reference implementation, patches/s wall")
    for label, ours, theirs in _anchors(patches, 30 if args.quick else 200):
        print(f"{label}: {ours:.0f} vs {theirs:.0f} (×{ours / theirs:.1f})")

    print("\n## CNN autoencoders: train (256 patches) + apply, CPU defaults")
    start = time.perf_counter()
    experiments.train_model("autoencoder", patches[:2], seed=0, steps=1)  # import torch, warm up
    print(
        f"one-off per worker process (torch import, first model): "
        f"{time.perf_counter() - start:.2f} s"
    )
    results = _autoencoders(patches[:200] + patches[:56], ae_count, ae_steps, ae_apply)
    for train, apply, summary in results:
        print(
            f"train {train:6.2f} s  apply {apply * 1000:5.1f} ms/patch  "
            f"train+apply {ae_apply} patches {train + apply * ae_apply:6.2f} s  {summary}"
        )
    trains = [r[0] for r in results]
    print(
        f"mean train {statistics.mean(trains):.2f} s, mean train + {ae_apply} applies "
        f"{statistics.mean(r[0] + r[1] * ae_apply for r in results):.2f} s per autoencoder "
        f"(wall)"
    )


if __name__ == "__main__":
    main()
