"""Torch plumbing shared by the trained models: determinism, devices, tensors, a training loop.

Only imported from inside functions, never at package import (the web process has no torch).

Determinism. Training runs inside :func:`seeded`, which forks torch's global RNG (so a worker's
other torch users are unaffected), seeds it, fixes the intra-op thread count
(:data:`TRAIN_THREADS`) and turns on ``torch.use_deterministic_algorithms`` (``warn_only`` so a
CUDA op without a deterministic kernel warns instead of failing). On CPU, the same seed, patches
and thread count give the same weights bit for bit; a test checks it. Training on CUDA is not
bit-identical to CPU, which is harmless because a model is identified by its stored weights, not
by its training run. Inference always runs on CPU with :data:`APPLY_THREADS` threads, so applying
a stored model gives the same bytes in any worker of the same build.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from experiments._arrays import to_uint8

#: One intra-op thread: CPU results depend on the thread count (a test on this machine got
#: different weights with 1 and 2 threads), one thread exists everywhere, and workers
#: parallelise across processes anyway.
TRAIN_THREADS = 1
APPLY_THREADS = 1


def _torch():
    import torch

    return torch


@contextlib.contextmanager
def seeded(seed: int | None, threads: int, device: str = "cpu") -> Iterator[None]:
    """Run a block with a forked, seeded RNG, a fixed thread count and deterministic kernels."""
    torch = _torch()
    if device.startswith("cuda"):
        # cuBLAS needs this before its first deterministic call.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    previous_threads = torch.get_num_threads()
    previous_det = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    try:
        if threads != previous_threads:
            torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True, warn_only=True)
        with torch.random.fork_rng(devices=devices):
            if seed is not None:
                torch.manual_seed(seed)
            yield
    finally:
        if torch.get_num_threads() != previous_threads:
            torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_det, warn_only=previous_warn)


def pick_device(device: str | None) -> str:
    """``None`` → ``"cuda"`` when available, else ``"cpu"``; other values pass through."""
    if device is not None:
        return device
    return "cuda" if _torch().cuda.is_available() else "cpu"


def to_tensor(patches: np.ndarray) -> Any:
    """N×H×W×3 (or H×W×3) uint8 → N×3×H×W float32 CPU tensor in [0, 1]."""
    torch = _torch()
    array = patches[None] if patches.ndim == 3 else patches
    return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2))).float() / 255.0


def to_patch(tensor: Any) -> np.ndarray:
    """1×3×H×W float tensor in [0, 1] (clipped) → H×W×3 uint8, rounded as everywhere else."""
    return to_uint8(tensor.detach().cpu().numpy()[0].transpose(1, 2, 0))


def state_arrays(module: Any) -> dict[str, np.ndarray]:
    """A module's state dict as NumPy arrays (CPU), in state-dict order."""
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def load_state(module: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Load stored arrays into ``module`` (strictly), put it in eval mode on CPU."""
    torch = _torch()
    module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()})
    return module.eval()


def fit(
    module: Any,
    batch: Callable[[Any], tuple[Any, Any]],
    loss: Callable[[Any, Any], Any],
    *,
    steps: int,
    lr: float,
    device: str,
) -> list[float]:
    """Train ``module`` with Adam for ``steps`` steps; returns the loss every 10 steps.

    Args:
        module: The network (moved to ``device``).
        batch: ``batch(generator) -> (input, target)`` on CPU, drawn from a CPU generator that
            was seeded by :func:`seeded`.
        loss: ``loss(output, target) -> scalar``.
        steps: Optimiser steps.
        lr: Adam learning rate (β = 0.9, 0.999).
        device: ``cpu`` or ``cuda[:n]``.
    """
    torch = _torch()
    module.to(device).train()
    optimiser = torch.optim.Adam(module.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, ()).item()))
    history = []
    for step in range(steps):
        inputs, target = batch(generator)
        value = loss(module(inputs.to(device)), target.to(device))
        optimiser.zero_grad(set_to_none=True)
        value.backward()
        optimiser.step()
        if step % 10 == 0 or step == steps - 1:
            history.append(round(float(value.detach().cpu()), 6))
    module.cpu().eval()
    return history


def run_cpu(fn: Callable[[], Any]) -> Any:
    """Call ``fn`` under ``inference_mode`` with :data:`APPLY_THREADS` intra-op threads."""
    torch = _torch()
    with seeded(None, APPLY_THREADS), torch.inference_mode():
        return fn()
