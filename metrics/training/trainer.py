"""The LPIPS training loop (Zhang et al., CVPR 2018, and its official training code): lin,
tune and scratch, fast and full paths, resumable.

One step takes a batch of triplets, computes d0 = d(ref, p0) and d1 = d(ref, p1) with dropout
before the lin weights, feeds them to G, and minimises the BCE against the human fraction with
Adam; then the lin weights (and, for tune/scratch, every 1×1 trunk convolution, as the official
clamp does) are clamped to ≥ 0.

- **Full path**: images go through the trunk at every step (the only option when the trunk
  trains). With a frozen trunk the features are computed without autograd; the reference's
  features serve both pairs.
- **Fast path** (lin): per-pair channel means and dropout scales are computed once
  (``metrics.training.features``) and each step is a gather, a matrix product and G.

Determinism: the seed fixes the initialisation, each epoch's shuffle (a function of seed and
epoch) and the dropout noise (a generator reseeded per epoch from seed and epoch, and saved in
checkpoints). A checkpoint is written after every epoch and when ``should_stop()`` interrupts;
resuming restores weights, Adam state, noise generator, counters and history, and (fast path)
reuses the cached vectors, so on a deterministic device the resumed run ends bit-identical to an
uninterrupted one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from metrics.base import resolve_device
from metrics.deep.archs import is_deep, metric_for_net
from metrics.deep.model import trunk_model
from metrics.scoring import score_2afc, twoafc_score
from metrics.training import checkpoint as ckpt
from metrics.training.config import TrainConfig, TrainingError
from metrics.training.data import Source, prefetched, training_source, validation_sources
from metrics.training.features import (
    dropped_means,
    noisy_means,
    pair_vectors,
    vector_fingerprint,
)
from metrics.training.heads import LinWeights, RankingNet, ranking_loss
from metrics.training.result import FitResult

Progress = Callable[[dict[str, Any]], None]


class _Stopped(Exception):
    """``should_stop()`` returned True."""


def _seed_of(*parts: int) -> int:
    """A 63-bit seed derived from integers (e.g. seed and epoch)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(2, np.uint64)[0] >> 1)


class Trainer:
    """Fit LPIPS lin weights (and, for tune/scratch, the trunk) on 2AFC judgments.

    Args:
        train: Training triplets (see ``metrics.training.data.training_source``).
        val: Validation triplets (see ``validation_sources``); None uses a BAPPS root's val split.
        config: A :class:`TrainConfig`; ``options`` override its fields.
        device: Torch device; None picks CUDA when available.
        checkpoint_dir: Folder for checkpoints and vector caches; the fit resumes from the newest
            checkpoint found there. None disables both.
        progress: Called with event dicts (``start``, ``vectors``, ``step``, ``epoch``,
            ``checkpoint``, ``done``/``stopped``); see ``docs/training.md``.
        should_stop: Polled before every step; True checkpoints and ends the fit
            (``FitResult.stopped``).
        train_categories / val_categories: Category subsets of a BAPPS root.
        log_every: Emit a ``step`` event every this many steps (and at each epoch's last step).
        cpu_engine: The LPIPS option of that name for the trunk (``"fast"`` or ``"eager"``,
            ``metrics.lpips.options``); recorded by ``provenance()``.

    Raises:
        TrainingError: Bad configuration or data, or a checkpoint from another configuration.
    """

    def __init__(
        self,
        train: Any,
        *,
        val: Any = None,
        config: TrainConfig | None = None,
        device: str | torch.device | None = None,
        checkpoint_dir: str | Path | None = None,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
        train_categories: Sequence[str] | None = None,
        val_categories: Sequence[str] | None = None,
        log_every: int = 10,
        cpu_engine: str = "fast",
        **options: Any,
    ) -> None:
        base = config if config is not None else TrainConfig()
        try:
            self.config = replace(base, **options)
        except TypeError as exc:
            raise TrainingError(f"unknown training option: {exc}") from None
        cfg = self.config
        self.device = resolve_device(device)
        self.folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self._progress = progress or (lambda event: None)
        self._should_stop = should_stop or (lambda: False)
        self.log_every = max(1, int(log_every))
        self.path = cfg.resolved_path
        self.train = training_source(train, categories=train_categories, load_size=cfg.load_size)
        self.val = validation_sources(
            val, train, categories=val_categories, load_size=cfg.load_size
        )
        self.judge = torch.tensor(self.train.judges(), dtype=torch.float32, device=self.device)
        self._data_ids: dict[str, Any] | None = None

        trunk_seed = cfg.seed if cfg.variant == "scratch" else cfg.trunk_seed
        self.model = trunk_model(
            cfg.net,
            version=cfg.version,
            variant="baseline",
            trunk_weights=cfg.trunk_weights,
            seed=trunk_seed,
            device=self.device,
            cpu_engine=cpu_engine,
        )
        self.trunk_trains = cfg.variant != "lin"
        self.model.trunk.requires_grad_(self.trunk_trains)
        self.lin = LinWeights(self.model.spec.channels).to(self.device)
        self.rank = RankingNet().to(self.device)
        init = torch.Generator().manual_seed(_seed_of(cfg.seed, 0xC0FFEE))
        self.lin.reset(init)
        self.rank.reset(init)
        params = [self.lin.weight, *self.rank.parameters()]
        if self.trunk_trains:
            params += list(self.model.trunk.parameters())
        self.optimizer = torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, 0.999))
        self.noise = torch.Generator(device=self.device)
        self.history: list[dict[str, Any]] = []
        self.epochs_done, self.step_in_epoch, self.global_step = 0, 0, 0
        self.vectors: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}
        # Running loss sum, 2AFC credit sum and triplet count of the current epoch.
        self._sums: list[Any] = [torch.zeros(()), torch.zeros(()), 0]
        self._val_distances: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def provenance(self) -> dict[str, Any]:
        """How this fit computes, JSON-safe, like ``Metric.provenance``: the trunk model's
        (``metric``, ``options``, ``torch``, ``device``, ``dtype``, ``net``, ``version``,
        ``cpu_engine``, ``engine_used``, ``fast_layers``) with ``variant`` the fit's (``lin``,
        ``tune`` or ``scratch``) and ``training_path`` (``fast`` or ``full``). A trunk that
        trains (tune, scratch) runs eagerly, so its ``engine_used`` is ``"eager"``."""
        return {
            **self.model.provenance(),
            "variant": self.config.variant,
            "training_path": self.path,
        }

    # ---- data for the fast path -----------------------------------------------------------------

    def _vectors(self, name: str, source: Source, with_scales: bool):
        fingerprint = vector_fingerprint(source, self.model, with_scales=with_scales)
        cache = self.folder / f"vectors-{fingerprint[:24]}.pt" if self.folder else None
        data = ckpt.load_vectors(cache, fingerprint) if cache else None
        if data is None:

            def on_batch(done: int, total: int) -> None:
                self._progress({"event": "vectors", "set": name, "done": done, "total": total})
                if self._should_stop():
                    raise _Stopped

            means, scales = pair_vectors(
                self.model, source, with_scales=with_scales, on_batch=on_batch
            )
            data = {"fingerprint": fingerprint, "means": means, "scales": scales}
            if cache is not None:
                ckpt.atomic_save(data, cache)
        scales = data["scales"]
        return data["means"].to(self.device), None if scales is None else scales.to(self.device)

    # ---- distances ------------------------------------------------------------------------------

    def _fast_distances(self, idx: torch.Tensor, training: bool) -> torch.Tensor:
        means, scales = self.vectors["train"]
        m = means.index_select(0, idx)  # B×2×K
        p = self.config.dropout
        if training and p > 0:
            m = noisy_means(m, scales.index_select(0, idx), p, self.noise)
        return m @ self.lin.weight  # B×2

    def _full_distances(self, images: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x = torch.cat(images).to(self.device, non_blocking=True)
        with torch.set_grad_enabled(self.trunk_trains):
            feats = self.model.features(x, range_check="off")
        pairs = []
        for which in (1, 2):
            total = 0
            for k, f in enumerate(feats):
                parts = torch.tensor_split(f, 3)
                delta = (parts[0] - parts[which]).square()
                means = dropped_means(delta, self.config.dropout, self.noise)
                total = total + means @ self.lin.layer(k)
            pairs.append(total)
        return torch.stack(pairs, dim=1)

    # ---- one step, one validation ---------------------------------------------------------------

    def _step(self, idx: np.ndarray, images: tuple[torch.Tensor, ...] | None):
        index = torch.as_tensor(idx, device=self.device)
        d = self._fast_distances(index, True) if images is None else self._full_distances(images)
        judge = self.judge.index_select(0, index)
        loss = ranking_loss(self.rank(d[:, 0], d[:, 1]), judge)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._clamp()
        d0, d1 = d[:, 0].detach(), d[:, 1].detach()
        credit = (d0 < d1) * (1 - judge) + (d1 < d0) * judge + (d0 == d1) * 0.5
        return loss.detach(), credit.sum()

    @torch.no_grad()
    def _clamp(self) -> None:
        self.lin.clamp_()
        if self.trunk_trains and not is_deep(self.config.net):
            # The official clamp reaches every module with a 1×1 kernel: SqueezeNet's fire
            # squeezes and expand1x1 convolutions too (the official `clamp_weights`). Zoo trunks
            # are not clamped: their 1×1 convolutions (ResNet bottlenecks, MobileNet
            # projections) were never meant to be non-negative.
            for module in self.model.trunk.modules():
                if isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1):
                    module.weight.clamp_(min=0.0)

    @torch.no_grad()
    def _validate(self) -> dict[str, float]:
        scores = {}
        w = self.lin.weight.detach()
        for name, source in self.val.items():
            if self.path == "fast":
                means = self.vectors[f"val/{name}"][0]
            else:
                means, _ = pair_vectors(self.model, source, with_scales=False)
                means = means.to(self.device)
            d = (means @ w).cpu().numpy().astype(np.float64)
            judge = source.judges()
            self._val_distances[name] = (d[:, 0], d[:, 1], judge)
            scores[name] = twoafc_score(d[:, 0], d[:, 1], judge)
        return scores

    def _record(self, entry: dict[str, Any]) -> dict[str, Any]:
        scores = self._validate()
        if scores:
            entry["val_2afc"] = float(np.mean(list(scores.values())))
            entry["val"] = scores
        self.history.append(entry)
        return entry

    # ---- checkpoints ----------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        trunk = None
        if self.trunk_trains:
            trunk = {k: v.contiguous() for k, v in self.model.trunk.state_dict().items()}
        return {
            "config": self.config.to_dict(),
            "data": self._data_identity(),
            "sums": [self._sums[0].cpu(), self._sums[1].cpu(), self._sums[2]],
            "epoch": self.epochs_done, "step": self.step_in_epoch,
            "global_step": self.global_step,
            "lin": self.lin.weight.detach().cpu().clone(),
            "rank": {k: v.cpu() for k, v in self.rank.state_dict().items()},
            "trunk": trunk,
            "optimizer": self.optimizer.state_dict(),
            "noise": {"device": self.device.type, "state": self.noise.get_state()},
            "history": self.history,
        }  # fmt: skip

    def _save(self) -> None:
        if self.folder is None:
            return
        path = ckpt.save_checkpoint(self.folder, self._state())
        self._progress(
            {
                "event": "checkpoint",
                "path": str(path),
                "epoch": self.epochs_done,
                "step": self.step_in_epoch,
            }
        )

    def _resume(self) -> str | None:
        state = ckpt.load_latest(self.folder) if self.folder else None
        if state is None:
            return None
        if state["config"] != self.config.to_dict():
            changed = sorted(
                k for k, v in self.config.to_dict().items() if state["config"].get(k) != v
            )
            raise TrainingError(
                f"{state['path']} was written with other settings ({', '.join(changed)}); "
                "use a new checkpoint directory or the same settings"
            )
        if state["data"] != self._data_identity():
            raise TrainingError(f"{state['path']} was trained on other data; use a new directory")
        with torch.no_grad():
            self.lin.weight.copy_(state["lin"].to(self.device))
        self.rank.load_state_dict(state["rank"])
        if state["trunk"] is not None:
            self.model.trunk.load_state_dict(state["trunk"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epochs_done, self.step_in_epoch = state["epoch"], state["step"]
        if state["noise"]["device"] == self.device.type:
            self.noise.set_state(state["noise"]["state"])
        else:  # generator states do not carry across device types: reseed deterministically
            self.noise.manual_seed(
                _seed_of(self.config.seed, self.epochs_done + 1, 1, self.step_in_epoch)
            )
        self.global_step, self.history = state["global_step"], list(state["history"])
        loss_sum, credit_sum, seen = state["sums"]
        self._sums = [loss_sum.to(self.device), credit_sum.to(self.device), seen]
        return state["path"]

    def _data_identity(self) -> dict[str, Any]:
        # Hashing in-memory arrays reads every byte: do it once per fit.
        if self._data_ids is None:
            self._data_ids = {
                "train": self.train.fingerprint(),
                "val": {k: v.fingerprint() for k, v in self.val.items()},
            }
        return self._data_ids

    # ---- the loop -------------------------------------------------------------------------------

    def _order(self, epoch: int) -> list[np.ndarray]:
        order = np.random.default_rng(_seed_of(self.config.seed, epoch)).permutation(
            len(self.train)
        )
        size = self.config.batch_size
        return [order[s : s + size] for s in range(0, len(order), size)]

    def _epoch(self, epoch: int) -> dict[str, Any]:
        cfg, started = self.config, time.perf_counter()
        lr = cfg.lr_at(epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        batches = self._order(epoch)
        if self.step_in_epoch == 0:
            self.noise.manual_seed(_seed_of(cfg.seed, epoch, 1))
        todo = batches[self.step_in_epoch :]
        if self.path == "full":
            stream = prefetched(todo, self.train.load)  # decode the next batch meanwhile
        else:
            stream = ((idx, None) for idx in todo)
        if self.step_in_epoch == 0:
            self._sums = [torch.zeros((), device=self.device) for _ in range(2)] + [0]
        for idx, images in stream:
            if self._should_stop():
                raise _Stopped
            loss, credit = self._step(idx, images)
            self._sums[0] += loss * len(idx)
            self._sums[1] += credit
            self._sums[2] += len(idx)
            self.step_in_epoch += 1
            self.global_step += 1
            if self.step_in_epoch % self.log_every == 0 or self.step_in_epoch == len(batches):
                self._progress(
                    {
                        "event": "step",
                        "epoch": epoch,
                        "step": self.step_in_epoch,
                        "steps": len(batches),
                        "global_step": self.global_step,
                        "loss": float(loss),
                        "lr": lr,
                    }
                )
        self.epochs_done, self.step_in_epoch = epoch, 0
        loss_sum, credit_sum, seen = self._sums
        entry = {
            "epoch": epoch,
            "lr": lr,
            "loss": float(loss_sum) / max(seen, 1),
            "train_2afc": float(credit_sum) / max(seen, 1),
            "seconds": time.perf_counter() - started,
        }
        return self._record(entry)

    def run(self) -> FitResult:
        """Train (or resume) to the end, or until ``should_stop``; returns a :class:`FitResult`."""
        cfg = self.config
        resumed = self._resume()
        self._progress(
            {
                "event": "start",
                "path": self.path,
                "epochs": cfg.total_epochs,
                "train_size": len(self.train),
                "val_sets": list(self.val),
                "resumed_from": resumed,
                "epoch": self.epochs_done,
                "steps_per_epoch": len(self._order(1)),
            }
        )
        stopped = False
        try:
            if self.path == "fast":
                self.vectors["train"] = self._vectors("train", self.train, cfg.dropout > 0)
                for name, source in self.val.items():
                    self.vectors[f"val/{name}"] = self._vectors(f"val/{name}", source, False)
            if not self.history:
                self._record({"epoch": 0})  # the untrained model, for comparison
            for epoch in range(self.epochs_done + 1, cfg.total_epochs + 1):
                entry = self._epoch(epoch)
                self._save()
                self._progress({"event": "epoch", "epochs": cfg.total_epochs, **entry})
        except _Stopped:
            stopped = True
            if self.global_step and self.history:
                self._save()
        if not stopped and not self._val_distances and self.val:
            self._validate()  # resumed after the last epoch: distances for the report
        return self._result(stopped, resumed)

    def _result(self, stopped: bool, resumed: str | None) -> FitResult:
        report = None
        if self._val_distances and not stopped:
            report = score_2afc(
                self._val_distances,
                split="val",
                metric=f"{metric_for_net(self.config.net)}-{self.config.variant}",
            )
        trunk = None
        if self.trunk_trains:
            trunk = {
                k: v.detach().cpu().contiguous().clone()
                for k, v in self.model.trunk.state_dict().items()
            }
        result = FitResult(
            config=self.config,
            lin_state_dict=self.lin.official_state_dict(),
            rank_state_dict=self.rank.official_state_dict(),
            trunk_state_dict=trunk,
            history=list(self.history),
            val_report=report,
            epochs_completed=self.epochs_done,
            stopped=stopped,
            path=self.path,
            resumed_from=resumed,
            provenance=self.provenance(),
        )
        self._progress(
            {
                "event": "stopped" if stopped else "done",
                "epochs_completed": self.epochs_done,
                "val_2afc": result.val_2afc,
            }
        )
        return result


def fit(train: Any, **kwargs: Any) -> FitResult:
    """Fit LPIPS on 2AFC judgments with the official recipe; see :class:`Trainer` for arguments.

    Example::

        from metrics.training import fit
        result = fit("dataset", net="alex", variant="lin", checkpoint_dir="runs/alex-lin")
        result.save("runs/alex-lin")                 # lin.pth loads in lpips and create_metric
    """
    return Trainer(train, **kwargs).run()
