"""Optional extras: a clear error naming the extra when a metric's package is not installed.

Torch-free, so the command line can catch :class:`MissingExtraError` without importing torch.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """A metric needs a package from an optional extra that is not installed."""


def require(module: str, *, extra: str, package: str, metric: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` saying how to install it.

    Args:
        module: The import name (e.g. ``"pycvvdp"``).
        extra: PerceptLab's extra that installs it (e.g. ``"vdp"``).
        package: The distribution with its pin (e.g. ``"cvvdp==0.5.7"``).
        metric: The metric that needs it, for the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"metric {metric!r} needs the optional '{extra}' extra, which is not installed "
            f"(import {module!r} failed: {exc}). Install it with: pip install -e '.[{extra}]' "
            f"(or pip install {package})"
        ) from exc
