"""DISTS, Deep Image Structure and Texture Similarity (Ding, Ma, Wang & Simoncelli, IEEE TPAMI
2020), a distance.

Definition (the paper and the authors' ``DISTS_pt.py``):

1. RGB in [0, 1], normalised with the ImageNet mean and standard deviation, through torchvision's
   VGG16 ``features`` up to relu5_3, with each of the four max-pools replaced by L2 pooling:
   √(Hann-3×3 ∗ x² + 1e-12) with stride 2 and padding 1, the window [½ 1 ½]ᵀ[½ 1 ½]/4.
2. Six stages: the *raw* [0, 1] image (3 channels) and relu1_2, relu2_2, relu3_3, relu4_3,
   relu5_3 (64, 128, 256, 512, 512 channels): 1475 channels in all.
3. Per channel, over all positions: the texture term l = (2·μx·μy + c1)/(μx² + μy² + c1) and the
   structure term s = (2·σxy + c2)/(σx² + σy² + c2), population moments, c1 = c2 = 1e-6.
4. DISTS = 1 − Σ_channels (α·l + β·s), with the learned α, β (1475 each) divided by their total
   Σα + Σβ. It is a distance already: 0 for identical images, larger is worse.

**Weights.** α and β are learned (on KADID-10k); they are not shipped with PerceptLab and cannot be
fetched by it: pass ``weights=`` a path to the official file (``weights.pt`` of the
``DISTS_pytorch`` package, github.com/dingkeyan93/DISTS) or to piq's ``dists_weights.pt``, both a
dict with ``'alpha'`` and ``'beta'`` of shape 1×1475×1×1, or such a dict itself. The normalisation
by Σα + Σβ is applied here, as the official code does, so the file loads as it is. The VGG16 trunk
comes from ``trunk_weights`` exactly as for ``lpips-vgg`` (``metrics.lpips.trunks``: the torch hub
cache, torchvision's download, a checkpoint path, or None for a trunk initialised from ``seed``,
for tests).

**Colour.** RGB throughout (the trunk's input and the raw-image stage).

**Sizes.** Images are scored at their own size: the official module does not resize (its command
line script, and piq's ``DISTS``, shrink images to a 256-px short side first; to reproduce that,
resize before scoring). Each L2 pooling halves a side rounding up, so relu5_3 has ⌈side/16⌉
positions; below 17 px it is a single position, where the structure term is the constant
c2/c2 = 1 whatever the images, so smaller inputs are refused. 64×64 patches give a 4×4 relu5_3.

**Precision.** Computed in float32 (the trunk's dtype), like ``lpips-vgg``; inputs of other
floating dtypes are converted. Both images of a pair (all three of a triplet) go through the trunk
in one batch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from metrics.base import Metric
from metrics.lpips.trunks import build_trunk

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHANNELS = (3, 64, 128, 256, 512, 512)  # the raw image, then the five VGG16 taps
C1 = C2 = 1e-6
MIN_SIZE = 17
WEIGHTS_HELP = (
    "pass weights=<path> to the official DISTS weights.pt (from the DISTS_pytorch package, "
    "github.com/dingkeyan93/DISTS) or to piq's dists_weights.pt: a dict with 'alpha' and 'beta', "
    "each 1×1475×1×1; PerceptLab does not ship them"
)


class DISTSWeightsNotFound(FileNotFoundError):
    """No α/β weights were given, or their file does not exist; the message says what to pass."""


class L2Pool(nn.Module):
    """√(Hann ∗ x² + 1e-12) per channel, 3×3 window [½ 1 ½]ᵀ[½ 1 ½]/4, stride 2, padding 1."""

    def __init__(self) -> None:
        super().__init__()
        hann = torch.tensor((0.5, 1.0, 0.5))
        window = hann[:, None] * hann[None, :]
        self.register_buffer("window", (window / window.sum()).view(1, 1, 3, 3), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        weight = self.window.expand(channels, 1, 3, 3)
        out = F.conv2d(x * x, weight, stride=2, padding=1, groups=channels)
        return torch.sqrt(out + 1e-12)


def load_dists_weights(
    source: str | os.PathLike[str] | Mapping[str, Any] | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """α and β as float32 (1475,) tensors, already divided by Σα + Σβ.

    Args:
        source: A path to a torch file holding ``{'alpha': …, 'beta': …}`` (the official
            ``weights.pt``), or such a mapping.

    Raises:
        DISTSWeightsNotFound: ``source`` is None or the file does not exist.
        ValueError: The file or mapping is not a pair of 1475-element tensors.
    """
    if source is None:
        raise DISTSWeightsNotFound(f"dists needs its learned α/β weights: {WEIGHTS_HELP}")
    if isinstance(source, Mapping):
        state, label = source, "weights"
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise DISTSWeightsNotFound(f"dists weights file {path} does not exist: {WEIGHTS_HELP}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle, zip and torch errors: not a torch file
            raise ValueError(f"could not read {path} as DISTS weights: {exc}") from exc
        label = str(path)
    if not isinstance(state, Mapping) or not {"alpha", "beta"} <= set(state):
        raise ValueError(f"{label} is not a DISTS weights dict with 'alpha' and 'beta'")
    total = sum(CHANNELS)
    alpha, beta = (state[key] for key in ("alpha", "beta"))
    for key, value in (("alpha", alpha), ("beta", beta)):
        if not isinstance(value, torch.Tensor) or value.numel() != total:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(
                f"{label}: {key} must hold {total} values (1×{total}×1×1), got {shape}"
            )
    alpha = alpha.detach().reshape(total).float()
    beta = beta.detach().reshape(total).float()
    norm = alpha.sum() + beta.sum()
    if not torch.isfinite(norm) or norm == 0:
        raise ValueError(f"{label}: Σα + Σβ must be finite and non-zero, got {norm.item()}")
    return alpha / norm, beta / norm


class DISTS(Metric):
    """DISTS distance (0 for identical images) of RGB in [0, 1], VGG16 trunk with L2 pooling.

    Args:
        weights: Path to the official α/β file, or a dict with ``'alpha'`` and ``'beta'``.
        trunk_weights: ``"imagenet"``, a torchvision VGG16 checkpoint path, or None (random, from
            ``seed``), as for ``lpips-vgg``.
        seed: Seed of the random trunk.
        download: Allow torchvision's download of the ImageNet trunk.
        device, range_check: See ``metrics.base.Metric``.

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 17×17.
        - output: (N,).
    """

    min_size = MIN_SIZE

    def __init__(
        self,
        *,
        weights: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        trunk_weights: str | os.PathLike[str] | None = "imagenet",
        seed: int = 0,
        download: bool = True,
        **common: object,
    ) -> None:
        super().__init__("dists", **common)
        alpha, beta = load_dists_weights(weights)
        self.trunk = build_trunk("vgg", trunk_weights, seed=seed, download=download, metric="dists")
        for index, layer in enumerate(self.trunk.features):
            if isinstance(layer, nn.MaxPool2d):
                self.trunk.features[index] = L2Pool()
        self.register_buffer("alpha", alpha, persistent=False)
        self.register_buffer("beta", beta, persistent=False)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)
        self.to(self.device)
        self.eval()

    def compute_dtype(self, x: torch.Tensor) -> torch.dtype:
        return self.alpha.dtype

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The six stages of N×3×H×W images: the image itself and the five VGG16 taps."""
        return [x, *self.trunk((x - self.mean) / self.std)]

    def compare(self, a: list[torch.Tensor], b: list[torch.Tensor]) -> torch.Tensor:
        """DISTS from the stages of two batches (``features`` of each); shape (N,)."""
        alphas = self.alpha.split(CHANNELS)
        betas = self.beta.split(CHANNELS)
        total = torch.zeros(a[0].shape[0], dtype=a[0].dtype, device=a[0].device)
        for fa, fb, alpha, beta in zip(a, b, alphas, betas, strict=True):
            mu_a, mu_b = fa.mean(dim=(2, 3)), fb.mean(dim=(2, 3))
            var_a = (fa - mu_a[..., None, None]).square().mean(dim=(2, 3))
            var_b = (fb - mu_b[..., None, None]).square().mean(dim=(2, 3))
            cov = (fa * fb).mean(dim=(2, 3)) - mu_a * mu_b
            texture = (2.0 * mu_a * mu_b + C1) / (mu_a * mu_a + mu_b * mu_b + C1)
            structure = (2.0 * cov + C2) / (var_a + var_b + C2)
            total = total + texture @ alpha + structure @ beta
        return 1.0 - total

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        n = x0.shape[0]
        stages = self.features(torch.cat((x0, x1)))
        return self.compare([f[:n] for f in stages], [f[n:] for f in stages])

    def triplet_distances(
        self,
        ref: torch.Tensor,
        p0: torch.Tensor,
        p1: torch.Tensor,
        *,
        range_check: str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """d(ref, p0) and d(ref, p1) with one trunk pass over the three batches."""
        ref, p0, p1 = self.prepare(ref, p0, p1, range_check=range_check, names=("ref", "p0", "p1"))
        n = ref.shape[0]
        stages = self.features(torch.cat((ref, p0, p1)))
        r = [f[:n] for f in stages]
        return (
            self.compare(r, [f[n : 2 * n] for f in stages]),
            self.compare(r, [f[2 * n :] for f in stages]),
        )


def build_dists(**options: object) -> DISTS:
    """Factory for ``"dists"``."""
    return DISTS(**options)
