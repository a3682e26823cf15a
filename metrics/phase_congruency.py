"""Kovesi's phase congruency, in the form FSIM's reference code uses (``phasecong2``).

Log-Gabor filters are built in the frequency domain at 4 scales (minimum wavelength 6, multiplier
2, σ_f ratio 0.55) and 4 orientations (angular spread from dθ/σ = 1.2), multiplied by a
Butterworth low-pass (cutoff 0.45, order 15). For every orientation the even/odd responses are
combined into an energy E = Σ_s [e·ē + o·ō − |e·ō − o·ē|] against the weighted mean phase
(ē, ō); a noise threshold T estimated from the median smallest-scale response (Rayleigh model, k = 2,
empirical factor 1/1.7) is subtracted, and PC = Σ_orient max(E − T, 0) / Σ_orient Σ_s |response|.

Reference: P. Kovesi, "Image features from phase congruency", Videre 1(3), 1999; L. Zhang et al.,
"FSIM: a feature similarity index for image quality assessment", IEEE TIP 20(8), 2011.
"""

from __future__ import annotations

import math

import torch

SCALES = 4
ORIENTATIONS = 4
MIN_WAVELENGTH = 6.0
MULTIPLIER = 2.0
SIGMA_ON_F = 0.55
D_THETA_ON_SIGMA = 1.2
NOISE_K = 2.0
EPSILON = 1e-4
# The Rayleigh noise model fits the PC_1 measure; the reference code divides the threshold by 1.7
# for the PC_2 measure it actually computes.
PC2_NOISE_FACTOR = 1.7


def _normalised_grid(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Frequencies along one axis in [-0.5, 0.5], centred, as in the reference code.

    Odd lengths divide by n − 1 (so the ends are exactly ±0.5); even lengths by n.
    """
    if n % 2:
        return (torch.arange(n, dtype=dtype, device=device) - (n - 1) / 2) / max(n - 1, 1)
    return (torch.arange(n, dtype=dtype, device=device) - n // 2) / n


def _polar_grid(
    rows: int, cols: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Radius and angle of every frequency, quadrant-shifted so that DC is at index (0, 0)."""
    y = _normalised_grid(rows, dtype, device).view(-1, 1)
    x = _normalised_grid(cols, dtype, device).view(1, -1)
    radius = torch.fft.ifftshift(torch.sqrt(x * x + y * y))
    theta = torch.fft.ifftshift(torch.atan2(-y.expand(rows, cols), x.expand(rows, cols)))
    return radius, theta


def log_gabor_filters(
    rows: int, cols: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """The frequency-domain filters, shape ORIENTATIONS×SCALES×rows×cols (real)."""
    radius, theta = _polar_grid(rows, cols, dtype, device)
    lowpass = 1.0 / (1.0 + (radius / 0.45) ** (2 * 15))
    radius = radius.clone()
    radius[0, 0] = 1.0  # avoid log(0); the DC value is zeroed below
    radial = []
    for s in range(SCALES):
        centre = 1.0 / (MIN_WAVELENGTH * MULTIPLIER**s)
        g = torch.exp(-(torch.log(radius / centre) ** 2) / (2 * math.log(SIGMA_ON_F) ** 2))
        g = g * lowpass
        g[0, 0] = 0.0
        radial.append(g)
    theta_sigma = math.pi / ORIENTATIONS / D_THETA_ON_SIGMA
    sin_t, cos_t = torch.sin(theta), torch.cos(theta)
    angular = []
    for o in range(ORIENTATIONS):
        angle = o * math.pi / ORIENTATIONS
        ds = sin_t * math.cos(angle) - cos_t * math.sin(angle)
        dc = cos_t * math.cos(angle) + sin_t * math.sin(angle)
        dtheta = torch.abs(torch.atan2(ds, dc))
        angular.append(torch.exp(-(dtheta**2) / (2 * theta_sigma**2)))
    return torch.stack([torch.stack([r * a for r in radial]) for a in angular])


def _median_matlab(x: torch.Tensor) -> torch.Tensor:
    """Median over the last dimension, averaging the two middle values for even counts."""
    n = x.shape[-1]
    s = torch.sort(x, dim=-1).values
    if n % 2:
        return s[..., n // 2]
    return 0.5 * (s[..., n // 2 - 1] + s[..., n // 2])


def phase_congruency(image: torch.Tensor) -> torch.Tensor:
    """Phase congruency map of a batch of grey images.

    Args:
        image: N×H×W real tensor (FSIM passes luma on the 0–255 scale).

    Returns:
        N×H×W tensor in [0, 1].
    """
    rows, cols = image.shape[-2:]
    filters = log_gabor_filters(rows, cols, image.dtype, image.device)  # O×S×H×W
    spectrum = torch.fft.fft2(image).unsqueeze(1).unsqueeze(1)  # N×1×1×H×W
    responses = torch.fft.ifft2(spectrum * filters)  # N×O×S×H×W complex
    even, odd = responses.real, responses.imag
    amplitude = responses.abs()

    sum_even = even.sum(dim=2, keepdim=True)
    sum_odd = odd.sum(dim=2, keepdim=True)
    x_energy = torch.sqrt(sum_even**2 + sum_odd**2) + EPSILON
    mean_even, mean_odd = sum_even / x_energy, sum_odd / x_energy
    energy = (even * mean_even + odd * mean_odd - torch.abs(even * mean_odd - odd * mean_even)).sum(
        dim=2
    )  # N×O×H×W

    # Noise: the median of the squared smallest-scale amplitude estimates the Rayleigh mean.
    median_e2n = _median_matlab(amplitude[:, :, 0].pow(2).flatten(2))  # N×O
    mean_e2n = -median_e2n / math.log(0.5)
    filter_power = filters[:, 0].pow(2).sum(dim=(-2, -1))  # O
    noise_power = mean_e2n / filter_power
    # Spatial filters, scaled to match power, for the expected noise energy.
    spatial = torch.fft.ifft2(filters).real * math.sqrt(rows * cols)  # O×S×H×W
    sum_an2 = spatial.pow(2).sum(dim=(1, 2, 3))
    total = spatial.sum(dim=1)
    # Σ_{i<j} f_i·f_j = ((Σ f)² − Σ f²)/2
    sum_ai_aj = 0.5 * (total.pow(2).sum(dim=(1, 2)) - sum_an2)
    noise_energy2 = 2 * noise_power * sum_an2 + 4 * noise_power * sum_ai_aj  # N×O
    tau = torch.sqrt(noise_energy2 / 2)
    threshold = tau * math.sqrt(math.pi / 2) + NOISE_K * torch.sqrt((2 - math.pi / 2) * tau**2)
    threshold = (threshold / PC2_NOISE_FACTOR).unsqueeze(-1).unsqueeze(-1)

    energy_all = torch.clamp(energy - threshold, min=0.0).sum(dim=1)
    amplitude_all = amplitude.sum(dim=(1, 2))
    # A flat image has no response at all (the filters remove DC): define its PC as 0.
    return torch.where(amplitude_all > 0, energy_all / amplitude_all.clamp_min(1e-300), 0.0)
