"""The ``deep-<arch>`` network zoo, declared once: architectures, taps, channels, input policy.

Plain data, importable without torch: ``metrics._catalog`` registers a ``deep-<arch>`` metric for
every entry (so listings, the platform's web tier and its fit form know the names), and
``metrics.deep.trunk`` builds the trunks from it.

Taps are node names for torchvision's ``create_feature_extractor``, declared per family:

- AlexNet: the ReLU after each convolution (the LPIPS ``alex`` taps).
- VGG (and its ``_bn`` variants): the ReLU before each of the five max-pools (for VGG16 the
  LPIPS ``vgg`` taps ``relu1_2`` … ``relu5_3``).
- ResNet/ResNeXt/Wide ResNet: the stem's ReLU, then ``layer1`` … ``layer4``.
- GoogLeNet: ``conv1``, ``conv3``, ``inception3b``, ``inception4e``, ``inception5b`` (the last module
  at each resolution).
- MobileNet V3 (large), EfficientNet B0–B7: the last block at each of the five resolutions.
- RegNet: ``stem``, then ``trunk_output.block1`` … ``block4``.
- ConvNeXt and Swin: the four stage outputs (``features.1``, ``.3``, ``.5``, ``.7``); Swin's are
  N×H×W×C and are permuted to N×C×H×W.
- ViT: the outputs of four encoder layers evenly spaced in depth; the class token is dropped and
  the patch tokens are laid out on their grid (N×C×h×w).

Input policy: convolutional and Swin trunks run at the input's own size, which must be at least
``min_size`` (the stride of the deepest tap: smaller images would leave it no positions) in both
sides; ViT needs its native square input (224), so other sizes are resized to it bilinearly
(antialiased when shrinking) after the ImageNet normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass

LPIPS_NETS = ("alex", "vgg", "squeeze")
PREFIX = "deep-"


@dataclass(frozen=True)
class ArchSpec:
    """Static description of one zoo architecture.

    Attributes:
        arch: torchvision.models constructor name, e.g. ``"resnet18"``.
        family: Family label (docs, listings).
        taps: Node names for ``create_feature_extractor``.
        channels: Channels of each tap.
        strides: Input pixels per tap position along each side (tap sizes, pass sizing).
        layout: ``"nchw"``, ``"nhwc"`` (Swin) or ``"tokens"`` (ViT: N×(1+h·w)×C, class token first).
        weights_enum: torchvision weights enum; its ``IMAGENET1K_V1`` (else ``DEFAULT``) is the
            ``"imagenet"`` checkpoint.
        min_size: Smallest input side accepted (ViT: any, the input is resized).
        input_size: Side the input is resized to (ViT), or None to run at the input's size.
        builder_kwargs: Extra constructor arguments, as (name, value) pairs.
        cpu_pass_bytes: Tap bytes per CPU trunk pass (see ``metrics.lpips.model``).
    """

    arch: str
    family: str
    taps: tuple[str, ...]
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    layout: str
    weights_enum: str
    min_size: int
    input_size: int | None = None
    builder_kwargs: tuple[tuple[str, object], ...] = ()
    cpu_pass_bytes: int = 16 << 20

    @property
    def net(self) -> str:
        """The net name used by training and the platform (and the metric's name)."""
        return PREFIX + self.arch

    @property
    def metric(self) -> str:
        """Registry name of the metric (same as ``net``)."""
        return self.net

    @property
    def builder(self) -> str:
        """torchvision.models constructor name (as ``metrics.lpips.trunks.TrunkSpec``)."""
        return self.arch

    @property
    def input_policy(self) -> str:
        if self.input_size is not None:
            return f"resized bilinearly to {self.input_size}×{self.input_size}"
        return f"native size, at least {self.min_size}×{self.min_size}"


def _vgg(arch: str, enum: str, convs: tuple[int, ...], bn: bool) -> ArchSpec:
    # Index of the ReLU before each max-pool in `features`: each conv block is conv, (bn,) relu.
    per = 3 if bn else 2
    taps, index = [], -1
    for n in convs:
        index += n * per  # the block's last ReLU
        taps.append(f"features.{index}")
        index += 1  # the max-pool
    return ArchSpec(
        arch=arch,
        family="vgg",
        taps=tuple(taps),
        channels=(64, 128, 256, 512, 512),
        strides=(1, 2, 4, 8, 16),
        layout="nchw",
        weights_enum=enum,
        min_size=16,
    )


_VGG_CONVS = {"vgg11": (1, 1, 2, 2, 2), "vgg13": (2, 2, 2, 2, 2), "vgg16": (2, 2, 3, 3, 3),
              "vgg19": (2, 2, 4, 4, 4)}  # fmt: skip
_RESNET_STRIDES = (2, 4, 8, 16, 32)
_RESNET_TAPS = ("relu", "layer1", "layer2", "layer3", "layer4")


def _resnet(arch: str, enum: str, channels: tuple[int, ...]) -> ArchSpec:
    return ArchSpec(arch, "resnet", _RESNET_TAPS, channels, _RESNET_STRIDES, "nchw", enum, 32)


def _stages(arch, family, taps, channels, enum, strides=_RESNET_STRIDES, layout="nchw"):
    return ArchSpec(arch, family, tuple(taps), channels, strides, layout, enum, strides[-1])


def _vit(arch: str, enum: str, depth: int, width: int, patch: int) -> ArchSpec:
    layers = tuple(f"encoder.layers.encoder_layer_{depth * k // 4 - 1}" for k in (1, 2, 3, 4))
    return ArchSpec(
        arch, "vit", layers, (width,) * 4, (patch,) * 4, "tokens", enum, 1, input_size=224
    )


_EFFNET = {  # arch: (enum, channels of features.1, .2, .3, .5, .7)
    "efficientnet_b0": ("EfficientNet_B0_Weights", (16, 24, 40, 112, 320)),
    "efficientnet_b1": ("EfficientNet_B1_Weights", (16, 24, 40, 112, 320)),
    "efficientnet_b2": ("EfficientNet_B2_Weights", (16, 24, 48, 120, 352)),
    "efficientnet_b3": ("EfficientNet_B3_Weights", (24, 32, 48, 136, 384)),
    "efficientnet_b4": ("EfficientNet_B4_Weights", (24, 32, 56, 160, 448)),
}
_REGNET = {  # arch: (enum, channels of stem, block1..4)
    "regnet_y_400mf": ("RegNet_Y_400MF_Weights", (32, 48, 104, 208, 440)),
    "regnet_y_800mf": ("RegNet_Y_800MF_Weights", (32, 64, 144, 320, 784)),
    "regnet_x_400mf": ("RegNet_X_400MF_Weights", (32, 32, 64, 160, 400)),
}
_CONVNEXT = {
    "convnext_tiny": ("ConvNeXt_Tiny_Weights", (96, 192, 384, 768)),
    "convnext_small": ("ConvNeXt_Small_Weights", (96, 192, 384, 768)),
    "convnext_base": ("ConvNeXt_Base_Weights", (128, 256, 512, 1024)),
}
_SWIN = {
    "swin_t": ("Swin_T_Weights", (96, 192, 384, 768)),
    "swin_s": ("Swin_S_Weights", (96, 192, 384, 768)),
    "swin_b": ("Swin_B_Weights", (128, 256, 512, 1024)),
}
_STAGE_TAPS = ("features.1", "features.3", "features.5", "features.7")


def _table() -> dict[str, ArchSpec]:
    specs = [
        ArchSpec(
            "alexnet", "alexnet",
            ("features.1", "features.4", "features.7", "features.9", "features.11"),
            (64, 192, 384, 256, 256), (4, 8, 16, 16, 16), "nchw", "AlexNet_Weights", 31,
        ),
    ]  # fmt: skip
    for name, convs in _VGG_CONVS.items():
        stem = name[3:]
        specs.append(_vgg(name, f"VGG{stem}_Weights", convs, bn=False))
        specs.append(_vgg(f"{name}_bn", f"VGG{stem}_BN_Weights", convs, bn=True))
    basic, bottleneck = (64, 64, 128, 256, 512), (64, 256, 512, 1024, 2048)
    specs += [
        _resnet("resnet18", "ResNet18_Weights", basic),
        _resnet("resnet34", "ResNet34_Weights", basic),
        _resnet("resnet50", "ResNet50_Weights", bottleneck),
        _resnet("resnet101", "ResNet101_Weights", bottleneck),
        _resnet("resnet152", "ResNet152_Weights", bottleneck),
        _resnet("resnext50_32x4d", "ResNeXt50_32X4D_Weights", bottleneck),
        _resnet("wide_resnet50_2", "Wide_ResNet50_2_Weights", bottleneck),
    ]
    specs.append(
        ArchSpec(
            "googlenet", "googlenet",
            ("conv1", "conv3", "inception3b", "inception4e", "inception5b"),
            (64, 192, 480, 832, 1024), _RESNET_STRIDES, "nchw", "GoogLeNet_Weights", 32,
            # The checkpoint's configuration: torchvision builds it so when loading weights.
            builder_kwargs=(("aux_logits", False), ("transform_input", True),
                            ("init_weights", True)),
        )
    )  # fmt: skip
    specs.append(
        _stages(
            "mobilenet_v3_large", "mobilenet_v3",
            ("features.1", "features.3", "features.6", "features.12", "features.15"),
            (16, 24, 40, 112, 160), "MobileNet_V3_Large_Weights",
        )
    )  # fmt: skip
    for name, (enum, channels) in _EFFNET.items():
        taps = ("features.1", "features.2", "features.3", "features.5", "features.7")
        specs.append(_stages(name, "efficientnet", taps, channels, enum))
    for name, (enum, channels) in _REGNET.items():
        taps = ("stem", *(f"trunk_output.block{i}" for i in range(1, 5)))
        specs.append(_stages(name, "regnet", taps, channels, enum))
    for name, (enum, channels) in _CONVNEXT.items():
        specs.append(_stages(name, "convnext", _STAGE_TAPS, channels, enum, (4, 8, 16, 32)))
    for name, (enum, channels) in _SWIN.items():
        specs.append(
            _stages(name, "swin", _STAGE_TAPS, channels, enum, (4, 8, 16, 32), layout="nhwc")
        )
    specs += [
        _vit("vit_b_16", "ViT_B_16_Weights", 12, 768, 16),
        _vit("vit_b_32", "ViT_B_32_Weights", 12, 768, 32),
        _vit("vit_l_16", "ViT_L_16_Weights", 24, 1024, 16),
    ]
    return {spec.arch: spec for spec in specs}


ARCHS: dict[str, ArchSpec] = _table()


def is_deep(net: str) -> bool:
    """True for a zoo net name such as ``"deep-resnet18"``."""
    return isinstance(net, str) and net.startswith(PREFIX) and net[len(PREFIX) :] in ARCHS


def arch_of(net: str) -> str:
    """``"deep-resnet18"`` → ``"resnet18"``.

    Raises:
        ValueError: Not a zoo net (the message lists them).
    """
    if not is_deep(net):
        raise ValueError(f"unknown deep-feature net {net!r}; choose from {', '.join(zoo_nets())}")
    return net[len(PREFIX) :]


def zoo_nets() -> tuple[str, ...]:
    """Every zoo net name, ``deep-<arch>``, in table order."""
    return tuple(spec.net for spec in ARCHS.values())


def metric_for_net(net: str) -> str:
    """Registry name of the metric a trainable net gives: ``alex`` → ``lpips-alex``,
    ``deep-resnet18`` → ``deep-resnet18``."""
    return net if is_deep(net) else f"lpips-{net}"


# ImageNet-1K top-1 accuracy (%) of the checkpoint each net's "imagenet" weights name (the enum's
# IMAGENET1K_V1, else DEFAULT), as torchvision's weight metadata states it; kept here so that the
# platform's web tier can show it without torch. tests/metrics/test_deep_zoo.py checks every value
# against torchvision's metadata.
IMAGENET_TOP1: dict[str, float] = {
    "alexnet": 56.522,
    "vgg11": 69.02,
    "vgg11_bn": 70.37,
    "vgg13": 69.928,
    "vgg13_bn": 71.586,
    "vgg16": 71.592,
    "vgg16_bn": 73.36,
    "vgg19": 72.376,
    "vgg19_bn": 74.218,
    "resnet18": 69.758,
    "resnet34": 73.314,
    "resnet50": 76.13,
    "resnet101": 77.374,
    "resnet152": 78.312,
    "resnext50_32x4d": 77.618,
    "wide_resnet50_2": 78.468,
    "googlenet": 69.778,
    "mobilenet_v3_large": 74.042,
    "efficientnet_b0": 77.692,
    "efficientnet_b1": 78.642,
    "efficientnet_b2": 80.608,
    "efficientnet_b3": 82.008,
    "efficientnet_b4": 83.384,
    "regnet_y_400mf": 74.046,
    "regnet_y_800mf": 76.42,
    "regnet_x_400mf": 72.834,
    "convnext_tiny": 82.52,
    "convnext_small": 83.616,
    "convnext_base": 84.062,
    "swin_t": 81.474,
    "swin_s": 83.196,
    "swin_b": 83.582,
    "vit_b_16": 81.072,
    "vit_b_32": 75.912,
    "vit_l_16": 79.662,
}


def imagenet_top1(net: str) -> float | None:
    """ImageNet-1K top-1 (%) of a zoo net's ImageNet checkpoint; None for other nets."""
    return IMAGENET_TOP1.get(net[len(PREFIX) :]) if is_deep(net) else None
