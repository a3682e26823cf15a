"""A native CPU kernel for the LPIPS comparison, compiled on first use; PyTorch ops otherwise.

``pair_means`` computes, for pairs of interleaved batches of a trunk tap, the per-image,
per-channel spatial means of squared differences of channel-normalised features (steps 2–3 of
LPIPS and the spatial mean of step 4), reading each image from memory once (``compare.c``).
The eager version in ``metrics.lpips.model`` makes five to six passes over the taps; for
SqueezeNet at 64×64, whose taps are about 10× its input, they took about an eighth of the
trunk's own time (15 of 120 ms for 128 pairs on one thread, docs/performance.md).

The kernel is plain C (no PyTorch headers: it takes data pointers and strides through
``ctypes``), built with the system C compiler on first use (0.2 s here) with
``-O3 -march=native -fopenmp``, and kept in a cache folder keyed by the source, the flags, the
compiler and the CPU (``cache_dir``). Its OpenMP parallel loop runs on the OpenMP runtime torch
has already loaded (the same ``libgomp.so.1``), with torch's thread count.

Without a compiler, on other platforms, or with ``PERCEPTLAB_NATIVE=0``, ``kernel()`` returns
None and LPIPS uses PyTorch ops (the results agree within float rounding; tests check both).
A failed build is logged once per process as a warning, with the compiler's message.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("compare.c")
FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-fopenmp", "-shared", "-fPIC")
MAX_CHANNELS = 4096  # LPIPS_MAX_CHANNELS in compare.c
ENV_SWITCH = "PERCEPTLAB_NATIVE"

# lpips_pair_means(tap, n, k, c, h, w, s_img, s_h, s_w, pairs, npairs, eps, out, nthreads)
_ARGTYPES = [
    ctypes.c_void_p,
    *[ctypes.c_int64] * 8,
    ctypes.c_void_p,
    ctypes.c_int64,
    ctypes.c_float,
    ctypes.c_void_p,
    ctypes.c_int,
]

_lock = threading.Lock()
_state: dict[str, object] = {}


def enabled() -> bool:
    """False when ``PERCEPTLAB_NATIVE`` is set to 0/false/no/off."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def cache_dir() -> Path:
    """Where built kernels are kept: ``$PERCEPTLAB_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/perceptlab``, else ``~/.cache/perceptlab``; a ``kernels`` folder in it."""
    root = os.environ.get("PERCEPTLAB_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "perceptlab") if xdg else os.path.expanduser("~/.cache/perceptlab")
    return Path(root) / "kernels"


def _compiler() -> str | None:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    return cc.split()[0] if cc else None


def _cpu_identity() -> str:
    """The CPU's model and feature flags (``-march=native`` builds for exactly these)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    keep = [line for line in lines if line.startswith(("model name", "flags", "Features"))]
    return "\n".join(sorted(set(keep)))


def _build(cc: str) -> Path:
    """Compile ``compare.c`` into the cache (unless already there) and return the library."""
    version = subprocess.run(
        [cc, "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    key = hashlib.sha256(
        "\0".join([SOURCE.read_text(), " ".join(FLAGS), version, _cpu_identity()]).encode()
    ).hexdigest()[:16]
    target = cache_dir() / key / "lpips_compare.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename: workers starting together never load a partial file.
    fd, partial = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        result = subprocess.run(
            [cc, *FLAGS, str(SOURCE), "-o", partial, "-lm"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{cc} failed: {result.stderr.strip() or result.stdout.strip()}")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target


def kernel():
    """The loaded ``lpips_pair_means`` function, or None where the kernel cannot be had."""
    if not enabled():
        return None
    with _lock:
        if "function" in _state:
            return _state["function"]
        function = None
        if sys.platform.startswith("linux"):
            cc = _compiler()
            if cc is None:
                logger.warning(
                    "no C compiler (cc/gcc, or $CC) found: LPIPS compares taps with PyTorch ops "
                    "(slower on CPU)."
                )
            else:
                try:
                    library = ctypes.CDLL(str(_build(cc)))
                    function = library.lpips_pair_means
                    function.restype = ctypes.c_int
                    function.argtypes = _ARGTYPES
                except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                    logger.warning(
                        "building the native LPIPS kernel failed (%s); PyTorch ops are used instead",
                        exc,
                    )
                    function = None
        _state["function"] = function
        return function


def reset() -> None:
    """Forget the loaded kernel (tests; the next ``kernel()`` call loads or builds anew)."""
    with _lock:
        _state.clear()


def supports(tap: torch.Tensor) -> bool:
    """Whether ``pair_means`` can take this tap: CPU float32, 4-D, channels innermost."""
    return (
        tap.device.type == "cpu"
        and tap.dtype == torch.float32
        and tap.dim() == 4
        and tap.stride(1) == 1
        and 1 <= tap.shape[1] <= MAX_CHANNELS
        and min(tap.stride()) >= 0
        and tap.shape[2] > 0
        and tap.shape[3] > 0
        and not (torch.is_grad_enabled() and tap.requires_grad)
    )


def pair_means(
    function, tap: torch.Tensor, k: int, pairs: list[tuple[int, int]], eps: float
) -> torch.Tensor:
    """Spatial means of (f̂_j − f̂_i)² for each pair, shape (len(pairs), N, C).

    Args:
        function: ``kernel()``.
        tap: (k·N)×C×H×W float32 CPU tensor with ``stride(1) == 1`` (``supports``), image n of
            batch b at index n·k + b.
        k: Number of interleaved batches.
        pairs: Batch indices (i, j).
        eps: Added to the channel norms before dividing (LPIPS: 1e-10).
    """
    if not supports(tap):
        raise ValueError(
            "pair_means takes a 4-D float32 CPU tap with channels innermost (stride 1), got "
            f"{tap.dtype} {tuple(tap.shape)} with strides {tap.stride()} on {tap.device}"
        )
    if tap.shape[0] % k:
        raise ValueError(f"{tap.shape[0]} images do not split into {k} interleaved batches")
    if not all(0 <= i < k and 0 <= j < k for i, j in pairs):
        raise ValueError(f"pair indices must lie in [0, {k}), got {pairs}")
    n, c, h, w = tap.shape[0] // k, tap.shape[1], tap.shape[2], tap.shape[3]
    out = torch.empty(len(pairs), n, c, dtype=torch.float32)
    if n == 0 or not pairs:
        return out
    index = torch.tensor(pairs, dtype=torch.int64)
    status = function(
        tap.data_ptr(),
        n,
        k,
        c,
        h,
        w,
        tap.stride(0),
        tap.stride(2),
        tap.stride(3),
        index.data_ptr(),
        len(pairs),
        eps,
        out.data_ptr(),
        torch.get_num_threads(),
    )
    if status != 0:
        raise RuntimeError(f"the native LPIPS kernel rejected a tap of shape {tuple(tap.shape)}")
    return out
