"""Shared helpers for the metrics tests: random images and official-LPIPS twins of our models.

The official ``lpips`` package is the reference here and only here (it never enters
``metrics/``). Its trunk is built random (``pnet_rand=True``, no download) and then given our
random trunk's weights, so both compute with the same trunk; its lin weights come from its own
package files, ours from our shipped copies.
"""

from __future__ import annotations

import functools
import warnings

import torch

import metrics


def images(
    shape: tuple[int, ...], *, seed: int, low: float = 0.0, high: float = 1.0
) -> torch.Tensor:
    """Uniform random images in [low, high], reproducible from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g) * (high - low) + low


def near(
    x: torch.Tensor, *, seed: int, noise: float, low: float = 0.0, high: float = 1.0
) -> torch.Tensor:
    """``x`` plus Gaussian noise of standard deviation ``noise``, clipped to [low, high]."""
    g = torch.Generator().manual_seed(seed)
    return (x + noise * torch.randn(x.shape, generator=g)).clamp(low, high)


@functools.cache
def ours(net: str, version: str = "0.1", variant: str = "lin", spatial: bool = False):
    """Our LPIPS with a seeded random trunk on the CPU (cached: tests must not mutate it)."""
    return metrics.create_metric(
        f"lpips-{net}",
        version=version,
        variant=variant,
        trunk_weights=None,
        spatial=spatial,
        device="cpu",
    )


@functools.cache
def official(net: str, version: str = "0.1", variant: str = "lin", spatial: bool = False):
    """The official LPIPS with our random trunk's weights copied into its slices (cached)."""
    import lpips

    model = ours(net, version, variant)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's `pretrained` deprecation warnings
        ref = lpips.LPIPS(
            net=net,
            version=version,
            lpips=variant == "lin",
            spatial=spatial,
            pnet_rand=True,
            verbose=False,
        )
    state = ref.state_dict()
    trunk = model.trunk.features.state_dict()
    copied = 0
    for key in state:
        if key.startswith("net.slice"):
            # net.slice<k>.<features index>.<weight|bias>  <->  <features index>.<weight|bias>
            state[key] = trunk[key.split(".", 2)[2]].clone()
            copied += 1
    assert copied == len(trunk), "every trunk tensor must be copied into the official model"
    ref.load_state_dict(state)
    return ref.eval()
