"""Loading batches ahead of the compute (metrics.training.data.prefetched)."""

from __future__ import annotations

import threading

import pytest
import torch

from metrics.training.data import loader_threads, prefetched


@pytest.mark.parametrize("threads", [0, 1, 3])
def test_batches_come_back_in_order_with_their_data(threads):
    where = []

    def load(batch):
        where.append(threading.current_thread() is threading.main_thread())
        return batch * 10

    out = list(prefetched(list(range(7)), load, threads=threads))
    assert out == [(i, i * 10) for i in range(7)]
    assert all(where) == (threads == 0)


def test_nothing_to_load_yields_nothing():
    assert list(prefetched([], lambda b: b)) == []


def test_decoding_threads_use_only_the_cores_torch_leaves_free(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert loader_threads() == 0
        torch.set_num_threads(1)
        assert loader_threads() == 1
        monkeypatch.setattr("os.cpu_count", lambda: 16)
        assert loader_threads() == 4
    finally:
        torch.set_num_threads(before)
