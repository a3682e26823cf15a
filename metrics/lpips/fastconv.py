"""``FastConv3x3``: an ``nn.Conv2d`` that computes 3×3 maps in 16 multiplications on CPU.

On the CPU, in float32 and without autograd, a 3×3 convolution (stride 1, padding 1) that meets a
3×3 map can run as a Winograd-style fast convolution (below). That is what AlexNet's conv3–conv5
see on the 64×64 patches LPIPS is used on, and they are most of its work. ``install`` swaps each
eligible ``nn.Conv2d`` of a module for a ``FastConv3x3`` sharing its parameters; the trunk's
forward stays the ordinary walk over its modules. On every other input (another map size,
another device or dtype, autograd, trainable weights) a ``FastConv3x3`` is the ordinary
convolution, bit for bit.

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
2016, takes 25.) The scheme rounds differently from direct convolution: on AlexNet's activations
the outputs stay within 1e-5 of their scale of a float64 reference, and LPIPS distances within
1e-6 of the eager modules' (the tests measure both).

The output of a fast layer is an N×C×3×3 view of a position-major 9 × N × C tensor (channels
innermost, as in channels-last), which the next fast layer (after an elementwise ReLU, which
keeps the layout) reads without a copy.

The transformed kernel is derived data, made on first use and kept until the weight changes:
a new weight tensor or storage (assignment, ``.to()``, ``load_state_dict(assign=True)``) is
seen by comparing storage, shape and strides; ``load_state_dict`` (which copies into the
existing storage) drops it through a load-state-dict hook; a weight that requires gradients
(being trained) is never transformed, its layer runs as the ordinary convolution. An in-place
edit of a frozen weight by hand (``weight.mul_(2)`` under ``no_grad``) cannot be seen without
PyTorch's private version counters: call ``invalidate()`` after one. Copies and pickles drop it.
"""

from __future__ import annotations

import torch
from torch import nn

# The four-product scheme for a 3-sample map with one sample of zero padding on each side and a
# 3-tap filter (module docstring): the correlation y_i = Σ_k d_{i+k} g_k (i = 0, 1, 2, d the
# padded map) equals Aᵀ[(G g) ⊙ (Bᵀ x)] for the unpadded map x. Rows of Bᵀ and G are the pairs
# (t, w) = (3/2, 1), (−3/2, 1), (1/2, −1), (−1/2, −1); Aᵀ recombines the products.
# The tests check the identity in float64.
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


_TRANSFORM_IN, _TRANSFORM_OUT, _KERNEL = winograd_matrices()
_TRANSFORM_IN, _TRANSFORM_OUT = _TRANSFORM_IN.float(), _TRANSFORM_OUT.float()


def eligible(conv: nn.Module) -> bool:
    """An ``nn.Conv2d`` with a 3×3 kernel, stride 1, zero padding 1, no dilation or groups."""
    return (
        isinstance(conv, nn.Conv2d)
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
    )


def _forget_transform(module: FastConv3x3, incompatible_keys: object) -> None:
    """Load-state-dict hook: the weights were (possibly) overwritten in place."""
    module.invalidate()


class FastConv3x3(nn.Conv2d):
    """A 3×3 convolution (stride 1, padding 1) with the 16-product path for 3×3 maps on CPU.

    The same parameters, state-dict keys and results as ``nn.Conv2d`` (within float rounding on
    the fast path: see the module docstring). Build one from an existing layer with
    ``from_conv`` (which shares its parameters) or swap them in with ``install``.

    Shape:
        - input: N×C_in×H×W.
        - output: N×C_out×H×W; for the fast path an N×C_out×3×3 view of a position-major tensor.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if not eligible(self):
            raise ValueError(
                "FastConv3x3 takes a 3×3 kernel, stride 1, zero padding 1, no dilation or groups"
            )
        # (the weight the transform was made from, kept so its storage is not reused; the
        # transformed kernel, POINTS × C_in × C_out)
        self._transformed: tuple[torch.Tensor, torch.Tensor] | None = None
        self.register_load_state_dict_post_hook(_forget_transform)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> FastConv3x3:
        """A ``FastConv3x3`` that shares ``conv``'s weight and bias (no copy)."""
        if not eligible(conv):
            raise ValueError(f"{conv} is not a 3×3 convolution with stride 1 and padding 1")
        with torch.device("meta"):
            fast = cls(
                conv.in_channels, conv.out_channels, 3, padding=1, bias=conv.bias is not None
            )
        fast.weight = conv.weight
        fast.bias = conv.bias
        fast.train(conv.training)
        return fast

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state["_transformed"] = None  # derived data: a copy makes its own
        return state

    def invalidate(self) -> None:
        """Forget the transformed kernel (after editing a frozen weight in place by hand)."""
        self._transformed = None

    def applies(self, x: torch.Tensor) -> bool:
        """Whether ``forward(x)`` takes the 16-product path: a 3×3 map, CPU, float32, and
        neither the input (with autograd on) nor the parameters need gradients."""
        return (
            x.dim() == 4
            and x.shape[2] == 3
            and x.shape[3] == 3
            and x.device.type == "cpu"
            and x.dtype == torch.float32
            and self.weight.dtype == torch.float32
            and not self.weight.requires_grad
            and not (self.bias is not None and self.bias.requires_grad)
            and not (torch.is_grad_enabled() and x.requires_grad)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.applies(x):
            if self.weight.requires_grad or (self.bias is not None and self.bias.requires_grad):
                # Trainable now: an optimizer may change the weights in place (same storage)
                # before the layer is frozen again, so the transformed kernel must be rebuilt.
                self._transformed = None
            return super().forward(x)
        n, c_in = x.shape[0], x.shape[1]
        weights = self.transformed_kernel()
        c_out = weights.shape[2]
        # (9, N·C_in), column n·C_in + c: a view when x is the output of a fast layer.
        source = x.permute(2, 3, 0, 1).reshape(9, n * c_in)
        tiles = torch.mm(_TRANSFORM_IN, source).view(POINTS, n, c_in)
        products = torch.bmm(tiles, weights)
        out = torch.mm(_TRANSFORM_OUT, products.view(POINTS, n * c_out)).view(9, n, c_out)
        if self.bias is not None:
            out.add_(self.bias)
        return out.view(3, 3, n, c_out).permute(2, 3, 0, 1)

    def transformed_kernel(self) -> torch.Tensor:
        """G g Gᵀ for every (output, input) channel pair, POINTS × C_in × C_out float32.

        Made on first use (in float64, in slices of output channels to keep the temporaries
        small) and kept while the weight's storage, shape and strides stay the same.
        """
        weight = self.weight
        cached = self._transformed
        if cached is not None:
            source, transformed = cached
            if (
                source.data_ptr() == weight.data_ptr()
                and source.shape == weight.shape
                and source.stride() == weight.stride()
                and source.dtype == weight.dtype
                and source.device == weight.device
            ):
                return transformed
        with torch.no_grad():
            source = weight.detach()
            c_out, c_in = source.shape[:2]
            transformed = torch.empty(POINTS, c_in, c_out, dtype=torch.float32)
            for start in range(0, c_out, 64):
                part = source[start : start + 64].double()
                u = torch.einsum("xa,ocab,yb->xyco", _KERNEL, part, _KERNEL)
                transformed[:, :, start : start + 64] = u.reshape(POINTS, c_in, -1)
        self._transformed = (source, transformed)
        return transformed


def install(module: nn.Module, *, recurse: bool = False) -> list[str]:
    """Swap every eligible ``nn.Conv2d`` child of ``module`` for a ``FastConv3x3`` sharing its
    parameters (state-dict keys unchanged); with ``recurse``, inside submodules too.

    Returns:
        The names (relative to ``module``) of the layers swapped in, in order.
    """
    swapped = []
    targets = module.named_modules() if recurse else module.named_children()
    for name, child in list(targets):
        if type(child) is nn.Conv2d and eligible(child):
            parent_name, _, attr = name.rpartition(".")
            parent = module.get_submodule(parent_name) if parent_name else module
            setattr(parent, attr, FastConv3x3.from_conv(child))
            swapped.append(name)
    return swapped
