"""The layers of docs/architecture.md hold: `lint-imports` checks the contracts in pyproject.toml
(apps depend downwards only; metrics and experiments are independent and Django-free)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}"},
        timeout=300,
    )


def test_import_contracts_are_kept():
    result = _lint_imports(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout
    assert "0 broken" in result.stdout or "Contracts: 3 kept" in result.stdout


def test_a_wrong_arrow_breaks_the_contract(tmp_path):
    """The check can fail: the same contracts, with the app order reversed, are broken."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    start = text.index("[tool.importlinter]")
    config = text[start:].replace(
        '    "analysis",\n    "crowd",\n', '    "crowd",\n    "analysis",\n'
    )
    assert config != text[start:]
    (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    result = _lint_imports(tmp_path / "pyproject.toml")
    assert result.returncode != 0
    assert "analysis is not allowed to import crowd" in result.stdout
