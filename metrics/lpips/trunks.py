"""LPIPS trunks: torchvision's AlexNet, VGG16 and SqueezeNet 1.1 ``features``, tapped after ReLUs.

The taps are those of the official LPIPS code (Zhang et al., "The Unreasonable Effectiveness of
Deep Features as a Perceptual Metric", CVPR 2018): each tap is the output of the last layer of
one slice of torchvision's ``.features``. Only the layers up to the last tap are kept, under the
attribute name ``features`` so that a torchvision checkpoint's ``features.<i>.*`` keys load as they
are.

Trunk weights come from, in order: an explicit checkpoint path, the torch hub cache
(``$TORCH_HOME/hub/checkpoints/<file>``), or torchvision's download when online. With
``trunk_weights=None`` the trunk is random, initialised with torchvision's scheme for the
architecture under a fixed seed (the paper's "Net (Random)" rows). Every failure to find weights
raises ``TrunkWeightsNotFound`` naming the file and the folder to put it in.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from metrics.lpips import fastconv


@dataclass(frozen=True)
class TrunkSpec:
    """Static description of one trunk.

    Attributes:
        net: LPIPS name (``alex``, ``vgg``, ``squeeze``).
        builder: torchvision.models constructor name.
        weights_enum: torchvision weights enum whose ``IMAGENET1K_V1`` is the checkpoint.
        tap_ends: Index in ``.features`` of the last layer of each slice; a tap follows each.
        tap_names: Names of the taps, as in the paper.
        channels: Channels of each tap.
        min_size: Smallest input side the trunk accepts (layer arithmetic).
        init: Initialisation scheme of torchvision for the architecture's convolutions.
        cpu_pass_bytes: Tap bytes per trunk pass on CPU without autograd (see
            ``metrics.lpips.model.LPIPS._pass_size``), tuned with benchmarks/bench_metrics.py
            (docs/performance.md): small enough that the taps are still in cache for the
            comparison and the activations small enough for the C allocator to reuse. VGG16
            was not tuned.
    """

    net: str
    builder: str
    weights_enum: str
    tap_ends: tuple[int, ...]
    tap_names: tuple[str, ...]
    channels: tuple[int, ...]
    min_size: int
    init: str
    cpu_pass_bytes: int

    @property
    def metric(self) -> str:
        """Registry name of the metric, e.g. ``lpips-alex`` (in messages)."""
        return f"lpips-{self.net}"


TRUNKS: dict[str, TrunkSpec] = {
    "alex": TrunkSpec(
        net="alex",
        builder="alexnet",
        weights_enum="AlexNet_Weights",
        tap_ends=(1, 4, 7, 9, 11),
        tap_names=("relu1", "relu2", "relu3", "relu4", "relu5"),
        channels=(64, 192, 384, 256, 256),
        min_size=31,
        init="default",
        cpu_pass_bytes=16 << 20,
    ),
    "vgg": TrunkSpec(
        net="vgg",
        builder="vgg16",
        weights_enum="VGG16_Weights",
        tap_ends=(3, 8, 15, 22, 29),
        tap_names=("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"),
        channels=(64, 128, 256, 512, 512),
        min_size=16,
        init="kaiming_normal_fan_out",
        cpu_pass_bytes=16 << 20,
    ),
    "squeeze": TrunkSpec(
        net="squeeze",
        builder="squeezenet1_1",
        weights_enum="SqueezeNet1_1_Weights",
        tap_ends=(1, 4, 7, 9, 10, 11, 12),
        tap_names=("conv1", "fire3", "fire5", "fire6", "fire7", "fire8", "fire9"),
        channels=(64, 128, 256, 384, 384, 512, 512),
        min_size=25,
        init="kaiming_uniform",
        cpu_pass_bytes=32 << 20,
    ),
}


class TrunkWeightsNotFound(FileNotFoundError):
    """No trunk checkpoint could be found or downloaded; the message says what to put where."""


def checkpoint_url(spec) -> str:
    """URL of torchvision's ImageNet checkpoint for the trunk: its weights enum's
    ``IMAGENET1K_V1`` (the original release, as LPIPS uses), else the enum's ``DEFAULT``.

    ``spec`` is a ``TrunkSpec`` or a ``metrics.deep.archs.ArchSpec`` (both have
    ``weights_enum``, ``builder`` and ``metric``)."""
    import torchvision

    enum = getattr(torchvision.models, spec.weights_enum)
    return getattr(enum, "IMAGENET1K_V1", enum.DEFAULT).url


def checkpoint_filename(spec) -> str:
    """File name of the checkpoint, e.g. ``alexnet-owt-7be5be79.pth``."""
    return checkpoint_url(spec).rsplit("/", 1)[-1]


def hub_checkpoint_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` (``~/.cache/torch/hub/checkpoints`` by default)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def hash_prefix(filename: str) -> str | None:
    """The sha256 prefix torchvision embeds in checkpoint names (``name-<hex>.pth``), if any."""
    match = re.search(r"-([0-9a-f]{8,})\.pth$", filename)
    return match.group(1) if match else None


class Trunk(nn.Module):
    """A torchvision ``features`` stack cut after its last tap, returning the tapped activations.

    Args:
        spec: Which trunk.

    Shape:
        - input: N×3×H×W, ImageNet-normalised (v0.1) or [-1, 1] (v0.0).
        - output: list of N×C_l×H_l×W_l tensors, one per tap.
    """

    def __init__(self, spec: TrunkSpec) -> None:
        super().__init__()
        import torchvision

        self.spec = spec
        # Build on the meta device: the classifier (up to 120M parameters for VGG) is never
        # allocated or initialised, only the kept features are materialised below.
        with torch.device("meta"):
            full = getattr(torchvision.models, spec.builder)(weights=None)
        self.features = full.features[: spec.tap_ends[-1] + 1].to_empty(device="cpu")
        self.requires_grad_(False)
        self._tap_bytes: dict[tuple[int, int], int] = {}

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps, start = [], 0
        for end in self.spec.tap_ends:
            for index in range(start, end + 1):
                x = self.features[index](x)
            taps.append(x)
            start = end + 1
        return taps

    def install_fast_convolutions(self) -> list[str]:
        """Swap the eligible 3×3 convolutions of ``features`` for ``FastConv3x3`` modules
        (``metrics.lpips.fastconv``; same parameters and state-dict keys); returns the swapped
        layers' names. Idempotent."""
        fastconv.install(self.features)
        return self.fast_layers()

    def fast_layers(self) -> list[str]:
        """Names (within ``features``) of the ``FastConv3x3`` layers; empty for the eager
        engine."""
        return [
            name
            for name, module in self.features.named_modules()
            if isinstance(module, fastconv.FastConv3x3)
        ]

    def tap_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        """Spatial size of every tap for an H×W input, by layer arithmetic (no forward pass).

        Convolutions and max-pools change the size (squeeze's pools round up); ReLUs and the
        fire modules (1×1 and padded 3×3 convolutions) keep it.
        """
        sizes, h, w = [], height, width
        for index, layer in enumerate(self.features):
            if isinstance(layer, nn.Conv2d | nn.MaxPool2d):
                h, w = _output_size(layer, h), _output_size(layer, w, axis=1)
            if index in self.spec.tap_ends:
                sizes.append((h, w))
        return sizes

    def tap_bytes(self, height: int, width: int) -> int:
        """Bytes of all taps of one H×W image in float32."""
        if (height, width) not in self._tap_bytes:
            sizes = self.tap_sizes(height, width)
            self._tap_bytes[height, width] = 4 * sum(
                c * h * w for c, (h, w) in zip(self.spec.channels, sizes, strict=True)
            )
        return self._tap_bytes[height, width]

    @torch.no_grad()
    def reset_random(self, seed: int) -> None:
        """Initialise like torchvision does for this architecture, from ``seed``.

        The global RNG state is left untouched.
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for module in self.features.modules():
                if not isinstance(module, nn.Conv2d):
                    continue
                if self.spec.init == "default":
                    module.reset_parameters()
                elif self.spec.init == "kaiming_normal_fan_out":
                    nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(module.bias)
                else:
                    nn.init.kaiming_uniform_(module.weight)
                    nn.init.zeros_(module.bias)
                if isinstance(module, fastconv.FastConv3x3):
                    module.invalidate()  # weights rewritten in place

    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Load the ``features.*`` tensors of a torchvision checkpoint (classifier ignored).

        An AlexNet checkpoint whose convolutions have other widths than torchvision's (e.g. a
        CaffeNet-width self-supervised trunk from ``python -m metrics convert-trunk``: 96/256/
        384/384/256) is accepted when its layers chain (each conv's inputs are the previous
        one's filters, conv1 takes 3 channels) with torchvision's kernel sizes: the convolutions
        are rebuilt to its widths and ``spec.channels`` follows.

        Raises:
            ValueError: When the file lacks a needed tensor or a shape differs.
        """
        if self.spec.net == "alex":
            self._fit_widths(path)
        load_checkpoint_into(self, path, self.spec.builder)

    def _fit_widths(self, path: str | os.PathLike[str]) -> None:
        """Rebuild AlexNet's convolutions to a checkpoint's consistent other widths."""
        import dataclasses

        state = _read_checkpoint(path)
        if not isinstance(state, dict):
            return
        state = {_strip(str(k), ("module.",)): v for k, v in state.items()}
        convs = [(i, m) for i, m in enumerate(self.features) if isinstance(m, nn.Conv2d)]
        shapes = [getattr(state.get(f"features.{i}.weight"), "shape", None) for i, _ in convs]
        if any(s is None or len(s) != 4 for s in shapes):
            return  # the loader names what is missing
        if all(tuple(s) == tuple(m.weight.shape) for s, (_, m) in zip(shapes, convs, strict=True)):
            return
        previous = 3
        for shape, (_, conv) in zip(shapes, convs, strict=True):
            if shape[1] != previous or tuple(shape[2:]) != conv.kernel_size:
                return  # not a chain: the loader reports the first differing shape
            previous = shape[0]
        for shape, (i, conv) in zip(shapes, convs, strict=True):
            self.features[i] = nn.Conv2d(
                shape[1], shape[0], conv.kernel_size, conv.stride, conv.padding
            ).requires_grad_(False)
        taps = tuple(self.features[end - 1].out_channels for end in self.spec.tap_ends)
        self.spec = dataclasses.replace(self.spec, channels=taps)
        self._tap_bytes.clear()


def _output_size(layer: nn.Conv2d | nn.MaxPool2d, size: int, axis: int = 0) -> int:
    """Output length along one axis of a convolution or max-pool, as torch computes it."""

    def pick(value: int | tuple[int, ...]) -> int:
        return value[axis] if isinstance(value, tuple) else value

    kernel, stride = pick(layer.kernel_size), pick(layer.stride)
    padding, dilation = pick(layer.padding), pick(layer.dilation)
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if isinstance(layer, nn.MaxPool2d) and layer.ceil_mode:
        out = -(-span // stride) + 1
        # torch drops a last window that would start inside the right padding only.
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return span // stride + 1


def load_checkpoint_into(
    module: nn.Module,
    path: str | os.PathLike[str],
    builder: str,
    prefixes: tuple[str, ...] = ("module.",),
) -> None:
    """Load the tensors ``module`` needs from a torchvision checkpoint of ``builder``, ignoring
    the rest (e.g. the classifier); keys may carry one of ``prefixes`` (DataParallel's
    ``module.``; zoo trunks also accept their own ``graph.``). BatchNorm's
    ``num_batches_tracked`` may be missing (checkpoints older than PyTorch 0.4.1 lack it; it
    does not affect evaluation).

    Raises:
        ValueError: When the file lacks a needed tensor or a shape differs.
    """
    state = _read_checkpoint(path)
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict")
    state = {_strip(k, prefixes): v for k, v in state.items()}
    wanted = module.state_dict()
    missing = [k for k in wanted if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(
            f"{path} is not a torchvision {builder} checkpoint: it lacks "
            f"{', '.join(missing[:4])}{' …' if len(missing) > 4 else ''}"
        )
    for key, tensor in wanted.items():
        if key in state and state[key].shape != tensor.shape:
            raise ValueError(
                f"{path}: {key} has shape {tuple(state[key].shape)}, "
                f"expected {tuple(tensor.shape)} for {builder}"
            )
    module.load_state_dict(
        {k: state[k] if k in state else torch.zeros_like(v) for k, v in wanted.items()}
    )


def _strip(key: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _read_checkpoint(path: str | os.PathLike[str]) -> object:
    """torch.load a checkpoint, memory-mapped when the format allows.

    Raises:
        ValueError: The file is not a torch checkpoint.
    """
    import zipfile

    # mmap avoids reading the classifier tensors (most of the file) into memory; only the zip
    # format (torch >= 1.6, every current torchvision checkpoint) can be memory-mapped.
    mmap = zipfile.is_zipfile(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # pickle, zip and torch errors all mean "not a checkpoint"
        raise ValueError(f"could not read {path} as a torch checkpoint: {exc}") from exc


def resolve_checkpoint(
    spec,
    trunk_weights: str | os.PathLike[str],
    *,
    download: bool,
    metric: str | None = None,
) -> Path:
    """Find the checkpoint file for ``trunk_weights`` (``"imagenet"`` or a path).

    ``metric`` names the metric in the messages (default ``spec.metric``: ``lpips-<net>``, or
    ``deep-<arch>`` for a zoo ``ArchSpec``; DISTS shares the VGG16 trunk).

    Raises:
        TrunkWeightsNotFound: With the file name, the folder and the URL in the message.
    """
    if str(trunk_weights) != "imagenet":
        path = Path(trunk_weights).expanduser()
        if not path.is_file():
            raise TrunkWeightsNotFound(
                f"trunk weights file {path} does not exist (expected a torchvision "
                f"{spec.builder} checkpoint such as {checkpoint_filename(spec)})"
            )
        return path
    metric = metric or spec.metric
    filename = checkpoint_filename(spec)
    cached = hub_checkpoint_dir() / filename
    if cached.is_file():
        return cached
    url = checkpoint_url(spec)
    advice = (
        f"Place {filename} (from {url}) in {cached.parent}/ (set TORCH_HOME to use another "
        f"cache), or pass trunk_weights=<path to the file>, or trunk_weights=None for a random "
        f"trunk."
    )
    if not download:
        raise TrunkWeightsNotFound(f"no ImageNet weights for {metric} trunk. {advice}")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(
            url, str(cached), hash_prefix=hash_prefix(filename), progress=True
        )
    except Exception as exc:  # urllib, socket, ssl and hash errors all mean "not available"
        raise TrunkWeightsNotFound(
            f"could not download the {metric} trunk weights ({exc}). {advice}"
        ) from exc
    return cached


def build_trunk(
    net: str,
    trunk_weights: str | os.PathLike[str] | None,
    *,
    seed: int = 0,
    download: bool = True,
    metric: str | None = None,
) -> Trunk:
    """Build a frozen trunk with weights from a checkpoint, the cache, a download, or a seed.

    Args:
        net: ``alex``, ``vgg`` or ``squeeze``.
        trunk_weights: ``"imagenet"``, a checkpoint path, or None for a seeded random trunk.
        seed: Seed of the random trunk.
        download: Allow torchvision's download for ``"imagenet"``.
        metric: The metric named in error messages (default ``lpips-<net>``).

    Raises:
        ValueError: Unknown net or unusable checkpoint.
        TrunkWeightsNotFound: No checkpoint available.
    """
    if net not in TRUNKS:
        raise ValueError(f"unknown LPIPS trunk {net!r}; choose from {', '.join(TRUNKS)}")
    trunk = Trunk(TRUNKS[net])
    if trunk_weights is None:
        trunk.reset_random(int(seed))
    else:
        path = resolve_checkpoint(trunk.spec, trunk_weights, download=download, metric=metric)
        trunk.load_checkpoint(path)
    return trunk.eval()
