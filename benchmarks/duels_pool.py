"""A gMAD candidate pool from real photographs, shared by ``bench_duels.py`` and ``duels_figures.py``.

References are 64×64 patches cut (``experiments.patches.sample_patch``) from scikit-image's bundled
photographs; each gets every listed traditional distortion at a grid of severities (nuisance values
seeded per candidate), as a duel study's pool would be built. Returns float32 tensors in [0, 1].
"""

from __future__ import annotations

import hashlib
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

FAMILIES = (
    "gaussian_white_noise",
    "pink_noise",
    "blue_noise",
    "gaussian_blur",
    "jpeg",
    "contrast",
    "lightness_shift",
    "color_shift",
    "saturation",
    "shift",
    "chromatic_aberration",
    "ghosting",
)
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina")


def references(count: int, *, size: int = 64, seed: int = 0) -> np.ndarray:
    """``count`` textured size×size uint8 patches, spread over the bundled photographs."""
    import skimage.data

    from experiments.patches import sample_patch
    from experiments.png import encode_png

    out = []
    for k in range(count):
        name = PHOTOS[k % len(PHOTOS)]
        image = np.ascontiguousarray(getattr(skimage.data, name)()[..., :3])
        sha = hashlib.sha256(encode_png(image)).hexdigest()
        out.append(
            sample_patch(image, image_sha256=sha, seed=seed, index=k // len(PHOTOS), size=size)
        )
    return np.stack([p.pixels for p in out])


def build_pool(
    refs: np.ndarray, *, severities: int = 10, families: tuple[str, ...] = FAMILIES, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, list[tuple[str, float]]]:
    """Distort every reference with every family at ``severities`` levels in (0, 1].

    Returns:
        refs R×3×H×W, candidates R×C×3×H×W (float32 in [0, 1]) and the (family, severity) of
        each of the C columns.
    """
    import experiments

    grid = np.linspace(1.0 / severities, 1.0, severities)
    columns = [(f, float(s)) for f in families for s in grid]
    cands = np.empty((len(refs), len(columns), *refs.shape[1:]), dtype=np.uint8)
    for r, patch in enumerate(refs):
        for c, (family, s) in enumerate(columns):
            info = experiments.get_distortion(family)
            rng = np.random.default_rng([seed, r, c])
            cands[r, c] = info.apply(patch, **info.sample_params(rng, s))
    to_t = lambda a: torch.from_numpy(a).movedim(-1, -3).float().div_(255.0)  # noqa: E731
    return to_t(refs), to_t(cands), columns
