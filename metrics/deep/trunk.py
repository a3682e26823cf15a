"""Zoo trunks: a torchvision classifier cut at its declared taps (``metrics.deep.archs``) with
``torchvision.models.feature_extraction.create_feature_extractor``.

Weights as for the LPIPS trunks (``metrics.lpips.trunks``, whose resolution and loading code is
used as it is): ``"imagenet"`` is the weights enum's checkpoint file in the torch hub cache
(``$TORCH_HOME/hub/checkpoints``), downloaded by torchvision when allowed and online; a path is a
torchvision checkpoint of the architecture; None is a random trunk, initialised by torchvision's
own constructor under a fixed seed (the global RNG state is left untouched).
"""

from __future__ import annotations

import os
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from metrics.deep.archs import ARCHS, ArchSpec, arch_of
from metrics.lpips.trunks import load_checkpoint_into, resolve_checkpoint


class ZooTrunk(nn.Module):
    """A torchvision classifier's taps as N×C_l×H_l×W_l tensors.

    Args:
        spec: The architecture.
        seed: Seed of a random initialisation; None builds the layers for a checkpoint to fill
            (uninitialised where the network can be built on the meta device; see
            ``build_network``).

    Shape:
        - input: N×3×H×W, ImageNet-normalised.
        - output: list of N×C_l×H_l×W_l tensors, one per tap (Swin's permuted from N×H×W×C and
          ViT's patch tokens laid out on their grid: views, not copies).
    """

    def __init__(self, spec: ArchSpec, *, seed: int | None) -> None:
        super().__init__()
        from torchvision.models.feature_extraction import create_feature_extractor

        self.spec = spec
        full, on_meta = build_network(spec, seed)
        full.eval()
        with warnings.catch_warnings():  # FX's notes on traced asserts and control flow
            warnings.simplefilter("ignore")
            graph = create_feature_extractor(full, return_nodes=list(spec.taps))
        if on_meta:
            graph = graph.to_empty(device="cpu")
        self.graph = graph
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        size = self.spec.input_size
        if size is not None and tuple(x.shape[-2:]) != (size, size):
            shrink = min(x.shape[-2:]) > size
            x = F.interpolate(
                x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink
            )
        out = self.graph(x)
        return [self._grid(out[name]) for name in self.spec.taps]

    def _grid(self, tap: torch.Tensor) -> torch.Tensor:
        if self.spec.layout == "nhwc":
            return tap.permute(0, 3, 1, 2)
        if self.spec.layout == "tokens":
            side = round((tap.shape[1] - 1) ** 0.5)
            return tap[:, 1:].unflatten(1, (side, side)).permute(0, 3, 1, 2)
        return tap

    def tap_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        """Approximate spatial size of every tap for an H×W input (ceil by the tap's stride);
        used to size CPU passes only."""
        if self.spec.input_size is not None:
            height = width = self.spec.input_size
        return [(-(-height // s), -(-width // s)) for s in self.spec.strides]

    def tap_bytes(self, height: int, width: int) -> int:
        """Approximate bytes of all taps of one H×W image in float32."""
        sizes = self.tap_sizes(height, width)
        return 4 * sum(c * h * w for c, (h, w) in zip(self.spec.channels, sizes, strict=True))

    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Load a torchvision checkpoint of the architecture (tensors outside the taps'
        reach, such as the classifier, are ignored), or a ``state_dict()`` of a zoo trunk (a
        tuned fit's ``trunk.pth``).

        Raises:
            ValueError: When the file lacks a needed tensor or a shape differs.
        """
        load_checkpoint_into(self.graph, path, self.spec.arch, prefixes=("module.", "graph."))


def build_network(spec: ArchSpec, seed: int | None) -> tuple[nn.Module, bool]:
    """The whole torchvision network and whether it is on the meta device.

    With a seed: built on the CPU under ``seed`` by torchvision's constructor (its own
    initialisation), the global RNG state untouched. Without: on the meta device (no memory, no
    initialisation; a checkpoint fills what is kept), unless the constructor computes with
    tensor values (RegNet derives its widths so) or keeps non-persistent buffers a checkpoint
    would not restore: then on the CPU under seed 0, to be overwritten.
    """
    import torchvision

    builder = getattr(torchvision.models, spec.arch)
    kwargs = dict(spec.builder_kwargs)
    if seed is None:
        try:
            with torch.device("meta"):
                full = builder(weights=None, **kwargs)
        except (NotImplementedError, RuntimeError):
            full = None
        if full is not None:
            persistent = set(full.state_dict())
            if all(name in persistent for name, _ in full.named_buffers()):
                return full, True
        seed = 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return builder(weights=None, **kwargs), False


def build_zoo_trunk(
    net: str, trunk_weights: str | os.PathLike[str] | None, *, seed: int = 0, download: bool = True
) -> ZooTrunk:
    """Build a frozen zoo trunk (``net`` is ``deep-<arch>`` or ``<arch>``) with weights from a
    checkpoint, the cache, a download (``metrics.lpips.trunks.resolve_checkpoint``) or a seed.

    Raises:
        ValueError: Unknown net or unusable checkpoint.
        TrunkWeightsNotFound: No checkpoint available.
    """
    arch = net if net in ARCHS else arch_of(net)
    spec = ARCHS[arch]
    if trunk_weights is None:
        return ZooTrunk(spec, seed=seed)
    path = resolve_checkpoint(spec, trunk_weights, download=download)
    trunk = ZooTrunk(spec, seed=None)
    trunk.load_checkpoint(path)
    return trunk.eval()
