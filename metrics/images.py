"""Reading image files into batches for the metrics (Pillow; no resizing, no colour management).

Images load as RGB in [0, 1] and are then mapped linearly onto a metric's declared input range,
so callers never have to remember which range a metric takes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def load_image(path: str | os.PathLike[str]) -> torch.Tensor:
    """Load one image file as a 3×H×W float32 tensor, RGB in [0, 1].

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not an image Pillow can read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except UnidentifiedImageError as exc:
        raise ValueError(f"{path} is not a readable image: {exc}") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) of an image file, read from its header only.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not an image Pillow can read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except UnidentifiedImageError as exc:
        raise ValueError(f"{path} is not a readable image: {exc}") from None


def load_batch(paths: Sequence[str | os.PathLike[str]]) -> torch.Tensor:
    """Load images of one size into an N×3×H×W float32 tensor in [0, 1].

    Raises:
        ValueError: When the images differ in size (the message names two of them).
    """
    images = [load_image(p) for p in paths]
    first = images[0].shape
    for path, image in zip(paths, images, strict=True):
        if image.shape != first:
            raise ValueError(
                f"images in one batch must share a size: {paths[0]} is {first[2]}×{first[1]}, "
                f"{path} is {image.shape[2]}×{image.shape[1]}"
            )
    return torch.stack(images)


def to_range(x01: torch.Tensor, input_range: tuple[float, float]) -> torch.Tensor:
    """Map [0, 1] values linearly onto ``input_range`` (e.g. 2x − 1 for [-1, 1])."""
    low, high = input_range
    if (low, high) == (0.0, 1.0):
        return x01
    return x01 * (high - low) + low


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name.

    Raises:
        NotADirectoryError: ``folder`` is not a directory.
    """
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
