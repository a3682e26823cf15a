"""Frame interpolation (BAPPS §5.3 "frameinterp"): synthesise the middle frame of a motion.

The patch is the true middle frame ``X``. Two neighbouring frames are made from it by moving and
zooming the content by half the motion each way (bilinear, reflected borders):

.. math:: F_t(p) = X\\big(c + (p - c - t\\,d) / z^{t}\\big),\\quad t = \\mp\\tfrac12

with ``d = (dx, dy)`` the displacement between the frames, ``z`` the zoom between them and ``c``
the patch centre. An interpolator sees only ``F_{-1/2}`` and ``F_{+1/2}``:

* ``frameinterp_blend``: the average of the two frames (what a naive frame-rate converter does);
* ``frameinterp_flow``: dense optical flow ``v`` from the iterative Lucas–Kanade solver
  (``F_{-1/2}(p) ≈ F_{+1/2}(p + v(p))``), both frames warped half-way and averaged;
* ``frameinterp_phase``: one global translation from phase correlation, both frames moved
  half-way by Fourier phase shifts and averaged, a global simplification of phase-based
  interpolation (Meyer et al., CVPR 2015). It cannot model the zoom.

The three share one sampler (task ``frameinterp``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from experiments._arrays import luma, to_float, to_uint8
from experiments.distortions._warp import pixel_grid, sample_channels
from experiments.registry import DistortionInfo, ParamSpec, register

MAX_MOTION = 8.0
MAX_ZOOM_LOG = math.log(1.08)
FLOW_RADIUS = 4
PHASE_UPSAMPLING = 20


def neighbour_frames(
    patch: np.ndarray, dx: float, dy: float, zoom: float
) -> tuple[np.ndarray, np.ndarray]:
    """The frames before and after ``patch`` (float32 H×W×3), see the module docs."""
    x = to_float(patch)
    h, w, _ = x.shape
    rows, cols = pixel_grid(h, w)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    frames = []
    for t in (-0.5, 0.5):
        scale = zoom**t
        frames.append(
            sample_channels(
                x,
                (cy + (rows - cy - t * dy) / scale).astype(np.float32),
                (cx + (cols - cx - t * dx) / scale).astype(np.float32),
            )
        )
    return frames[0], frames[1]


def _blend(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return 0.5 * (before + after)


def _flow(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    from skimage.registration import optical_flow_ilk

    v_rows, v_cols = optical_flow_ilk(luma(before)[..., 0], luma(after)[..., 0], radius=FLOW_RADIUS)
    rows, cols = pixel_grid(*before.shape[:2])
    half_r, half_c = 0.5 * v_rows, 0.5 * v_cols
    return 0.5 * (
        sample_channels(before, rows - half_r, cols - half_c)
        + sample_channels(after, rows + half_r, cols + half_c)
    )


def _fourier_translate(image: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``image(p - shift)`` by a phase ramp, on a reflect-padded copy to limit wrap-around."""
    from scipy import ndimage

    h, w, _ = image.shape
    pad = math.ceil(np.abs(shift).max()) + 2
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")
    spectrum = np.fft.fft2(padded, axes=(0, 1))
    moved = np.stack([ndimage.fourier_shift(spectrum[..., c], shift) for c in range(3)], -1)
    return np.real(np.fft.ifft2(moved, axes=(0, 1)))[pad : pad + h, pad : pad + w].astype(
        np.float32
    )


def _phase(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    from skimage.registration import phase_cross_correlation

    # before(p) ≈ after(p - s): the content moves by -s from one frame to the next.
    with warnings.catch_warnings():
        # A flat patch has no phase to correlate; skimage warns and returns a zero shift,
        # which is the right answer for it.
        warnings.filterwarnings("ignore", message="Could not determine RMS error")
        s, _, _ = phase_cross_correlation(
            luma(before)[..., 0], luma(after)[..., 0], upsample_factor=PHASE_UPSAMPLING
        )
    return 0.5 * (_fourier_translate(before, -0.5 * s) + _fourier_translate(after, 0.5 * s))


_METHODS = {"blend": _blend, "flow": _flow, "phase": _phase}


def frame_interpolation(
    patch: np.ndarray, *, dx: float, dy: float, zoom: float, method: str
) -> np.ndarray:
    """Make the two neighbouring frames of ``patch`` and interpolate the middle one.

    Args:
        patch: H×W×3 uint8 true middle frame.
        dx, dy: Displacement between the two frames, each in ``[-8, 8]`` pixels.
        zoom: Scale between the two frames in ``[1/1.08, 1.08]``.
        method: ``"blend"``, ``"flow"`` or ``"phase"``.
    """
    before, after = neighbour_frames(patch, dx, dy, zoom)
    return to_uint8(_METHODS[method](before, after))


def _sample(rng: np.random.Generator, s: float) -> dict:
    angle = rng.uniform(0.0, 2.0 * math.pi)
    zoom_sign = 1.0 if rng.random() < 0.5 else -1.0
    return {
        "dx": MAX_MOTION * s * math.cos(angle),
        "dy": MAX_MOTION * s * math.sin(angle),
        "zoom": math.exp(zoom_sign * MAX_ZOOM_LOG * s),
    }


_PARAMS = (
    ParamSpec("dx", "float", -MAX_MOTION, MAX_MOTION, description="motion x between frames (px)"),
    ParamSpec("dy", "float", -MAX_MOTION, MAX_MOTION, description="motion y between frames (px)"),
    ParamSpec(
        "zoom",
        "float",
        math.exp(-MAX_ZOOM_LOG),
        math.exp(MAX_ZOOM_LOG),
        description="scale change between frames",
    ),
)
_LABELS = {
    "blend": "averaging the two frames",
    "flow": "Lucas–Kanade optical flow and half-way warping",
    "phase": "global phase correlation and Fourier phase shifts",
}

for _method, _label in _LABELS.items():

    def _apply(patch, *, dx, dy, zoom, _method=_method):
        return frame_interpolation(patch, dx=dx, dy=dy, zoom=zoom, method=_method)

    register(
        DistortionInfo(
            name=f"frameinterp_{_method}",
            family="real",
            category="real",
            description=f"Middle frame of a synthetic motion, interpolated by {_label}.",
            severity="motion length = 8·s px (random direction); zoom = 1.08^(±s).",
            params=_PARAMS,
            task="frameinterp",
        ),
        sample=_sample,
        apply=_apply,
    )
