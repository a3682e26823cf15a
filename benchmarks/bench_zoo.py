"""Benchmark: the full-reference metric zoo (issue #16 item 2) against piq 0.8.0, in one run.

For each metric and image size it times, on the same float32 [0, 1] inputs with the same thread
count, ``metric(x0, x1)`` of a PerceptLab metric (validation included, ``range_check="strict"``)
against the piq function it is checked against (``reduction="none"``), both under
``torch.inference_mode()``. The contenders run interleaved, round after round, alternating which
goes first; reported are pairs/s from the fastest round of each (other processes on a shared
machine only ever add time) and, as the ratio ours/piq, both that of the fastest rounds and the
median of the per-round ratios (both sides timed back to back). A metric counts as too slow
when either ratio is below 1/1.5 (more than 1.5× slower than piq); the exit status is then 1.

Run it (the figures in docs/performance.md come from this)::

    .venv/bin/python benchmarks/bench_zoo.py                        # CPU, 2 threads, 64 and 256 px
    .venv/bin/python benchmarks/bench_zoo.py --metrics gmsd vifp --sizes 64
    .venv/bin/python benchmarks/bench_zoo.py --device cuda           # where a GPU is lent
    .venv/bin/python benchmarks/bench_zoo.py --memory                # also peak memory per call

Peak memory (``--memory``) is measured for each contender in a fresh process, because an
allocator that already holds freed memory hides the peak: on CPU the growth of the peak resident
set (VmHWM) over the resident set just before one call (metric built, inputs made, one warm-up
call done), on CUDA the peak allocated bytes over those allocated before it.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import metrics

SLOWEST = 1.5  # ours may be at most this many times slower than piq


def _piq_iw_ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    import piq

    side = min(a.shape[-2:])
    levels = max(lv for lv in range(1, 6) if side >= 10 * 2 ** (lv - 1) + 1)
    weights = torch.tensor((0.0448, 0.2856, 0.3001, 0.2363, 0.1333)[:levels], device=a.device)
    return 1.0 - piq.information_weighted_ssim(
        b, a, data_range=1.0, reduction="none", scale_weights=weights
    )


def _dists_ab() -> dict[str, torch.Tensor]:
    """Random α/β in the official file's layout (the official ones cannot be downloaded here;
    the values do not change the speed)."""
    g = torch.Generator().manual_seed(1)
    return {k: 0.1 + 0.01 * torch.randn(1, 1475, 1, 1, generator=g) for k in ("alpha", "beta")}


class _PiqDISTS:
    """piq.DISTS with our seeded random VGG16 trunk and the same α/β (normalised, as piq takes
    them), built on first call; piq's downloads of both are replaced by these tensors."""

    def __init__(self) -> None:
        self.model = None

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.model is None:
            from unittest import mock

            import piq
            import piq.perceptual
            import torchvision

            from metrics.lpips.trunks import build_trunk

            vgg = torchvision.models.vgg16(weights=None)
            vgg.features.load_state_dict(build_trunk("vgg", None, seed=0).features.state_dict())
            ab = _dists_ab()
            total = ab["alpha"].sum() + ab["beta"].sum()
            ab = {k: v / total for k, v in ab.items()}
            with (
                mock.patch.object(piq.perceptual, "vgg16", return_value=vgg),
                mock.patch.object(torch.hub, "load_state_dict_from_url", return_value=ab),
            ):
                self.model = piq.DISTS(reduction="none").to(a.device)
        return self.model(a, b)


def piq_contenders() -> dict[str, tuple[dict, Callable]]:
    """Registry name -> (our options, piq on (x0, x1), x0 the reference, as our distance)."""
    import piq

    return {
        "gmsd": ({}, lambda a, b: piq.gmsd(a, b, data_range=1.0, reduction="none")),
        "ms-gmsd": ({}, lambda a, b: piq.multi_scale_gmsd(a, b, data_range=1.0, reduction="none")),
        "vifp": ({}, lambda a, b: 1.0 - piq.vif_p(b, a, data_range=1.0, reduction="none")),
        "haarpsi": ({}, lambda a, b: 1.0 - piq.haarpsi(a, b, data_range=1.0, reduction="none")),
        "mdsi": ({}, lambda a, b: piq.mdsi(a, b, data_range=1.0, reduction="none")),
        "dss": ({}, lambda a, b: 1.0 - piq.dss(a, b, data_range=1.0, reduction="none")),
        "vsi": ({}, lambda a, b: 1.0 - piq.vsi(a, b, data_range=1.0, reduction="none")),
        # piq's information_weighted_ssim takes the reference as y; below 161 px with the
        # exponents our small-input policy uses (the same number, see tests/metrics/test_zoo.py).
        "iw-ssim": ({}, _piq_iw_ssim),
        "dists": ({"weights": _dists_ab(), "trunk_weights": None}, _PiqDISTS()),
        # piq's batched call (its saliency is normalised batch-wide; the time is what counts here,
        # so max|Δ| is not a parity figure for srsim).
        "srsim": ({}, lambda a, b: 1.0 - piq.srsim(a, b, data_range=1.0, reduction="none")),
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn: Callable[[], object], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    with torch.inference_mode():
        fn()
    _sync(device)
    return time.perf_counter() - start


def bench(name: str, size: int, args: argparse.Namespace, device: torch.device) -> dict:
    options, reference = piq_contenders()[name]
    ours = metrics.create_metric(name, device=device, **options)
    batch = args.batch if size <= 64 else max(1, args.batch // 16)
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(batch, 3, size, size, generator=g)
    x1 = (x0 + 0.05 * torch.randn(x0.shape, generator=g)).clamp(0, 1)
    x0, x1 = x0.to(device), x1.to(device)
    contenders = {"ours": lambda: ours(x0, x1), "piq": lambda: reference(x0, x1)}
    with torch.inference_mode():
        diff = (ours(x0, x1).double() - reference(x0, x1).double()).abs().max().item()
    times: dict[str, list[float]] = {"ours": [], "piq": []}
    for _ in range(2):  # warm-up
        for fn in contenders.values():
            _time(fn, device)
    for r in range(args.rounds):
        order = ("ours", "piq") if r % 2 == 0 else ("piq", "ours")
        for key in order:
            times[key].append(_time(contenders[key], device))
    best = {k: min(v) for k, v in times.items()}
    per_round = [p / o for o, p in zip(times["ours"], times["piq"], strict=True)]
    return {
        "metric": name,
        "size": size,
        "batch": batch,
        "ours_pairs_s": batch / best["ours"],
        "piq_pairs_s": batch / best["piq"],
        "ratio_best": best["piq"] / best["ours"],
        "ratio_median": statistics.median(per_round),
        "max_abs_diff": diff,
    }


def _inputs(name: str, size: int, args: argparse.Namespace, device: torch.device):
    batch = args.batch if size <= 64 else max(1, args.batch // 16)
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(batch, 3, size, size, generator=g)
    x1 = (x0 + 0.05 * torch.randn(x0.shape, generator=g)).clamp(0, 1)
    return x0.to(device), x1.to(device)


def _status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", text).group(1))


def probe_memory(name: str, size: int, contender: str, args: argparse.Namespace) -> float:
    """Peak memory growth (MiB) of one call of one contender (run in a fresh process)."""
    device = torch.device(args.device)
    options, reference = piq_contenders()[name]
    fn = metrics.create_metric(name, device=device, **options) if contender == "ours" else reference
    x0, x1 = _inputs(name, size, args, device)
    with torch.inference_mode():
        fn(x0, x1)  # warm-up: lazy set-up (piq's DISTS trunk, cached kernels) is not the peak
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            before = torch.cuda.memory_allocated(device)
            fn(x0, x1)
            torch.cuda.synchronize(device)
            return (torch.cuda.max_memory_allocated(device) - before) / 2**20
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        before = _status_kib("VmRSS")
        fn(x0, x1)
        return (_status_kib("VmHWM") - before) / 1024


def peak_memory(name: str, size: int, contender: str, args: argparse.Namespace) -> float:
    command = [
        sys.executable, __file__, "--probe-memory", name, str(size), contender,
        "--batch", str(args.batch), "--threads", str(args.threads), "--device", args.device,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", nargs="+", default=None, help="default: all")
    parser.add_argument("--sizes", nargs="+", type=int, default=[64, 256])
    parser.add_argument(
        "--batch", type=int, default=32, help="pairs per call at 64 px (/16 at 256)"
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--memory", action="store_true", help="also peak memory per call")
    parser.add_argument("--probe-memory", nargs=3, metavar=("METRIC", "SIZE", "CONTENDER"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.probe_memory:
        name, size, contender = args.probe_memory
        print(f"{probe_memory(name, int(size), contender, args):.1f}")
        return 0
    device = torch.device(args.device)
    names = args.metrics or list(piq_contenders())
    print(
        f"device {device}, {args.threads} threads, torch {torch.__version__}, "
        f"{args.rounds} rounds; ratio = ours/piq speed (>1: ours faster)"
    )
    print(
        f"{'metric':<12}{'px':>5}{'batch':>6}{'ours pairs/s':>14}{'piq pairs/s':>13}"
        f"{'ratio best':>11}{'ratio med':>10}{'max|Δ|':>9}"
    )
    results, failed = [], []
    for name in names:
        for size in args.sizes:
            res = bench(name, size, args, device)
            if args.memory:
                res["ours_peak_mib"] = peak_memory(name, size, "ours", args)
                res["piq_peak_mib"] = peak_memory(name, size, "piq", args)
            results.append(res)
            slow = min(res["ratio_best"], res["ratio_median"]) < 1 / SLOWEST
            if slow:
                failed.append(f"{name}@{size}")
            print(
                f"{name:<12}{size:>5}{res['batch']:>6}{res['ours_pairs_s']:>14.1f}"
                f"{res['piq_pairs_s']:>13.1f}{res['ratio_best']:>10.2f}×{res['ratio_median']:>9.2f}×"
                f"{res['max_abs_diff']:>9.1e}"
                + (
                    f"  peak MiB ours {res['ours_peak_mib']:.1f} / piq {res['piq_peak_mib']:.1f}"
                    if args.memory
                    else ""
                )
                + ("  TOO SLOW" if slow else ""),
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if failed:
        print(f"more than {SLOWEST}× slower than piq: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
