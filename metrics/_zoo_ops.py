"""Building blocks shared by the full-reference "zoo" metrics (GMSD, VIFp, HaarPSI, MDSI, ...).

Plain batched torch functions on N×C×H×W tensors. The conventions are those of piq 0.8.0
(``shared/reference/metric-toolboxes.md``), which the zoo metrics are checked against; where the
authors' MATLAB code differs, the metric's module says so.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# NTSC RGB -> YIQ with the FCC coefficients to four digits (as piq and scikit-image have them).
# ``metrics.color.rgb_to_yiq`` keeps the three-digit matrix of FSIM's MATLAB code.
YIQ_FROM_RGB = (
    (0.299, 0.587, 0.114),
    (0.5959, -0.2746, -0.3213),
    (0.2115, -0.5227, 0.3112),
)
# MDSI's LHM opponent space (Nafchi et al. 2016, eq. 7).
LHM_FROM_RGB = (
    (0.2989, 0.587, 0.114),
    (0.3, 0.04, -0.35),
    (0.34, -0.6, 0.17),
)
# VSI's LMN opponent space (Zhang, Shen & Li 2014, eq. 5).
LMN_FROM_RGB = (
    (0.06, 0.63, 0.27),
    (0.30, 0.04, -0.35),
    (0.34, -0.6, 0.17),
)
LUMA = YIQ_FROM_RGB[0]

PREWITT_X = ((-1.0, 0.0, 1.0), (-1.0, 0.0, 1.0), (-1.0, 0.0, 1.0))  # /3
SCHARR_X = ((-3.0, 0.0, 3.0), (-10.0, 0.0, 10.0), (-3.0, 0.0, 3.0))  # /16


def mix(x: torch.Tensor, matrix: tuple[tuple[float, ...], ...]) -> torch.Tensor:
    """Apply a colour matrix (rows: output channels) to the channels of N×3×H×W."""
    m = torch.tensor(matrix, dtype=x.dtype, device=x.device)
    return torch.einsum("ij,njhw->nihw", m, x)


def luma(x: torch.Tensor) -> torch.Tensor:
    """Y = 0.299 R + 0.587 G + 0.114 B, N×3×H×W -> N×1×H×W."""
    r, g, b = x.unbind(1)
    return (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b).unsqueeze(1)


def similarity(a: torch.Tensor, b: torch.Tensor, c: float, alpha: float = 0.0) -> torch.Tensor:
    """The Dice-like map (2ab − α·ab + c)/(a² + b² − α·ab + c) (α: MS-GMSD's masking)."""
    ab = a * b
    if alpha:
        return ((2.0 - alpha) * ab + c) / (a * a + b * b - alpha * ab + c)
    return (2.0 * ab + c) / (a * a + b * b + c)


def gradient_magnitude(x: torch.Tensor, kernel_x: tuple, scale: float) -> torch.Tensor:
    """√(gx² + gy²) of each channel, 3×3 kernel and its transpose, zero padding ('same').

    Args:
        x: N×C×H×W.
        kernel_x: The horizontal-derivative kernel (e.g. ``PREWITT_X``), divided by ``scale``.

    Returns:
        N×C×H×W.
    """
    n, c, h, w = x.shape
    kx = torch.tensor(kernel_x, dtype=x.dtype, device=x.device) / scale
    weight = torch.stack((kx, kx.t())).unsqueeze(1)  # 2×1×3×3
    g = F.conv2d(x.reshape(n * c, 1, h, w), weight, padding=1)
    return torch.sqrt(g[:, 0] ** 2 + g[:, 1] ** 2).reshape(n, c, h, w)


def halve(x: torch.Tensor) -> torch.Tensor:
    """2×2 mean keeping every second pixel; an odd side is zero-padded at its end first.

    This is MATLAB's ``conv2(x, ones(2)/4, 'same')`` followed by ``x(1:2:end, 1:2:end)``, which
    the GMSD and HaarPSI reference codes use. (piq pads both sides when either is odd; the two
    agree unless exactly one side is odd.)
    """
    pad_h, pad_w = x.shape[-2] % 2, x.shape[-1] % 2
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h))
    return F.avg_pool2d(x, 2)


def matlab_downsample_factor(height: int, width: int) -> int:
    """F = max(1, round(min(H, W)/256)), halves rounded up as MATLAB's round does.

    The authors of FSIM, SR-SIM, VSI and MDSI shrink images by F before scoring, so that the
    filters see the viewing distance they were tuned for (F = 1 below 384 px: BAPPS patches and
    256×256 images are scored as they are).
    """
    return max(1, math.floor(min(height, width) / 256 + 0.5))


def box_downsample(
    x: torch.Tensor, factor: int, *, pad_before: int, pad_after: int
) -> torch.Tensor:
    """F×F mean keeping every F-th pixel, after zero padding (MATLAB ``conv2(..., 'same')``)."""
    if factor == 1:
        return x
    x = F.pad(x, (pad_before, pad_after, pad_before, pad_after))
    return F.avg_pool2d(x, factor)


def gaussian_kernel(
    size: int, sigma: float, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """Normalised 2-D Gaussian, size×size, centred at (size − 1)/2 (MATLAB ``fspecial``)."""
    t = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2.0
    g = torch.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2.0 * sigma**2))
    return g / g.sum()


def _cubic(t: torch.Tensor) -> torch.Tensor:
    """Keys' cubic convolution kernel with a = −0.5 (MATLAB ``imresize``'s bicubic)."""
    a = t.abs()
    near = (1.5 * a - 2.5) * a * a + 1.0
    far = ((-0.5 * a + 2.5) * a - 4.0) * a + 2.0
    return torch.where(a <= 1.0, near, torch.where(a <= 2.0, far, torch.zeros_like(a)))


def _resize_matrix(n_in: int, n_out: int, scale: float, dtype, device) -> torch.Tensor:
    """The n_out×n_in matrix of MATLAB ``imresize`` (bicubic, antialiased when shrinking,
    symmetric boundary) along one dimension."""
    shrink = min(scale, 1.0)
    width = math.ceil(4.0 / shrink) + 2
    pos = (torch.arange(n_out, dtype=torch.float64) + 0.5) / scale - 0.5
    first = torch.floor(pos) - width // 2 + 1
    taps = first[:, None] + torch.arange(width, dtype=torch.float64)[None, :]  # n_out×width
    weights = _cubic((pos[:, None] - taps) * shrink)
    weights = weights / weights.sum(dim=1, keepdim=True)
    # Symmetric boundary: ... b a | a b c d | d c ...
    index = taps.long() % (2 * n_in)
    index = torch.where(index >= n_in, 2 * n_in - 1 - index, index)
    matrix = torch.zeros(n_out, n_in, dtype=torch.float64)
    matrix.scatter_add_(1, index, weights)
    return matrix.to(dtype=dtype, device=device)


def imresize(x: torch.Tensor, size: tuple[int, int], scale: tuple[float, float]) -> torch.Tensor:
    """MATLAB ``imresize(x, …, 'bicubic')`` of N×C×H×W to ``size``, with the given scale factors
    (the output/input ratio MATLAB derives the kernel from; antialiased when below 1)."""
    h, w = x.shape[-2:]
    mh = _resize_matrix(h, size[0], scale[0], x.dtype, x.device)
    mw = _resize_matrix(w, size[1], scale[1], x.dtype, x.device)
    return torch.matmul(torch.matmul(mh, x), mw.t())
