"""MAD synthesis (Wang & Simoncelli, J. Vision 2008): the two images one metric holds equal and
another pulls furthest apart.

From a distorted image ``start`` of a reference, ``synthesize_mad_pairs`` runs two searches at once
(a batch of 2 per pair, and any number of pairs in one batch): one maximises the moved metric
B(ref, x), the other minimises it, while the fixed metric A(ref, x) stays within ``tolerance`` of
A(ref, start) and every pixel stays in range. One step of a search:

1. **Move.** Step along ±∇B made orthogonal to ∇A (the direction that changes B fastest while
   leaving A unchanged to first order), restricted to the pixels that can move that way (a pixel
   at 0 cannot go down), normalised so that the step's RMS pixel change is the sample's current
   step size; clamp to the range.
2. **Project.** Newton steps along ∇A, ``x ← x − (A(x) − a₀)·∇A/‖∇A‖²`` (again only on pixels
   free to move), clamped, until |A(x) − a₀| ≤ tolerance/2 or ``projection_steps`` ran; only
   the samples still off the level set are evaluated again.
3. **Accept or shrink.** The step is kept when A is within tolerance and B improved; then the
   sample's step size grows by 1.2× (at most 4× ``step_size``). Otherwise the sample stays where
   it was and its step size halves. A search whose step size fell below ``step_size``/1000 has
   converged; the run stops when all have, or after ``steps`` steps.

So every returned image satisfies the tolerance by construction (``start`` does: A(start) = a₀)
and B moves monotonically. When B's projected gradient vanishes (at the reference itself, where
SSIM's gradient is 0), the step takes a random direction orthogonal to ∇A drawn from a generator
seeded with ``seed``: that is the only use of the seed.

**Tolerance.** ``tolerance_mode="relative"`` (default): a fraction of |A(ref, start)|, so one value
suits metrics of any scale; ``"absolute"``: in A's units.

**Images and ranges.** ``refs`` and ``starts`` are images in [0, 1]; each metric receives them
mapped onto its own input range (``metrics.images.to_range``), so A and B may differ in range
(L2 on [0, 1], LPIPS on [−1, 1]). Results come back in [0, 1] on the CPU.

**Determinism.** The searches use no randomness beyond the seeded generator and run under
``torch.use_deterministic_algorithms(True)`` (restored afterwards): on CPU the same inputs, seed
and thread count give the same images bit for bit (``tests/metrics/test_duels_mad.py`` runs twice
and compares bytes). On CUDA, bit-for-bit results also need ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` set
before CUDA starts (torch's rule for deterministic cuBLAS).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from metrics.base import resolve_device
from metrics.duels.differentiable import is_differentiable, metric_label
from metrics.images import to_range

TOLERANCE_MODES = ("relative", "absolute")
GROWTH = 1.2
MAX_GROWTH = 4.0
FLAT_ABS, FLAT_REL = 1e-7, 1e-6  # B's predicted change per step below this: gradient vanished
CONVERGED = 1e-3  # a search stops when its step size fell below this fraction of step_size


@dataclass(frozen=True)
class MadResult:
    """One synthesised MAD pair.

    Attributes:
        x_max: 3×H×W image in [0, 1] (CPU) where the moved metric is largest at fixed A.
        x_min: 3×H×W image where the moved metric is smallest at fixed A.
        fixed: A(ref, ·) at (start, x_max, x_min).
        moved: B(ref, ·) at (start, x_max, x_min).
        steps_run: Steps the batch ran (the same for every pair of one batch).
    """

    x_max: torch.Tensor
    x_min: torch.Tensor
    fixed: tuple[float, float, float]
    moved: tuple[float, float, float]
    steps_run: int


@contextlib.contextmanager
def _deterministic() -> Iterator[None]:
    before = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)


class _Objective:
    """One metric as a function of [0, 1] images against fixed references, with its gradient."""

    def __init__(self, metric: Any, refs01: torch.Tensor) -> None:
        self.metric = metric
        self.range = tuple(metric.info.input_range)
        self.refs = to_range(refs01, self.range)

    def __call__(
        self, x01: torch.Tensor, rows: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Values and gradients at ``x01`` (the references of ``rows`` when x01 is a subset)."""
        refs = self.refs if rows is None else self.refs[rows]
        x = x01.detach().requires_grad_(True)
        with torch.enable_grad():
            ref, moved = self.metric.prepare(refs, to_range(x, self.range), range_check="off")
            value = self.metric.distance(ref, moved)
            (grad,) = torch.autograd.grad(value.sum(), x)
        return value.detach().to(torch.float64), grad.detach()


def _dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u * v).flatten(1).sum(dim=1)


def _free(direction: torch.Tensor, x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """``direction`` with the components that would push a pixel at a bound outwards zeroed."""
    blocked = ((x <= low) & (direction < 0)) | ((x >= high) & (direction > 0))
    return direction.masked_fill(blocked, 0.0)


def _check_metric(metric: Any, role: str, device: torch.device | None) -> Any:
    if isinstance(metric, str):
        import metrics

        if not is_differentiable(metric):
            raise ValueError(_not_differentiable(metric, role))
        return metrics.create_metric(metric, device=device)
    if not hasattr(metric, "info") or not hasattr(metric, "distance"):
        raise TypeError(f"{role} must be a metric name or a metrics.base.Metric")
    if not is_differentiable(metric):
        raise ValueError(_not_differentiable(metric, role))
    return metric


def _not_differentiable(metric: Any, role: str) -> str:
    return (
        f"{role} {metric_label(metric)!r} is not differentiable (or quantises its input): MAD "
        "synthesis follows gradients; use gMAD selection for it, or pick a metric whose "
        "MetricInfo.differentiable is True"
    )


def _check_images(refs: object, starts: object) -> tuple[torch.Tensor, torch.Tensor]:
    for name, x in (("ref", refs), ("start", starts)):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor")
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"{name} must be N×3×H×W (or 3×H×W), got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError(f"{name} holds no image")
        if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
            raise ValueError(f"{name} values must be finite and in [0, 1]")
    if refs.shape != starts.shape:
        raise ValueError(
            f"ref and start shapes differ: {tuple(refs.shape)} vs {tuple(starts.shape)}"
        )
    return refs, starts


def synthesize_mad_pairs(
    fixed_metric: Any,
    moved_metric: Any,
    refs: torch.Tensor,
    starts: torch.Tensor,
    *,
    tolerance: float,
    steps: int = 200,
    step_size: float = 0.01,
    seed: int = 0,
    device: str | torch.device | None = None,
    tolerance_mode: str = "relative",
    projection_steps: int = 3,
) -> list[MadResult]:
    """Synthesise MAD pairs for a batch of (reference, start) images in one batched search.

    Args:
        fixed_metric: Metric A, held within ``tolerance`` of A(ref, start): a built metric
            (``metrics.create_metric``) or a registry name (built on ``device``).
        moved_metric: Metric B, maximised and minimised.
        refs: N×3×H×W reference images in [0, 1].
        starts: N×3×H×W starting images (distorted references) in [0, 1].
        tolerance: Largest allowed |A(ref, x) − A(ref, start)|, as ``tolerance_mode`` says.
        steps: Most steps per search.
        step_size: Initial RMS pixel change of a step (in [0, 1] units).
        seed: Seed of the fallback directions (see the module docstring).
        device: Where to compute; None: the fixed metric's device. Both metrics must be there.
        tolerance_mode: ``"relative"`` (fraction of |A(ref, start)|, default) or ``"absolute"``.
        projection_steps: Most Newton steps back onto A's level set per step.

    Returns:
        One ``MadResult`` per pair, in order.

    Raises:
        ValueError: A non-differentiable metric (named), the same metric twice, bad images or
            parameters, metrics on another device.
    """
    if tolerance_mode not in TOLERANCE_MODES:
        raise ValueError(
            f"tolerance_mode must be one of {', '.join(TOLERANCE_MODES)}, got {tolerance_mode!r}"
        )
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not (math.isfinite(tolerance) and tolerance > 0)
    ):
        raise ValueError(f"tolerance must be a finite number > 0, got {tolerance!r}")
    for name, value in (("steps", steps), ("projection_steps", projection_steps)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not (isinstance(step_size, int | float) and 0 < step_size < 1):
        raise ValueError(f"step_size must be in (0, 1), got {step_size!r}")
    want = resolve_device(device) if device is not None else None
    fixed = _check_metric(fixed_metric, "fixed metric", want)
    moved = _check_metric(moved_metric, "moved metric", want)
    if fixed is moved:
        raise ValueError("the fixed and the moved metric must differ")
    where = want if want is not None else fixed.device
    for role, m in (("fixed metric", fixed), ("moved metric", moved)):
        if m.device != where:
            raise ValueError(
                f"{role} {metric_label(m)!r} is on {m.device}, the synthesis on {where}; build "
                "both metrics on one device"
            )
    if refs.ndim == 3 if isinstance(refs, torch.Tensor) else False:
        refs = refs.unsqueeze(0)
    if starts.ndim == 3 if isinstance(starts, torch.Tensor) else False:
        starts = starts.unsqueeze(0)
    refs, starts = _check_images(refs, starts)

    n = refs.shape[0]
    with _deterministic():
        x = torch.cat((starts, starts)).to(where, torch.float32)
        both_refs = torch.cat((refs, refs)).to(where, torch.float32)
        f_a, f_b = _Objective(fixed, both_refs), _Objective(moved, both_refs)
        sign = torch.cat((torch.ones(n), -torch.ones(n))).to(where).view(-1, 1, 1, 1)
        generator = torch.Generator().manual_seed(seed)
        a, g_a = f_a(x)
        b, g_b = f_b(x)
        target = a.clone()
        tol = (
            tolerance * target.abs()
            if tolerance_mode == "relative"
            else torch.full_like(target, float(tolerance))
        )
        b_start = b.clone()
        eta = torch.full((2 * n,), float(step_size), dtype=torch.float64, device=where)
        rms = math.sqrt(x[0].numel())
        steps_run = 0
        for _ in range(steps):
            # Converged searches drop out: each step works on the active rows only.
            act = torch.nonzero(eta >= step_size * CONVERGED).flatten()
            if act.numel() == 0:
                break
            steps_run += 1
            s_act = sign[act]
            y = _propose(x[act], s_act * g_b[act], g_a[act], eta[act], rms, generator, b[act])
            y, a_y, g_ay = _project(y, f_a, target[act], tol[act], projection_steps, act)
            ok = torch.zeros(act.numel(), dtype=torch.bool, device=where)
            # B is evaluated only where A stayed within tolerance.
            within = torch.nonzero((a_y - target[act]).abs() <= tol[act]).flatten()
            if within.numel():
                b_y, g_by = f_b(y[within], act[within])
                better = s_act.view(-1)[within] * (b_y - b[act[within]]) > 0
                good, rows = within[better], act[within[better]]
                x[rows], g_a[rows], a[rows] = y[good], g_ay[good], a_y[good]
                g_b[rows], b[rows] = g_by[better], b_y[better]
                ok[good] = True
            grown = (eta[act] * GROWTH).clamp(max=step_size * MAX_GROWTH)
            eta[act] = torch.where(ok, grown, eta[act] * 0.5)

    x = x.cpu()
    a_, b_, a0, b0 = a.cpu().tolist(), b.cpu().tolist(), target.cpu().tolist(), b_start.tolist()
    return [
        MadResult(
            x_max=x[i],
            x_min=x[n + i],
            fixed=(a0[i], a_[i], a_[n + i]),
            moved=(b0[i], b_[i], b_[n + i]),
            steps_run=steps_run,
        )
        for i in range(n)
    ]


def _propose(
    x: torch.Tensor,
    ascent: torch.Tensor,
    g_a: torch.Tensor,
    eta: torch.Tensor,
    rms: float,
    generator: torch.Generator,
    b: torch.Tensor,
) -> torch.Tensor:
    """Step along ``ascent`` made orthogonal to ∇A on the free pixels, of RMS size ``eta``."""
    g_free = _free(ascent, x, 0.0, 1.0)
    a_free = g_a.masked_fill(g_free == 0, 0.0)
    u = (
        g_free
        - (_dot(g_free, a_free) / _dot(a_free, a_free).clamp_min(1e-30)).view(-1, 1, 1, 1) * a_free
    )
    norm = u.flatten(1).norm(dim=1)
    # Vanishing: the step would change B by less than float32 can resolve (SSIM at the reference
    # has a gradient of ~1e-8 from rounding alone).
    predicted = eta * rms * norm.to(eta.dtype)
    flat = predicted < FLAT_ABS + FLAT_REL * b.abs()
    if bool(flat.any()):
        noise = torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
        noise = _free(noise, x, 0.0, 1.0)
        a_n = g_a.masked_fill(noise == 0, 0.0)
        noise = noise - (_dot(noise, a_n) / _dot(a_n, a_n).clamp_min(1e-30)).view(-1, 1, 1, 1) * a_n
        u = torch.where(flat.view(-1, 1, 1, 1), noise, u)
        norm = u.flatten(1).norm(dim=1)
    scale = (eta.to(x.dtype) * rms / norm.clamp_min(1e-30)).view(-1, 1, 1, 1)
    return (x + scale * u).clamp(0.0, 1.0)


def _project(
    y: torch.Tensor,
    f_a: _Objective,
    target: torch.Tensor,
    tol: torch.Tensor,
    projection_steps: int,
    rows: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Newton steps along ∇A back to A = target; returns y, A(y), ∇A(y).

    ``y`` holds the batch rows ``rows``. Only the samples still further than tolerance/2 from
    the target are evaluated again.
    """
    a_y, g_y = f_a(y, rows)
    for _ in range(projection_steps):
        err = a_y - target
        todo = torch.nonzero(err.abs() > tol / 2).flatten()
        if todo.numel() == 0:
            break
        e, g, yt = err[todo], g_y[todo], y[todo]
        # The components of the Newton step that would push a pixel at a bound outwards are
        # dropped (the step lowers A when e > 0, so it moves against the gradient).
        down = -torch.sign(e).to(y.dtype).view(-1, 1, 1, 1) * g
        g_free = g.masked_fill(_free(down, yt, 0.0, 1.0) == 0, 0.0)
        delta = -(e / _dot(g_free, g_free).to(torch.float64).clamp_min(1e-30)).to(y.dtype)
        yt = (yt + delta.view(-1, 1, 1, 1) * g_free).clamp(0.0, 1.0)
        a_t, g_t = f_a(yt, rows[todo])
        y, a_y, g_y = (
            y.index_copy(0, todo, yt),
            a_y.index_copy(0, todo, a_t),
            g_y.index_copy(0, todo, g_t),
        )
    return y, a_y, g_y
