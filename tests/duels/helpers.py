"""Duel studies for tests: an image set of a few photographs-like images and a small design."""

from __future__ import annotations

import numpy as np
from PIL import Image

from studies import services as study_services


def smooth_png(seed: int, size: int = 96) -> bytes:
    """A smooth random picture (sums of blurred noise and gradients), less flat than noise is."""
    import io

    rng = np.random.default_rng(seed)
    base = rng.random((size // 8, size // 8, 3))
    image = Image.fromarray((base * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
    pixels = np.asarray(image).astype(np.float64)
    pixels += rng.normal(0, 12, pixels.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


def duel_image_set(owner, *, images: int = 2, name: str = "duel photos"):
    image_set = study_services.image_set_create(owner=owner, name=name)
    for i in range(images):
        study_services.reference_images_upload(
            image_set=image_set, data=smooth_png(100 + i), name=f"img{i}.png"
        )
    return image_set


FAMILIES = [
    {"name": "gaussian_blur", "severity_min": 0.0, "severity_max": 1.0},
    {"name": "gaussian_white_noise", "severity_min": 0.0, "severity_max": 1.0},
]


def small_design(**overrides) -> dict:
    design = {
        "metrics": ["l2", "ssim"],
        "distortions": FAMILIES,
        "method": "selection",
        "levels": 2,
        "pairs_per_level": 2,
        "tolerance": 0.1,
        "severity_steps": 8,
        "patches_per_image": 2,
        "patch_size": 32,
        "seed": 17,
        "judgments_val": 2,
        "sentinel_rate": 0.1,
        "assignment_size": 20,
    }
    design.update(overrides)
    return design
