"""IW-SSIM, information content weighted SSIM (Wang & Li, IEEE TIP 2011), as 1 − IW-SSIM.

Definition (Wang & Li, "Information content weighting for perceptual image quality assessment",
IEEE TIP 20(5), 2011, and the authors' ``iwssim.m``), with piq 0.8.0's conventions where the
paper leaves a choice:

1. RGB in [0, 1] → luma Y = 0.299 R + 0.587 G + 0.114 B on the 0–255 scale (the reference code
   takes grey images; the luma is the usual reduction, and piq's).
2. A Laplacian pyramid of L scales (L = 5 by default) with the 5-tap binomial filter
   √2·[1 4 6 4 1]/16 applied separably (reflection at the borders, no edge repeat): L − 1
   band-pass images and the low-pass residual. Going down keeps every second sample (from the
   first); going up inserts zeros after every sample (an odd side thus gains a trailing zero,
   as piq does), filters and crops to the finer size.
3. At every band-pass scale the contrast–structure map cs = (2σ_xy + C2)/(σ_x² + σ_y² + C2) of
   SSIM (11×11 Gaussian window, σ = 1.5, 'valid', variances clipped at 0, C2 = (0.03·255)²) is
   pooled with the information content weights w of the *reference* band: a Gaussian scale
   mixture over 3×3 neighbourhoods (plus the parent: the next coarser band enlarged ×2 as
   ``imenlarge2`` does, at all band-pass scales but the last), covariance C_U of the neighbourhood
   vectors with negative eigenvalues zeroed and the rest rescaled to keep the trace,
   s = Yᵀ C_U⁻¹ Y / K per position, the distorted band regressed on the reference in 3×3 windows
   (gain g, residual variance σ_v²), and
   w = Σ_k log2(1 + ((σ_v² + (1 + g²)·σ_n²)·s·λ_k + σ_n²·σ_v²)/σ_n⁴), σ_n² = 0.4.
   At the residual, the full SSIM map (with the luminance term, C1 = (0.01·255)²) is averaged
   unweighted.
4. IW-SSIM = Π_j |pooled_j|^β_j with β = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), the MS-SSIM
   exponents (the absolute value is piq's; a negative pooled cs is rare and makes the power
   undefined otherwise).

**Argument order.** The weights come from the reference, so IW-SSIM is not symmetric:
``metric(x0, x1)`` takes the *reference* as ``x0`` (as ``score_triplets(ref, p0, p1)`` passes
it) and the distorted image as ``x1``. piq's ``information_weighted_ssim(x, y)`` takes the
reference as ``y``.

**Distance.** 1 − IW-SSIM: 0 for identical images, larger is worse.

**Small inputs.** L scales need the residual, at 1/2^(L−1) of the size, to hold the 11×11 window:
min(H, W) ≥ 10·2^(L−1) + 1, i.e. 161 px for the standard 5 scales (piq's limit too). BAPPS
patches are 64×64, so the policy is that of ``ms-ssim``: with ``small_inputs="reduce"`` (the
default) the metric uses the most scales L ≤ ``levels`` that fit (3 at 64×64, 4 from 81 px) and
renormalises the first L exponents to sum 1 — the same number piq gives with
``scale_weights`` set to those L exponents; ``small_inputs="error"`` raises instead. Below 21 px
not even two scales (one weighted band and the residual) fit and the metric raises: a single
scale would be SSIM of a Laplacian band, not IW-SSIM. No image is padded or upsampled to reach a
size: that would add structure that is not in the image.

**Degenerate content.** Where the reference band has no structure at all (a flat image) the
covariance C_U is singular; piq fails to invert it, we use its pseudo-inverse (directions with a
zero eigenvalue carry no information), and a scale whose weights are all 0 falls back to the
unweighted mean of its cs map instead of 0/0.

**Precision.** Computed in the input's dtype, except the eigendecomposition of the 9×9 (10×10)
neighbourhood covariance and the SSIM map of the low-pass residual, in float64: the residual keeps
the image mean (doubled at every scale by the √2 filter), where float32's E[x²] − E[x]² loses the
variance. The flat-window thresholds are the dtype's machine epsilon, as in piq. On float64 inputs
the result equals piq's to rounding (1e-15); on float32 inputs it is within 1e-6 of piq's float64.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from metrics._zoo_ops import luma
from metrics.base import Metric

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW, WINDOW_SIGMA = 11, 1.5
K1, K2 = 0.01, 0.03
BLOCK = 3  # neighbourhood side of the information content model
SIGMA_NSQ = 0.4
MIN_LEVELS = 2


def min_side(levels: int) -> int:
    """The smallest side for ``levels`` scales: the residual must hold the 11×11 window."""
    return (WINDOW - 1) * 2 ** (levels - 1) + 1


def _binomial(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """√2·[1 4 6 4 1]/16: the pyramid filter (matlabPyrTools' ``binom5``)."""
    taps = torch.tensor((1.0, 4.0, 6.0, 4.0, 1.0), dtype=dtype, device=device)
    return taps * (math.sqrt(2.0) / 16.0)


def _filter_axis(x: torch.Tensor, taps: torch.Tensor, axis: int) -> torch.Tensor:
    """Correlate every N×1×H×W image with ``taps`` along ``axis`` (-1: rows, -2: columns),
    reflecting at the borders; same size."""
    half = taps.numel() // 2
    if axis == -1:
        x = F.pad(x, (half, half, 0, 0), mode="reflect")
        return F.conv2d(x, taps.view(1, 1, 1, -1))
    x = F.pad(x, (0, 0, half, half), mode="reflect")
    return F.conv2d(x, taps.view(1, 1, -1, 1))


def _reduce(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Blur and keep every second sample: N×1×H×W → N×1×⌈H/2⌉×⌈W/2⌉."""
    x = _filter_axis(x, taps, -1)[..., ::2]
    return _filter_axis(x, taps, -2)[..., ::2, :]


def _expand(lo: torch.Tensor, size: tuple[int, int], taps: torch.Tensor) -> torch.Tensor:
    """Insert zeros after every sample, blur, crop to ``size``: the inverse step of ``_reduce``."""
    n, c, h, w = lo.shape
    up = lo.new_zeros(n, c, h, 2 * w)
    up[..., ::2] = lo
    up = _filter_axis(up, taps, -1)[..., : size[1]]
    tall = up.new_zeros(n, c, 2 * h, size[1])
    tall[..., ::2, :] = up
    return _filter_axis(tall, taps, -2)[..., : size[0], :]


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``levels − 1`` band-pass images (finest first) and the low-pass residual of N×1×H×W."""
    taps = _binomial(x.dtype, x.device)
    bands = []
    for _ in range(levels - 1):
        lo = _reduce(x, taps)
        bands.append(x - _expand(lo, x.shape[-2:], taps))
        x = lo
    bands.append(x)
    return bands


def _ssim_maps(
    x: torch.Tensor, y: torch.Tensor, window: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """'valid' SSIM and cs maps of two N×1×H×W images on the 0–255 scale; ``window`` is the
    1-D Gaussian (the 2-D window is its outer product, applied separably)."""
    c1, c2 = (K1 * 255.0) ** 2, (K2 * 255.0) ** 2
    n = x.shape[0]
    stack = torch.cat((x, y, x * x, y * y, x * y))
    stack = F.conv2d(F.conv2d(stack, window.view(1, 1, 1, -1)), window.view(1, 1, -1, 1))
    mu_x, mu_y, xx, yy, xy = stack.split(n)
    var_x = torch.relu(xx - mu_x * mu_x)
    var_y = torch.relu(yy - mu_y * mu_y)
    cs = (2.0 * (xy - mu_x * mu_y) + c2) / (var_x + var_y + c2)
    luminance = (2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1)
    return luminance * cs, cs


def _enlarge(x: torch.Tensor) -> torch.Tensor:
    """``imenlarge2`` of the reference code: N×1×h×w → N×1×2h×2w.

    Bilinear resampling to (4h − 3)×(4w − 3) (pixel-centre convention), one more row and column
    on every side by linear extrapolation, then every second sample.
    """
    h, w = x.shape[-2:]
    inner = F.interpolate(x, size=(4 * h - 3, 4 * w - 3), mode="bilinear", align_corners=False)
    # Linear extrapolation: the new border is 2·(first) − (second), on both axes.
    top = 2.0 * inner[..., :1, :] - inner[..., 1:2, :]
    bottom = 2.0 * inner[..., -1:, :] - inner[..., -2:-1, :]
    inner = torch.cat((top, inner, bottom), dim=-2)
    left = 2.0 * inner[..., :1] - inner[..., 1:2]
    right = 2.0 * inner[..., -1:] - inner[..., -2:-1]
    full = torch.cat((left, inner, right), dim=-1)
    return full[..., ::2, ::2]


def information_weights(
    ref: torch.Tensor, dist: torch.Tensor, parent: torch.Tensor | None
) -> torch.Tensor:
    """The information content weight map of one band (the eigendecomposition in float64).

    Args:
        ref, dist: N×1×h×w band-pass images (reference, distorted).
        parent: The reference's next coarser band (N×1×⌈h/2⌉×⌈w/2⌉), or None.

    Returns:
        N×(h − 2)×(w − 2): one weight per position whose 3×3 neighbourhood lies inside.
    """
    n, _, h, w = ref.shape
    # The flat-window threshold of the special cases and the floor below which a weight counts
    # as 0: the dtype's machine epsilon, as piq has it.
    eps = torch.finfo(ref.dtype).eps
    stack = torch.cat((ref, dist, ref * ref, dist * dist, ref * dist))
    mu_r, mu_d, rr, dd, rd = F.avg_pool2d(stack, BLOCK, stride=1).split(n)
    var_r = torch.relu(rr - mu_r * mu_r)
    var_d = torch.relu(dd - mu_d * mu_d)
    cov = rd - mu_r * mu_d
    # The distorted band as gain · reference + noise of variance vv, per 3×3 window.
    g = cov / (var_r + eps)
    vv = var_d - g * cov
    flat_r, flat_d = var_r < eps, var_d < eps
    vv = torch.where(flat_r, var_d, vv)
    g = torch.where(flat_r | flat_d, 0.0, g)
    vv = torch.where(flat_d, 0.0, vv)

    # Neighbourhood vectors of the reference: 3×3 samples (+ the enlarged parent) per position.
    neighbours = F.unfold(ref, BLOCK)  # N×9×L
    if parent is not None:
        up = _enlarge(parent)[..., :h, :w][..., 1 : h - 1, 1 : w - 1]
        neighbours = torch.cat((neighbours, up.reshape(n, 1, -1)), dim=1)
    y = neighbours.transpose(1, 2)  # N×L×K
    k = y.shape[-1]
    cov_u = (y.transpose(1, 2) @ y / y.shape[1]).double()
    eigvals, eigvecs = torch.linalg.eigh(cov_u)
    positive = torch.relu(eigvals)
    total, kept = eigvals.sum(-1, keepdim=True), positive.sum(-1, keepdim=True)
    lam = positive * total / torch.where(kept == 0, 1.0, kept)  # N×K
    # s = yᵀ C_U⁺ y / K in the eigenbasis (pseudo-inverse: zero eigenvalues drop out).
    inv = torch.where(lam > 0, 1.0 / torch.where(lam > 0, lam, 1.0), 0.0)
    lam, inv, eigvecs = lam.to(y.dtype), inv.to(y.dtype), eigvecs.to(y.dtype)
    s = ((y @ eigvecs) ** 2 * inv[:, None, :]).sum(-1) / k  # N×L
    s = s.view(n, 1, h - 2, w - 2)
    gain = ((vv + (1.0 + g * g) * SIGMA_NSQ) * s).unsqueeze(-1)  # N×1×h'×w'×1
    terms = gain * lam.view(n, 1, 1, 1, k) + (SIGMA_NSQ * vv).unsqueeze(-1)
    weights = torch.log2(1.0 + terms / SIGMA_NSQ**2).sum(-1)[:, 0]
    return torch.where(weights < eps, 0.0, weights)


def iw_ssim(ref: torch.Tensor, dist: torch.Tensor, levels: int = 5) -> torch.Tensor:
    """IW-SSIM per image for N×3×H×W RGB in [0, 1], ``ref`` the reference; shape (N,).

    Uses the first ``levels`` exponents renormalised to sum 1; the inputs must be at least
    ``min_side(levels)`` on each side.
    """
    n = ref.shape[0]
    pyramid = laplacian_pyramid(torch.cat((luma(ref), luma(dist))) * 255.0, levels)
    t = torch.arange(WINDOW, dtype=ref.dtype, device=ref.device) - (WINDOW - 1) / 2.0
    window = torch.exp(-(t**2) / (2.0 * WINDOW_SIGMA**2))
    window = window / window.sum()
    crop = (WINDOW - BLOCK) // 2  # align the weights (3×3-valid) with the maps (11×11-valid)
    pooled = []
    for scale, band in enumerate(pyramid):
        r, d = band[:n], band[n:]
        if scale == levels - 1:
            # The residual keeps the image's mean (×2 per scale): float64 moments, since float32
            # E[x²] − E[x]² loses the variance there.
            ssim, _ = _ssim_maps(d.double(), r.double(), window.double())
            pooled.append(ssim.mean(dim=(1, 2, 3)))
            continue
        _, cs = _ssim_maps(d, r, window)
        parent = pyramid[scale + 1][:n] if scale < levels - 2 else None
        weights = information_weights(r, d, parent)[:, crop:-crop, crop:-crop]
        cs, weights = cs[:, 0].double(), weights.double()
        total = weights.sum(dim=(1, 2))
        weighted = (cs * weights).sum(dim=(1, 2)) / torch.where(total > 0, total, 1.0)
        pooled.append(torch.where(total > 0, weighted, cs.mean(dim=(1, 2))))
    exponents = torch.tensor(WEIGHTS[:levels], dtype=torch.float64, device=ref.device)
    exponents = exponents / exponents.sum()
    score = torch.prod(torch.stack(pooled).abs() ** exponents[:, None], dim=0)
    return score.to(ref.dtype)


class IWSSIM(Metric):
    """1 − IW-SSIM on the luma of RGB in [0, 1], ``x0`` the reference; small-input policy as
    ``ms-ssim``.

    Args:
        levels: Scales of the definition (5 is the standard one; at least 2).
        small_inputs: ``"reduce"`` (use the most scales that fit, renormalised exponents) or
            ``"error"``.
        device, range_check: See ``metrics.base.Metric``.

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 21×21.
        - output: (N,).
    """

    min_size = min_side(MIN_LEVELS)

    def __init__(self, *, levels: int = 5, small_inputs: str = "reduce", **common: object) -> None:
        super().__init__("iw-ssim", **common)
        if levels not in range(MIN_LEVELS, len(WEIGHTS) + 1):
            raise ValueError(f"levels must be {MIN_LEVELS}..{len(WEIGHTS)}, got {levels!r}")
        if small_inputs not in ("reduce", "error"):
            raise ValueError(f"small_inputs must be 'reduce' or 'error', got {small_inputs!r}")
        self.levels = levels
        self.small_inputs = small_inputs

    def scales_for(self, height: int, width: int) -> int:
        """Number of scales used for an H×W input under this metric's policy.

        Raises:
            ValueError: When ``small_inputs="error"`` and ``levels`` scales do not fit.
        """
        side = min(height, width)
        fitting = max(
            (lv for lv in range(MIN_LEVELS, self.levels + 1) if side >= min_side(lv)),
            default=0,
        )
        if fitting < self.levels and self.small_inputs == "error":
            need = min_side(self.levels)
            raise ValueError(
                f"iw-ssim with {self.levels} scales needs images of at least {need}×{need} "
                f"pixels, got {height}×{width}; use small_inputs='reduce' or fewer levels"
            )
        return fitting

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return 1.0 - iw_ssim(x0, x1, self.scales_for(*x0.shape[-2:]))


def build_iw_ssim(**options: object) -> IWSSIM:
    """Factory for ``"iw-ssim"``."""
    return IWSSIM(**options)
