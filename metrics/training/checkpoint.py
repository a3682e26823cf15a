"""Checkpoints of a fit: atomic files in one directory, the latest one found by name.

A checkpoint is written to a hidden temporary file in the same directory, flushed to disk and
renamed over its final name (``os.replace`` is atomic on POSIX and Windows), so a worker killed
mid-write leaves either the previous checkpoints or the new one, never a truncated file. Names
sort by progress: ``ckpt-e{epochs done:03d}-s{steps into the next epoch:06d}.pt``. Files are read
with ``torch.load(weights_only=True)``: tensors and plain Python values only.

The same helpers store the fast path's vector caches (``vectors-<fingerprint>.pt``).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from metrics.training.config import TrainingError

FORMAT = "perceptlab-lpips-fit/1"
_NAME = re.compile(r"^ckpt-e(\d{3})-s(\d{6})\.pt$")
KEEP = 2


def checkpoint_name(epochs_done: int, step: int) -> str:
    """File name of the checkpoint after ``epochs_done`` epochs and ``step`` more steps."""
    return f"ckpt-e{epochs_done:03d}-s{step:06d}.pt"


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def list_checkpoints(folder: Path) -> list[tuple[int, int, Path]]:
    """``(epochs_done, step, path)`` of every checkpoint in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2)), path))
    return sorted(found)


def load_latest(folder: Path) -> dict[str, Any] | None:
    """The newest checkpoint in ``folder`` as a dict, or None when there is none.

    Raises:
        TrainingError: The newest file is not a checkpoint of this format.
    """
    found = list_checkpoints(folder)
    if not found:
        return None
    path = found[-1][2]
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors: the file is not ours or was damaged
        raise TrainingError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise TrainingError(f"{path} is not a {FORMAT} checkpoint")
    state["path"] = str(path)
    return state


def save_checkpoint(folder: Path, state: dict[str, Any], keep: int = KEEP) -> Path:
    """Write ``state`` as the checkpoint for its ``epoch``/``step`` and drop older ones.

    Args:
        folder: The checkpoint directory.
        state: Must hold ``epoch`` (epochs done) and ``step`` (steps into the next epoch).
        keep: How many of the newest checkpoints to keep.

    Returns:
        The written path.
    """
    path = folder / checkpoint_name(state["epoch"], state["step"])
    atomic_save({**state, "format": FORMAT}, path)
    for _, _, old in list_checkpoints(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_vectors(path: Path, fingerprint: str) -> dict[str, Any] | None:
    """A cached vector file if it exists and matches ``fingerprint``, else None."""
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a damaged cache is recomputed, never trusted
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint:
        return None
    return data
