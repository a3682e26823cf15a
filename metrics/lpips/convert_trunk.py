"""Converting AlexNet-family checkpoints of self-supervised papers to torchvision's layout.

The LPIPS paper's self-supervised rows (Table 5: BiGAN, Donahue et al. 2017; Split-Brain, Zhang
et al. 2017; Puzzle, Noroozi & Favaro 2016; "Learning features by watching objects move",
Pathak et al. 2017) use AlexNet-shaped networks released as Caffe models, later also as PyTorch
state dicts converted from them. ``convert_trunk`` maps their five convolutions onto torchvision's
``features.{0,3,6,8,10}.weight/bias`` so that ``lpips-alex`` takes the file as ``trunk_weights``.

What the converter does, per layer (``conv1`` … ``conv5``):

- finds the weight and bias under the layout's key names (below; a ``module.`` prefix is
  dropped), and checks the shapes: 4-D weights with torchvision's kernel sizes (11, 5, 3, 3, 3),
  a bias per filter, conv1 on 3 input channels, each layer's inputs matching the previous
  layer's filters either densely or in **groups of two** (the original AlexNet split over two
  GPUs: CaffeNet's conv2, conv4 and conv5 see half of the previous layer each), and the
  layout's declared widths. A wrong shape raises ``TrunkConversionError`` naming the layer, the
  source key, the shape found and the shape expected;
- expands grouped weights into dense **block-diagonal** ones (filter group j sees input group j
  only; zeros elsewhere), which computes exactly what the grouped convolution computed;
- folds the source's **input convention** into conv1, so the trunk takes what torchvision's
  AlexNet takes (RGB in [0, 1], ImageNet-normalised, as LPIPS v0.1 feeds it). For an input
  s = M·x + β of the source (x: RGB in [0, 1]; M: 3×3), conv1's W·s + b becomes
  W' = W·M·diag(std) and b' = b + W·(M·mean + β). Conventions: ``imagenet`` (torchvision:
  nothing to fold), ``bgr255`` (Caffe: BGR, 0–255, minus the ILSVRC mean
  (104.01, 116.67, 122.68)), ``rgb255``, ``rgb01``, ``rgb-1-1``, and ``lab`` (Split-Brain:
  CIE L*a*b*, L − 50; Lab is not affine in RGB, so the best affine fit over the sRGB cube is
  folded in, and its RMS error is reported).

The converted trunk then runs in torchvision's geometry, which is not the Caffe one: conv1 pads
by 2 (Caffe: 0), max-pools round down (Caffe: up), and there is no local response normalisation
after conv1/conv2. Layer widths stay the source's (CaffeNet: 96/256/384/384/256, not 64/192/384/
256/256): ``lpips-alex`` builds its trunk with the checkpoint's widths (the ``baseline`` variant
and fits; the shipped lin weights fit torchvision's widths only). These differences are reported
with every conversion (``ConversionReport.notes``).

Layouts and the key names assumed (documented in docs/reproducing-the-paper.md; the released
files cannot be downloaded here, so the tests use synthetic checkpoints of these shapes):

=================  ===========================================  ==========================  =======
layout             keys tried (in order)                        widths                      input
=================  ===========================================  ==========================  =======
``caffe-alexnet``  ``conv{n}.weight/.bias``, ``conv{n}.0/.1``   96/256/384/384/256          bgr255
``bigan``          Caffe keys                                   96/256/384/384/256          bgr255
``splitbrain``     Caffe keys                                   96/256/384/384/256          lab
``puzzle``         ``features.{0,4,8,10,12}`` (netdissect),     96/256/384/384/256          bgr255
                   ``conv.conv{n}_s1`` (JigsawPuzzlePytorch),
                   Caffe keys
``moving``         ``features.{0,4,8,10,12}`` (netdissect),     96/256/384/384/256          bgr255
                   Caffe keys
``netdissect``     ``features.{0,4,8,10,12}``                   any consistent              bgr255
``torchvision``    ``features.{0,3,6,8,10}``                    any consistent              imagenet
=================  ===========================================  ==========================  =======

"netdissect" is the PyTorch conversion of the Caffe models published with NetDissect (Bau et al.
2017; ``features`` = conv, ReLU, max-pool, LRN, …; grouped convolutions kept as ``groups=2``).
Batch-norm layers (some of those conversions have them) are not folded: such a file is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")
TORCHVISION_INDICES = (0, 3, 6, 8, 10)
KERNELS = (11, 5, 3, 3, 3)
CAFFENET_WIDTHS = (96, 256, 384, 384, 256)
ILSVRC_MEAN_BGR = (104.0069879317889, 116.66876761696767, 122.6789143406786)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

GEOMETRY_NOTES = (
    "runs in torchvision's AlexNet geometry: conv1 padding 2 (Caffe: 0), max-pools rounding "
    "down (Caffe: up), no local response normalisation after conv1 and conv2",
)


def _caffe(n: int) -> list[tuple[str, str]]:
    return [(f"conv{n}.weight", f"conv{n}.bias"), (f"conv{n}.0", f"conv{n}.1")]


def _features(indices: tuple[int, ...]):
    return lambda n: [(f"features.{indices[n - 1]}.weight", f"features.{indices[n - 1]}.bias")]


def _jigsaw(n: int) -> list[tuple[str, str]]:
    return [(f"conv.conv{n}_s1.weight", f"conv.conv{n}_s1.bias")]


_NETDISSECT = _features((0, 4, 8, 10, 12))
_TORCHVISION = _features(TORCHVISION_INDICES)


@dataclass(frozen=True)
class Layout:
    """A source layout: key schemes tried in order, declared widths (None: any), input."""

    name: str
    schemes: tuple[tuple[str, object], ...]  # (scheme name, n → [(weight key, bias key)])
    widths: tuple[int, ...] | None
    input: str
    summary: str


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout(
            "caffe-alexnet",
            (("caffe", _caffe),),
            CAFFENET_WIDTHS,
            "bgr255",
            "CaffeNet/AlexNet from a caffemodel dumped to a dict (conv1 … conv5)",
        ),
        Layout(
            "bigan",
            (("caffe", _caffe),),
            CAFFENET_WIDTHS,
            "bgr255",
            "BiGAN encoder (Donahue, Krähenbühl & Darrell, ICLR 2017), Caffe release",
        ),
        Layout(
            "splitbrain",
            (("caffe", _caffe),),
            CAFFENET_WIDTHS,
            "lab",
            "Split-Brain autoencoder (Zhang, Isola & Efros, CVPR 2017), Caffe release, Lab input",
        ),
        Layout(
            "puzzle",
            (("netdissect", _NETDISSECT), ("jigsaw-pytorch", _jigsaw), ("caffe", _caffe)),
            CAFFENET_WIDTHS,
            "bgr255",
            "Jigsaw puzzles (Noroozi & Favaro, ECCV 2016)",
        ),
        Layout(
            "moving",
            (("netdissect", _NETDISSECT), ("caffe", _caffe)),
            CAFFENET_WIDTHS,
            "bgr255",
            "Watching objects move (Pathak et al., CVPR 2017)",
        ),
        Layout(
            "netdissect",
            (("netdissect", _NETDISSECT),),
            None,
            "bgr255",
            "NetDissect's PyTorch conversions of Caffe AlexNets (features.0/4/8/10/12)",
        ),
        Layout(
            "torchvision",
            (("torchvision", _TORCHVISION),),
            None,
            "imagenet",
            "torchvision AlexNet features (checks shapes, expands groups)",
        ),
    )
}
INPUTS = ("imagenet", "bgr255", "rgb255", "rgb01", "rgb-1-1", "lab")


class TrunkConversionError(ValueError):
    """A checkpoint that does not fit the layout; the message names the layer."""


@dataclass
class LayerMapping:
    layer: str
    source_key: str
    source_shape: tuple[int, ...]
    groups: int
    target_key: str
    target_shape: tuple[int, ...]

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


@dataclass
class ConversionReport:
    layout: str
    scheme: str
    input: str
    layers: list[LayerMapping] = field(default_factory=list)
    ignored_keys: int = 0
    input_fit_rms: list[float] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "layout": self.layout,
            "scheme": self.scheme,
            "input": self.input,
            "layers": [m.to_dict() for m in self.layers],
            "ignored_keys": self.ignored_keys,
            "input_fit_rms": self.input_fit_rms,
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """Human-readable summary, one line per layer, then the notes."""
        out = [f"layout {self.layout} (keys: {self.scheme}), input {self.input}"]
        for m in self.layers:
            grouped = f", groups {m.groups} → dense" if m.groups > 1 else ""
            out.append(
                f"  {m.layer}: {m.source_key} {tuple(m.source_shape)}{grouped} → "
                f"{m.target_key} {tuple(m.target_shape)}"
            )
        if self.ignored_keys:
            out.append(f"  {self.ignored_keys} other tensors ignored (classifier, heads, …)")
        out += [f"  note: {note}" for note in self.notes]
        return out


def expand_groups(weight: torch.Tensor, groups: int) -> torch.Tensor:
    """A grouped convolution's weight (out × in/g × k × k) as the dense block-diagonal weight
    (out × in × k × k) of the same convolution."""
    if groups == 1:
        return weight
    out, per_group = weight.shape[:2]
    dense = weight.new_zeros((out, per_group * groups, *weight.shape[2:]))
    rows = out // groups
    for g in range(groups):
        dense[g * rows : (g + 1) * rows, g * per_group : (g + 1) * per_group] = weight[
            g * rows : (g + 1) * rows
        ]
    return dense


def _srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """n×3 sRGB in [0, 1] → n×3 CIE L*a*b* (D65), float64."""
    rgb = rgb.double()
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = torch.tensor(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
         [0.0193339, 0.1191920, 0.9503041]],
        dtype=torch.float64,
    )  # fmt: skip
    xyz = linear @ m.T / torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
    delta = 6 / 29
    f = torch.where(xyz > delta**3, xyz ** (1 / 3), xyz / (3 * delta**2) + 4 / 29)
    return torch.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1
    )


def input_affine(convention: str) -> tuple[torch.Tensor, torch.Tensor, list[float] | None]:
    """(M, β, rms) with source input s = M·x + β for x RGB in [0, 1]; rms is the per-channel
    RMS error of the affine fit (only for ``lab``, else None)."""
    eye = torch.eye(3, dtype=torch.float64)
    zero = torch.zeros(3, dtype=torch.float64)
    if convention == "imagenet":
        mean, std = torch.tensor(IMAGENET_MEAN).double(), torch.tensor(IMAGENET_STD).double()
        return torch.diag(1 / std), -mean / std, None
    if convention == "bgr255":
        flip = eye.flip(0) * 255.0  # s_B = 255·x_B: rows of the identity in B, G, R order
        return flip, -torch.tensor(ILSVRC_MEAN_BGR, dtype=torch.float64), None
    if convention == "rgb255":
        return eye * 255.0, zero, None
    if convention == "rgb01":
        return eye, zero, None
    if convention == "rgb-1-1":
        return eye * 2.0, zero - 1.0, None
    if convention == "lab":
        axis = torch.linspace(0, 1, 17, dtype=torch.float64)
        grid = torch.cartesian_prod(axis, axis, axis)
        lab = _srgb_to_lab(grid)
        lab[:, 0] -= 50.0
        design = torch.cat([grid, torch.ones(len(grid), 1, dtype=torch.float64)], dim=1)
        solution = torch.linalg.lstsq(design, lab).solution  # 4×3
        rms = ((design @ solution - lab) ** 2).mean(0).sqrt()
        return solution[:3].T.contiguous(), solution[3].clone(), [float(v) for v in rms]
    raise TrunkConversionError(f"unknown input convention {convention!r}; use one of {INPUTS}")


def fold_input(
    weight: torch.Tensor, bias: torch.Tensor, convention: str
) -> tuple[torch.Tensor, torch.Tensor, list[float] | None]:
    """conv1's weight and bias for ImageNet-normalised RGB input, from a conv1 that took
    ``convention``; see the module docstring."""
    m, beta, rms = input_affine(convention)
    mean, std = torch.tensor(IMAGENET_MEAN).double(), torch.tensor(IMAGENET_STD).double()
    w = weight.double()
    folded = torch.einsum("ocyx,cj->ojyx", w, m * std[None, :])
    shift = m @ mean + beta  # the source input where the trunk's input is 0
    new_bias = bias.double() + torch.einsum("ocyx,c->o", w, shift)
    return folded.to(weight.dtype), new_bias.to(bias.dtype), rms


def _find_scheme(layout: Layout, state: dict) -> tuple[str, object]:
    for name, keys in layout.schemes:
        if any(w in state for w, _b in keys(1)):
            return name, keys
    tried = "; ".join(f"{name}: {keys(1)[0][0]}" for name, keys in layout.schemes)
    raise TrunkConversionError(
        f"no conv1 weight in the checkpoint for layout {layout.name!r} (looked for {tried}); "
        f"it has keys such as {', '.join(list(state)[:5]) or 'none'}"
    )


def _groups(layer: str, key: str, weight, expected_out, previous: int, kernel: int) -> int:
    shape = tuple(weight.shape)
    want = (
        f"({expected_out or 'N'}, {previous} or {previous // 2} (groups of two), {kernel}, "
        f"{kernel})"
    )
    if weight.ndim != 4 or shape[2:] != (kernel, kernel):
        raise TrunkConversionError(f"{layer} ({key}): weight has shape {shape}, expected {want}")
    if expected_out is not None and shape[0] != expected_out:
        raise TrunkConversionError(
            f"{layer} ({key}): weight has shape {shape}, expected {expected_out} filters {want}"
        )
    if shape[1] == previous:
        return 1
    if shape[1] * 2 == previous and shape[0] % 2 == 0:
        return 2
    raise TrunkConversionError(
        f"{layer} ({key}): weight has shape {shape}, expected {want} after the previous "
        f"layer's {previous} filters"
    )


def convert_state(
    state: dict, layout: str, *, input: str | None = None
) -> tuple[dict[str, torch.Tensor], ConversionReport]:
    """Map ``state`` (a loaded checkpoint) to torchvision's AlexNet ``features`` keys.

    Raises:
        TrunkConversionError: Unknown layout or input, missing tensors, or a wrong shape (the
            message names the layer).
    """
    if layout not in LAYOUTS:
        raise TrunkConversionError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    spec = LAYOUTS[layout]
    convention = input or spec.input
    if convention not in INPUTS:
        raise TrunkConversionError(f"unknown input {convention!r}; use one of {INPUTS}")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # training checkpoints wrap the weights
    if not isinstance(state, dict):
        raise TrunkConversionError("the checkpoint does not hold a dict of tensors")
    state = {str(k).removeprefix("module."): v for k, v in state.items()}
    scheme, keys = _find_scheme(spec, state)
    if any("running_mean" in k for k in state) and scheme == "netdissect":
        raise TrunkConversionError(
            "the checkpoint has batch-norm layers (running_mean); folding them is not supported"
        )
    report = ConversionReport(layout=layout, scheme=scheme, input=convention)
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    previous = 3
    for n, (layer, index, kernel) in enumerate(
        zip(LAYERS, TORCHVISION_INDICES, KERNELS, strict=True), start=1
    ):
        pair = next(((w, b) for w, b in keys(n) if w in state), None)
        if pair is None:
            raise TrunkConversionError(
                f"{layer}: no weight in the checkpoint (looked for {keys(n)[0][0]})"
            )
        wkey, bkey = pair
        weight = state[wkey]
        if not isinstance(weight, torch.Tensor):
            raise TrunkConversionError(f"{layer} ({wkey}) is not a tensor")
        expected_out = spec.widths[n - 1] if spec.widths else None
        groups = _groups(layer, wkey, weight, expected_out, previous, kernel)
        if n == 1 and groups != 1:
            raise TrunkConversionError(
                f"conv1 ({wkey}): weight has shape {tuple(weight.shape)}, expected 3 input channels"
            )
        bias = state.get(bkey)
        if not isinstance(bias, torch.Tensor) or tuple(bias.shape) != (weight.shape[0],):
            found = tuple(bias.shape) if isinstance(bias, torch.Tensor) else "nothing"
            raise TrunkConversionError(
                f"{layer} ({bkey}): bias has shape {found}, expected ({weight.shape[0]},)"
            )
        dense = expand_groups(weight.float(), groups)
        bias = bias.float()
        if n == 1:
            dense, bias, rms = fold_input(dense, bias, convention)
            report.input_fit_rms = rms
        out[f"features.{index}.weight"] = dense.contiguous()
        out[f"features.{index}.bias"] = bias.contiguous()
        used |= {wkey, bkey}
        report.layers.append(
            LayerMapping(
                layer, wkey, tuple(weight.shape), groups, f"features.{index}", tuple(dense.shape)
            )
        )
        previous = weight.shape[0]
    report.ignored_keys = len([k for k in state if k not in used])
    widths = tuple(m.target_shape[0] for m in report.layers)
    if widths != (64, 192, 384, 256, 256):
        report.notes.append(
            f"widths {'/'.join(map(str, widths))} differ from torchvision's 64/192/384/256/256: "
            "lpips-alex builds its trunk to match (baseline variant or fits; the shipped lin "
            "weights and deep-alexnet need torchvision's widths)"
        )
    if convention != "imagenet":
        report.notes.append(f"conv1 folded from {convention} input to ImageNet-normalised RGB")
    if report.input_fit_rms is not None:
        rms = ", ".join(f"{v:.2f}" for v in report.input_fit_rms)
        report.notes.append(f"Lab approximated by its best affine fit in sRGB (RMS L,a,b: {rms})")
    if layout != "torchvision":
        report.notes.extend(GEOMETRY_NOTES)
    return out, report


def convert_trunk(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    layout: str,
    *,
    input: str | None = None,
) -> ConversionReport:
    """Read ``src`` (a torch checkpoint; a ``.npz``/``.npy`` dict of arrays also works),
    convert it (``convert_state``) and write ``out`` with ``torch.save``.

    Raises:
        TrunkConversionError: See ``convert_state``; also an unreadable file.
    """
    state = read_source(src)
    converted, report = convert_state(state, layout, input=input)
    torch.save(converted, out)
    return report


def read_source(path: str | os.PathLike[str]) -> dict:
    """A checkpoint as a dict of tensors: torch files (``weights_only``) or NumPy ``.npz`` /
    pickled-dict ``.npy`` files (as Caffe-to-NumPy dumps write them)."""
    import numpy as np

    text = str(path)
    if text.endswith(".npz"):
        with np.load(text) as data:
            return {k: torch.from_numpy(np.array(data[k])) for k in data.files}
    if text.endswith(".npy"):
        raise TrunkConversionError(
            f"{path}: .npy dumps are pickled; convert them to .npz or a torch file first"
        )
    try:
        return torch.load(text, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise TrunkConversionError(f"could not read {path} as a torch checkpoint: {exc}") from exc
