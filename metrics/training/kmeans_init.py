"""Data-dependent stacked k-means initialisation of an AlexNet trunk (the paper's "Net (Unsup.)" row).

Follows Krähenbühl, Doersch, Donahue & Darrell, "Data-dependent Initializations of Convolutional
Neural Networks" (ICLR 2016), which the LPIPS paper used for its unsupervised row (Table 5,
"K-means (Krähenbühl et al.)"). Layer by layer, for the five convolutions of torchvision's AlexNet
``features`` (indices 0, 3, 6, 8, 10; 64/192/384/256/256 filters):

1. **Patches.** Random crops of the researcher's images go through the layers already initialised;
   ``n_patches`` receptive-field patches of the layer's input (the RGB crops for conv1, the previous
   ReLU/max-pool output for the others) are drawn at random output positions, with the layer's own
   kernel, stride and padding.
2. **ZCA whitening.** Patches are centred on their mean μ and whitened with
   Z = V·diag(1/√(λ+ε))·Vᵀ from the eigendecomposition of their covariance (ε = ``zca_eps`` × the
   mean eigenvalue). When there are fewer patches than dimensions the eigenvectors come from the
   patches' Gram matrix instead (same Z on the patches' span; faster).
3. **Spherical k-means.** Whitened patches are scaled to unit norm and clustered into as many
   clusters as the layer has filters (``kmeans_iterations`` Lloyd steps, assignment by the largest
   dot product, centre = normalised mean of its members; an empty cluster is re-seeded with the
   patch worst served by its centre). Initial centres are distinct patches drawn with the seed.
4. **Filters.** Each unit-norm centre c becomes the filter applied to the *unwhitened* input:
   w = Z·c and b = −cᵀZμ, so that w·x + b = c·Z(x − μ), the patch's dot product with the centre in
   whitened space.
5. **Within-layer scaling** (the paper's Algorithm 1): on the crops, each output channel's
   pre-activation is rescaled to zero mean and unit variance (w ← w/σ, b ← (b − m)/σ).

After the last layer, **between-layer scaling** (the paper's Algorithm 2, ``between_layer=True``):
the per-layer rate C_k = E‖∂ℓ/∂W_k‖² / ‖W_k‖² is equalised over the layers by ``between_steps``
damped corrections r_k = (C_k/C̄)^(α/4) (C̄ the geometric mean, α = 0.25; scaling W_k by r and
undoing it in the layer above scales C_k by r⁻⁴, so each step moves log C_k a fraction α towards
log C̄), each undone in the layer above, so every other layer's activations are unchanged. The paper backpropagates its
task's loss; there is no task here, so ℓ is a random projection of the relu5 tap (Gaussian
weights, drawn from the seed).

What differs from the paper, and why (docs/reproducing-the-paper.md):

- The architecture is torchvision's AlexNet (64/192/384/256/256 channels, no grouping, no local
  response normalisation), not CaffeNet (96/256/384/384/256, groups of two, LRN) that the paper
  initialised; so LPIPS and the zoo load it as they load torchvision's weights.
- The paper's k-means code (``magic_init``) is Caffe/NumPy; here it is torch, deterministic for a
  seed on one device (float64 for whitening and clustering).
- Between-layer scaling multiplies a whole layer by a constant. LPIPS and the zoo normalise every
  tap over channels, so it changes no distance (only training the trunk, ``tune``/``scratch``,
  sees it); it is there to match the paper's recipe.

Everything here is Django-free and runs on a worker or from ``python -m metrics kmeans-init``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

CONV_INDICES = (0, 3, 6, 8, 10)  # torchvision AlexNet features' convolutions
LAYER_NAMES = ("conv1", "conv2", "conv3", "conv4", "conv5")
# ImageNet normalisation on [0, 1] inputs: the same affine map as LPIPS v0.1's scaling layer on
# [-1, 1] inputs (shift/scale (-.030, -.088, -.188)/(.458, .448, .450)) and as the zoo's input.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
DAMPING = 0.25


@dataclass(frozen=True)
class KMeansInitConfig:
    """Settings of a k-means initialisation (all part of the result's report).

    Attributes:
        seed: Seeds crops, patch positions, initial centres and the between-layer projection.
        crop_size: Side of the square random crops (images with a shorter side are resized up).
        n_crops: Crops drawn, round-robin over the images.
        n_patches: Patches sampled per layer.
        kmeans_iterations: Lloyd steps per layer.
        zca_eps: Whitening regulariser, relative to the mean eigenvalue.
        between_layer: Apply the between-layer scaling.
        between_steps: Its iterations (the paper: about 10).
        batch_size: Crops per forward pass.
    """

    seed: int = 0
    crop_size: int = 128
    n_crops: int = 256
    n_patches: int = 8192
    kmeans_iterations: int = 30
    zca_eps: float = 0.1
    between_layer: bool = True
    between_steps: int = 10
    batch_size: int = 32

    def __post_init__(self) -> None:
        checks = {
            "crop_size": self.crop_size >= 63,  # conv5 needs a 3×3 input after the pools
            "n_crops": self.n_crops >= 1,
            "n_patches": self.n_patches >= 384,  # at least one patch per cluster
            "kmeans_iterations": self.kmeans_iterations >= 1,
            "zca_eps": self.zca_eps > 0,
            "between_steps": self.between_steps >= 0,
            "batch_size": self.batch_size >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(
                f"bad k-means init setting(s) {', '.join(bad)}: crop_size ≥ 63, n_patches ≥ 384 "
                "(the widest layer's filters), zca_eps > 0, the counts ≥ 1"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a whole number ≥ 0, got {self.seed!r}")


@dataclass
class LayerReport:
    """What one layer's initialisation did (JSON-ready through ``to_dict``)."""

    name: str
    filters: int
    patch_dim: int
    patches: int
    whitening_rank: int
    kmeans_objective: float  # mean dot product of each unit patch with its centre (≤ 1)
    reseeded: int
    preact_std_before: float  # mean channel std of the pre-activation before within-layer scaling
    between_factor: float = 1.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class KMeansInitResult:
    """The initialised trunk: ``state_dict`` has torchvision's ``features.<i>.weight/bias`` keys."""

    state_dict: dict[str, torch.Tensor]
    config: KMeansInitConfig
    layers: list[LayerReport] = field(default_factory=list)
    images: int = 0

    def report(self) -> dict:
        return {
            "method": "stacked k-means (Krähenbühl et al., ICLR 2016)",
            "architecture": "torchvision alexnet features",
            "config": dict(self.config.__dict__),
            "images": self.images,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def save(self, path) -> None:
        """Write the state dict with ``torch.save`` (same seed and inputs → same bytes)."""
        torch.save(self.state_dict, path)


# ---------------------------------------------------------------------------------------------
# Building blocks (public: the tests check them against direct computations)
# ---------------------------------------------------------------------------------------------


def alexnet_features() -> nn.Sequential:
    """torchvision's AlexNet ``features`` up to relu5 (index 11), float32 on CPU."""
    import torchvision

    # Built on the meta device (the classifier is never allocated); every value is overwritten.
    with torch.device("meta"):
        full = torchvision.models.alexnet(weights=None)
    features = full.features[:12].to_empty(device="cpu")
    with torch.no_grad():
        for index in CONV_INDICES:
            features[index].weight.zero_()
            features[index].bias.zero_()
    return features


def random_crops(
    images: Sequence[torch.Tensor], *, n: int, size: int, generator: torch.Generator
) -> torch.Tensor:
    """``n`` random size×size crops, round-robin over ``images`` (3×H×W in [0, 1]), as an
    n×3×size×size tensor; an image whose shorter side is under ``size`` is resized up first."""
    crops = []
    for i in range(n):
        image = images[i % len(images)]
        h, w = image.shape[-2:]
        if min(h, w) < size:
            scale = size / min(h, w)
            h, w = max(size, round(h * scale)), max(size, round(w * scale))
            image = F.interpolate(image[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        y = int(torch.randint(0, h - size + 1, (1,), generator=generator))
        x = int(torch.randint(0, w - size + 1, (1,), generator=generator))
        crops.append(image[:, y : y + size, x : x + size])
    return torch.stack(crops).clamp_(0, 1)


def normalise(x01: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB → the trunk's input (ImageNet normalisation)."""
    mean = torch.tensor(MEAN, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
    return (x01 - mean) / std


def sample_patches(
    inputs: torch.Tensor, conv: nn.Conv2d, *, n: int, generator: torch.Generator
) -> torch.Tensor:
    """``n`` receptive-field patches of ``conv`` on ``inputs`` (N×C×H×W) at random output
    positions, as an n×(C·k·k) float64 tensor flattened like ``conv.weight`` (C, ky, kx)."""
    k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
    count, _channels, height, width = inputs.shape
    out_h, out_w = (height + 2 * p - k) // s + 1, (width + 2 * p - k) // s + 1
    picks = torch.randint(0, count * out_h * out_w, (n,), generator=generator)
    img, rest = picks // (out_h * out_w), picks % (out_h * out_w)
    y0, x0 = (rest // out_w) * s, (rest % out_w) * s
    padded = F.pad(inputs, (p, p, p, p))
    offsets = torch.arange(k)
    ys = (y0[:, None] + offsets).to(inputs.device)  # n×k
    xs = (x0[:, None] + offsets).to(inputs.device)
    img = img.to(inputs.device)
    # Advanced indices around a slice: result is n×k×k×C.
    patches = padded[img[:, None, None], :, ys[:, :, None], xs[:, None, :]]
    return patches.permute(0, 3, 1, 2).reshape(n, -1).to(torch.float64)


@dataclass
class Whitening:
    """ZCA whitening x ↦ Z(x − μ) with Z = V·diag(1/√(λ+ε))·Vᵀ (V: D×r)."""

    mean: torch.Tensor  # D
    vectors: torch.Tensor  # D×r
    scales: torch.Tensor  # r: 1/√(λ+ε)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Whiten rows of x (n×D)."""
        return ((x - self.mean) @ self.vectors) * self.scales @ self.vectors.T

    def matrix_times(self, c: torch.Tensor) -> torch.Tensor:
        """Z·cᵀ for rows of c (k×D) → k×D (Z is symmetric)."""
        return ((c @ self.vectors) * self.scales) @ self.vectors.T


def zca(patches: torch.Tensor, *, eps: float) -> Whitening:
    """ZCA whitening of n×D float64 patches; ε relative to the mean eigenvalue."""
    n, d = patches.shape
    mean = patches.mean(0)
    centred = patches - mean
    if n >= d:
        values, vectors = torch.linalg.eigh(centred.T @ centred / n)
    else:
        # Eigenvectors of the covariance on the patches' span, from the n×n Gram matrix.
        gram_values, gram_vectors = torch.linalg.eigh(centred @ centred.T / n)
        keep = gram_values > gram_values.max() * 1e-10
        gram_values, gram_vectors = gram_values[keep], gram_vectors[:, keep]
        vectors = centred.T @ gram_vectors / torch.sqrt(gram_values * n)
        values = gram_values
    values = values.clamp_min(0)
    # Mean eigenvalue of the full covariance (its trace / D), so ε does not depend on the route.
    epsilon = eps * float(values.sum()) / d
    return Whitening(mean=mean, vectors=vectors, scales=1.0 / torch.sqrt(values + epsilon))


def spherical_kmeans(
    x: torch.Tensor, k: int, *, iterations: int, generator: torch.Generator
) -> tuple[torch.Tensor, int]:
    """Spherical k-means of the unit rows of ``x`` (n×D): k unit centres and the number of
    empty clusters re-seeded. Deterministic for the generator's state."""
    n = x.shape[0]
    if n < k:
        raise ValueError(f"k-means needs at least {k} patches, got {n}")
    start = torch.randperm(n, generator=generator)[:k].to(x.device)
    centres = x[start].clone()
    reseeded = 0
    for _ in range(iterations):
        similarity = x @ centres.T  # n×k
        best, assign = similarity.max(1)
        sums = torch.zeros_like(centres).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k)
        empty = torch.nonzero(counts == 0).flatten()
        if len(empty):
            # The patches worst served by their centres start the empty clusters.
            worst = torch.argsort(best, stable=True)[: len(empty)]
            sums[empty] = x[worst]
            reseeded += len(empty)
        centres = sums / sums.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return centres, reseeded


def kmeans_objective(x: torch.Tensor, centres: torch.Tensor) -> float:
    """Mean over unit rows of x of the largest dot product with a centre (higher is better)."""
    return float((x @ centres.T).max(1).values.mean())


# ---------------------------------------------------------------------------------------------
# The initialisation
# ---------------------------------------------------------------------------------------------


def _forward(features: nn.Sequential, x: torch.Tensor, stop: int, batch: int) -> torch.Tensor:
    """Output of features[:stop] on x, in batches."""
    if stop == 0:
        return x
    with torch.no_grad():
        return torch.cat([features[:stop](x[i : i + batch]) for i in range(0, len(x), batch)])


def _check_positions(features: nn.Sequential, config: KMeansInitConfig) -> None:
    """Each layer needs at least twice as many distinct output positions as it has filters."""
    with torch.no_grad():
        x = torch.zeros(1, 3, config.crop_size, config.crop_size, device=features[0].weight.device)
        for index, layer in enumerate(features):
            x = layer(x)
            if index in CONV_INDICES and config.n_crops * x.shape[2] * x.shape[3] < 2 * x.shape[1]:
                name = LAYER_NAMES[CONV_INDICES.index(index)]
                raise ValueError(
                    f"{name} sees {x.shape[2]}×{x.shape[3]} positions per {config.crop_size}-pixel "
                    f"crop: {config.n_crops} crops give fewer than twice its {x.shape[1]} "
                    "filters; use more crops or a larger crop_size"
                )


def _preact_stats(conv: nn.Conv2d, inputs: torch.Tensor, batch: int):
    """Per-channel mean and std of conv's output over images and positions (float64)."""
    total = torch.zeros(conv.out_channels, dtype=torch.float64, device=inputs.device)
    squares = torch.zeros_like(total)
    count = 0
    with torch.no_grad():
        for i in range(0, len(inputs), batch):
            out = conv(inputs[i : i + batch]).to(torch.float64)
            total += out.sum((0, 2, 3))
            squares += (out * out).sum((0, 2, 3))
            count += out.shape[0] * out.shape[2] * out.shape[3]
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(1e-12).sqrt()
    return mean, std


def _between_layer(
    features: nn.Sequential, crops: torch.Tensor, config: KMeansInitConfig, layers: list
) -> None:
    """The paper's Algorithm 2 with a random projection of relu5 as the loss."""
    convs = [features[i] for i in CONV_INDICES]
    generator = torch.Generator().manual_seed(config.seed * 7919 + 5)
    sample = crops[: max(1, min(len(crops), config.batch_size))]
    with torch.no_grad():
        out_shape = features(sample[:1]).shape[1:]
    projection = torch.randn((len(sample), *out_shape), generator=generator).to(crops.device)
    total = [1.0] * len(convs)
    for _ in range(config.between_steps):
        for conv in convs:
            conv.weight.requires_grad_(True)
            conv.weight.grad = None
        loss = (features(sample) * projection).sum() / len(sample)
        loss.backward()
        rates = []
        for conv in convs:
            grad, weight = conv.weight.grad.double(), conv.weight.detach().double()
            rates.append(float((grad * grad).sum() / (weight * weight).sum()))
            conv.weight.requires_grad_(False)
            conv.weight.grad = None
        mean_log = sum(math.log(max(r, 1e-300)) for r in rates) / len(rates)
        with torch.no_grad():
            for k, conv in enumerate(convs):
                # Scaling W_k by r (undone above) scales C_k by r⁻⁴: r = (C_k/C̄)^(α/4) moves
                # C_k a fraction α of the way (in logs) towards the mean.
                r = math.exp((math.log(max(rates[k], 1e-300)) - mean_log) * DAMPING / 4)
                conv.weight.mul_(r)
                conv.bias.mul_(r)
                if k + 1 < len(convs):
                    convs[k + 1].weight.div_(r)  # undone in the layer above
                total[k] *= r
    for layer, factor in zip(layers, total, strict=True):
        layer.between_factor = factor


def kmeans_init(
    images: Sequence[torch.Tensor],
    config: KMeansInitConfig | None = None,
    *,
    device: str | torch.device = "cpu",
    progress: Callable[[dict], None] | None = None,
) -> KMeansInitResult:
    """Initialise torchvision's AlexNet ``features`` by stacked k-means on ``images``.

    Args:
        images: 3×H×W float tensors, RGB in [0, 1] (any sizes).
        config: Settings (default ``KMeansInitConfig()``).
        device: Where to compute; results are deterministic for a seed on one device.
        progress: Called with ``{"event": "layer", "layer": name, "done": k, "total": 5}`` after
            each layer and ``{"event": "between", ...}`` after the between-layer scaling.

    Raises:
        ValueError: No images, images that are not 3×H×W in [0, 1], or bad settings.
    """
    config = config or KMeansInitConfig()
    images = list(images)
    if not images:
        raise ValueError("k-means initialisation needs at least one image")
    for i, image in enumerate(images):
        if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(f"image {i} is not a 3×H×W tensor")
        if image.numel() and (float(image.min()) < 0 or float(image.max()) > 1):
            raise ValueError(f"image {i} has values outside [0, 1]")
    device = torch.device(device)
    generator = torch.Generator().manual_seed(config.seed)
    crops = random_crops(
        [i.float() for i in images], n=config.n_crops, size=config.crop_size, generator=generator
    )
    crops = normalise(crops).to(device)
    features = alexnet_features().to(device).requires_grad_(False)
    _check_positions(features, config)
    layers: list[LayerReport] = []
    for k, (index, name) in enumerate(zip(CONV_INDICES, LAYER_NAMES, strict=True)):
        conv: nn.Conv2d = features[index]
        inputs = _forward(features, crops, index, config.batch_size)
        layer_gen = torch.Generator().manual_seed(config.seed * 1000003 + k)
        patches = sample_patches(inputs, conv, n=config.n_patches, generator=layer_gen)
        whitening = zca(patches, eps=config.zca_eps)
        white = whitening.apply(patches)
        unit = white / white.norm(dim=1, keepdim=True).clamp_min(1e-12)
        centres, reseeded = spherical_kmeans(
            unit, conv.out_channels, iterations=config.kmeans_iterations, generator=layer_gen
        )
        weight = whitening.matrix_times(centres)
        bias = -(weight @ whitening.mean)
        with torch.no_grad():
            conv.weight.copy_(weight.view_as(conv.weight).to(conv.weight.dtype))
            conv.bias.copy_(bias.to(conv.bias.dtype))
            mean, std = _preact_stats(conv, inputs, config.batch_size)
            conv.weight.copy_((weight / std[:, None]).view_as(conv.weight).float())
            conv.bias.copy_(((bias - mean) / std).float())
        layers.append(
            LayerReport(
                name=name,
                filters=conv.out_channels,
                patch_dim=patches.shape[1],
                patches=patches.shape[0],
                whitening_rank=whitening.vectors.shape[1],
                kmeans_objective=kmeans_objective(unit, centres),
                reseeded=reseeded,
                preact_std_before=float(std.mean()),
            )
        )
        del inputs, patches, white, unit
        if progress:
            progress({"event": "layer", "layer": name, "done": k + 1, "total": len(CONV_INDICES)})
    if config.between_layer and config.between_steps:
        _between_layer(features, crops, config, layers)
        if progress:
            progress({"event": "between", "factors": [layer.between_factor for layer in layers]})
    state = {
        f"features.{i}.{part}": getattr(features[i], part).detach().to("cpu").contiguous().clone()
        for i in CONV_INDICES
        for part in ("weight", "bias")
    }
    return KMeansInitResult(state_dict=state, config=config, layers=layers, images=len(images))


def preactivation_variances(
    state_dict: dict[str, torch.Tensor], images01: torch.Tensor
) -> list[float]:
    """Mean over channels of each conv's pre-activation variance on ``images01`` (N×3×H×W in
    [0, 1]) through the trunk in ``state_dict`` (to check that layers keep comparable variance)."""
    features = alexnet_features()
    features.load_state_dict({k.removeprefix("features."): v for k, v in state_dict.items()})
    x = normalise(images01.float())
    out = []
    with torch.no_grad():
        for index in range(len(features)):
            x = features[index](x)
            if index in CONV_INDICES:
                out.append(float(x.double().var(dim=(0, 2, 3)).mean()))
    return out
