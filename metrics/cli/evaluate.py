"""``metrics evaluate BAPPS_DIR --metric NAME``: the paper's Table 5 and JND mAP for any metric.

Reads ``BAPPS_DIR/2afc/<split>/*`` and ``BAPPS_DIR/jnd/<split>/*`` the way the official loader
does, scores every ``--metric`` (repeatable), and prints one table row per metric with the
columns of Table 5 (the six val sets and the aggregates, in %, bootstrap intervals underneath),
the human-ceiling row, and a JND mAP table. The full reports go to a JSON file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from metrics.cli import CLIError, parse_option
from metrics.refs import trunk_option

NAME = "evaluate"
HELP = "score metrics on a BAPPS folder: Table 5 layout (2AFC, with intervals) and JND mAP"

LABELS = {
    "traditional": "Trad", "cnn": "CNN", "all_distortions": "All-dist",
    "superres": "SR", "deblur": "Deblur", "color": "Color", "frameinterp": "Interp",
    "all_real": "All-real", "all": "All",
}  # fmt: skip
NAME_WIDTH = 30
CELL = 12


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "bapps_dir", metavar="BAPPS_DIR", help="BAPPS root: the folder holding 2afc/ and jnd/"
    )
    parser.add_argument(
        "--metric",
        action="append",
        default=None,
        metavar="NAME",
        help="registry name; repeat for several rows (default lpips-alex)",
    )
    parser.add_argument(
        "--weights",
        default=None,
        metavar="FILE",
        help="lin weights for the LPIPS metrics (e.g. lin.pth from `train`)",
    )
    parser.add_argument(
        "--trunk-weights",
        default=None,
        help="LPIPS trunk: 'imagenet' (default), a torchvision checkpoint path, "
        "or 'random' (seeded random trunk, for tests)",
    )
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        type=parse_option,
        metavar="KEY=VALUE",
        help="other metric options, e.g. 'version=\"0.0\"'; each goes to the metrics that take it",
    )
    parser.add_argument("--split", default="val", help="split to score (default val)")
    parser.add_argument(
        "--sets", default=None, help="comma-separated 2AFC sets (default: all present; '' for none)"
    )
    parser.add_argument(
        "--jnd-sets",
        default=None,
        help="comma-separated JND sets (default: all present; '' for none)",
    )
    parser.add_argument("--batch-size", type=int, default=50, help="items per batch (default 50)")
    parser.add_argument(
        "--load-size",
        type=int,
        default=64,
        help="shorter side after resizing, as the official loader (default 64)",
    )
    parser.add_argument(
        "--resamples",
        type=int,
        default=1000,
        help="bootstrap resamples for the intervals (default 1000; 0: none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--device", default=None, help="torch device (default: CUDA if present)")
    parser.add_argument(
        "--json",
        default="evaluate.json",
        metavar="FILE",
        help="where to write the full results (default evaluate.json)",
    )
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def _sets(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


def _cell(value: float | None, complete: bool = True) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}" + ("" if complete else "*")


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return f"{100 * low:.1f}-{100 * high:.1f}"


def format_2afc_table(reports: list) -> str:
    """Table 5's layout for 2AFC ``ScoreReport`` objects: a row (and an interval row) per
    metric, then the human ceiling; aggregates of incomplete column sets carry a ``*``."""
    columns = [row["column"] for row in reports[0].rows()]
    head = f"{'metric':<{NAME_WIDTH}}" + "".join(
        f"{LABELS.get(c, c)[: CELL - 1]:>{CELL}}" for c in columns
    )
    lines = [head, "-" * len(head)]
    partial = False
    for report in reports:
        rows = {row["column"]: row for row in report.rows()}
        cells, ranges = [], []
        for column in columns:
            row = rows[column]
            complete = row.get("complete", True)
            partial |= not complete
            cells.append(f"{_cell(row['score'], complete):>{CELL}}")
            ranges.append(f"{_interval(row['ci_low'], row['ci_high']):>{CELL}}")
        lines.append(f"{str(report.metric)[: NAME_WIDTH - 1]:<{NAME_WIDTH}}" + "".join(cells))
        if any(r.strip() for r in ranges):
            lines.append(" " * NAME_WIDTH + "".join(ranges))
    rows = {row["column"]: row for row in reports[0].rows()}
    lines.append(
        f"{'Human':<{NAME_WIDTH}}"
        + "".join(
            f"{_cell(rows[c]['human'], rows[c].get('complete', True)):>{CELL}}" for c in columns
        )
    )
    if partial:
        lines.append("* averages only the sets present, not the paper's full column")
    return "\n".join(lines)


def format_jnd_table(reports: list) -> str:
    """JND mAP (%) per set and their mean, one row (and an interval row) per metric."""
    columns = [row["column"] for row in reports[0].rows()]
    head = f"{'metric':<{NAME_WIDTH}}" + "".join(f"{LABELS.get(c, c):>{CELL}}" for c in columns)
    lines = [head, "-" * len(head)]
    for report in reports:
        rows = {row["column"]: row for row in report.rows()}
        lines.append(
            f"{str(report.metric)[: NAME_WIDTH - 1]:<{NAME_WIDTH}}"
            + "".join(f"{_cell(rows[c]['score']):>{CELL}}" for c in columns)
        )
        ranges = [_interval(rows[c]["ci_low"], rows[c]["ci_high"]) for c in columns]
        if any(ranges):
            lines.append(" " * NAME_WIDTH + "".join(f"{r:>{CELL}}" for r in ranges))
    return "\n".join(lines)


def _accepted(name: str) -> set[str]:
    """Option names a metric takes; a plain name is checked here so that a typo fails with the
    list of known metrics before any file is read (resolver names bring their own options)."""
    from metrics import get_metric_info

    return set() if ":" in name else {opt.name for opt in get_metric_info(name).options}


def _check(names: list[str], args: argparse.Namespace) -> None:
    accepted = [_accepted(n) for n in names]
    if args.weights is not None:
        if not any("lin_weights" in a for a in accepted):
            raise CLIError(f"--weights (LPIPS lin weights) does not apply to {', '.join(names)}")
        if not Path(args.weights).is_file():
            raise CLIError(f"--weights: {args.weights} does not exist")
    if args.trunk_weights is not None and not any("trunk_weights" in a for a in accepted):
        raise CLIError("--trunk-weights applies to LPIPS metrics only")
    for key, _ in args.option:
        if not any(key in a or not a for a in accepted):
            raise CLIError(f"option {key!r} applies to none of {', '.join(names)}")


def _build(name: str, args: argparse.Namespace):
    """The metric and its row label; --weights/--trunk-weights go to the metrics that take them."""
    from metrics import create_metric

    accepted = _accepted(name)
    # -o options go to the metrics that declare them (all of them for a resolver name).
    options = {k: v for k, v in args.option if k in accepted or not accepted}
    label = name
    if args.weights is not None and "lin_weights" in accepted:
        options["lin_weights"] = args.weights
        options.setdefault("variant", "lin")  # deep-<arch> metrics default to baseline
        label = f"{name} ({Path(args.weights).name})"
    if args.trunk_weights is not None and "trunk_weights" in accepted:
        options["trunk_weights"] = trunk_option(args.trunk_weights)
    if args.device is not None:
        options["device"] = args.device
    return create_metric(name, **options), label


def run(args: argparse.Namespace) -> int:
    names = args.metric or ["lpips-alex"]
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.resamples < 0:
        raise CLIError(f"--resamples must be ≥ 0, got {args.resamples}")
    if not Path(args.bapps_dir).is_dir():
        raise CLIError(f"{args.bapps_dir} is not a folder")
    _check(names, args)

    from tqdm.auto import tqdm

    from metrics.bapps import BappsDataset
    from metrics.training.evaluation import evaluate

    data = BappsDataset(args.bapps_dir, load_size=args.load_size)
    options = {
        "split": args.split,
        "categories": _sets(args.sets),
        "jnd_categories": _sets(args.jnd_sets),
        "batch_size": args.batch_size,
    }
    total = _count(data, args.split, options)
    results = []
    for name in names:
        metric, label = _build(name, args)
        disable = True if args.no_progress else None
        with tqdm(total=total, desc=label, unit="item", disable=disable, dynamic_ncols=True) as bar:
            result = evaluate(
                metric,
                data,
                label=label,
                n_resamples=args.resamples,
                seed=args.seed,
                on_batch=lambda _set, n: bar.update(n),
                **options,
            )
        results.append(result)
        del metric
    twoafc = [r.twoafc for r in results if r.twoafc is not None]
    jnd = [r.jnd for r in results if r.jnd is not None]
    ci = f", {args.resamples} bootstrap resamples (95% interval below each score)"
    if twoafc:
        print(f"2AFC score (%) on {data.root}/2afc/{args.split}" + (ci if args.resamples else ""))
        print(format_2afc_table(twoafc))
    if jnd:
        print(f"\nJND mAP (%) on {data.root}/jnd/{args.split}")
        print(format_jnd_table(jnd))
    out = Path(args.json)
    payload = {
        "dataset": str(data.root),
        "split": args.split,
        "load_size": args.load_size,
        "results": [r.to_dict() for r in results],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


def _count(data, split: str, options: dict) -> int:
    """Items the progress bar will see (opening the sets also checks their files)."""
    from metrics.training.evaluation import split_categories

    total = 0
    for kind, key in (("2afc", "categories"), ("jnd", "jnd_categories")):
        for name in split_categories(data, kind, split, options[key]):
            total += len(data.open(kind, split, name))
    return total
