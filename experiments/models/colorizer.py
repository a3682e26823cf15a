"""A small colourisation network trained on the fly: grey (luma) in, chroma out.

The network sees only the BT.601 luma ``Y`` of a patch and predicts its chroma ``(Cb, Cr)``
(full-range YCbCr, centred on 0), in the spirit of learned colourisers such as Zhang et al.'s
"Colorful Image Colorization", at a size that trains in seconds on CPU:

``Y → conv(c) → conv(2c, stride 2) → two dilated conv(2c) → ×2 bilinear → conv(c) → conv(2)``

with ReLU between layers and an ℓ1 loss on chroma. Output pixels recombine the true luma with
the predicted chroma (see :func:`experiments.real.colorize.recolor`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

DEFAULT_STEPS = 200
USES_TORCH = True
BATCH = 16
CROP = 32
_KEYS = {"channels", "lr"}


def sample_hparams(rng: np.random.Generator) -> dict[str, Any]:
    """``channels`` ∈ {16, 24, 32}, ``lr`` log-uniform in [5e-4, 3e-3]."""
    return {
        "channels": int(rng.choice([16, 24, 32])),
        "lr": float(10.0 ** rng.uniform(math.log10(5e-4), math.log10(3e-3))),
    }


def check_hparams(h: dict[str, Any]) -> dict[str, Any]:
    """Validate; raises ValueError naming the problem."""
    if not isinstance(h, dict) or set(h) != _KEYS:
        raise ValueError(f"colorizer_net hparams need keys {sorted(_KEYS)}, got {h!r}")
    if not (4 <= h["channels"] <= 256 and 1e-6 <= h["lr"] <= 1e-1):
        raise ValueError(f"colorizer_net hparams out of range: {h!r}")
    return h


def build(h: dict[str, Any]):
    """N×1×H×W luma → N×2×H×W chroma (H, W padded internally to even sizes)."""
    from torch import nn

    from experiments.models._layers import pad_to_multiple

    c = h["channels"]

    class Colorizer(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(1, c, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(c, 2 * c, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(2 * c, 2 * c, 3, padding=2, dilation=2),
                nn.ReLU(),
                nn.Conv2d(2 * c, 2 * c, 3, padding=2, dilation=2),
                nn.ReLU(),
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(2 * c, c, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(c, 2, 3, padding=1),
            )

        def forward(self, y):
            padded, height, width = pad_to_multiple(y, 2)
            return self.body(padded)[..., :height, :width]

    return Colorizer()


def split_luma_chroma(patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """N×H×W×3 uint8 → (N×1×H×W luma, N×2×H×W chroma), float32."""
    from experiments._arrays import rgb_to_ycbcr, to_float

    ycc = rgb_to_ycbcr(to_float(patches)).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(ycc[:, :1]), np.ascontiguousarray(ycc[:, 1:])


def train(
    patches: np.ndarray, h: dict[str, Any], *, steps: int, device: str, feature_trunk: Any = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Fit luma → chroma with an ℓ1 loss on random crops."""
    import torch

    from experiments.models._layers import random_crops
    from experiments.models._torch import fit, state_arrays

    y, chroma = split_luma_chroma(patches)
    stack = torch.from_numpy(np.concatenate([y, chroma], axis=1))
    net = build(h)

    def batch(generator):
        crops = random_crops(stack, BATCH, CROP, generator)
        return crops[:, :1], crops[:, 1:]

    history = fit(
        net,
        batch,
        lambda out, target: (out - target).abs().mean(),
        steps=steps,
        lr=h["lr"],
        device=device,
    )
    return state_arrays(net), {"loss_history": history}


class ColorizerRuntime:
    """A loaded colourisation network."""

    def __init__(self, blob) -> None:
        from experiments.models._torch import load_state

        self.net = load_state(build(check_hparams(dict(blob.hparams))), blob.arrays)

    def predict_chroma(self, patch: np.ndarray) -> np.ndarray:
        """H×W×3 uint8 → predicted H×W×2 chroma from the luma alone."""
        import torch

        from experiments.models._torch import run_cpu

        y, _ = split_luma_chroma(patch[None])
        out = run_cpu(lambda: self.net(torch.from_numpy(y)))
        return out.numpy()[0].transpose(1, 2, 0)


def load(blob) -> ColorizerRuntime:
    """Runtime for a stored colouriser."""
    return ColorizerRuntime(blob)
