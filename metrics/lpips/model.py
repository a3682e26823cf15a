"""LPIPS (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric",
CVPR 2018), re-implemented from the paper and its official code (github.com/richzhang/
PerceptualSimilarity, ``lpips`` 0.1.4).

For two RGB batches in [-1, 1], following the official code where it differs from the paper:

1. v0.1 only: x' = (x − shift)/scale with shift (−.030, −.088, −.188), scale (.458, .448, .450)
   (ImageNet normalisation rewritten for [-1, 1]); v0.0 feeds x unchanged, as its weights expect.
2. The trunk's taps f_l (``metrics.lpips.trunks``), each normalised over channels:
   f̂ = f / (‖f‖₂ + 1e-10).
3. Δ_l = (f̂0 − f̂1)², shape N×C_l×H_l×W_l.
4. d = Σ_l Σ_c w_lc · mean_hw Δ_lc, with the non-negative lin weights w (code convention: w
   multiplies the *squared* difference); the ``baseline`` variant uses w = 1.

Step 4 takes the spatial mean per channel before weighting the channels, which equals the official
"1×1 conv, then spatial mean" and yields, for free, the per-layer per-channel means that LPIPS
training fits (``channel_means``). ``spatial=True`` instead returns Σ_l upsample(Σ_c w_lc Δ_lc)
with bilinear upsampling (align_corners=False) to the input size, as the official code does.

Speed (benchmarks/bench_metrics.py measures it; the figures are in docs/performance.md): the
trunk runs once over both batches interleaved (or reference, p0 and p1 in
``triplet_distances``, so each reference is processed once), with the scaling, interleaving and
memory-format change fused into one pass, in channels-last format on CPU. On CPU without autograd
the batch goes through the trunk in passes of a tuned size (``TrunkSpec.cpu_pass_bytes`` of
taps): small passes keep the taps in cache for the comparison that follows and the activations
small enough for the C allocator to reuse. The comparison (steps 2–4 up to the channel weights)
runs in place with PyTorch ops where no gradient is needed. With ``cpu_engine="fast"`` (the
default) the trunk's eligible 3×3 convolutions are ``metrics.lpips.fastconv.FastConv3x3``
modules, which compute 3×3 maps on CPU in float32 with 16 multiplications per channel pair;
``"eager"`` keeps torchvision's layers as they are.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from metrics.base import Metric
from metrics.lpips import options as lpips_options
from metrics.lpips.lin import load_lin_weights
from metrics.lpips.trunks import TRUNKS, build_trunk
from metrics.supervision import trunk_declaration

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
NORM_EPS = 1e-10


def channel_norm(f: torch.Tensor) -> torch.Tensor:
    """‖f‖₂ over channels at every position, N×C×H×W → N×1×H×W.

    ``vector_norm`` is the fastest where channels are innermost in memory (channels-last and
    fast-convolution taps), but much slower than an explicit sum of squares on contiguous ones.
    """
    if f.stride(1) == 1 and f.shape[1] > 1:
        return torch.linalg.vector_norm(f, dim=1, keepdim=True)
    return f.square().sum(dim=1, keepdim=True).sqrt_()


def unit_normalise(f: torch.Tensor) -> torch.Tensor:
    """Normalise every position's channel vector: f / (‖f‖₂ + 1e-10), N×C×H×W → same."""
    return f / (channel_norm(f) + NORM_EPS)


class LPIPS(Metric):
    """The LPIPS distance with an AlexNet, VGG16 or SqueezeNet 1.1 trunk.

    Args:
        net: ``"alex"``, ``"vgg"`` or ``"squeeze"``.
        **options: The LPIPS options, declared (names, defaults, allowed values, meaning) in
            ``metrics.lpips.options.LPIPS_OPTIONS``: ``version``, ``variant``,
            ``trunk_weights``, ``lin_weights``, ``seed``, ``download``, ``spatial``,
            ``channels_last``, ``cpu_engine``; and the options of every metric, ``device`` and
            ``range_check`` (``metrics.base.Metric``).

    Raises:
        TypeError: An option that is not declared.
        ValueError: A value outside an option's allowed values, or an unknown net.

    Shape:
        - x0, x1: N×3×H×W, RGB in [-1, 1], at least 31 (alex), 16 (vgg) or 25 (squeeze) px.
        - output: (N,), or N×H×W with ``spatial=True``.

    All parameters are frozen (``requires_grad=False``). To fit the lin layer, enable gradients on
    ``self.lin`` and train on ``channel_means`` (see its docstring).
    """

    def __init__(self, net: str, **options: Any) -> None:
        values, common = lpips_options.resolve(options)
        if net not in TRUNKS:
            raise ValueError(f"unknown LPIPS trunk {net!r}; choose from {', '.join(TRUNKS)}")
        super().__init__(f"lpips-{net}", **common)
        trunk = build_trunk(
            net, values["trunk_weights"], seed=values["seed"], download=values["download"]
        )
        if values["cpu_engine"] == "fast":
            trunk.install_fast_convolutions()
        self._assemble(trunk.spec, trunk, values)  # the checkpoint's widths (alex)

    def _assemble(self, spec: Any, trunk: nn.Module, values: dict[str, Any]) -> None:
        """Everything after building the trunk, shared with ``metrics.deep.model.DeepFeatures``:
        scaling constants, lin weights, device, memory format, eval mode.

        ``spec`` has ``net`` (lin weights' file name), ``channels`` and ``min_size``; ``values``
        holds ``version``, ``variant``, ``spatial``, ``cpu_engine``, ``lin_weights`` and
        ``channels_last``.
        """
        self.spec = spec
        self.version: str = values["version"]
        self.variant: str = values["variant"]
        self.spatial = bool(values["spatial"])
        self.cpu_engine: str = values["cpu_engine"]
        self.min_size = self.spec.min_size
        self.trunk = trunk
        # What the trunk's supervision is declared to be (metrics.supervision); in provenance().
        self.trunk_declaration = trunk_declaration(values["trunk_weights"])
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.lin: nn.ParameterList | None = None
        self._rows_cache: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        if self.variant == "lin":
            weights = load_lin_weights(
                spec.net, self.spec.channels, version=self.version, source=values["lin_weights"]
            )
            self.lin = nn.ParameterList(nn.Parameter(w, requires_grad=False) for w in weights)
        self.to(self.device)
        channels_last = values["channels_last"]
        if channels_last is None:
            channels_last = self.device.type == "cpu"
        self.channels_last = bool(channels_last)
        if self.channels_last:
            self.trunk.to(memory_format=torch.channels_last)
        self.eval()

    def engine_used(self) -> str:
        """``"fast"`` when fast convolutions are installed and can run here: on CPU, in
        float32, with frozen trunk weights (a trunk being trained runs its layers eagerly).
        Otherwise ``"eager"``. (On inputs whose maps are never 3×3, or under autograd, the fast
        modules compute as the eager ones do.)"""
        layers = [self.trunk.features.get_submodule(n) for n in self.trunk.fast_layers()]
        fast = (
            self.cpu_engine == "fast"
            and self.device.type == "cpu"
            and self.shift.dtype == torch.float32
            and any(
                layer.weight.dtype == torch.float32 and not layer.weight.requires_grad
                for layer in layers
            )
        )
        return "fast" if fast else "eager"

    def provenance(self) -> dict[str, Any]:
        """``Metric.provenance`` plus the LPIPS configuration and the CPU engine.

        Adds ``net``, ``version``, ``variant``, ``cpu_engine`` (the option), ``engine_used``
        (``engine_used()``) and ``fast_layers`` (the trunk layers that are ``FastConv3x3``
        modules, e.g. ``["6", "8", "10"]`` for AlexNet; empty for the eager engine) and ``trunk``
        (the trunk's declared supervision, ``metrics.supervision.trunk_declaration``).
        """
        return {
            **super().provenance(),
            "net": self.spec.net,
            "version": self.version,
            "variant": self.variant,
            "cpu_engine": self.cpu_engine,
            "engine_used": self.engine_used(),
            "fast_layers": self.trunk.fast_layers(),
            "trunk": dict(self.trunk_declaration),
        }

    # ---- features ---------------------------------------------------------------------------

    def compute_dtype(self, x: torch.Tensor) -> torch.dtype:
        return self.shift.dtype

    def _trunk_input(self, batches: list[torch.Tensor]) -> torch.Tensor:
        """Interleave k batches of N images into one k·N batch (image i of batch j at i·k + j),
        scaled for v0.1 and in the trunk's memory format.

        Without autograd this is one copy into the final buffer and the scaling in place; the
        separate cat, scaling and format copies cost as much as a small trunk's head on CPU.
        """
        k = len(batches)
        n, _, height, width = batches[0].shape
        grad = torch.is_grad_enabled() and any(b.requires_grad for b in batches)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        if grad:
            x = torch.stack(batches, dim=1).flatten(0, 1)
            if self.version == "0.1":
                x = (x - self.shift) / self.scale
            return x.contiguous(memory_format=fmt)
        out = torch.empty(
            (n * k, 3, height, width),
            dtype=batches[0].dtype,
            device=batches[0].device,
            memory_format=fmt,
        )
        slots = out.view(n, k, 3, height, width)
        for j, batch in enumerate(batches):
            slots[:, j].copy_(batch)
        if self.version == "0.1":
            # (x − shift)/scale as one fused x·(1/scale) + (−shift/scale), in place after the
            # copy (which is the pass that changes the memory format): over rows of one image
            # row's pixels with the coefficients repeated, the arithmetic runs on long
            # contiguous runs. Fused into the format-changing copy it was slower on CPU.
            if self.channels_last:  # memory order N, H, W, C: rows of W·3 values
                rows = out.permute(0, 2, 3, 1).view(n * k * height, width * 3)
            else:  # N, C, H·W
                rows = out.view(n * k, 3, height * width)
            mul, add = self._scaling_rows(width)
            torch.addcmul(add, rows, mul, out=rows)
        return out

    def _scaling_rows(self, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(1/scale, −shift/scale) shaped for the rows of ``_trunk_input``'s buffer: repeated
        ``width`` times in channels-last (made once per width, device and dtype: building them
        costs more than applying them to a small batch), a column per channel otherwise."""
        key = (width if self.channels_last else 0, self.scale.device, self.scale.dtype)
        if key not in self._rows_cache:
            mul, add = 1.0 / self.scale.flatten(), -self.shift.flatten() / self.scale.flatten()
            if self.channels_last:
                self._rows_cache[key] = (mul.repeat(width), add.repeat(width))
            else:
                self._rows_cache[key] = (mul.view(3, 1), add.view(3, 1))
        return self._rows_cache[key]

    def _taps(self, batches: list[torch.Tensor]) -> list[torch.Tensor]:
        """Trunk taps of k batches from one trunk pass, still interleaved as the input was
        (image i of batch j at i·k + j): one k·N×C_l×H_l×W_l tensor per tap."""
        return self.trunk(self._trunk_input(batches))

    def features(self, x: torch.Tensor, *, range_check: str | None = None) -> list[torch.Tensor]:
        """Unit-normalised trunk features of one batch, to compute once and reuse.

        Compare them with ``distance_from_features`` or ``channel_means_from_features``: a
        reference's features computed once serve any number of comparisons. (``score_triplets``
        goes further: one trunk pass over reference, p0 and p1 together.)

        Args:
            x: N×3×H×W in [-1, 1].
            range_check: Optional per-call relaxation of the metric's ``range_check`` (a single
                bright reference may have no negative value).

        Returns:
            One N×C_l×H_l×W_l tensor per tap, f/(‖f‖₂ + 1e-10) over channels.
        """
        (x,) = self.prepare(x, range_check=range_check, names=("x",))
        return [unit_normalise(t) for t in self._taps([x])]

    # ---- comparisons of features ------------------------------------------------------------

    def _pass_size(self, sets: int, height: int, width: int, n: int) -> int:
        """Images per input batch in one trunk pass.

        Whole batches off the CPU and under autograd. On CPU, passes of equal size holding at
        most about ``spec.cpu_pass_bytes`` of taps: the comparison then reads taps that are
        still in cache, and the trunk's activations stay small enough for the C allocator to
        reuse (larger ones are mapped afresh and page-faulted in on every pass).
        """
        if self.device.type != "cpu" or torch.is_grad_enabled() or n == 0:
            return max(n, 1)
        budget = self.spec.cpu_pass_bytes
        most = max(1, budget // (sets * self.trunk.tap_bytes(height, width)))
        passes = -(-n // most)
        return -(-n // passes)  # e.g. 64 in passes of at most 43: two of 32, not 43 + 21

    def _compare(
        self, taps: list[torch.Tensor], k: int, pairs: list[tuple[int, int]]
    ) -> list[list[torch.Tensor]]:
        """Per-layer, per-channel spatial means of (f̂_i − f̂_j)² for pairs of interleaved batches.

        Args:
            taps: ``_taps`` output for k batches of N images.
            k: Number of interleaved batches.
            pairs: Batch indices (i, j) to compare; each batch appears as ``j`` at most once.

        Returns:
            For each pair, one N×C_l tensor per tap.
        """
        means: list[list[torch.Tensor]] = [[] for _ in pairs]
        # Without autograd the taps (ours alone, the trunk is done with them) are normalised and
        # then differenced in place: on CPU every multi-MB temporary costs page faults as well as
        # a pass over memory. Normalising multiplies by reciprocal norms (computed once per
        # position), a cheaper pass over the taps than dividing; subtracting separately keeps
        # identical images at exactly 0 (a fused multiply-subtract would leave rounding).
        in_place = not (torch.is_grad_enabled() and any(t.requires_grad for t in taps))
        for tap in taps:
            if in_place:
                tap = tap.mul_(channel_norm(tap).add_(NORM_EPS).reciprocal_())
            else:
                tap = unit_normalise(tap)
            units = tap.unflatten(0, (-1, k))  # one normalisation for all k batches, then views
            for p, (i, j) in enumerate(pairs):
                if in_place:
                    delta = units[:, j].sub_(units[:, i]).square_()
                else:
                    delta = (units[:, i] - units[:, j]).square()
                means[p].append(delta.mean(dim=(2, 3)))
        return means

    def _pass_means(
        self, batches: list[torch.Tensor], pairs: list[tuple[int, int]]
    ) -> list[list[torch.Tensor]]:
        """``_compare`` over the taps of ``batches``, in trunk passes sized by ``_pass_size``."""
        k = len(batches)
        n, _, height, width = batches[0].shape
        step = self._pass_size(k, height, width, n)
        parts = [
            self._compare(self._taps([b[start : start + step] for b in batches]), k, pairs)
            for start in range(0, max(n, 1), step)
        ]
        if len(parts) == 1:
            return parts[0]
        return [
            [torch.cat(layer) for layer in zip(*per_pair, strict=True)]
            for per_pair in zip(*parts, strict=True)
        ]

    def _weigh(self, means: list[torch.Tensor]) -> torch.Tensor:
        """Σ_l means_l · w_l (or Σ_l Σ_c means_l for the baseline), shape (N,)."""
        if self.lin is None:
            return torch.stack([m.sum(dim=1) for m in means]).sum(dim=0)
        return torch.stack([m @ w for m, w in zip(means, self.lin, strict=True)]).sum(dim=0)

    def channel_means_from_features(
        self, f0: list[torch.Tensor], f1: list[torch.Tensor]
    ) -> list[torch.Tensor]:
        """Per-layer, per-channel spatial means of (f̂0 − f̂1)², a list of N×C_l tensors.

        ``f0`` and ``f1`` come from ``features``; either may have batch size 1 to compare one
        reference with a whole batch.
        """
        return [(a - b).square().mean(dim=(2, 3)) for a, b in zip(f0, f1, strict=True)]

    def distance_from_features(
        self, f0: list[torch.Tensor], f1: list[torch.Tensor]
    ) -> torch.Tensor:
        """LPIPS distances between two ``features`` outputs, shape (N,)."""
        return self._weigh(self.channel_means_from_features(f0, f1))

    def spatial_from_features(
        self, f0: list[torch.Tensor], f1: list[torch.Tensor], size: tuple[int, int]
    ) -> torch.Tensor:
        """Distance maps: per-layer weighted Δ maps upsampled bilinearly to ``size`` and summed.

        ``f0`` and ``f1`` are ``features`` outputs (unit-normalised).

        Returns:
            N×H×W tensor whose spatial mean approximates the scalar distance.
        """
        total = None
        for index, (a, b) in enumerate(zip(f0, f1, strict=True)):
            delta = (a - b).square()
            if self.lin is None:
                layer = delta.sum(dim=1, keepdim=True)
            else:
                layer = (delta * self.lin[index].view(1, -1, 1, 1)).sum(dim=1, keepdim=True)
            up = F.interpolate(layer, size=size, mode="bilinear", align_corners=False)
            total = up if total is None else total + up
        return total.squeeze(1)

    # ---- public calls on images -------------------------------------------------------------

    def channel_means(self, x0: torch.Tensor, x1: torch.Tensor) -> list[torch.Tensor]:
        """Per-layer, per-channel spatial means of squared normalised feature differences.

        These are the inputs of the lin layer: ``distance = Σ_l channel_means[l] @ w_l``. A
        training loop fits ``self.lin`` on them (1152 numbers per pair for alex, 1472 for vgg,
        2240 for squeeze). The official training applies dropout (p = 0.5) to the Δ maps before
        the lin layer; these means are taken without dropout.

        Args:
            x0: N×3×H×W in [-1, 1].
            x1: Same shape.

        Returns:
            A list of N×C_l tensors, one per tap.
        """
        x0, x1 = self.prepare(x0, x1)
        return self._pass_means([x0, x1], [(0, 1)])[0]

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        if self.spatial:
            units = [unit_normalise(t).unflatten(0, (-1, 2)) for t in self._taps([x0, x1])]
            f0, f1 = [u[:, 0] for u in units], [u[:, 1] for u in units]
            return self.spatial_from_features(f0, f1, tuple(x0.shape[-2:]))
        return self._weigh(self._pass_means([x0, x1], [(0, 1)])[0])

    def triplet_distances(
        self,
        ref: torch.Tensor,
        p0: torch.Tensor,
        p1: torch.Tensor,
        *,
        range_check: str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """d(ref, p0) and d(ref, p1), each (N,), with one trunk pass over all three batches.

        The official code runs the reference through the trunk twice; here its features are
        computed and normalised once. Inputs as for ``forward``; ``range_check`` as in
        ``prepare``.
        """
        ref, p0, p1 = self.prepare(ref, p0, p1, range_check=range_check, names=("ref", "p0", "p1"))
        means0, means1 = self._pass_means([ref, p0, p1], [(0, 1), (0, 2)])
        return self._weigh(means0), self._weigh(means1)

    def export_lin_state_dict(self) -> dict[str, torch.Tensor]:
        """The lin weights with the official key names and shapes (``lin{k}.model.1.weight``,
        (1, C, 1, 1)), loadable by the official package and by ``lin_weights=``."""
        if self.lin is None:
            raise ValueError("the baseline variant has no lin weights")
        return {
            f"lin{k}.model.1.weight": w.detach().cpu().clone().view(1, -1, 1, 1)
            for k, w in enumerate(self.lin)
        }


def build_alex(**options: object) -> LPIPS:
    """Factory for ``"lpips-alex"``."""
    return LPIPS("alex", **options)


def build_vgg(**options: object) -> LPIPS:
    """Factory for ``"lpips-vgg"``."""
    return LPIPS("vgg", **options)


def build_squeeze(**options: object) -> LPIPS:
    """Factory for ``"lpips-squeeze"``."""
    return LPIPS("squeeze", **options)
