"""The trainable heads: the LPIPS lin weights and the ranking network G (reference §2.1).

``LinWeights`` holds every layer's channel weights in one flat parameter (1152 numbers for alex),
so the fast path computes a distance as one matrix product and the clamp is one call; ``layer(k)``
gives the view of layer k. Exported state dicts use the official key names and shapes, so the
official ``lpips.LPIPS(model_path=...)`` and our ``create_metric(..., lin_weights=...)`` load them.

``RankingNet`` is G: it maps two distances to the predicted fraction of humans preferring p1,
from the five features (d0, d1, d0 − d1, d0/(d1 + ε), d1/(d0 + ε)), ε = 0.1, through two 32-wide
LeakyReLU(0.2) layers and a sigmoid. It exists only for training.

Both initialise like a fresh ``nn.Conv2d``/``nn.Linear`` of their shape (uniform in ±1/√fan_in),
as the official untrained modules do, but from an explicit generator so a seed fixes them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

RANK_EPS = 0.1
RANK_WIDTH = 32
LEAKY_SLOPE = 0.2


class LinWeights(nn.Module):
    """Non-negative per-channel weights of every tapped layer.

    Args:
        channels: Channels per layer, e.g. (64, 192, 384, 256, 256).

    Attributes:
        weight: Flat parameter of ``sum(channels)`` values, layer after layer.
    """

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.channels = tuple(int(c) for c in channels)
        self.offsets = tuple(int(o) for o in torch.tensor((0, *self.channels)).cumsum(0))
        self.weight = nn.Parameter(torch.zeros(self.offsets[-1]))

    def layer(self, k: int) -> torch.Tensor:
        """View of layer k's weights, shape (C_k,)."""
        return self.weight[self.offsets[k] : self.offsets[k + 1]]

    @torch.no_grad()
    def reset(self, generator: torch.Generator) -> None:
        """Uniform in ±1/√C_k per layer: a fresh official lin conv (negative values included;
        the first clamp removes them, as in the official training)."""
        values = [
            torch.rand(c, generator=generator, dtype=torch.float32) * (2 / math.sqrt(c))
            - 1 / math.sqrt(c)
            for c in self.channels
        ]
        self.weight.copy_(torch.cat(values).to(self.weight.device))

    @torch.no_grad()
    def clamp_(self) -> None:
        """Project onto the constraint set w ≥ 0 (done after every optimiser step)."""
        self.weight.clamp_(min=0.0)

    def official_state_dict(self) -> dict[str, torch.Tensor]:
        """``{"lin{k}.model.1.weight": (1, C_k, 1, 1) float32}``, on the CPU."""
        return {
            f"lin{k}.model.1.weight": self.layer(k).detach().float().cpu().clone().view(1, -1, 1, 1)
            for k in range(len(self.channels))
        }


class RankingNet(nn.Module):
    """G: two distances → predicted fraction of humans preferring p1.

    Shape:
        - d0, d1: (B,) distances d(ref, p0) and d(ref, p1).
        - output: (B,) probabilities in (0, 1).
    """

    def __init__(self, width: int = RANK_WIDTH) -> None:
        super().__init__()
        # Indices 0, 2, 4 hold the weights, as in the official Sequential, so the exported keys
        # match after reshaping the Linear weights to 1×1 convolutions.
        self.model = nn.Sequential(
            nn.Linear(5, width), nn.LeakyReLU(LEAKY_SLOPE),
            nn.Linear(width, width), nn.LeakyReLU(LEAKY_SLOPE),
            nn.Linear(width, 1), nn.Sigmoid(),
        )  # fmt: skip

    @torch.no_grad()
    def reset(self, generator: torch.Generator) -> None:
        """Uniform in ±1/√fan_in for weights and biases (PyTorch's default, seeded)."""
        for layer in self.model:
            if isinstance(layer, nn.Linear):
                bound = 1 / math.sqrt(layer.in_features)
                for p in (layer.weight, layer.bias):
                    fresh = torch.rand(p.shape, generator=generator) * (2 * bound) - bound
                    p.copy_(fresh.to(p.device))

    def forward(self, d0: torch.Tensor, d1: torch.Tensor) -> torch.Tensor:
        features = torch.stack((d0, d1, d0 - d1, d0 / (d1 + RANK_EPS), d1 / (d0 + RANK_EPS)), dim=1)
        return self.model(features).squeeze(1)

    def official_state_dict(self) -> dict[str, torch.Tensor]:
        """State dict with the official ``Dist2LogitLayer`` keys and 1×1-conv shapes."""
        out = {}
        for key, value in self.state_dict().items():
            value = value.detach().float().cpu().clone()
            out[key] = value.view(*value.shape, 1, 1) if key.endswith("weight") else value
        return out


def ranking_loss(prob: torch.Tensor, judge: torch.Tensor) -> torch.Tensor:
    """Eq. 2 of the paper: mean BCE between G's output and the human fraction ``judge``.

    ``binary_cross_entropy`` on probabilities (not logits) clamps log at −100 like the official
    ``BCELoss``, so saturated predictions behave the same.
    """
    return F.binary_cross_entropy(prob, judge.to(prob.dtype))
