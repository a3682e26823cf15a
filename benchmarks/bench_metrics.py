"""Benchmark: PerceptLab LPIPS against the official ``lpips`` package, in one run, same inputs.

For each trunk it times, on 64×64 patches in batches of 64 with the same thread count for all:

- **triplets/s**: ``metrics.score_triplets`` against the official package scoring the same
  triplets with two calls each (``lp(ref, p0)``, ``lp(ref, p1)``, under ``torch.no_grad()``);
- **pairs/s**: ``metrics.score_pairs`` against the official call, and against the trunk's bare
  forward pass over the same images (the practical limit: the trunk module alone, in the
  same memory format, no scaling, normalisation or comparison);
- **peak memory** of each contender (CPU: growth of the peak resident set; CUDA: peak allocated).

Contenders run interleaved, round after round, and each keeps its fastest round: the machines
this runs on are shared, and other processes only ever add time. Both sides use random trunk
weights (speed does not depend on the values) and the official side gets our trunk copied in, so
the run also checks that both compute the same distances.

Run it (the figures in docs/performance.md come from this)::

    .venv/bin/python benchmarks/bench_metrics.py                    # CPU, 2 threads, alex/squeeze/vgg
    .venv/bin/python benchmarks/bench_metrics.py --threads 4 --rounds 9 --nets alex
    .venv/bin/python benchmarks/bench_metrics.py --device cuda      # also run automatically on CUDA

Exit status 1 when a target is missed (alex triplets ≥ 2× official; alex and squeeze pairs within
15% of the bare trunk) or the distances disagree by more than 1e-5.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import metrics  # noqa: E402

TRIPLET_TARGET = 2.0  # ours / official, lpips-alex
BARE_TARGET = 0.85  # ours pairs/s over bare-trunk pairs/s, lpips-alex and lpips-squeeze
BARE_TARGET_NETS = ("alex", "squeeze")


def _official(ours, device: torch.device):
    import lpips

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lpips.LPIPS(net=ours.spec.net, pnet_rand=True, verbose=False)
    state = ref.state_dict()
    trunk = ours.trunk.features.state_dict()
    for key in state:
        if key.startswith("net.slice"):
            state[key] = trunk[key.split(".", 2)[2]].clone()
    ref.load_state_dict(state)
    return ref.eval().to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """Peak memory growth of a block: CUDA peak allocated, or the CPU peak RSS (VmHWM)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.bytes = 0

    @staticmethod
    def _status(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
        else:
            # Writing 5 to clear_refs resets the peak RSS (Linux >= 4.0).
            Path("/proc/self/clear_refs").write_text("5")
            self.start = self._status("VmRSS")
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self.start
        else:
            self.bytes = self._status("VmHWM") - self.start


def _time(fn: Callable[[], object], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def bench_net(net: str, args: argparse.Namespace, device: torch.device) -> dict:
    torch.manual_seed(0)
    ours = metrics.create_metric(f"lpips-{net}", trunk_weights=None, device=device)
    official = _official(ours, device)
    n, bs, size = args.batches * args.batch, args.batch, args.size
    ref, p0, p1 = (torch.rand(n, 3, size, size, device=device) * 2 - 1 for _ in range(3))
    batches = [(ref[i : i + bs], p0[i : i + bs], p1[i : i + bs]) for i in range(0, n, bs)]

    def official_triplets():
        with torch.no_grad():
            return [(official(r, a), official(r, b)) for r, a, b in batches]

    def ours_triplets():
        return metrics.score_triplets(ours, ref, p0, p1, batch_size=bs, progress=False)

    def official_pairs():
        with torch.no_grad():
            return [official(a, b) for _, a, b in batches]

    def ours_pairs():
        return metrics.score_pairs(ours, p0, p1, batch_size=bs, progress=False)

    # The bare trunk over exactly the images a pair batch needs, in our memory format.
    fmt = torch.channels_last if ours.channels_last else torch.contiguous_format
    bare_inputs = [torch.cat((a, b)).contiguous(memory_format=fmt) for _, a, b in batches]

    def bare_trunk():
        with torch.inference_mode():
            return [ours.trunk(x) for x in bare_inputs]

    # Same distances on both sides (and a warm-up of every path).
    d0, d1 = ours_triplets()
    off = official_triplets()
    expected0 = torch.cat([a.flatten() for a, _ in off]).cpu()
    expected1 = torch.cat([b.flatten() for _, b in off]).cpu()
    max_diff = max((d0 - expected0).abs().max().item(), (d1 - expected1).abs().max().item())
    ours_pairs(), official_pairs(), bare_trunk()

    contenders = {
        "official_triplets": official_triplets,
        "ours_triplets": ours_triplets,
        "official_pairs": official_pairs,
        "ours_pairs": ours_pairs,
        "bare_trunk": bare_trunk,
    }
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(args.rounds):
        for name, fn in contenders.items():
            best[name] = min(best[name], _time(fn, device))
    peak = {}
    for name in ("official_triplets", "ours_triplets", "ours_pairs", "bare_trunk"):
        with PeakMemory(device) as mem:
            contenders[name]()
        peak[name] = mem.bytes

    per_s = {name: n / t for name, t in best.items()}
    return {
        "net": net,
        "device": str(device),
        "max_abs_diff": max_diff,
        "per_second": per_s,
        "triplet_ratio": per_s["ours_triplets"] / per_s["official_triplets"],
        "pair_ratio_official": per_s["ours_pairs"] / per_s["official_pairs"],
        "pair_ratio_bare": per_s["ours_pairs"] / per_s["bare_trunk"],
        "peak_mib": {k: v / 2**20 for k, v in peak.items()},
    }


def report(result: dict) -> list[str]:
    """Print one trunk's figures; return the targets it misses."""
    net, ps = result["net"], result["per_second"]
    print(f"\nlpips-{net} on {result['device']} (max |ours - official| = "
          f"{result['max_abs_diff']:.2e})")
    print(f"  triplets/s  official {ps['official_triplets']:8.1f}   ours {ps['ours_triplets']:8.1f}"
          f"   ratio {result['triplet_ratio']:.2f}x")
    print(f"  pairs/s     official {ps['official_pairs']:8.1f}   ours {ps['ours_pairs']:8.1f}"
          f"   bare trunk {ps['bare_trunk']:8.1f}")
    print(f"  pairs ratio ours/official {result['pair_ratio_official']:.2f}x, "
          f"ours/bare trunk {result['pair_ratio_bare']:.3f}")
    mem = result["peak_mib"]
    print(f"  peak memory (MiB) official triplets {mem['official_triplets']:.0f}, ours triplets "
          f"{mem['ours_triplets']:.0f}, ours pairs {mem['ours_pairs']:.0f}, bare trunk "
          f"{mem['bare_trunk']:.0f}")
    missed = []
    if result["max_abs_diff"] > 1e-5:
        missed.append(f"lpips-{net}: distances differ by {result['max_abs_diff']:.2e}")
    if net == "alex" and result["triplet_ratio"] < TRIPLET_TARGET:
        missed.append(f"lpips-alex triplets {result['triplet_ratio']:.2f}x < {TRIPLET_TARGET}x")
    if net in BARE_TARGET_NETS and result["pair_ratio_bare"] < BARE_TARGET:
        missed.append(f"lpips-{net} pairs at {result['pair_ratio_bare']:.3f} of the bare trunk "
                      f"< {BARE_TARGET}")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", default=["alex", "squeeze", "vgg"])
    parser.add_argument("--threads", type=int, default=2, help="torch threads for both sides")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=4, help="batches per timed round")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all",
                        help="'all': CPU, and CUDA when available")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] if args.device in ("cpu", "all") else []
    if args.device == "cuda" or (args.device == "all" and torch.cuda.is_available()):
        devices.append(torch.device("cuda"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}, batch {args.batch} of "
          f"{args.size}×{args.size}, {args.batches} batches per round, best of {args.rounds}")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name()}")
    results, missed = [], []
    for device in devices:
        for net in args.nets:
            result = bench_net(net, args, device)
            results.append(result)
            if device.type == "cpu":
                missed += report(result)
            else:
                report(result)  # the targets are CPU targets; GPU figures are reported
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print()
    for line in missed:
        print("TARGET MISSED:", line)
    if not missed:
        print("All targets met.")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
