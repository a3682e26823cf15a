"""metrics.training checkpoints: bit-exact resume, cancellation, atomic files, progress events."""

from __future__ import annotations

import pytest
import torch

from metrics.training import TrainingError, fit
from metrics.training import checkpoint as ckpt
from metrics.training.synthetic import write_synthetic_bapps

SIZE = 32
BASE = {
    "trunk_weights": None,
    "lr": 1e-2,
    "epochs": 2,
    "decay_epochs": 1,
    "batch_size": 20,
    "seed": 7,
    "load_size": SIZE,
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    write_synthetic_bapps(
        root, train={"traditional": 30, "mix": 30}, val={"cnn": 20}, size=SIZE, seed=1
    )
    return root


class StopAfter:
    """Progress callback and should_stop() that asks to stop once ``n`` steps are done."""

    def __init__(self, n: int) -> None:
        self.steps, self.n = 0, n

    def progress(self, event: dict) -> None:
        self.steps += event["event"] == "step"

    def should_stop(self) -> bool:
        return self.steps >= self.n


def _same_weights(a, b) -> bool:
    states = ("lin_state_dict", "rank_state_dict")
    same = all(
        getattr(a, s).keys() == getattr(b, s).keys()
        and all(torch.equal(getattr(a, s)[k], getattr(b, s)[k]) for k in getattr(a, s))
        for s in states
    )
    if a.trunk_state_dict is not None:
        same &= all(torch.equal(v, b.trunk_state_dict[k]) for k, v in a.trunk_state_dict.items())
    return same


def _without_time(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


@pytest.mark.parametrize(
    ("options", "stop_after"),
    [
        ({"path": "fast"}, 4),  # one step into epoch 2 (3 steps per epoch)
        ({"path": "fast"}, 3),  # exactly at the epoch boundary
        ({"variant": "tune", "epochs": 1}, 2),  # full path, trunk trained, mid-epoch 1
    ],
    ids=["fast-mid-epoch", "fast-epoch-boundary", "tune-full-mid-epoch"],
)
def test_resumed_run_ends_bit_identical_to_an_uninterrupted_one(
    tiny, tmp_path, options, stop_after
):
    config = {**BASE, **options}
    straight = fit(tiny, checkpoint_dir=tmp_path / "a", **config)
    stop = StopAfter(stop_after)
    stopped = fit(
        tiny,
        checkpoint_dir=tmp_path / "b",
        should_stop=stop.should_stop,
        progress=stop.progress,
        log_every=1,
        **config,
    )
    assert stopped.stopped and not straight.stopped
    steps_per_epoch = 3
    done, into = divmod(stop_after, steps_per_epoch)
    assert [(e, s) for e, s, _ in ckpt.list_checkpoints(tmp_path / "b")][-1] == (done, into)
    resumed = fit(tiny, checkpoint_dir=tmp_path / "b", **config)
    assert resumed.resumed_from is not None and not resumed.stopped
    assert resumed.epochs_completed == straight.epochs_completed == config["epochs"] + 1
    assert _same_weights(straight, resumed)
    assert _without_time(resumed.history) == _without_time(straight.history)
    assert resumed.val_report.to_dict() == straight.val_report.to_dict()


def test_different_seeds_give_different_weights(tiny):
    a = fit(tiny, **{**BASE, "epochs": 1, "decay_epochs": 0})
    b = fit(tiny, **{**BASE, "epochs": 1, "decay_epochs": 0, "seed": 8})
    assert not _same_weights(a, b)


def test_resuming_with_other_settings_is_refused(tiny, tmp_path):
    fit(tiny, checkpoint_dir=tmp_path, **{**BASE, "epochs": 1, "decay_epochs": 0})
    with pytest.raises(TrainingError, match=r"other settings \(lr\)"):
        fit(tiny, checkpoint_dir=tmp_path, **{**BASE, "epochs": 1, "decay_epochs": 0, "lr": 0.1})
    with pytest.raises(TrainingError, match="other data"):
        fit(
            tiny,
            checkpoint_dir=tmp_path,
            train_categories=["mix"],
            **{**BASE, "epochs": 1, "decay_epochs": 0},
        )


def test_a_finished_run_resumes_to_the_same_result_without_training(tiny, tmp_path):
    config = {**BASE, "epochs": 1, "decay_epochs": 0}
    first = fit(tiny, checkpoint_dir=tmp_path, **config)
    events = []
    again = fit(tiny, checkpoint_dir=tmp_path, progress=events.append, **config)
    assert _same_weights(first, again)
    assert not [e for e in events if e["event"] in ("step", "vectors")]
    assert again.val_report.to_dict() == first.val_report.to_dict()


def test_progress_events_report_steps_epochs_and_checkpoints(tiny, tmp_path):
    events = []
    fit(
        tiny,
        checkpoint_dir=tmp_path,
        progress=events.append,
        log_every=1,
        **{**BASE, "path": "fast"},
    )
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert {"vectors", "step", "epoch", "checkpoint"} <= set(kinds)
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert all({"loss", "val_2afc", "lr", "train_2afc"} <= set(e) for e in epochs)
    steps = [e for e in events if e["event"] == "step"]
    assert [e["global_step"] for e in steps] == list(range(1, 10))
    assert all(0 < e["loss"] < 10 for e in steps)


def test_cancelling_during_vector_computation_stops_without_a_checkpoint(tiny, tmp_path):
    result = fit(tiny, checkpoint_dir=tmp_path, should_stop=lambda: True, **BASE)
    assert result.stopped and result.epochs_completed == 0
    assert not ckpt.list_checkpoints(tmp_path)


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    ckpt.save_checkpoint(tmp_path, {"epoch": 1, "step": 0, "value": torch.ones(3)})

    def broken_save(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(tmp_path, {"epoch": 2, "step": 0})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-e001-s000000.pt"]
    monkeypatch.undo()
    (tmp_path / ".ckpt-e009-s000000.pt.x.tmp").write_bytes(b"junk from a killed worker")
    latest = ckpt.load_latest(tmp_path)
    assert latest["epoch"] == 1 and torch.equal(latest["value"], torch.ones(3))


def test_old_checkpoints_are_pruned_and_a_foreign_file_is_refused(tmp_path):
    for epoch in range(1, 5):
        ckpt.save_checkpoint(tmp_path, {"epoch": epoch, "step": 0})
    assert [e for e, _, _ in ckpt.list_checkpoints(tmp_path)] == [3, 4]
    torch.save({"epoch": 9}, tmp_path / "ckpt-e009-s000000.pt")
    with pytest.raises(TrainingError, match="is not a perceptlab-lpips-fit/1 checkpoint"):
        ckpt.load_latest(tmp_path)
