"""Importing the outputs of algorithms run elsewhere (real-algorithm studies).

Folder layout (one folder per algorithm, one output per reference image, same file names)::

    my_superres_run/
        reference/            the ground-truth images
            0001.png
            0002.png
        bicubic/              one folder per algorithm; the name is the algorithm's label
            0001.png          its output for reference/0001.png, same width and height
            0002.png
        edsr_x4/
            0001.png
            0002.png
        README.md             files at the top level are ignored

Rules: images are PNG (lossless; RGB, grey or palette without transparency); folder names are
lowercase labels ``[a-z0-9][a-z0-9_-]*``; every algorithm folder holds exactly the reference
file names; every output has its reference's size. Hidden files (``.DS_Store``) are ignored.

:func:`scan_external_outputs` checks all of this (reading only image headers) and raises one
ValueError listing every problem before anything is imported; :func:`iter_external_outputs`
then yields ``(reference, algorithm, output)`` records with decoded pixels.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from experiments.png import decode_png

REFERENCE_DIR = "reference"
_LABEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_MAX_PROBLEMS = 20


@dataclass(frozen=True)
class ExternalScan:
    """A validated external-outputs folder.

    Attributes:
        root: The folder.
        stems: Reference file names without ``.png``, sorted.
        algorithms: Algorithm labels, sorted.
        sha256: Relative path (``reference/0001.png``) → SHA-256 of the file's bytes.
    """

    root: Path
    stems: tuple[str, ...]
    algorithms: tuple[str, ...]
    sha256: dict[str, str]

    def design_items(self) -> list[dict[str, Any]]:
        """``external`` entries for a design category (see :mod:`experiments.design`)."""
        return [
            {
                "reference": self.sha256[f"{REFERENCE_DIR}/{stem}.png"],
                "outputs": {a: self.sha256[f"{a}/{stem}.png"] for a in self.algorithms},
            }
            for stem in self.stems
        ]


@dataclass(frozen=True)
class ExternalRecord:
    """One algorithm's output for one reference image, decoded (H×W×3 uint8 each)."""

    stem: str
    algorithm: str
    reference: np.ndarray
    output: np.ndarray
    reference_sha256: str
    output_sha256: str


def _pngs(folder: Path, problems: list[str]) -> dict[str, Path]:
    found = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_file() and path.suffix == ".png":
            found[path.stem] = path
        else:
            problems.append(f"{path.relative_to(folder.parent)}: not a .png file")
    return found


def _header(path: Path, problems: list[str], rel: str) -> tuple[int, int] | None:
    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                problems.append(f"{rel}: not PNG data ({image.format})")
            elif "A" in image.getbands() or "transparency" in image.info:
                problems.append(f"{rel}: has transparency")
            return image.size
    except OSError as error:
        problems.append(f"{rel}: unreadable image ({error})")
    return None


def scan_external_outputs(root: str | Path) -> ExternalScan:
    """Validate an external-outputs folder (see the module docs).

    Raises:
        ValueError: Listing every problem found (up to 20): missing folder, no algorithms, bad
            names, missing or extra files, non-PNG or unreadable files, size mismatches.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"external outputs folder {root} does not exist")
    reference_dir = root / REFERENCE_DIR
    if not reference_dir.is_dir():
        raise ValueError(f"{root}: missing the '{REFERENCE_DIR}/' folder of reference images")
    problems: list[str] = []
    references = _pngs(reference_dir, problems)
    if not references:
        problems.append(f"{REFERENCE_DIR}/: no .png images")
    folders = sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and p.name != REFERENCE_DIR and not p.name.startswith(".")
    )
    if not folders:
        problems.append("no algorithm folders next to reference/")
    sizes: dict[str, tuple[int, int] | None] = {}
    sha256: dict[str, str] = {}
    for stem, path in references.items():
        rel = f"{REFERENCE_DIR}/{stem}.png"
        sizes[stem] = _header(path, problems, rel)
        sha256[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    for folder in folders:
        if not _LABEL.match(folder.name):
            problems.append(f"{folder.name}/: algorithm names must match [a-z0-9][a-z0-9_-]*")
            continue
        outputs = _pngs(folder, problems)
        for stem in sorted(set(references) - set(outputs)):
            problems.append(f"{folder.name}/{stem}.png: missing (reference/{stem}.png exists)")
        for stem in sorted(set(outputs) - set(references)):
            problems.append(f"{folder.name}/{stem}.png: no matching reference/{stem}.png")
        for stem in sorted(set(outputs) & set(references)):
            rel = f"{folder.name}/{stem}.png"
            size = _header(outputs[stem], problems, rel)
            if size is not None and sizes[stem] is not None and size != sizes[stem]:
                problems.append(
                    f"{rel}: size {size[0]}×{size[1]} differs from the reference's "
                    f"{sizes[stem][0]}×{sizes[stem][1]}"
                )
            sha256[rel] = hashlib.sha256(outputs[stem].read_bytes()).hexdigest()
    if problems:
        shown = "\n  ".join(problems[:_MAX_PROBLEMS])
        more = (
            f"\n  … and {len(problems) - _MAX_PROBLEMS} more"
            if len(problems) > _MAX_PROBLEMS
            else ""
        )
        raise ValueError(f"external outputs in {root} are not importable:\n  {shown}{more}")
    return ExternalScan(root, tuple(sorted(references)), tuple(f.name for f in folders), sha256)


def iter_external_outputs(root: str | Path) -> Iterator[ExternalRecord]:
    """Validate ``root`` completely, then yield one record per (reference, algorithm).

    Raises:
        ValueError: As :func:`scan_external_outputs`, before the first record is yielded.
    """
    scan = scan_external_outputs(root)
    return _records(scan)


def _records(scan: ExternalScan) -> Iterator[ExternalRecord]:
    for stem in scan.stems:
        rel = f"{REFERENCE_DIR}/{stem}.png"
        reference = decode_png((scan.root / rel).read_bytes())
        for algorithm in scan.algorithms:
            out_rel = f"{algorithm}/{stem}.png"
            output = decode_png((scan.root / out_rel).read_bytes())
            yield ExternalRecord(
                stem, algorithm, reference, output, scan.sha256[rel], scan.sha256[out_rel]
            )
