"""Synthetic BAPPS-layout datasets whose judgments come from a hidden LPIPS (tests, benchmarks).

The real BAPPS download is 6.6 GB; tests and benchmarks need something small with a known
answer. Here references are smooth random colour images, p0 and p1 are distorted copies (noise,
blur, colour shift, contrast, blockiness at random strengths), and the "humans" are a hidden
LPIPS: a random trunk with sparse non-negative lin weights. Each simulated observer prefers p1
with probability sigmoid((d0 − d1)/τ), and ``judge`` is the fraction of ``judges`` observers
who did (2 for train, 5 for val, as in BAPPS). A fit should therefore approach the hidden
metric's own 2AFC score, well above an untrained lin layer's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from metrics.bapps import to_official_float, write_2afc, write_jnd

DISTORTIONS = ("noise", "blur", "color", "contrast", "blocks")


@dataclass(frozen=True)
class HiddenMetric:
    """The ground truth: trunk seed and lin weights (official keys) of the judging LPIPS."""

    net: str
    trunk_seed: int
    lin_state_dict: dict[str, torch.Tensor]
    temperature: float

    def create(self, device=None):
        from metrics.lpips import LPIPS

        return LPIPS(
            self.net,
            trunk_weights=None,
            seed=self.trunk_seed,
            lin_weights=self.lin_state_dict,
            device=device,
        )


def hidden_lin_weights(channels: tuple[int, ...], seed: int, density: float = 0.15):
    """Sparse non-negative weights: each channel kept with probability ``density``."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, c in enumerate(channels):
        w = rng.exponential(1.0, c) * (rng.random(c) < density)
        out[f"lin{k}.model.1.weight"] = torch.tensor(w, dtype=torch.float32).view(1, c, 1, 1)
    return out


def _smooth_image(rng: np.random.Generator, size: int) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] / size
    img = np.zeros((size, size, 3))
    for _ in range(4):
        fx, fy = rng.uniform(0.5, 4.0, 2)
        phase = rng.uniform(0, 2 * np.pi)
        img += np.sin(2 * np.pi * (fx * x + fy * y) + phase)[..., None] * rng.uniform(0, 0.4, 3)
    img += rng.uniform(-0.3, 0.3, 3)
    return np.clip(img, -1, 1)


def _distort(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    from scipy.ndimage import uniform_filter

    kind, s = DISTORTIONS[rng.integers(len(DISTORTIONS))], rng.uniform(0.05, 1.0)
    if kind == "noise":
        out = img + rng.normal(0, 0.25 * s, img.shape)
    elif kind == "blur":
        out = uniform_filter(
            img, size=(1 + 2 * int(1 + 3 * s), 1 + 2 * int(1 + 3 * s), 1), mode="nearest"
        )
    elif kind == "color":
        out = img + rng.normal(0, 0.3 * s, 3)
    elif kind == "contrast":
        out = img * (1 - 0.8 * s)
    else:
        b = 2 + int(6 * s)
        out = np.repeat(np.repeat(img[::b, ::b], b, 0), b, 1)[: img.shape[0], : img.shape[1]]
    return np.clip(out, -1, 1)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.round((img + 1) * 127.5).astype(np.uint8)


def _tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(to_official_float(np.stack(images))).permute(0, 3, 1, 2)


@torch.inference_mode()
def judged_triplets(
    hidden: HiddenMetric,
    n: int,
    *,
    size: int,
    judges: int,
    seed: int,
    candidates: int = 4,
    conflict: float = 0.5,
):
    """``n`` (ref, p0, p1, judge) items: uint8 H×W×3 images and a simulated judge fraction.

    Each reference gets ``candidates`` distorted versions. With probability ``conflict`` the
    pair shown is one that the hidden metric and the uniform-weight baseline order differently
    (when such a pair exists), so learning the hidden weights matters; otherwise a random pair.
    Observers prefer p1 with probability σ((d0 − d1)/τ) under the hidden metric.
    """
    metric = hidden.create()
    rng = np.random.default_rng(seed)
    refs, cands = [], []
    for _ in range(n):
        ref = _smooth_image(rng, size)
        refs.append(_to_uint8(ref))
        cands.extend(_to_uint8(_distort(rng, ref)) for _ in range(candidates))
    truth, uniform = [], []
    for start in range(0, len(cands), 512):
        chunk = range(start, min(start + 512, len(cands)))
        means = metric.channel_means(
            _tensor([refs[k // candidates] for k in chunk]), _tensor([cands[k] for k in chunk])
        )
        truth.append(sum(m @ w for m, w in zip(means, metric.lin, strict=True)))
        uniform.append(sum(m.sum(dim=1) for m in means))
    truth_all = torch.cat(truth).view(n, candidates).numpy()
    uniform_all = torch.cat(uniform).view(n, candidates).numpy()
    pairs = [(i, j) for i in range(candidates) for j in range(i + 1, candidates)]
    items = []
    for t in range(n):
        d, u = truth_all[t], uniform_all[t]
        order = rng.permutation(len(pairs))
        # The clearest conflict: largest hidden difference among pairs the baseline misorders.
        conflicts = sorted(
            (
                pairs[k]
                for k in order
                if (d[pairs[k][0]] - d[pairs[k][1]]) * (u[pairs[k][0]] - u[pairs[k][1]]) < 0
            ),
            key=lambda ij: -abs(d[ij[0]] - d[ij[1]]),
        )
        i, j = conflicts[0] if conflicts and rng.random() < conflict else pairs[order[0]]
        if rng.random() < 0.5:
            i, j = j, i
        prob = 1 / (1 + np.exp(-(d[i] - d[j]) / hidden.temperature))
        items.append(
            (
                refs[t],
                cands[t * candidates + i],
                cands[t * candidates + j],
                rng.binomial(judges, prob) / judges,
            )
        )
    return items


@torch.inference_mode()
def judged_pairs(hidden: HiddenMetric, n: int, *, size: int, judges: int = 3, seed: int):
    """``n`` JND (ref, distorted, same) items; observers say "same" with probability
    exp(−d/τ) under the hidden metric (τ as for 2AFC), ``judges`` of them per pair."""
    metric = hidden.create()
    rng = np.random.default_rng(seed)
    refs, outs = [], []
    for _ in range(n):
        ref = _smooth_image(rng, size)
        refs.append(_to_uint8(ref))
        # Weaker distortions than for 2AFC, so that "same" answers are common.
        outs.append(_to_uint8(ref + (_distort(rng, ref) - ref) * rng.uniform(0, 1.0) ** 2))
    d = (
        torch.cat(
            [
                metric(_tensor(refs[s : s + 512]), _tensor(outs[s : s + 512]))
                for s in range(0, n, 512)
            ]
        )
        .double()
        .numpy()
    )
    same = rng.binomial(judges, np.exp(-d / hidden.temperature)) / judges
    return [(r, o, float(v)) for r, o, v in zip(refs, outs, same, strict=True)]


def write_synthetic_bapps(
    root: str | os.PathLike,
    *,
    train: dict[str, int],
    val: dict[str, int],
    jnd: dict[str, int] | None = None,
    size: int = 64,
    net: str = "alex",
    seed: int = 0,
    temperature: float = 0.02,
    candidates: int = 4,
) -> HiddenMetric:
    """Write ``root/2afc/{train,val}/<category>/`` (and ``root/jnd/val/``) judged by a hidden LPIPS.

    Args:
        root: Output folder (the BAPPS root).
        train: Category → number of triplets for ``2afc/train`` (2 judges each).
        val: Category → number of triplets for ``2afc/val`` (5 judges each).
        jnd: Category → number of pairs for ``jnd/val`` (3 judges each).
        size: Image side in pixels.
        net: Trunk of the hidden metric (random, seeded by ``seed``).
        seed: Seeds images, hidden weights and judgments.
        temperature: τ of the observers, in distance units of the hidden metric.
        candidates: Distorted versions drawn per reference (see :func:`judged_triplets`); 2
            skips the conflict selection and is the cheapest for large sets.

    Returns:
        The :class:`HiddenMetric` that judged.
    """
    from metrics.lpips.trunks import TRUNKS

    hidden = HiddenMetric(net, seed, hidden_lin_weights(TRUNKS[net].channels, seed), temperature)
    plan = [("train", c, n, 2) for c, n in train.items()] + [
        ("val", c, n, 5) for c, n in val.items()
    ]
    for i, (split, category, n, judges) in enumerate(plan):
        items = judged_triplets(
            hidden, n, size=size, judges=judges, seed=seed * 1000 + i, candidates=candidates
        )
        write_2afc(Path(root), split, category, items)
    for i, (category, n) in enumerate((jnd or {}).items()):
        items = judged_pairs(hidden, n, size=size, seed=seed * 1000 + 500 + i)
        write_jnd(Path(root), "val", category, items)
    return hidden
