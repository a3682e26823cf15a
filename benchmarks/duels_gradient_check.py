"""How well each metric's autograd gradient predicts its change at the scale of a MAD step.

For each registered metric (``deep-alexnet`` standing for the ``deep-*`` family), in float64 on
three 48×48 smooth random images with Gaussian noise (σ = 0.05): the relative error between the
directional derivative from autograd and a central difference with a random direction of 10⁻³
per pixel. Small errors: the first-order model holds where MAD steps. Prints one row per metric
(the flag, the three errors, their median); docs/duels.md quotes it.

    .venv/bin/python benchmarks/duels_gradient_check.py
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import metrics  # noqa: E402
from tests.metrics.helpers import images, near  # noqa: E402


def main() -> None:
    warnings.simplefilter("ignore")
    torch.set_num_threads(2)
    names = [
        i.name
        for i in metrics.list_metrics()
        if not i.name.startswith(("deep-", "lpips-vgg", "lpips-squeeze"))
    ] + ["deep-alexnet"]
    for name in names:
        info = metrics.get_metric_info(name)
        opts: dict = {"device": "cpu"}
        if "trunk_weights" in {o.name for o in info.options}:
            opts["trunk_weights"] = None
        if name == "dists":
            opts["weights"] = {k: torch.full((1, 1475, 1, 1), 0.1) for k in ("alpha", "beta")}
        m = metrics.create_metric(name, **opts).double()
        lo, hi = info.input_range
        errors = []
        for s in range(3):
            coarse = images((1, 3, 8, 8), seed=10 + s).double()
            ref = torch.nn.functional.interpolate(coarse, size=(48, 48), mode="bilinear")
            x = near(ref, seed=20 + s, noise=0.05).clamp(0.02, 0.98)
            r, xx = ref * (hi - lo) + lo, (x * (hi - lo) + lo).requires_grad_(True)
            (g,) = torch.autograd.grad(m(r, xx).sum(), xx)
            v = torch.randn(x.shape, generator=torch.Generator().manual_seed(s), dtype=x.dtype)
            eps = 1e-3
            with torch.no_grad():
                fd = (m(r, xx + eps * v) - m(r, xx - eps * v)).item() / (2 * eps)
            errors.append(abs((g * v).sum().item() - fd) / abs(fd))
        cells = " ".join(f"{e:.3f}" for e in errors)
        print(
            f"{name:14s} differentiable={info.differentiable!s:5s} {cells}  median "
            f"{statistics.median(errors):.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
