"""Fast CPU inference for the LPIPS trunks: Winograd F(3×3, 3×3) for convolutions on 3×3 maps.

Without autograd on the CPU, in float32, a trunk of plain convolutions, ReLUs and max-pools
(AlexNet, VGG16) runs through ``CpuProgram``: its layers as they are, on channels-last tensors
(PyTorch's oneDNN kernels are fastest there on CPU), except that every 3×3 convolution (stride 1,
padding 1) that meets a 3×3 map runs as Winograd F(3×3, 3×3). That is what AlexNet's conv3–conv5
see on the 64×64 patches LPIPS is used on, and they are most of its work.

A 3×3 output computed from a zero-padded 5×5 input tile costs 25 multiplications per (input,
output) channel pair instead of 81: the tile is transformed (Bᵀ d B), multiplied elementwise with
the transformed kernel (G g Gᵀ, computed once in float64), and transformed back (Aᵀ M A). Over a
batch the 25 elementwise products are 25 matrix products (batch × C_in) @ (C_in × C_out), one
``bmm``. The matrices come from Toom–Cook interpolation at the points 0, 1, −1, 2 and ∞ (Lavin &
Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). Winograd rounds differently
from direct convolution: on AlexNet's activations the outputs stay within 1e-5 of their scale of
a float64 reference, and LPIPS distances within 1e-6 of the eager path
(tests/metrics/test_lpips_cpu.py measures both).

The activations of consecutive Winograd layers stay in a position-major layout (9 × N × C), from
which the taps are returned as N×C×3×3 views without a copy (channels innermost, as in
channels-last).

Everything here is an optimisation of ``metrics.lpips.trunks.Trunk.forward``; the eager path
remains the definition (and the path taken with autograd, off the CPU, or in other dtypes).
"""

from __future__ import annotations

import torch
from torch import nn

# Winograd F(3, 3) from Toom–Cook at the points 0, 1, −1, 2, ∞: for a 5-sample input d and a
# 3-tap filter g, the correlation y_i = Σ_k d_{i+k} g_k (i = 0, 1, 2) equals Aᵀ[(G g) ⊙ (Bᵀ d)].
# G and Aᵀ evaluate polynomials at the points; Bᵀ is the transposed inverse Vandermonde matrix.
# tests/metrics/test_lpips_cpu.py checks the identity in float64.
WINOGRAD_AT = ((1, 1, 1, 1, 0), (0, 1, -1, 2, 0), (0, 1, 1, 4, 1))
WINOGRAD_G = ((1, 0, 0), (1, 1, 1), (1, -1, 1), (1, 2, 4), (0, 0, 1))
WINOGRAD_BT = (
    (1, -1 / 2, -1, 1 / 2, 0),
    (0, 1, 1 / 2, -1 / 2, 0),
    (0, -1 / 3, 1 / 2, -1 / 6, 0),
    (0, -1 / 6, 0, 1 / 6, 0),
    (0, 2, -1, -2, 1),
)


def winograd_matrices() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input transform, output transform, kernel transform) for a single 3×3 tile, float64.

    - input: 25×9, from the 9 values of a 3×3 map (row-major) to the 25 transformed values of
      its zero-padded 5×5 tile (the padding's columns of Bᵀ⊗Bᵀ drop out);
    - output: 9×25, Aᵀ⊗Aᵀ;
    - kernel: G (5×3), applied as G g Gᵀ.
    """
    at = torch.tensor(WINOGRAD_AT, dtype=torch.float64)
    bt = torch.tensor(WINOGRAD_BT, dtype=torch.float64)
    g = torch.tensor(WINOGRAD_G, dtype=torch.float64)
    interior = [row * 5 + col for row in range(1, 4) for col in range(1, 4)]
    return torch.kron(bt, bt)[:, interior].contiguous(), torch.kron(at, at), g


def winograd_eligible(conv: nn.Conv2d) -> bool:
    """A 3×3 convolution, stride 1, padding 1, no dilation or groups, zero padding."""
    return (
        conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
    )


def supports(features: nn.Sequential) -> bool:
    """Whether every layer is a convolution, ReLU or max-pool (AlexNet and VGG16 are)."""
    return all(isinstance(m, nn.Conv2d | nn.ReLU | nn.MaxPool2d) for m in features)


class _WinogradConv:
    """An eligible convolution and, made on first use, its transformed weights."""

    def __init__(self, layer: nn.Conv2d) -> None:
        self.layer = layer
        self.weights: torch.Tensor | None = None  # 25 × C_in × C_out
        self.bias = torch.zeros(layer.out_channels) if layer.bias is None else layer.bias.detach()

    def transformed(self, kernel: torch.Tensor) -> torch.Tensor:
        """G g Gᵀ for every (output, input) channel pair, laid out for the batched product;
        computed in float64, in slices of output channels to keep the temporaries small."""
        if self.weights is None:
            weight = self.layer.weight.detach()
            c_out, c_in = weight.shape[:2]
            out = torch.empty(25, c_in, c_out)
            with torch.no_grad():
                for start in range(0, c_out, 64):
                    part = weight[start : start + 64].double()
                    u = torch.einsum("xa,ocab,yb->xyco", kernel, part, kernel)
                    out[:, :, start : start + 64] = u.reshape(25, c_in, -1)
            self.weights = out
        return self.weights


class CpuProgram:
    """A trunk's layers prepared for CPU inference; ``run`` returns the taps.

    Args:
        features: The trunk's ``features`` (see ``supports``).
        winograd: Use Winograd F(3×3, 3×3) where it applies (otherwise every layer runs as is).
    """

    def __init__(self, features: nn.Sequential, *, winograd: bool = True) -> None:
        transform_in, transform_out, self.kernel = winograd_matrices()
        self.transform_in = transform_in.float()
        self.transform_out = transform_out.float()
        self.steps: list[nn.Module | _WinogradConv] = [
            _WinogradConv(layer)
            if winograd and isinstance(layer, nn.Conv2d) and winograd_eligible(layer)
            else layer
            for layer in features
        ]

    def run(self, x: torch.Tensor, tap_ends: tuple[int, ...]) -> list[torch.Tensor]:
        """The taps after the layers ``tap_ends`` for a float32 CPU batch N×3×H×W."""
        ends = set(tap_ends)
        n = x.shape[0]
        # The activation is an ordinary tensor (``h``) or, after Winograd layers, a dense
        # position-major 9 × N × C tensor (``pm``); exactly one of them is set.
        h: torch.Tensor | None = x
        pm: torch.Tensor | None = None
        taps = []
        for index, step in enumerate(self.steps):
            if isinstance(step, _WinogradConv) and _map_size(h) == (3, 3):
                # (9, N·C) with column n·C + c, from any memory format.
                source = pm.view(9, -1) if h is None else h.permute(2, 3, 0, 1).reshape(9, -1)
                pm, h = self._winograd(source, step, n), None
            elif isinstance(step, nn.ReLU) and pm is not None:
                pm = torch.relu_(pm)  # every ReLU follows a layer whose output is ours
            else:
                if h is None:
                    h = _from_position_major(pm).contiguous(memory_format=torch.channels_last)
                    pm = None
                h = (step.layer if isinstance(step, _WinogradConv) else step)(h)
            if index in ends:
                taps.append(h if h is not None else _from_position_major(pm))
        return taps

    def _winograd(self, source: torch.Tensor, step: _WinogradConv, n: int) -> torch.Tensor:
        """One Winograd layer: (9, N·C_in) position-major input → 9 × N × C_out with bias."""
        weights = step.transformed(self.kernel)
        c_in, c_out = weights.shape[1], weights.shape[2]
        tiles = torch.mm(self.transform_in, source).view(25, n, c_in)
        products = torch.bmm(tiles, weights)
        out = torch.mm(self.transform_out, products.view(25, n * c_out)).view(9, n, c_out)
        return out.add_(step.bias)


def _map_size(h: torch.Tensor | None) -> tuple[int, int]:
    return (3, 3) if h is None else (h.shape[2], h.shape[3])


def _from_position_major(pm: torch.Tensor) -> torch.Tensor:
    """N×C×3×3 view of a 9 × N × C position-major tensor (no copy)."""
    return pm.view(3, 3, pm.shape[1], pm.shape[2]).permute(2, 3, 0, 1)
