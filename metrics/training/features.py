"""The fast path's per-pair vectors: what a frozen trunk contributes to LPIPS training.

With the trunk frozen, LPIPS of a pair is d = Σ_l Σ_c w_lc · μ_lc with μ_lc = mean_hw Δ_lchw and
Δ = (f̂0 − f̂1)² (``metrics.lpips.model``). The trunk is the whole cost, and its output never
changes during lin training, so the μ vectors (1152 numbers per pair for alex) are computed once
and every epoch trains on them.

**Dropout.** The official training applies dropout (p = 0.5) to every element of Δ before the
lin layer, so in training the channel mean is μ̃_lc = mean_hw Δ_lchw · m_lchw / (1 − p) with
independent Bernoulli(1 − p) masks m. Per channel, μ̃ has mean μ_lc and variance
p/(1 − p) · mean_hw(Δ²) / (H_l W_l), and channels are independent. The fast path stores, next to
μ, the scale σ_lc = sqrt(mean_hw(Δ_lc²) / (H_l W_l)) and trains on
μ̃ = μ + sqrt(p/(1 − p)) · σ · z with z ~ N(0, 1): the same mean and covariance as the full path's
dropped-out means, hence the same mean and variance of the distance noise and of the gradient
with respect to each w_lc. Only higher moments differ, and the distance (a sum over thousands of
independent masked elements) is close to Gaussian in both. ``docs/training.md`` reports the
measured agreement of the two paths.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import torch

from metrics.training.data import Source, prefetched

# Triplets per trunk call while computing vectors (3 images each).
VECTOR_BATCH = 128


def trunk_fingerprint(model) -> str:
    """sha256 over what decides the vectors: trunk weights, net and version."""
    digest = hashlib.sha256(f"{model.spec.net}|{model.version}".encode())
    for key, value in model.trunk.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def vector_fingerprint(source: Source, model, *, with_scales: bool) -> str:
    """Identity of a source's vectors under a model (cache key)."""
    digest = hashlib.sha256(b"lpips-vectors/1")
    for part in (source.fingerprint(), trunk_fingerprint(model), str(with_scales)):
        digest.update(part.encode())
    return digest.hexdigest()


@torch.inference_mode()
def pair_vectors(
    model,
    source: Source,
    *,
    with_scales: bool,
    batch_size: int = VECTOR_BATCH,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-channel means (and dropout scales) for (ref, p0) and (ref, p1) of every triplet.

    Args:
        model: A ``metrics.lpips.LPIPS``; its trunk runs once per image (the reference's features
            serve both pairs).
        source: Triplets (``metrics.training.data``).
        with_scales: Also return σ (needed for dropout on the training set only).
        batch_size: Triplets per trunk call.
        on_batch: Called with (done, total) after each batch (progress, cancellation).

    Returns:
        ``(means, scales)``: float32 tensors N×2×K on the CPU (K = Σ_l C_l; index 0 is
        (ref, p0), 1 is (ref, p1)); ``scales`` is None without ``with_scales``.
    """
    total = len(source)
    width = sum(model.spec.channels)
    means = torch.empty(total, 2, width)
    scales = torch.empty(total, 2, width) if with_scales else None
    batches = [np.arange(s, min(s + batch_size, total)) for s in range(0, total, batch_size)]
    for idx, (ref, p0, p1) in prefetched(batches, source.load):
        n = len(idx)
        feats = model.features(torch.cat((ref, p0, p1)), range_check="off")
        mean_parts, scale_parts = [], []
        for f in feats:
            fr, f0, f1 = torch.tensor_split(f, 3)
            delta = torch.stack(((fr - f0).square(), (fr - f1).square()), dim=1)  # n×2×C×H×W
            mean_parts.append(delta.mean(dim=(3, 4)))
            if with_scales:
                area = delta.shape[3] * delta.shape[4]
                scale_parts.append((delta.square().mean(dim=(3, 4)) / area).sqrt())
        rows = slice(int(idx[0]), int(idx[0]) + n)
        means[rows] = torch.cat(mean_parts, dim=2).float().cpu()
        if scales is not None:
            scales[rows] = torch.cat(scale_parts, dim=2).float().cpu()
        if on_batch is not None:
            on_batch(rows.stop, total)
    return means, scales


def noisy_means(
    means: torch.Tensor, scales: torch.Tensor, p: float, generator: torch.Generator
) -> torch.Tensor:
    """Fast-path dropout: μ + sqrt(p/(1 − p)) · σ · z with z ~ N(0, 1) (see module docstring).

    Args:
        means: Channel means μ, any shape (e.g. B×2×K).
        scales: σ of the same shape, from :func:`pair_vectors`.
        p: Dropout probability in [0, 1).
        generator: Noise generator on the tensors' device.
    """
    noise = torch.randn(means.shape, generator=generator, device=means.device)
    return means + (p / (1 - p)) ** 0.5 * scales * noise


def dropped_means(delta: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Full-path dropout: spatial means of Δ after element-wise dropout (the official layer).

    Args:
        delta: Squared feature differences, B×C×H×W.
        p: Dropout probability in [0, 1); each element is kept with probability 1 − p and
            scaled by 1/(1 − p).
        generator: Mask generator on ``delta``'s device.

    Returns:
        B×C channel means.
    """
    if p > 0:
        keep = 1 - p
        # Uniform draws compared with keep: the same Bernoulli masks, several times faster than
        # bernoulli_ on CPU.
        draws = torch.rand(delta.shape, generator=generator, device=delta.device, dtype=delta.dtype)
        delta = torch.where(draws < keep, delta * (1 / keep), 0.0)
    return delta.mean(dim=(2, 3))
