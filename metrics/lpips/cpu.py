"""Fast CPU inference for the LPIPS trunks: 3×3 convolutions on 3×3 maps in 16 multiplications.

Without autograd on the CPU, in float32, a trunk of plain convolutions, ReLUs and max-pools
(AlexNet, VGG16) runs through ``CpuProgram``: its layers as they are, on channels-last tensors
(PyTorch's oneDNN kernels are fastest there on CPU), except that every 3×3 convolution (stride 1,
padding 1) that meets a 3×3 map runs as a Winograd-style fast convolution (below). That is what
AlexNet's conv3–conv5 see on the 64×64 patches LPIPS is used on, and they are most of its work.

On a 3×3 map with one pixel of zero padding, each row of the output is the middle three
coefficients of the product of two quadratics, y_0 = x_0 g_1 + x_1 g_2, y_1 = x_0 g_0 + x_1 g_1 +
x_2 g_2, y_2 = x_1 g_0 + x_2 g_1, and those take four multiplications, not the five of Winograd
F(3, 3) (which computes every output of a 5-sample tile) nor the seven of the direct sum. With
m(t, w) = (x_0 + t x_1 + w x_2)(w g_0 + t g_1 + g_2):

    m(t, w) − m(−t, w) = 2t (y_0 + w y_2)
    m(t, w) + m(−t, w) = 2 [w (x_0 g_0 + x_2 g_2) + t² x_1 g_1 + x_0 g_2 + w² x_2 g_0]

so the pairs (t, w) = (3/2, 1) and (1/2, −1), for which the difference of the sums is
4 (x_0 g_0 + x_1 g_1 + x_2 g_2) = 4 y_1 (since (3/2)² − (1/2)² = 2·1), give all three outputs
from four products. Along both axes that is 16 multiplications per (input, output) channel pair
instead of 81: the map is transformed (Bᵀ d B), multiplied elementwise with the transformed
kernel (G g Gᵀ, computed once in float64), and transformed back (Aᵀ M A). Over a batch the 16
elementwise products are 16 matrix products (batch × C_in) @ (C_in × C_out), one ``bmm``. (The
Toom–Cook F(3×3, 3×3) of Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
2016, takes 25; this program used it until the four-product rows were found.) The scheme rounds
differently from direct convolution: on AlexNet's activations the outputs stay within 1e-5 of
their scale of a float64 reference, and LPIPS distances within 1e-6 of the eager path
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

# The four-product scheme for a 3-sample map with one sample of zero padding on each side and a
# 3-tap filter (module docstring): the correlation y_i = Σ_k d_{i+k} g_k (i = 0, 1, 2, d the
# padded map) equals Aᵀ[(G g) ⊙ (Bᵀ x)] for the unpadded map x. Rows of Bᵀ and G are the pairs
# (t, w) = (3/2, 1), (−3/2, 1), (1/2, −1), (−1/2, −1); Aᵀ recombines the products.
# tests/metrics/test_lpips_cpu.py checks the identity in float64.
WINOGRAD_BT = ((1, 3 / 2, 1), (1, -3 / 2, 1), (1, 1 / 2, -1), (1, -1 / 2, -1))
WINOGRAD_G = ((1, 3 / 2, 1), (1, -3 / 2, 1), (-1, 1 / 2, 1), (-1, -1 / 2, 1))
WINOGRAD_AT = (
    (1 / 6, -1 / 6, 1 / 2, -1 / 2),
    (1 / 4, 1 / 4, -1 / 4, -1 / 4),
    (1 / 6, -1 / 6, -1 / 2, 1 / 2),
)
POINTS = len(WINOGRAD_BT) ** 2  # transformed values per 3×3 map: 16


def winograd_matrices() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input transform, output transform, kernel transform) for a single 3×3 map, float64.

    - input: 16×9, Bᵀ⊗Bᵀ, from the 9 values of a 3×3 map (row-major) to its 16 transformed
      values (the zero padding is built into the scheme);
    - output: 9×16, Aᵀ⊗Aᵀ;
    - kernel: G (4×3), applied as G g Gᵀ.
    """
    at = torch.tensor(WINOGRAD_AT, dtype=torch.float64)
    bt = torch.tensor(WINOGRAD_BT, dtype=torch.float64)
    g = torch.tensor(WINOGRAD_G, dtype=torch.float64)
    return torch.kron(bt, bt), torch.kron(at, at), g


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
        self.weights: torch.Tensor | None = None  # 16 × C_in × C_out
        self.bias = torch.zeros(layer.out_channels) if layer.bias is None else layer.bias.detach()

    def transformed(self, kernel: torch.Tensor) -> torch.Tensor:
        """G g Gᵀ for every (output, input) channel pair, laid out for the batched product;
        computed in float64, in slices of output channels to keep the temporaries small."""
        if self.weights is None:
            weight = self.layer.weight.detach()
            c_out, c_in = weight.shape[:2]
            out = torch.empty(POINTS, c_in, c_out)
            with torch.no_grad():
                for start in range(0, c_out, 64):
                    part = weight[start : start + 64].double()
                    u = torch.einsum("xa,ocab,yb->xyco", kernel, part, kernel)
                    out[:, :, start : start + 64] = u.reshape(POINTS, c_in, -1)
            self.weights = out
        return self.weights


class CpuProgram:
    """A trunk's layers prepared for CPU inference; ``run`` returns the taps.

    Args:
        features: The trunk's ``features`` (see ``supports``).
        winograd: Use the fast 3×3 convolution where it applies (otherwise every layer runs as is).
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
        tiles = torch.mm(self.transform_in, source).view(POINTS, n, c_in)
        products = torch.bmm(tiles, weights)
        out = torch.mm(self.transform_out, products.view(POINTS, n * c_out)).view(9, n, c_out)
        return out.add_(step.bias)


def _map_size(h: torch.Tensor | None) -> tuple[int, int]:
    return (3, 3) if h is None else (h.shape[2], h.shape[3])


def _from_position_major(pm: torch.Tensor) -> torch.Tensor:
    """N×C×3×3 view of a 9 × N × C position-major tensor (no copy)."""
    return pm.view(3, 3, pm.shape[1], pm.shape[2]).permute(2, 3, 0, 1)
