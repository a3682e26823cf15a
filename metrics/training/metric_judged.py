"""2AFC tasks judged by a metric: bots whose choices follow a full-reference metric (tests, checks).

Used to compare trunks (e.g. a stacked k-means trunk against random ones,
``benchmarks/kmeans_vs_random.py``) where no human judgments are at hand. Each triplet is a
reference and two *different* distortions of it at random strengths (blur, noise, contrast,
blocking, shift), so that which one is closer depends on how a metric trades pixel error against
structure. References come from two sources:

- ``structured_images``: flat discs and bars over a smooth colour field (edges and regions);
- ``photo_patches``: 64×64 patches of scikit-image's bundled photographs (no download), each a
  random 128×128 crop averaged 2×2, as BAPPS's patches are cut from larger images.

The judge is deterministic: p1 is chosen when the judging metric finds it closer. Django-free.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

DISTORTIONS = ("blur", "noise", "contrast", "blocks", "shift")
# scikit-image's bundled colour photographs, split so that a trunk fitted on one set is judged
# on the other.
FIT_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
HELD_OUT_PHOTOS = ("motorcycle_left", "motorcycle_right")


def structured_image(g: torch.Generator, size: int) -> torch.Tensor:
    """Flat discs and bars over a smooth colour field: edges and regions, like photographs
    seen by a small network (3×size×size in [0, 1])."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    image = torch.rand(3, 1, 1, generator=g) * torch.ones(3, size, size)
    for _ in range(int(torch.randint(4, 10, (1,), generator=g))):
        colour = torch.rand(3, 1, 1, generator=g)
        cy, cx = torch.randint(0, size, (2,), generator=g).tolist()
        r = int(torch.randint(size // 10, size // 3, (1,), generator=g))
        if torch.rand(1, generator=g) < 0.5:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        else:
            mask = ((yy - cy).abs() < r) & ((xx - cx).abs() < r // 2 + 1)
        image = torch.where(mask, colour, image)
    field = torch.rand(1, 3, size // 4, size // 4, generator=g)
    field = F.interpolate(field, size=(size, size), mode="bicubic", align_corners=False)[0]
    return (0.6 * image + 0.4 * field).clamp(0, 1)


def structured_images(n: int, size: int, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [structured_image(g, size) for _ in range(n)]


def photos(names: Sequence[str]) -> list[torch.Tensor]:
    """scikit-image's bundled photographs as 3×H×W float tensors in [0, 1]."""
    from skimage import data

    out = []
    for name in names:
        if name.startswith("motorcycle_"):
            left, right, _ = data.stereo_motorcycle()
            array = left if name == "motorcycle_left" else right
        else:
            array = getattr(data, name)()
        out.append(torch.from_numpy(np.ascontiguousarray(array[..., :3])).permute(2, 0, 1) / 255)
    return [p.float() for p in out]


def photo_patches(images: Sequence[torch.Tensor], n: int, seed: int) -> list[torch.Tensor]:
    """``n`` 64×64 patches, round-robin over ``images``: random 128×128 crops averaged 2×2."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        image = images[i % len(images)]
        h, w = image.shape[-2:]
        y = int(torch.randint(0, h - 127, (1,), generator=g))
        x = int(torch.randint(0, w - 127, (1,), generator=g))
        out.append(F.avg_pool2d(image[None, :, y : y + 128, x : x + 128], 2)[0])
    return out


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    k = int(2 * round(3 * sigma) + 1)
    t = torch.arange(k, dtype=torch.float32) - k // 2
    w = torch.exp(-(t**2) / (2 * sigma**2))
    w = w / w.sum()
    x = F.pad(x[None], (k // 2,) * 4, mode="reflect")
    x = F.conv2d(x, w.view(1, 1, 1, k).repeat(3, 1, 1, 1), groups=3)
    return F.conv2d(x, w.view(1, 1, k, 1).repeat(3, 1, 1, 1), groups=3)[0]


def distort(x: torch.Tensor, kind: str, s: float, g: torch.Generator) -> torch.Tensor:
    """One of ``DISTORTIONS`` at strength s ∈ [0, 1] (3×H×W in [0, 1] → same)."""
    if kind == "blur":
        return _blur(x, 0.5 + 2 * s).clamp(0, 1)
    if kind == "noise":
        return (x + (0.01 + 0.1 * s) * torch.randn(x.shape, generator=g)).clamp(0, 1)
    if kind == "contrast":
        return (0.5 + (x - 0.5) * (1 - 0.6 * s)).clamp(0, 1)
    if kind == "blocks":
        k = 2 + int(4 * s)
        h = x.shape[-1] // k * k
        out = x.clone()
        out[:, :h, :h] = F.interpolate(F.avg_pool2d(x[None, :, :h, :h], k), size=(h, h))[0]
        return out
    if kind == "shift":
        return torch.roll(x, shifts=(1 + int(2 * s),), dims=(2,))
    raise ValueError(f"unknown distortion {kind!r}; use one of {', '.join(DISTORTIONS)}")


def two_distortion_triplets(
    references: Sequence[torch.Tensor], seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ref, p0, p1), each N×3×H×W in [0, 1]: p0 and p1 are two different distortions of the
    reference at random strengths."""
    g = torch.Generator().manual_seed(seed)
    p0, p1 = [], []
    for ref in references:
        a, b = torch.randperm(len(DISTORTIONS), generator=g)[:2].tolist()
        p0.append(distort(ref, DISTORTIONS[a], float(torch.rand(1, generator=g)), g))
        p1.append(distort(ref, DISTORTIONS[b], float(torch.rand(1, generator=g)), g))
    return torch.stack(list(references)), torch.stack(p0), torch.stack(p1)


def _distances(metric, ref: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    low = metric.info.input_range[0]
    scale = (lambda t: t * 2 - 1) if low == -1 else (lambda t: t)
    with torch.inference_mode():
        return metric(scale(ref), scale(x))


def judgments(judge, ref: torch.Tensor, p0: torch.Tensor, p1: torch.Tensor) -> torch.Tensor:
    """1.0 where the judging metric finds p1 closer to the reference, else 0.0 (shape (N,))."""
    return (_distances(judge, ref, p1) < _distances(judge, ref, p0)).float()


def agreement(metric, ref, p0, p1, judge: torch.Tensor) -> float:
    """Share of triplets where ``metric`` picks what the judge picked (ties count as misses)."""
    d0, d1 = _distances(metric, ref, p0), _distances(metric, ref, p1)
    return float(((d1 < d0).float() * judge + (d1 > d0).float() * (1 - judge)).mean())
