"""LPIPS lin-layer weights: the shipped official files, their checksums, and key remapping.

The official v0.0 and v0.1 lin weights for the three trunks (BSD-2-Clause, see
``metrics/weights/LICENSE``) ship inside this package, so LPIPS works offline. Each file is checked
against ``metrics/weights/manifest.json`` (sha256) before it is used.

Weights are stored by layer index, whatever the module names: the official key format
``lin{k}.model.1.weight`` (``model.0`` when the official net was built without dropout), our own
``lin.{k}``, shapes (1, C, 1, 1) or (C,). Every layer must be present, finite and non-negative
(the model's constraint; negative values are the mark of weights that were silently not loaded).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"
VERSIONS = ("0.1", "0.0")

_KEY_PATTERNS = (
    re.compile(r"^lin(\d+)\.model\.[01]\.weight$"),  # official LPIPS module
    re.compile(r"^lin\.(\d+)$"),  # metrics.lpips.LPIPS
)


class WeightsChecksumError(RuntimeError):
    """A shipped weights file does not match its sha256 in the manifest."""


def shipped_path(net: str, version: str) -> Path:
    """Path of the shipped official lin weights for a trunk and version."""
    if version not in VERSIONS:
        raise ValueError(f"LPIPS version must be '0.1' or '0.0', got {version!r}")
    return WEIGHTS_DIR / f"v{version}" / f"{net}.pth"


def load_manifest() -> dict[str, dict[str, object]]:
    """The manifest: relative path → {"sha256": hex, "bytes": size}."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))["files"]


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_shipped(path: Path) -> None:
    """Check a shipped file against the manifest.

    Raises:
        WeightsChecksumError: Missing from the manifest, missing on disk, or a different sha256.
    """
    key = path.relative_to(WEIGHTS_DIR).as_posix()
    entry = load_manifest().get(key)
    if entry is None:
        raise WeightsChecksumError(f"{key} is not listed in {MANIFEST}")
    if not path.is_file():
        raise WeightsChecksumError(f"shipped weights file {path} is missing; reinstall perceptlab")
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise WeightsChecksumError(
            f"{path} has sha256 {actual}, expected {entry['sha256']}: the file is damaged or was "
            "replaced; reinstall perceptlab"
        )


def parse_lin_state(
    state: Mapping[str, object], channels: tuple[int, ...], source: str
) -> list[torch.Tensor]:
    """Turn a lin state dict (official or our key names) into one (C_l,) tensor per layer.

    Args:
        state: Mapping of key → tensor.
        channels: Expected channels of each layer.
        source: Shown in error messages.

    Raises:
        ValueError: Unknown keys, missing or duplicate layers, wrong shapes, negative or
            non-finite values.
    """
    layers: dict[int, torch.Tensor] = {}
    unknown = []
    for key, value in state.items():
        match = next((m for p in _KEY_PATTERNS if (m := p.match(str(key)))), None)
        if match is None:
            unknown.append(str(key))
            continue
        index = int(match.group(1))
        if index in layers:
            raise ValueError(f"{source}: layer {index} appears twice (key {key!r})")
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{source}: {key!r} is a {type(value).__name__}, not a tensor")
        layers[index] = value
    if unknown:
        raise ValueError(
            f"{source}: unexpected key(s) {', '.join(unknown[:4])}"
            f"{' …' if len(unknown) > 4 else ''}; lin weights use 'lin{{k}}.model.1.weight' "
            "(official) or 'lin.{k}'"
        )
    expected = set(range(len(channels)))
    if set(layers) != expected:
        raise ValueError(
            f"{source}: expected lin layers {sorted(expected)}, found {sorted(layers)}"
        )
    weights = []
    for index, width in enumerate(channels):
        w = layers[index].detach().to("cpu", torch.float32)
        if w.numel() != width or w.shape not in ((width,), (1, width, 1, 1)):
            raise ValueError(
                f"{source}: layer {index} has shape {tuple(w.shape)}, "
                f"expected ({width},) or (1, {width}, 1, 1)"
            )
        w = w.reshape(width)
        if not torch.isfinite(w).all():
            raise ValueError(f"{source}: layer {index} contains NaN or infinite weights")
        if (w < 0).any():
            raise ValueError(
                f"{source}: layer {index} has negative weights (min {w.min().item():.4g}); LPIPS "
                "lin weights are non-negative (weights that were never trained or loaded look "
                "like this)"
            )
        weights.append(w.clone())
    return weights


def load_lin_weights(
    net: str,
    channels: tuple[int, ...],
    *,
    version: str,
    source: str | os.PathLike[str] | Mapping[str, object] | None,
) -> list[torch.Tensor]:
    """Load lin weights from the shipped files, a file, or a state dict.

    Args:
        net: Trunk name, for the shipped file.
        channels: Channels per layer.
        version: ``"0.1"`` or ``"0.0"``, for the shipped file.
        source: None for the shipped official weights (sha256-checked), a path to a .pth state
            dict, or a mapping.

    Returns:
        One float32 (C_l,) tensor per layer.

    Raises:
        FileNotFoundError: A given path does not exist.
        WeightsChecksumError: A shipped file is damaged.
        ValueError: The weights are malformed (see ``parse_lin_state``).
    """
    if source is None:
        path = shipped_path(net, version)
        verify_shipped(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
        label = f"shipped v{version}/{net}.pth"
    elif isinstance(source, Mapping):
        state, label = source, "lin_weights"
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"lin weights file {path} does not exist")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle, zip and torch errors: the file is not a state dict
            raise ValueError(f"could not read {path} as a torch state dict: {exc}") from exc
        label = str(path)
    if not isinstance(state, Mapping):
        raise ValueError(f"{label} holds a {type(state).__name__}, not a state dict")
    return parse_lin_state(state, channels, label)
