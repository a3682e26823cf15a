"""LPIPS: the model (``model``), its trunks (``trunks``) and its lin weights (``lin``).

Build it through the registry (``metrics.create_metric("lpips-alex", ...)``) or directly with
``metrics.lpips.LPIPS("alex", ...)``. Importing this package imports torch.
"""

from metrics.lpips.lin import load_lin_weights
from metrics.lpips.model import LPIPS
from metrics.lpips.trunks import TRUNKS, TrunkWeightsNotFound, build_trunk

__all__ = ["LPIPS", "TRUNKS", "TrunkWeightsNotFound", "build_trunk", "load_lin_weights"]
