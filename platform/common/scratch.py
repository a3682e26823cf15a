"""Workers' temporary folders that do not outlive a killed worker.

A task that is SIGKILLed never runs its `finally` blocks, so a `TemporaryDirectory` of an export,
an import or a fit (tens of MB) would stay behind for good. Here every process keeps its folders
under one folder of its own, `<PERCEPTLAB_SCRATCH_DIR>/w-<pid>-<random>/`, holding an exclusive
`flock` on its `owner.lock` for as long as it lives; the kernel drops the lock when the process
dies, however it dies. `sweep_dead()` removes every folder whose lock it can take (its owner is
gone); it runs when a worker starts and each time a task asks for a new folder (a re-delivered
task runs in a new process: the killed one's folder is removed then). Per host: each host sweeps
its own disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.conf import settings

STALE_STAGING_S = 3600  # a folder killed between its creation and its lock
_owner: tuple[int, Path, IO[str]] | None = None


def scratch_root() -> Path:
    configured = settings.PERCEPTLAB_SCRATCH_DIR
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "perceptlab"


def _own_folder() -> Path:
    """This process's folder, made and locked on first use (again after a fork)."""
    global _owner
    root = scratch_root()
    mine = _owner is not None and _owner[0] == os.getpid()
    if mine and _owner[1].parent == root and _owner[1].is_dir():
        return _owner[1]
    if mine:
        _owner[2].close()  # the root changed (tests) or the folder went: start a new one
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".new-", dir=root))
    handle = (staging / "owner.lock").open("w")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    folder = root / f"w-{os.getpid()}-{staging.name.removeprefix('.new-')}"
    staging.rename(folder)  # only locked folders carry the w- prefix the sweep looks at
    _owner = (os.getpid(), folder, handle)
    return folder


def sweep_dead() -> list[Path]:
    """Remove the folders of processes that died; returns what was removed."""
    root = scratch_root()
    if not root.is_dir():
        return []
    removed = []
    for entry in root.iterdir():
        if entry.name.startswith("w-") and entry.is_dir():
            try:
                handle = (entry / "owner.lock").open("a")
            except OSError:  # being removed by another sweep
                continue
            with handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # its process is alive (this one included)
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        elif entry.name.startswith(".new-"):
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime > STALE_STAGING_S:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry)
    return removed


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder for one task, removed when the block ends or, if the process is
    killed first, by the next sweep."""
    sweep_dead()
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=_own_folder()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
