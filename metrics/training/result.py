"""What a fit returns: the fitted weights in the official formats, the history and the scores.

``FitResult.save(folder)`` writes:

- ``lin.pth``: the lin weights, keys ``lin{k}.model.1.weight`` of shape (1, C_k, 1, 1). Load
  with ``metrics.create_metric("lpips-alex", lin_weights="lin.pth")`` or the official
  ``lpips.LPIPS(net="alex", model_path="lin.pth")``.
- ``rank.pth``: G, with the official ``Dist2LogitLayer`` keys (only for inspection).
- ``trunk.pth`` (tune/scratch): the trained trunk as a torchvision ``features.*`` state dict, for
  ``create_metric(..., trunk_weights="trunk.pth")``.
- ``lpips_official.pth`` (tune/scratch): trunk and lin in the official module's key layout
  (``net.slice{s}.{i}.*`` and ``lin{k}.model.1.weight``), for
  ``lpips.LPIPS(net=..., pnet_rand=True, pnet_tune=True, model_path=...)``.
- ``results.json``: configuration, history, final validation report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from metrics.deep.archs import is_deep
from metrics.scoring import ScoreReport
from metrics.training.checkpoint import atomic_save
from metrics.training.config import TrainConfig


@dataclass
class FitResult:
    """The outcome of :func:`metrics.training.fit`.

    Attributes:
        config: The configuration that was trained.
        lin_state_dict: Lin weights with the official keys and shapes (CPU float32).
        rank_state_dict: G with the official keys.
        trunk_state_dict: The trained trunk (``features.*`` keys) for tune/scratch, else None.
        history: One dict per validation point: ``epoch`` 0 is the untrained model; later
            entries add ``lr``, ``loss``, ``train_2afc``, ``seconds``. ``val_2afc`` is the
            unweighted mean over the val sets (the paper's "All"), ``val`` the per-set scores.
        val_report: Final validation with bootstrap intervals, or None without validation.
        epochs_completed: Epochs finished.
        stopped: True when ``should_stop`` ended the fit early (resume it from the checkpoint).
        path: ``"fast"`` or ``"full"``.
        resumed_from: The checkpoint file the fit resumed from, if any.
        provenance: How the fit computed (``Trainer.provenance()``: torch version, device,
            dtype, LPIPS CPU engine, ...), JSON-safe; written to ``results.json``.
    """

    config: TrainConfig
    lin_state_dict: dict[str, torch.Tensor]
    rank_state_dict: dict[str, torch.Tensor]
    trunk_state_dict: dict[str, torch.Tensor] | None
    history: list[dict[str, Any]] = field(default_factory=list)
    val_report: ScoreReport | None = None
    epochs_completed: int = 0
    stopped: bool = False
    path: str = "fast"
    resumed_from: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def val_2afc(self) -> float | None:
        """Final mean validation 2AFC (fraction), or None without validation."""
        return self.history[-1].get("val_2afc") if self.history else None

    def official_state_dict(self) -> dict[str, torch.Tensor]:
        """Lin weights plus, for tune/scratch, the trunk in the official module's key layout."""
        out = dict(self.lin_state_dict)
        if self.trunk_state_dict is None or is_deep(self.config.net):
            return out  # the official layout exists for the LPIPS trunks only
        from metrics.lpips.trunks import TRUNKS

        ends = TRUNKS[self.config.net].tap_ends
        for key, value in self.trunk_state_dict.items():
            index = int(key.split(".")[1])
            piece = next(s for s, end in enumerate(ends, start=1) if index <= end)
            out[f"net.slice{piece}.{key.removeprefix('features.')}"] = value
        return out

    def create_metric(self, *, device: str | torch.device | None = None, cpu_engine: str = "fast"):
        """The fitted LPIPS as a ``metrics.lpips.LPIPS`` ready to score images (``cpu_engine``
        as the LPIPS option)."""
        from metrics.deep.model import trunk_model

        cfg = self.config
        trunk = None if self.trunk_state_dict is not None else cfg.trunk_weights
        metric = trunk_model(
            cfg.net,
            variant="lin",
            version=cfg.version,
            trunk_weights=trunk,
            seed=cfg.trunk_seed,
            lin_weights=self.lin_state_dict,
            device=device,
            cpu_engine=cpu_engine,
        )
        if self.trunk_state_dict is not None:
            metric.trunk.load_state_dict(self.trunk_state_dict)
        return metric

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: configuration, history, final report."""
        return {
            "config": self.config.to_dict(),
            "path": self.path,
            "epochs_completed": self.epochs_completed,
            "stopped": self.stopped,
            "resumed_from": self.resumed_from,
            "provenance": self.provenance,
            "val_2afc": self.val_2afc,
            "history": self.history,
            "val_report": self.val_report.to_dict() if self.val_report else None,
        }

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write the files listed in the module docstring (atomically); returns name → path."""
        folder = Path(folder)
        files = {"lin": folder / "lin.pth", "rank": folder / "rank.pth"}
        atomic_save(self.lin_state_dict, files["lin"])
        atomic_save(self.rank_state_dict, files["rank"])
        if self.trunk_state_dict is not None:
            files["trunk"] = folder / "trunk.pth"
            atomic_save(self.trunk_state_dict, files["trunk"])
            if not is_deep(self.config.net):
                files["official"] = folder / "lpips_official.pth"
                atomic_save(self.official_state_dict(), files["official"])
        files["results"] = folder / "results.json"
        tmp = files["results"].with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.summary(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(files["results"])
        return files
