"""Benchmark: pairs/s of the ``deep-<arch>`` zoo metrics (issue #16 item 3).

For each architecture, on random-weight trunks (speed does not depend on the values), it times
``metrics.score_pairs`` on N pairs of S×S images in [-1, 1] (default 32 pairs of 64×64, batch
32), and the bare feature extractor (``metric.trunk`` alone, on the 2N already-normalised
images in the same memory format) as the practical limit; each contender's best of ``--rounds``
rounds, interleaved. ViT is timed at its native 224×224, to which it resizes any input.

Run it (the figures in docs/performance.md come from this)::

    .venv/bin/python benchmarks/bench_deep_zoo.py                      # CPU, 2 threads, all listed
    .venv/bin/python benchmarks/bench_deep_zoo.py --threads 1 --clock cpu   # on a busy machine
    .venv/bin/python benchmarks/bench_deep_zoo.py --archs resnet18 vgg16 --device cuda
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import metrics

LISTED = (
    "alexnet", "vgg16", "vgg19", "vgg16_bn", "resnet18", "resnet50", "googlenet",
    "mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny", "swin_t",
    "vit_b_16",
)  # fmt: skip


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(arch: str, args: argparse.Namespace, device: torch.device) -> dict:
    metric = metrics.create_metric(f"deep-{arch}", trunk_weights=None, device=device)
    g = torch.Generator().manual_seed(0)
    n, s = args.pairs, args.size
    a = torch.rand(n, 3, s, s, generator=g) * 2 - 1
    b = torch.rand(n, 3, s, s, generator=g) * 2 - 1
    x = metric._trunk_input([a.to(device), b.to(device)])  # what the trunk gets

    def ours() -> None:
        metrics.score_pairs(metric, a, b, batch_size=args.batch, progress=False)

    def bare() -> None:
        with torch.inference_mode():
            for start in range(0, 2 * n, 2 * args.batch):
                metric.trunk(x[start : start + 2 * args.batch])

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    best = {"ours": float("inf"), "bare": float("inf")}
    for fn in (ours, bare):  # warm-up
        fn()
    for r in range(args.rounds):
        for name, fn in (("ours", ours), ("bare", bare))[:: 1 if r % 2 == 0 else -1]:
            _sync(device)
            start = clock()
            fn()
            _sync(device)
            best[name] = min(best[name], clock() - start)
    return {
        "arch": arch,
        "input": metric.spec.input_policy,
        "pairs_per_s": n / best["ours"],
        "bare_pairs_per_s": n / best["bare"],
        "of_bare": best["bare"] / best["ours"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", nargs="+", default=list(LISTED))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="'cpu': process CPU time (less disturbed by other processes on a shared machine; "
        "divide by the threads for wall time when they are busy)",
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    label = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    print(
        f"# {device} ({label or platform.machine()}), torch {torch.__version__}, "
        f"{args.threads} threads, {args.clock} clock, {args.pairs} pairs of {args.size}×{args.size}, batch {args.batch}"
    )
    print("| metric | input | pairs/s | bare trunk pairs/s | of bare |")
    print("|---|---|---:|---:|---:|")
    results = []
    for arch in args.archs:
        r = bench(arch, args, device)
        results.append(r)
        print(
            f"| deep-{arch} | {r['input']} | {r['pairs_per_s']:.1f} | "
            f"{r['bare_pairs_per_s']:.1f} | {r['of_bare']:.2f} |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
