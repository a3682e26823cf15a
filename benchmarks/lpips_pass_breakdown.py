"""Where the time of one ``score_pairs`` trunk pass goes, for the "pairs within 15 % of the bare
trunk" target (docs/performance.md).

For one pass of the size our pipeline makes on CPU (``LPIPS._pass_size``), it times, best and
median over ``--calls`` calls with ``--threads`` threads:

- **range check**: ``metric.prepare`` on the pass's two batches;
- **input**: building the trunk's interleaved, scaled, channels-last input;
- **trunk**: the trunk's forward pass on it;
- **compare, per layer**: ``LPIPS._compare`` on each tap fresh from a trunk pass (as the pipeline
  meets them: written by the trunk, partly out of cache);
- **the comparison's operations on the first tap, cache-hot**: norm, divide, multiply by
  reciprocals, subtract, square, mean, each repeated on the same tensor.

Run it::

    .venv/bin/python benchmarks/lpips_pass_breakdown.py                 # squeeze, 2 threads
    .venv/bin/python benchmarks/lpips_pass_breakdown.py --net alex --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import metrics
from metrics.lpips.model import NORM_EPS, channel_norm


def timed(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """Best and median milliseconds of ``calls`` calls (after two untimed ones)."""
    fn()
    fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return min(times), statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", choices=["alex", "squeeze", "vgg"], default="squeeze")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args(argv)
    if args.calls < 1 or args.threads < 1:
        parser.error("--calls and --threads must be ≥ 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    metric = metrics.create_metric(f"lpips-{args.net}", trunk_weights=None, device="cpu")
    with torch.inference_mode():
        step = metric._pass_size(2, args.size, args.size, 64)
    x0, x1 = (torch.rand(step, 3, args.size, args.size) * 2 - 1 for _ in range(2))
    print(
        f"lpips-{args.net}, torch {torch.__version__}, {args.threads} thread(s), one pass of "
        f"{step} pairs at {args.size}×{args.size}; best / median of {args.calls} calls, ms"
    )
    rows: list[tuple[str, tuple[float, float]]] = []
    with torch.inference_mode():
        rows.append(("range check", timed(lambda: metric.prepare(x0, x1), args.calls)))
        rows.append(("input", timed(lambda: metric._trunk_input([x0, x1]), args.calls)))
        trunk_input = metric._trunk_input([x0, x1])
        rows.append(("trunk", timed(lambda: metric.trunk(trunk_input), args.calls)))
        # Each call compares the taps of a fresh trunk pass (the comparison works in place).
        per_layer: list[list[float]] = [[] for _ in metric.spec.channels]
        for _ in range(args.calls):
            taps = metric.trunk(trunk_input)
            for layer, tap in enumerate(taps):
                start = time.perf_counter()
                metric._compare([tap], 2, [(0, 1)])
                per_layer[layer].append((time.perf_counter() - start) * 1e3)
        for name, times in zip(metric.spec.tap_names, per_layer, strict=True):
            rows.append((f"compare {name}", (min(times), statistics.median(times))))
        total = [sum(t[i] for t in per_layer) for i in range(args.calls)]
        rows.append(("compare, all layers", (min(total), statistics.median(total))))
        for label, (best, median) in rows:
            print(f"  {label:22} {best:8.3f} {median:8.3f}")

        first = metric.trunk(trunk_input)[0]
        norm = channel_norm(first).add_(NORM_EPS)
        recip = norm.reciprocal()
        work = first.clone()
        a, b = work[0::2], work[1::2]
        ops = {
            "norm": lambda: channel_norm(first),
            "divide": lambda: work.div_(norm),
            "multiply by 1/norm": lambda: work.mul_(recip),
            "subtract": lambda: b.sub_(a),
            "square": lambda: b.square_(),
            "mean over positions": lambda: b.mean(dim=(2, 3)),
        }
        print(f"  {metric.spec.tap_names[0]} tap {tuple(first.shape)}, cache-hot operations:")
        for label, fn in ops.items():
            best, median = timed(fn, args.calls)
            print(f"    {label:20} {best:8.3f} {median:8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
