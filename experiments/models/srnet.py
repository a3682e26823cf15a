"""A small super-resolution network trained on the fly (a VDSR-style residual CNN).

VDSR (Kim et al., CVPR 2016) upsamples the low-resolution image bicubically and learns the
missing detail as a residual. Here the network is shallow and narrow enough to train in seconds
on CPU on the study's own patches, for factors ×2, ×3 and ×4 and both downsampling kernels at
once, so one model serves every ``superres_net`` stimulus of a study:

.. math:: \\hat x = u + f_\\theta(u),\\quad u = \\mathrm{bicubic}_{\\uparrow}(\\mathrm{down}_f(x))

``f_θ`` is ``layers`` 3×3 convolutions of width ``channels`` with ReLU between them, trained
with an ℓ1 loss on random 32×32 crops.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

DEFAULT_STEPS = 200
USES_TORCH = True
BATCH = 16
CROP = 32
FACTORS = (2, 3, 4)
_KEYS = {"channels", "layers", "lr"}


def sample_hparams(rng: np.random.Generator) -> dict[str, Any]:
    """``channels`` ∈ {16, 24, 32}, ``layers`` 3–5, ``lr`` log-uniform in [5e-4, 3e-3]."""
    return {
        "channels": int(rng.choice([16, 24, 32])),
        "layers": int(rng.integers(3, 5, endpoint=True)),
        "lr": float(10.0 ** rng.uniform(math.log10(5e-4), math.log10(3e-3))),
    }


def check_hparams(h: dict[str, Any]) -> dict[str, Any]:
    """Validate; raises ValueError naming the problem."""
    if not isinstance(h, dict) or set(h) != _KEYS:
        raise ValueError(f"sr_net hparams need keys {sorted(_KEYS)}, got {h!r}")
    if not (4 <= h["channels"] <= 256 and 2 <= h["layers"] <= 12 and 1e-6 <= h["lr"] <= 1e-1):
        raise ValueError(f"sr_net hparams out of range: {h!r}")
    return h


def build(h: dict[str, Any]):
    """The residual network (input and output N×3×H×W in [0, 1])."""
    from torch import nn

    layers: list[nn.Module] = [nn.Conv2d(3, h["channels"], 3, padding=1), nn.ReLU()]
    for _ in range(h["layers"] - 2):
        layers += [nn.Conv2d(h["channels"], h["channels"], 3, padding=1), nn.ReLU()]
    layers.append(nn.Conv2d(h["channels"], 3, 3, padding=1))

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.body(x)

    return Residual()


def upsampled_input(patch: np.ndarray, factor: int, down: str) -> np.ndarray:
    """The network's input: ``down`` by ``factor``, then bicubic back up (uint8)."""
    from experiments.real._resize import down_up

    return down_up(patch, factor, down, "bicubic")


def train(
    patches: np.ndarray, h: dict[str, Any], *, steps: int, device: str, feature_trunk: Any = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Fit on (degraded, original) pairs for every factor and downsampling kernel."""
    import torch

    from experiments.models._layers import random_crops
    from experiments.models._torch import fit, state_arrays, to_tensor
    from experiments.real._resize import DOWNSAMPLERS

    inputs = np.stack(
        [upsampled_input(p, f, d) for p in patches for f in FACTORS for d in DOWNSAMPLERS]
    )
    targets = np.repeat(patches, len(FACTORS) * len(DOWNSAMPLERS), axis=0)
    pairs = torch.cat([to_tensor(inputs), to_tensor(targets)], dim=1)  # N×6×H×W
    net = build(h)

    def batch(generator):
        crops = random_crops(pairs, BATCH, CROP, generator)
        return crops[:, :3], crops[:, 3:]

    history = fit(
        net,
        batch,
        lambda out, target: (out - target).abs().mean(),
        steps=steps,
        lr=h["lr"],
        device=device,
    )
    return state_arrays(net), {"loss_history": history}


class SRNetRuntime:
    """A loaded SR network."""

    def __init__(self, blob) -> None:
        from experiments.models._torch import load_state

        self.net = load_state(build(check_hparams(dict(blob.hparams))), blob.arrays)

    def apply(self, patch: np.ndarray, *, factor: int, down: str) -> np.ndarray:
        """Super-resolve the ×``factor`` degraded version of ``patch`` back to its size."""
        from experiments.models._torch import run_cpu, to_patch, to_tensor

        source = to_tensor(upsampled_input(patch, factor, down))
        return to_patch(run_cpu(lambda: self.net(source).clamp(0.0, 1.0)))


def load(blob) -> SRNetRuntime:
    """Runtime for a stored SR network."""
    return SRNetRuntime(blob)
