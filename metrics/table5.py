"""The paper's Table 5 as a view of any dataset: its groups and rows, its published numbers, and
where a scored metric goes in it.

Zhang et al. (CVPR 2018, Appendix A, Table 5) group metrics by how much supervision their features
had. This module holds that layout as data and places scored metrics in it; it imports neither
torch nor Django, so ``python -m metrics table5`` and the platform's "Table 5" leaderboard preset
share it.

- :data:`GROUPS` and :data:`ROWS`: the paper's groups and rows, in the paper's order, each row
  with its published 2AFC scores (:data:`PAPER`, ×100, copied from the reference
  ``lpips-bapps.md`` §7.1; ``tests/metrics/test_table5.py`` checks them against that file) and how
  its weights are obtained.
- :func:`place`: where a scored metric goes. The level of a trunk is **declared**, never guessed
  from a name: ``metrics.supervision`` (a checkpoint's sidecar, or the built-in ``imagenet`` /
  random trunk settings); LPIPS lin / scratch / tune rows are declared by how they were made (a
  fit's variant). A checkpoint without a declaration goes to the ``undeclared`` group, a metric
  outside Table 5 to ``other``.
- :func:`build_view`: the rows in the paper's order, each paper row with the entries placed on it
  (one line each) or one "not available" line saying how to obtain its weights, extra rows of a
  group after the paper's rows, then ``undeclared`` and ``other``. Every line computed with a
  random trunk carries a note.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metrics.scoring import PAPER_COLUMNS, VAL_SETS
from metrics.supervision import (
    PAPER_METHODS,
    RANDOM,
    SELF_SUPERVISED,
    SUPERVISED,
    UNDECLARED,
    UNSUPERVISED,
    trunk_declaration,
)


@dataclass(frozen=True)
class Group:
    key: str
    title: str


GROUPS = (
    Group("oracle", "Oracle"),
    Group("low-level", "Low-level"),
    Group(RANDOM, "Net (Random)"),
    Group(UNSUPERVISED, "Net (Unsup.)"),
    Group(SELF_SUPERVISED, "Net (Self-sup.)"),
    Group(SUPERVISED, "Net (Supervised)"),
    Group("lpips", "LPIPS"),
)
# Not in the paper: rows whose trunk declares no level, and metrics Table 5 does not have.
EXTRA_GROUPS = (
    Group(UNDECLARED, "Trunk supervision not declared"),
    Group("other", "Not in Table 5"),
)
GROUP_TITLES = {g.key: g.title for g in GROUPS + EXTRA_GROUPS}

LPIPS_NETS = ("squeeze", "alex", "vgg")  # the paper's order within a group
NET_TITLES = {"squeeze": "SqueezeNet", "alex": "AlexNet", "vgg": "VGG"}
NET_LABELS = {"squeeze": "Squeeze", "alex": "Alex", "vgg": "VGG"}
LPIPS_VARIANTS = ("lin", "scratch", "tune")  # the paper's order
# torchvision's ImageNet checkpoints of the LPIPS trunks (checked against metrics.lpips.trunks).
IMAGENET_FILES = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}
# Registry metrics computing an LPIPS net's features (deep-alexnet baseline equals lpips-alex's).
NET_OF_METRIC = {
    "lpips-alex": "alex",
    "lpips-vgg": "vgg",
    "lpips-squeeze": "squeeze",
    "deep-alexnet": "alex",
}
# Trunk architectures a sidecar may name (`arch`), and the LPIPS net each is.
NET_OF_ARCH = {"alexnet": "alex", "vgg16": "vgg", "squeezenet1_1": "squeeze"}

# Paper Table 5 (arXiv v2, Appendix A), 2AFC ×100, columns in PAPER_COLUMNS order:
# Trad, CNN, All-dist, SR, Deblur, Color, Interp, All-real, All. Source: the reference
# lpips-bapps.md §7.1 (shared/reference), itself from the paper.
PAPER: dict[str, tuple[float, ...]] = {
    "human": (80.8, 84.4, 82.6, 73.4, 67.1, 68.8, 68.6, 69.5, 73.9),
    "l2": (59.9, 77.8, 68.9, 64.7, 58.2, 63.5, 55.0, 60.3, 63.2),
    "ssim": (60.3, 79.1, 69.7, 65.1, 58.6, 58.1, 57.7, 59.8, 63.1),
    "fsimc": (61.4, 78.6, 70.0, 68.1, 59.5, 57.3, 57.7, 60.6, 63.8),
    "hdr-vdp": (57.4, 76.8, 67.1, 64.7, 59.0, 53.7, 56.6, 58.5, 61.4),
    "gaussian": (60.5, 80.7, 70.6, 64.9, 59.5, 62.8, 57.2, 61.1, 64.3),
    "kmeans": (66.6, 83.0, 74.8, 67.3, 59.8, 63.1, 59.8, 62.5, 66.6),
    "watching": (66.5, 80.7, 73.6, 69.6, 60.6, 64.4, 61.6, 64.1, 67.2),
    "split-brain": (69.5, 81.4, 75.5, 69.6, 59.3, 64.3, 61.1, 63.6, 67.5),
    "puzzle": (71.5, 82.0, 76.8, 70.2, 60.2, 62.8, 61.8, 63.8, 68.1),
    "bigan": (69.8, 83.0, 76.4, 70.7, 60.5, 63.7, 62.5, 64.4, 68.4),
    "squeeze": (73.3, 82.6, 78.0, 70.1, 60.1, 63.6, 62.0, 64.0, 68.6),
    "alex": (70.6, 83.1, 76.8, 71.7, 60.7, 65.0, 62.7, 65.0, 68.9),
    "vgg": (70.1, 81.3, 75.7, 69.0, 59.0, 60.2, 62.1, 62.6, 67.0),
    "squeeze-lin": (76.1, 83.5, 79.8, 71.1, 60.8, 65.3, 63.2, 65.1, 70.0),
    "alex-lin": (73.9, 83.4, 78.7, 71.5, 61.2, 65.3, 63.2, 65.3, 69.8),
    "vgg-lin": (76.0, 82.8, 79.4, 70.5, 60.5, 62.5, 63.0, 64.1, 69.2),
    "squeeze-scratch": (74.9, 83.1, 79.0, 71.1, 60.8, 63.0, 62.4, 64.3, 69.2),
    "alex-scratch": (77.6, 82.8, 80.2, 71.1, 61.0, 65.6, 63.3, 65.2, 70.2),
    "vgg-scratch": (77.9, 83.7, 80.8, 71.1, 60.6, 64.0, 62.9, 64.6, 70.0),
    "squeeze-tune": (76.7, 83.2, 79.9, 70.4, 61.1, 63.2, 63.2, 64.5, 69.6),
    "alex-tune": (77.7, 83.5, 80.6, 69.1, 60.5, 64.8, 62.9, 64.3, 69.7),
    "vgg-tune": (79.3, 83.5, 81.4, 69.8, 60.5, 63.4, 62.3, 64.0, 69.8),
}

_CONVERT = (
    "the AlexNet checkpoint released with {paper}, converted to torchvision's layout with "
    "`python -m metrics convert-trunk` (which writes its supervision sidecar; "
    "docs/trunk-metadata.md); pass it with `--trunk PATH` (platform: place it and its "
    ".meta.json in PERCEPTLAB_WEIGHTS_DIR and score lpips-alex with variant=baseline, "
    "trunk_weights=<file name>)"
)


def _imagenet(net: str) -> str:
    return (
        f"torchvision's ImageNet checkpoint {IMAGENET_FILES[net]} "
        f"(https://download.pytorch.org/models/{IMAGENET_FILES[net]}) in "
        "$TORCH_HOME/hub/checkpoints/"
    )


def _train(net: str, variant: str) -> str:
    trunk = " --trunk-weights random" if variant == "scratch" else ""
    return (
        f"train it: `python -m metrics train DIR --net {net} --variant {variant}{trunk} "
        f"--out runs/{net}-{variant}` (writes lin.pth and trunk.pth), then "
        f"`--lpips {net}-{variant}=runs/{net}-{variant}` (platform: a fit with variant "
        f"{variant})"
    )


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper's Table 5.

    Attributes:
        key: Row key (``PAPER``'s keys).
        group: Group key.
        label: The paper's label.
        obtain: How to get what the row needs (weights, an extra), for "not available" lines.
        note: A remark shown with the row (e.g. what stands in for the paper's metric).
    """

    key: str
    group: str
    label: str
    obtain: str
    note: str = ""

    @property
    def paper(self) -> tuple[float, ...] | None:
        return PAPER.get(self.key)


ROWS: tuple[PaperRow, ...] = (
    PaperRow("human", "oracle", "Human", "computed from the judgments (p² + (1 − p)²)"),
    PaperRow("l2", "low-level", "L2", "built in: `l2-lab` (the official baseline's Lab L2)"),
    PaperRow("ssim", "low-level", "SSIM", "built in: `ssim` with preset=lpips-baseline"),
    PaperRow("fsimc", "low-level", "FSIMc", "built in: `fsimc`"),
    PaperRow(
        "hdr-vdp",
        "low-level",
        "HDR-VDP",
        "the optional 'vdp' extra: `pip install -e '.[vdp]'` (cvvdp), metric `cvvdp`",
        note="ours is ColorVideoVDP (`cvvdp`), HDR-VDP's successor (HDR-VDP is MATLAB): not the "
        "paper's metric",
    ),
    PaperRow(
        "gaussian",
        RANDOM,
        "Gaussian",
        "no weights: a seeded random AlexNet trunk (lpips-alex, variant=baseline, "
        "trunk_weights=None)",
        note="the paper's random net is Gaussian; ours is torchvision's default "
        "(kaiming-style) initialisation, as the official code's",
    ),
    PaperRow(
        "kmeans",
        UNSUPERVISED,
        "K-means (Krähenbühl et al.)",
        "a stacked k-means initialised AlexNet trunk: `python -m metrics kmeans-init` (writes "
        "the checkpoint and its supervision sidecar; docs/trunk-metadata.md); pass it with "
        "`--trunk PATH` (platform: place it and its .meta.json in PERCEPTLAB_WEIGHTS_DIR and "
        "score lpips-alex with variant=baseline, trunk_weights=<file name>)",
    ),
    PaperRow(
        "watching",
        SELF_SUPERVISED,
        "Watching (Pathak'17)",
        _CONVERT.format(paper='"Learning features by watching objects move" (Pathak et al. 2017)'),
    ),
    PaperRow(
        "split-brain",
        SELF_SUPERVISED,
        "Split-Brain",
        _CONVERT.format(paper="Split-Brain autoencoders (Zhang et al. 2017)"),
    ),
    PaperRow(
        "puzzle",
        SELF_SUPERVISED,
        "Puzzle (Noroozi)",
        _CONVERT.format(paper="jigsaw puzzles (Noroozi & Favaro 2016)"),
    ),
    PaperRow(
        "bigan",
        SELF_SUPERVISED,
        "BiGAN",
        _CONVERT.format(paper="BiGAN (Donahue et al. 2017)"),
    ),
    *(
        PaperRow(
            net,
            SUPERVISED,
            NET_TITLES[net],
            f"{_imagenet(net)} (lpips-{net}, variant=baseline)",
        )
        for net in LPIPS_NETS
    ),
    *(
        PaperRow(
            f"{net}-{variant}",
            "lpips",
            f"{NET_LABELS[net]}-{variant}",
            (
                f"the shipped lin weights (metrics/weights) and {_imagenet(net)}"
                if variant == "lin"
                else _train(net, variant)
            ),
        )
        for variant in LPIPS_VARIANTS
        for net in LPIPS_NETS
    ),
)
ROW_BY_KEY = {row.key: row for row in ROWS}

# The platform's k-means trunks (`kmeans:<id>` trunk_weights).
_PLATFORM_KMEANS = re.compile(r"kmeans:[1-9][0-9]*")
PLATFORM_KMEANS_TRUNK = {
    "supervision": UNSUPERVISED, "method": "kmeans", "label": None, "declared_by": "platform",
}  # fmt: skip

# Low-level registry metrics with a Table-5 row: the metric and the options the row is computed
# with. The same metric scored another way (`l2` on RGB, `ssim` with its default preset) is an
# extra line of the group, noted, not a second line on the paper's row.
LOW_LEVEL_ROWS = {
    "l2-lab": ("l2", {}),
    "ssim": ("ssim", {"preset": "lpips-baseline"}),
    "fsimc": ("fsimc", {}),
    "cvvdp": ("hdr-vdp", {}),
}
# What stands next to the paper's row when a low-level metric is computed another way.
LOW_LEVEL_VARIANTS = {"l2": "l2"}


@dataclass(frozen=True)
class Placement:
    """Where a scored metric goes: its group, the paper row it reproduces (None: an extra row
    of the group), a label for extra rows, and notes (a random trunk, a stand-in metric)."""

    group: str
    row: str | None
    label: str = ""
    notes: tuple[str, ...] = ()


def _place_low_level(metric: str, values: Mapping[str, Any]) -> Placement:
    """A metric without a trunk: on its paper row when computed as the row is (e.g. `ssim` with
    preset=lpips-baseline), else an extra low-level line saying what the paper's row uses."""
    row, wanted = LOW_LEVEL_ROWS.get(metric, (None, {}))
    if row is not None and all(values.get(k) == v for k, v in wanted.items()):
        note = ROW_BY_KEY[row].note
        return Placement("low-level", row, notes=(note,) if note else ())
    paper_row = row or LOW_LEVEL_VARIANTS.get(metric)
    if paper_row is None:
        return Placement("low-level", None)
    how = ROW_BY_KEY[paper_row].obtain.removeprefix("built in: ")
    note = f"not the paper's computation: its {ROW_BY_KEY[paper_row].label} row is {how}"
    return Placement("low-level", None, notes=(note,))


def _random_note(trunk: Mapping[str, Any] | None, seed: Any, *, by_design: bool) -> str:
    where = f" (seed {seed})" if seed is not None else ""
    if by_design:
        return f"random trunk{where}, as this row asks"
    return f"computed with a random trunk{where}, not ImageNet weights: not the paper's setting"


def _is_random(trunk: Mapping[str, Any] | None) -> bool:
    return bool(trunk) and trunk.get("weights") == "random"


def place(
    *,
    metric: str,
    options: Mapping[str, Any] | None = None,
    trunk: Mapping[str, Any] | None = None,
    fit: Mapping[str, Any] | None = None,
    stand_in_for: str | None = None,
) -> Placement:
    """Where a scored metric goes in Table 5.

    Args:
        metric: Registry name, ``fitted:<id>`` or ``uploaded:<id>``.
        options: The options it was scored with.
        trunk: Its trunk declaration (``metrics.supervision.trunk_declaration``, as
            ``provenance()["trunk"]`` / a score run's ``computed_with["trunk"]`` holds it). When
            None, the built-in settings are derived from ``options["trunk_weights"]`` (a file
            then counts as undeclared: only its sidecar, read where the file is, declares it).
        fit: For LPIPS trained on judgments: ``{"net", "variant"` (lin, scratch, tune)``,
            ``"trunk"`` (``"random"``, ``"imagenet"`` or a file), ``"seed"``}``.
        stand_in_for: A paper row this metric was computed for on purpose with a random trunk
            instead of the row's weights (``table5 --random-trunks``): it goes on that row,
            noted.
    """
    options = dict(options or {})
    if stand_in_for is not None:
        row = ROW_BY_KEY[stand_in_for]
        seed = options.get("seed", 0)
        return Placement(row.group, row.key, notes=(_random_note(None, seed, by_design=False),))
    if fit is not None:
        return _place_fit(fit)
    if ":" in metric:
        note = "uploaded or external weights: how they were trained is not declared"
        return Placement("other", None, notes=(note,))
    from metrics._registry import get_metric_info

    try:
        info = get_metric_info(metric)
    except ValueError:
        return Placement("other", None, notes=("not a metric of this version",))
    declared = {opt.name: opt.default for opt in info.options}
    if "trunk_weights" not in declared:
        return _place_low_level(metric, {**declared, **options})
    if not metric.startswith(("lpips-", "deep-")):
        return Placement("other", None)
    values = {**declared, **options}
    weights = values.get("trunk_weights")
    if isinstance(weights, str) and _PLATFORM_KMEANS.fullmatch(weights):
        # The platform's own k-means trunks (`kmeans:<id>`, made by its stacked k-means
        # initialiser) are declared unsupervised by what made them.
        trunk = {**(trunk or {}), **PLATFORM_KMEANS_TRUNK, "weights": weights}
    if trunk is None:
        trunk = _builtin_trunk(weights)
    net = NET_OF_METRIC.get(metric)
    seed = values.get("seed")
    if values.get("variant") == "lin":
        notes = []
        if _is_random(trunk):
            notes.append(_random_note(trunk, seed, by_design=False))
        elif trunk.get("supervision") != SUPERVISED:
            notes.append(f"lin weights over a {trunk.get('supervision')} trunk")
        row = f"{net}-lin" if net and trunk.get("supervision") in (SUPERVISED, RANDOM) else None
        return Placement("lpips", row, label=f"{metric} (lin)", notes=tuple(notes))
    level = trunk.get("supervision", UNDECLARED)
    if level == UNDECLARED:
        return Placement(
            UNDECLARED,
            None,
            label=f"{metric} ({trunk.get('weights')})",
            notes=(
                "the trunk's supervision is not declared: add a sidecar "
                f"{trunk.get('weights')}.meta.json (docs/trunk-metadata.md)",
            ),
        )
    method = trunk.get("method")
    notes = [_random_note(trunk, seed, by_design=True)] if _is_random(trunk) else []
    row = None
    if net == "alex" and level == RANDOM:
        row = "gaussian"
    elif net == "alex" and method in PAPER_METHODS and level in (UNSUPERVISED, SELF_SUPERVISED):
        row = method
    elif net and level == SUPERVISED and method == "imagenet":
        row = net
    if row and ROW_BY_KEY[row].note:
        notes.append(ROW_BY_KEY[row].note)
    label = trunk.get("label") or f"{metric} ({method or level})"
    return Placement(level, row, label=label, notes=tuple(notes))


def _builtin_trunk(weights: Any) -> dict[str, Any]:
    """The declaration of a ``trunk_weights`` value seen without its file: ``imagenet`` and a
    random trunk declare themselves; a file is undeclared here (its sidecar is where it is)."""
    if weights in (None, "random"):
        return trunk_declaration(None)
    if weights == "imagenet":
        return trunk_declaration("imagenet")
    return {
        "weights": str(weights), "supervision": UNDECLARED, "method": None,
        "label": None, "declared_by": None,
    }  # fmt: skip


def _place_fit(fit: Mapping[str, Any]) -> Placement:
    net_name = str(fit.get("net", ""))
    net = NET_OF_METRIC.get(net_name) or NET_OF_METRIC.get(f"lpips-{net_name}")
    variant = fit.get("variant")
    trunk = fit.get("trunk")
    notes = []
    if variant == "scratch":
        notes.append("trunk trained from a random initialisation, as the scratch recipe asks")
    elif trunk == "random":
        notes.append(_random_note(None, fit.get("seed"), by_design=False))
    elif trunk not in (None, "", "imagenet"):
        notes.append(f"trunk from {trunk}")
    row = f"{net}-{variant}" if net and variant in LPIPS_VARIANTS else None
    return Placement("lpips", row, label=f"{net_name}-{variant}", notes=tuple(notes))


@dataclass
class Entry:
    """A scored metric: its placement, label, 2AFC cells (column → fraction in [0, 1] or None),
    and where it came from (a metric name, a run id)."""

    placement: Placement
    label: str
    scores: dict[str, float | None]
    source: dict[str, Any] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    partial: tuple[str, ...] = ()  # aggregate columns that average fewer sets than the paper's


def is_paper_dataset(categories: Sequence[str]) -> bool:
    """Whether scores on these 2AFC categories can stand beside the paper's: every category is
    one of BAPPS's six val sets."""
    return bool(categories) and set(categories) <= set(VAL_SETS)


def build_view(
    entries: Sequence[Entry],
    *,
    human: Mapping[str, float | None] | None = None,
    with_paper: bool = True,
    reasons: Mapping[str | None, str] | None = None,
) -> dict[str, Any]:
    """Table 5's rows in the paper's order with our scores and, ``with_paper``, the paper's.

    Returns:
        ``{"columns": [...], "with_paper": bool, "groups": [{"key", "title", "lines": [line]}]}``
        where a line is ``{"row": paper row key or None, "label", "status": "computed" |
        "not available", "ours": {column: fraction or None}, "intervals", "partial", "paper":
        {column: percent} or None, "notes": [...], "obtain": str, "reason": str, "source":
        {...}}``. Groups follow the paper; ``undeclared`` and ``other`` come last and only when
        they have lines. ``reasons`` maps a paper row to why it could not be computed (e.g.
        the missing weights file), shown with its "not available" line.
    """
    reasons = reasons or {}
    by_row: dict[str, list[Entry]] = {}
    extras: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.placement.row is not None:
            by_row.setdefault(entry.placement.row, []).append(entry)
        else:
            extras.setdefault(entry.placement.group, []).append(entry)

    def paper(row: PaperRow | None) -> dict[str, float] | None:
        if not with_paper or row is None or row.paper is None:
            return None
        return dict(zip(PAPER_COLUMNS, row.paper, strict=True))

    def line(entry: Entry, row: PaperRow | None) -> dict[str, Any]:
        label = row.label if row is not None else (entry.placement.label or entry.label)
        return {
            "row": row.key if row else None,
            "label": label,
            "metric": entry.label,
            "status": "computed",
            "ours": {c: entry.scores.get(c) for c in PAPER_COLUMNS},
            "intervals": {c: list(v) for c, v in entry.intervals.items()},
            "partial": list(entry.partial),
            "paper": paper(row),
            "notes": list(entry.placement.notes),
            "obtain": "",
            "reason": "",
            "source": dict(entry.source),
        }

    groups = []
    for group in GROUPS:
        lines = []
        for row in (r for r in ROWS if r.group == group.key):
            if row.key == "human":
                if human:
                    lines.append(
                        {
                            **line(Entry(Placement("oracle", "human"), "Human", dict(human)), row),
                            "metric": "human ceiling",
                        }
                    )
                else:
                    lines.append(_unavailable(row, paper(row), ""))
                continue
            matched = by_row.get(row.key, [])
            if not matched:
                lines.append(_unavailable(row, paper(row), reasons.get(row.key, "")))
            lines.extend(line(e, row) for e in matched)
        lines.extend(line(e, None) for e in extras.get(group.key, []))
        groups.append({"key": group.key, "title": group.title, "lines": lines})
    for group in EXTRA_GROUPS:
        if extras.get(group.key):
            groups.append(
                {
                    "key": group.key,
                    "title": group.title,
                    "lines": [line(e, None) for e in extras[group.key]],
                }
            )
    return {"columns": list(PAPER_COLUMNS), "with_paper": with_paper, "groups": groups}


def _unavailable(row: PaperRow, paper: dict[str, float] | None, reason: str) -> dict[str, Any]:
    return {
        "row": row.key,
        "label": row.label,
        "metric": "",
        "status": "not available",
        "ours": dict.fromkeys(PAPER_COLUMNS),
        "intervals": {},
        "partial": [],
        "paper": paper,
        "notes": [row.note] if row.note else [],
        "obtain": row.obtain,
        "reason": reason,
        "source": {},
    }


def lines(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every line of a view, in order, each with its group key."""
    return [{**ln, "group": g["key"]} for g in view["groups"] for ln in g["lines"]]
