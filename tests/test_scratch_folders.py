"""Temporary folders of a killed worker process are removed by the next sweep (worker start, or
the next task that asks for a folder); those of live processes never are."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from common import scratch


@pytest.fixture
def root(settings, tmp_path):
    settings.PERCEPTLAB_SCRATCH_DIR = str(tmp_path / "scratch")
    return tmp_path / "scratch"


def _child(body) -> int:
    """Run `body` in a forked process; returns its pid once it has run (it may keep running)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            body(write)
        finally:
            os._exit(0)
    os.close(write)
    os.read(read, 1)  # the child says when its folder is written
    os.close(read)
    return pid


def _killed_mid_task(write) -> None:
    with scratch.scratch_dir(prefix="export-7-") as folder:
        (folder / "out.tar.gz").write_bytes(b"\0" * (5 * 1024 * 1024))
        os.write(write, b"1")
        os.kill(os.getpid(), signal.SIGKILL)  # no finally block runs


def _still_working(write) -> None:
    with scratch.scratch_dir(prefix="export-8-") as folder:
        (folder / "out.tar.gz").write_bytes(b"\0" * 1024)
        os.write(write, b"1")
        time.sleep(30)


def _folders(root: Path, pattern: str) -> list[Path]:
    return sorted(root.rglob(pattern))


def test_a_killed_tasks_folder_is_removed_and_a_live_ones_kept(root):
    alive = _child(_still_working)
    try:
        dead = _child(_killed_mid_task)
        os.waitpid(dead, 0)
        assert _folders(root, "export-7-*") and _folders(root, "export-8-*")
        with scratch.scratch_dir(prefix="mine-") as mine:  # sweeps first, as every task does
            assert mine.is_dir()
            assert scratch.sweep_dead() == []  # this process's own folder is alive
        assert _folders(root, "export-7-*") == []  # 5 MB left by the killed task: gone
        assert _folders(root, "export-8-*")  # the live task's folder is untouched
    finally:
        os.kill(alive, signal.SIGKILL)
        os.waitpid(alive, 0)
    scratch.sweep_dead()
    assert _folders(root, "export-*") == []


def test_a_worker_starting_sweeps_dead_folders(root):
    from studies.tasks import clean_up_after_dead_workers

    dead = _child(_killed_mid_task)
    os.waitpid(dead, 0)
    assert _folders(root, "export-7-*")
    clean_up_after_dead_workers()
    assert _folders(root, "export-7-*") == []


@pytest.mark.django_db
def test_the_bapps_export_writes_under_the_scratch_folder(root, monkeypatch, tmp_path):
    """Exports (tens of MB) use `scratch_dir`, not a bare temporary folder."""
    from analysis import exports
    from analysis.models import Dataset

    used = []

    def write_folder(dataset, folder):
        used.append(folder)
        folder.mkdir(parents=True)
        (folder / "x.txt").write_text("x")

    monkeypatch.setattr(exports, "write_bapps_folder", write_folder)
    exports.write_bapps_tar(Dataset(pk=1, name="d", version=1), tmp_path / "x.tar.gz")
    assert used and used[0].is_relative_to(root)
    assert not used[0].exists()
