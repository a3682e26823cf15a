"""Randomly generated denoising autoencoders: BAPPS' CNN-based distortions (paper §2.1).

The paper trained 96 generators for one ImageNet epoch each, varying the input corruption, the
architecture (layers, skip connections, dropout layers, forced top skip, upsampling method,
normalisation, first-layer stride, channel widths), the discriminator depth, the loss weighting
(pixel ℓ1, VGG features, GAN) and the learning rate. The values were not published.

This module samples the same kinds of choices (see :func:`sample_hparams`) at CPU-feasible sizes
and trains briefly on the study's own patches. Differences from the paper, on purpose:

* no discriminator / GAN loss (it needs long training to be anything but noise);
* the feature loss uses whatever trunk the caller supplies (no weights can be downloaded here);
  without one its weight is recorded as 0;
* the activation (not listed in the paper) is drawn from ReLU / LeakyReLU(0.2).

Architecture: an encoder of ``depth`` conv blocks (the first with ``first_stride``, the others
stride 2, widths ``min(first_channels·2^i, max_channels)``), a mirrored decoder whose upsampling
is a transposed convolution or nearest/bilinear resizing plus a 3×3 convolution, optional
concatenated skips at encoder levels ``0 … depth-2``, dropout (p = 0.5) in the first
``n_dropout`` decoder blocks (training only), and a 3×3 output convolution to RGB.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

CORRUPTIONS = ("none", "pink_noise", "white_noise", "color_removal", "downsampling")
UPSAMPLING = ("transposed", "nearest", "bilinear")
NORMS = ("none", "batch", "instance", "group")
ACTIVATIONS = ("relu", "leaky_relu")
FIRST_CHANNELS = (8, 12, 16)
MAX_CHANNELS = (16, 32, 48)
DEFAULT_STEPS = 150
USES_TORCH = True
BATCH = 16
CROP = 32  # training crops: a quarter of the cost of 64×64 patches, same receptive fields
_KEYS = {
    "corruption",
    "corruption_strength",
    "depth",
    "first_stride",
    "first_channels",
    "max_channels",
    "skips",
    "force_top_skip",
    "n_dropout",
    "upsampling",
    "norm",
    "activation",
    "l1_weight",
    "feature_weight",
    "lr",
}


def sample_hparams(rng: np.random.Generator) -> dict[str, Any]:
    """Draw an autoencoder's hyperparameters.

    Returns:
        ``corruption`` (one of :data:`CORRUPTIONS`) and ``corruption_strength`` (noise std
        U[0.03, 0.15], downsampling factor 2 or 4, else 0); ``depth`` 2–4; ``first_stride`` 1 or
        2; ``first_channels`` and ``max_channels``; ``skips`` (a bool per skippable level, the
        top one forced on when ``force_top_skip``); ``n_dropout`` 0–2; ``upsampling``, ``norm``,
        ``activation``; ``l1_weight`` U[0.5, 1], ``feature_weight`` U[0, 1]; ``lr``
        log-uniform in [3e-4, 3e-3].
    """
    corruption = CORRUPTIONS[int(rng.integers(len(CORRUPTIONS)))]
    u = float(rng.random())
    strength = {
        "pink_noise": 0.03 + 0.12 * u,
        "white_noise": 0.03 + 0.12 * u,
        "downsampling": 2.0 if u < 0.5 else 4.0,
    }.get(corruption, 0.0)
    depth = int(rng.integers(2, 4, endpoint=True))
    force_top_skip = bool(rng.random() < 0.5)
    n_skips = int(rng.integers(0, depth - 1, endpoint=True))
    chosen = {int(i) for i in rng.permutation(depth - 1)[:n_skips]}
    if force_top_skip:
        chosen.add(0)
    first_channels = int(rng.choice(FIRST_CHANNELS))
    return {
        "corruption": corruption,
        "corruption_strength": strength,
        "depth": depth,
        "first_stride": int(rng.integers(1, 2, endpoint=True)),
        "first_channels": first_channels,
        "max_channels": max(first_channels, int(rng.choice(MAX_CHANNELS))),
        "skips": [i in chosen for i in range(depth - 1)],
        "force_top_skip": force_top_skip,
        "n_dropout": int(rng.integers(0, min(2, depth - 1), endpoint=True)),
        "upsampling": UPSAMPLING[int(rng.integers(len(UPSAMPLING)))],
        "norm": NORMS[int(rng.integers(len(NORMS)))],
        "activation": ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))],
        "l1_weight": float(rng.uniform(0.5, 1.0)),
        "feature_weight": float(rng.uniform(0.0, 1.0)),
        "lr": float(10.0 ** rng.uniform(math.log10(3e-4), math.log10(3e-3))),
    }


def check_hparams(h: dict[str, Any]) -> dict[str, Any]:
    """Validate autoencoder hyperparameters; raises ValueError naming the first problem."""
    if not isinstance(h, dict) or set(h) != _KEYS:
        got = sorted(h) if isinstance(h, dict) else h
        raise ValueError(f"autoencoder hparams need keys {sorted(_KEYS)}, got {got}")
    checks = [
        (h["corruption"] in CORRUPTIONS, "corruption"),
        (h["upsampling"] in UPSAMPLING, "upsampling"),
        (h["norm"] in NORMS, "norm"),
        (h["activation"] in ACTIVATIONS, "activation"),
        (h["depth"] in (2, 3, 4), "depth"),
        (h["first_stride"] in (1, 2), "first_stride"),
        (h["first_channels"] % 4 == 0 and 4 <= h["first_channels"] <= 256, "first_channels"),
        (
            h["max_channels"] % 4 == 0 and h["first_channels"] <= h["max_channels"] <= 512,
            "max_channels",
        ),
        (isinstance(h["skips"], list) and len(h["skips"]) == h["depth"] - 1, "skips"),
        (0 <= h["n_dropout"] <= h["depth"] - 1, "n_dropout"),
        (0.0 <= h["l1_weight"] <= 1.0 and 0.0 <= h["feature_weight"] <= 1.0, "loss weights"),
        (h["l1_weight"] + h["feature_weight"] > 0.0, "loss weights"),
        (1e-6 <= h["lr"] <= 1e-1, "lr"),
        (
            h["corruption"] != "downsampling" or h["corruption_strength"] in (2.0, 4.0),
            "corruption_strength",
        ),
        (0.0 <= h["corruption_strength"] <= 4.0, "corruption_strength"),
    ]
    for ok, name in checks:
        if not ok:
            raise ValueError(f"autoencoder hparams: bad {name}: {h.get(name)!r}")
    return h


def build(h: dict[str, Any]):
    """The torch module for hyperparameters ``h`` (see the module docs)."""
    import torch
    from torch import nn

    from experiments.models._layers import activation, norm_layer, pad_to_multiple

    widths = [min(h["first_channels"] * 2**i, h["max_channels"]) for i in range(h["depth"])]

    def block(cin, cout, stride=1, dropout=False):
        layers = [
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1),
            norm_layer(h["norm"], cout),
            activation(h["activation"]),
        ]
        return nn.Sequential(*layers, *([nn.Dropout(0.5)] if dropout else []))

    def up(cin, cout, dropout=False):
        if h["upsampling"] == "transposed":
            first = nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)
        else:
            first = nn.Sequential(
                nn.Upsample(scale_factor=2, mode=h["upsampling"]),
                nn.Conv2d(cin, cout, 3, padding=1),
            )
        layers = [first, norm_layer(h["norm"], cout), activation(h["activation"])]
        return nn.Sequential(*layers, *([nn.Dropout(0.5)] if dropout else []))

    class Autoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.ModuleList(
                [block(3, widths[0], h["first_stride"])]
                + [block(widths[i - 1], widths[i], 2) for i in range(1, h["depth"])]
            )
            levels = list(range(h["depth"] - 2, -1, -1))  # decoder order: bottleneck → top
            self.levels = levels
            self.decoder = nn.ModuleList(
                [
                    up(widths[i + 1], widths[i], dropout=j < h["n_dropout"])
                    for j, i in enumerate(levels)
                ]
            )
            self.fuse = nn.ModuleList(
                [
                    block(2 * widths[i], widths[i]) if h["skips"][i] else nn.Identity()
                    for i in levels
                ]
            )
            self.final_up = up(widths[0], widths[0]) if h["first_stride"] == 2 else nn.Identity()
            self.out = nn.Conv2d(widths[0], 3, 3, padding=1)
            self.multiple = h["first_stride"] * 2 ** (h["depth"] - 1)

        def forward(self, x):
            x, height, width = pad_to_multiple(x, self.multiple)
            features = []
            for layer in self.encoder:
                x = layer(x)
                features.append(x)
            for level, decode, fuse in zip(self.levels, self.decoder, self.fuse, strict=True):
                x = decode(x)
                if h["skips"][level]:
                    x = fuse(torch.cat([x, features[level]], dim=1))
            return self.out(self.final_up(x))[..., :height, :width]

    return Autoencoder()


def train(
    patches: np.ndarray,
    h: dict[str, Any],
    *,
    steps: int,
    device: str,
    feature_trunk: tuple[str, Any] | None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train on random batches of ``patches`` to undo the sampled corruption.

    Loss: :math:`w_1 \\lVert G(c(x)) - x\\rVert_1 + w_f \\frac1L \\sum_l
    \\lVert \\phi_l(G(c(x))) - \\phi_l(x)\\rVert_1` (means over elements), with ``c`` the input
    corruption, ``φ_l`` the trunk's feature maps, and ``w_f = 0`` without a trunk.

    Args:
        patches: N×H×W×3 uint8 training patches.
        h: Hyperparameters.
        steps: Adam steps on batches of :data:`BATCH` random :data:`CROP`-pixel crops.
        device: Training device.
        feature_trunk: ``(name, callable)`` mapping N×3×H×W in [0, 1] to a list of feature maps.
    """
    import torch

    from experiments.models._layers import corrupt, random_crops
    from experiments.models._torch import fit, state_arrays, to_tensor

    data = to_tensor(patches)
    net = build(h)
    trunk_name, trunk = feature_trunk if feature_trunk is not None else (None, None)
    feature_weight = h["feature_weight"] if trunk is not None else 0.0
    if hasattr(trunk, "to"):
        trunk = trunk.to(device)

    def batch(generator):
        target = random_crops(data, BATCH, CROP, generator)
        return corrupt(target, h["corruption"], h["corruption_strength"], generator), target

    def loss(output, target):
        value = h["l1_weight"] * (output - target).abs().mean()
        if feature_weight > 0.0:
            with torch.no_grad():
                wanted = trunk(target)
            got = trunk(output)
            value = value + feature_weight * sum(
                (a - b).abs().mean() for a, b in zip(got, wanted, strict=True)
            ) / len(got)
        return value

    history = fit(net, batch, loss, steps=steps, lr=h["lr"], device=device)
    report = {
        "loss_history": history,
        "feature_trunk": trunk_name,
        "feature_weight_used": feature_weight,
    }
    return state_arrays(net), report


class AutoencoderRuntime:
    """A loaded autoencoder; :meth:`apply` is what the ``cnn_autoencoder`` distortion calls."""

    def __init__(self, blob) -> None:
        from experiments.models._torch import load_state

        self.hparams = check_hparams(dict(blob.hparams))
        self.net = load_state(build(self.hparams), blob.arrays)

    def apply(self, patch: np.ndarray, *, seed: int, strength: float) -> np.ndarray:
        """:math:`y = x + s\\,(\\mathrm{clip}(G(c(x))) - x)` with the corruption noise from ``seed``."""
        import torch

        from experiments.models._layers import corrupt
        from experiments.models._torch import run_cpu, to_patch, to_tensor

        def run():
            x = to_tensor(patch)
            noisy = corrupt(
                x,
                self.hparams["corruption"],
                self.hparams["corruption_strength"],
                torch.Generator().manual_seed(seed),
            )
            return x + strength * (self.net(noisy).clamp(0.0, 1.0) - x)

        return to_patch(run_cpu(run))


def load(blob) -> AutoencoderRuntime:
    """Runtime for a stored autoencoder."""
    return AutoencoderRuntime(blob)
