"""Geometric spatial distortions (BAPPS Table 2): shifting, affine warp, homography, linear
warping and cubic warping.

Each kernel builds a backward map from output pixels to source positions (see
:mod:`experiments.distortions._warp`) and resamples bilinearly with reflected borders. Coordinates
are ``(x, y) = (column, row)`` in pixels, and the centre of an H×W patch is
``c = ((W - 1)/2, (H - 1)/2)``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import ndimage

from experiments.distortions._warp import pixel_grid, warp
from experiments.registry import DistortionInfo, ParamSpec, register

MAX_SHIFT = 8.0
MAX_AFFINE = 0.2
MAX_AFFINE_SHIFT = 4.0
MAX_CORNER = 8.0
MAX_FIELD = 4.0
GRID = 4  # control points per side of the smooth displacement field


def shift(patch: np.ndarray, *, dx: float, dy: float) -> np.ndarray:
    """Translate by ``(dx, dy)`` pixels: :math:`y(p) = x(p - (d_x, d_y))`.

    Args:
        patch: H×W×3 uint8.
        dx, dy: Sub-pixel offsets in ``[-8, 8]``.
    """
    rows, cols = pixel_grid(*patch.shape[:2])
    return warp(patch, rows - np.float32(dy), cols - np.float32(dx))


def affine_warp(
    patch: np.ndarray, *, a: float, b: float, c: float, d: float, tx: float, ty: float
) -> np.ndarray:
    """Affine warp about the centre: source :math:`q = c + A (p - c) + t`,
    :math:`A = \\begin{pmatrix}1 + a & b\\\\ c & 1 + d\\end{pmatrix}` acting on ``(x, y)``.

    Args:
        patch: H×W×3 uint8.
        a, b, c, d: Deviations of ``A`` from the identity, each in ``[-0.2, 0.2]``.
        tx, ty: Translation in ``[-4, 4]`` pixels.
    """
    h, w, _ = patch.shape
    rows, cols = pixel_grid(h, w)
    u, v = cols - (w - 1) / 2.0, rows - (h - 1) / 2.0
    src_x = (1.0 + a) * u + b * v + (w - 1) / 2.0 + tx
    src_y = c * u + (1.0 + d) * v + (h - 1) / 2.0 + ty
    return warp(patch, src_y.astype(np.float32), src_x.astype(np.float32))


def homography_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3×3 projective map ``H`` (with ``H[2, 2] = 1``) sending four points ``src`` to ``dst``.

    Solves the 8×8 linear system from :math:`x' (h_{20} x + h_{21} y + 1) = h_{00} x + h_{01} y +
    h_{02}` and the same for ``y'`` (the direct linear transform with four correspondences).

    Args:
        src, dst: 4×2 arrays of ``(x, y)`` points, no three collinear.
    """
    rows = []
    rhs = []
    for (x, y), (xp, yp) in zip(src, dst, strict=True):
        rows.append([x, y, 1.0, 0.0, 0.0, 0.0, -x * xp, -y * xp])
        rows.append([0.0, 0.0, 0.0, x, y, 1.0, -x * yp, -y * yp])
        rhs.extend([xp, yp])
    h = np.linalg.solve(np.array(rows), np.array(rhs))
    return np.append(h, 1.0).reshape(3, 3)


def homography(patch: np.ndarray, *, offsets: list[float]) -> np.ndarray:
    """Projective warp that moves the four corners by ``offsets``.

    The corner ``k`` of the output (top-left, top-right, bottom-right, bottom-left) samples the
    source at that corner plus ``(offsets[2k], offsets[2k+1])``; other pixels follow the
    homography through those four correspondences.

    Args:
        patch: H×W×3 uint8.
        offsets: Eight numbers in ``[-8, 8]`` pixels.
    """
    h, w, _ = patch.shape
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64)
    matrix = homography_matrix(
        corners, corners + np.asarray(offsets, dtype=np.float64).reshape(4, 2)
    )
    rows, cols = pixel_grid(h, w)
    ones = np.ones_like(cols)
    sx, sy, sw = np.einsum("ij,jhw->ihw", matrix, np.stack([cols, rows, ones]).astype(np.float64))
    return warp(patch, (sy / sw).astype(np.float32), (sx / sw).astype(np.float32))


@functools.lru_cache(maxsize=32)
def _lattice_weights(n: int, order: int) -> np.ndarray:
    """n×GRID matrix taking GRID control values to n samples spanning them end to end.

    Spline interpolation in ``scipy.ndimage`` is separable and linear in the control values, so
    interpolating each unit vector once gives the weights, and a 2-D field is ``A_h G A_w^T``.
    """
    coords = np.linspace(0.0, GRID - 1.0, n)[None, :]
    return np.stack(
        [
            ndimage.map_coordinates(np.eye(GRID)[k], coords, order=order, mode="nearest")
            for k in range(GRID)
        ],
        axis=1,
    )


def _field_warp(patch: np.ndarray, field: list[float], order: int) -> np.ndarray:
    h, w, _ = patch.shape
    grid = np.asarray(field, dtype=np.float64).reshape(2, GRID, GRID)
    weights_h, weights_w = _lattice_weights(h, order), _lattice_weights(w, order)
    # Control points sit on a GRID×GRID lattice spanning the patch corner to corner.
    dense_x = weights_h @ grid[0] @ weights_w.T
    dense_y = weights_h @ grid[1] @ weights_w.T
    rows, cols = pixel_grid(h, w)
    return warp(patch, (rows + dense_y).astype(np.float32), (cols + dense_x).astype(np.float32))


def linear_warping(patch: np.ndarray, *, field: list[float]) -> np.ndarray:
    """Smooth non-rigid warp: a 4×4 lattice of displacements, bilinearly interpolated.

    Source :math:`q = p + D(p)`, with ``D`` the bilinear interpolant of the control displacements.

    Args:
        patch: H×W×3 uint8.
        field: 32 numbers in ``[-4, 4]`` pixels: the 16 x-displacements then the 16
            y-displacements, each row-major over the lattice.
    """
    return _field_warp(patch, field, order=1)


def cubic_warping(patch: np.ndarray, *, field: list[float]) -> np.ndarray:
    """As :func:`linear_warping`, with a cubic B-spline interpolant of the lattice (smoother)."""
    return _field_warp(patch, field, order=3)


def _sample_shift(rng, s):
    angle = rng.uniform(0.0, 2.0 * math.pi)
    return {"dx": MAX_SHIFT * s * math.cos(angle), "dy": MAX_SHIFT * s * math.sin(angle)}


def _sample_affine(rng, s):
    a, b, c, d = (MAX_AFFINE * s * v for v in rng.uniform(-1.0, 1.0, size=4))
    tx, ty = (MAX_AFFINE_SHIFT * s * v for v in rng.uniform(-1.0, 1.0, size=2))
    return {"a": a, "b": b, "c": c, "d": d, "tx": tx, "ty": ty}


def _sample_homography(rng, s):
    return {"offsets": [MAX_CORNER * s * v for v in rng.uniform(-1.0, 1.0, size=8)]}


def _sample_field(rng, s):
    return {"field": [MAX_FIELD * s * v for v in rng.uniform(-1.0, 1.0, size=2 * GRID * GRID)]}


def _info(name, description, severity, params):
    return DistortionInfo(
        name=name,
        family="spatial",
        category="traditional",
        description=description,
        severity=severity,
        params=params,
    )


_FIELD = (
    ParamSpec(
        "field",
        "floats",
        -MAX_FIELD,
        MAX_FIELD,
        length=2 * GRID * GRID,
        description="4×4 lattice of (dx, dy) displacements, px",
    ),
)
register(
    _info(
        "shift",
        "Sub-pixel translation with reflected borders.",
        "offset length = 8·s px, direction uniform.",
        (
            ParamSpec("dx", "float", -MAX_SHIFT, MAX_SHIFT, description="x offset (px)"),
            ParamSpec("dy", "float", -MAX_SHIFT, MAX_SHIFT, description="y offset (px)"),
        ),
    ),
    sample=_sample_shift,
    apply=shift,
)
register(
    _info(
        "affine_warp",
        "Random affine map about the patch centre.",
        "each matrix deviation uniform in ±0.2·s, translation in ±4·s px.",
        (
            *(
                ParamSpec(n, "float", -MAX_AFFINE, MAX_AFFINE, description="matrix deviation")
                for n in "abcd"
            ),
            ParamSpec("tx", "float", -MAX_AFFINE_SHIFT, MAX_AFFINE_SHIFT, description="px"),
            ParamSpec("ty", "float", -MAX_AFFINE_SHIFT, MAX_AFFINE_SHIFT, description="px"),
        ),
    ),
    sample=_sample_affine,
    apply=affine_warp,
)
register(
    _info(
        "homography",
        "Projective warp moving the four corners.",
        "each corner coordinate moves uniformly in ±8·s px.",
        (
            ParamSpec(
                "offsets",
                "floats",
                -MAX_CORNER,
                MAX_CORNER,
                length=8,
                description="corner offsets (px)",
            ),
        ),
    ),
    sample=_sample_homography,
    apply=homography,
)
register(
    _info(
        "linear_warping",
        "Smooth warp from a 4×4 displacement lattice, bilinear.",
        "each control displacement uniform in ±4·s px.",
        _FIELD,
    ),
    sample=_sample_field,
    apply=linear_warping,
)
register(
    _info(
        "cubic_warping",
        "Smooth warp from a 4×4 displacement lattice, cubic spline.",
        "each control displacement uniform in ±4·s px.",
        _FIELD,
    ),
    sample=_sample_field,
    apply=cubic_warping,
)
