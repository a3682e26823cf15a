"""``metrics table5 DIR``: the paper's Table 5 on any BAPPS-layout folder, grouped as the paper.

Rows (``metrics.table5``): Human; low-level L2 (``l2-lab``), SSIM (``ssim`` preset
lpips-baseline), FSIMc, HDR-VDP (ColorVideoVDP, ``cvvdp``, the optional ``vdp`` extra); a random
(Gaussian) AlexNet; an unsupervised and self-supervised AlexNets (trunk checkpoints given with
``--trunk``, their level declared in their sidecar, ``docs/trunk-metadata.md``); the supervised
SqueezeNet, AlexNet and VGG (ImageNet trunks, uniform weights); and LPIPS lin (shipped weights),
scratch and tune (``--lpips NET-VARIANT=RUN``, from ``python -m metrics train``). A row whose
weights are missing is printed as "not available" with how to obtain them. When every 2AFC set is
one of BAPPS's val sets, the paper's published numbers are printed under ours.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from metrics.cli import CLIError

NAME = "table5"
HELP = "the paper's Table 5 on a BAPPS folder: rows grouped by supervision, paper numbers beside"

LABELS = {
    "traditional": "Trad", "cnn": "CNN", "all_distortions": "All-dist",
    "superres": "SR", "deblur": "Deblur", "color": "Color", "frameinterp": "Interp",
    "all_real": "All-real", "all": "All",
}  # fmt: skip
NAME_WIDTH = 30
CELL = 9


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "bapps_dir", metavar="DIR", help="BAPPS-layout root: the folder holding 2afc/"
    )
    parser.add_argument(
        "--trunk",
        action="append",
        default=[],
        metavar="PATH",
        help="a torchvision-layout trunk checkpoint (k-means, self-supervised, ...) scored with "
        "uniform weights; its <PATH>.meta.json declares its row (docs/trunk-metadata.md)",
    )
    parser.add_argument(
        "--lpips",
        action="append",
        default=[],
        metavar="NET-VARIANT=RUN",
        help="an LPIPS row trained on judgments, e.g. alex-tune=runs/alex-tune (a `train` "
        "output folder with lin.pth and trunk.pth) or alex-lin=lin.pth",
    )
    parser.add_argument(
        "--random-trunks",
        action="store_true",
        help="rows that need ImageNet weights use a seeded random trunk instead (each such row "
        "says so): to try the view without the weights",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="allow torchvision to download missing ImageNet weights (default: rows without "
        "them are 'not available')",
    )
    parser.add_argument(
        "--display-scale",
        type=int,
        default=4,
        help="cvvdp: device pixels per image pixel, as the study showed them (default 4)",
    )
    parser.add_argument(
        "--viewing-distance",
        type=float,
        default=0.6,
        metavar="METRES",
        help="cvvdp: declared viewing distance in metres (default 0.6)",
    )
    parser.add_argument("--split", default="val", help="split to score (default val)")
    parser.add_argument(
        "--sets", default=None, help="comma-separated 2AFC sets (default: all present)"
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
        help="bootstrap resamples for the intervals in the JSON (default 1000; 0: none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--device", default=None, help="torch device (default: CUDA if present)")
    parser.add_argument(
        "--no-paper", action="store_true", help="never print the paper's numbers beside ours"
    )
    parser.add_argument(
        "--json",
        default="table5.json",
        metavar="FILE",
        help="where to write the view (default table5.json)",
    )
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def _sets(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


def _planned(args: argparse.Namespace) -> list[dict]:
    """Every row to compute: {"row" (paper row or None), "metric", "options", "fit"}."""
    from metrics.supervision import read_trunk_meta
    from metrics.table5 import LPIPS_NETS, LPIPS_VARIANTS, NET_OF_ARCH

    imagenet = None if args.random_trunks else "imagenet"
    plan = [
        {"row": "l2", "metric": "l2-lab", "options": {}},
        {"row": "ssim", "metric": "ssim", "options": {"preset": "lpips-baseline"}},
        {"row": "fsimc", "metric": "fsimc", "options": {}},
        {
            "row": "hdr-vdp",
            "metric": "cvvdp",
            "options": {
                "display_scale": args.display_scale,
                "viewing_distance_m": args.viewing_distance,
            },
        },
        {
            "row": "gaussian",
            "metric": "lpips-alex",
            "options": {"variant": "baseline", "trunk_weights": None},
        },
    ]
    for path in args.trunk:
        if not Path(path).is_file():
            raise CLIError(f"--trunk: {path} does not exist")
        meta = read_trunk_meta(path) or {}
        arch = meta.get("arch", "alexnet")
        if arch not in NET_OF_ARCH:
            raise CLIError(
                f"--trunk {path}: its sidecar names arch {arch!r}; Table 5's nets are "
                f"{', '.join(NET_OF_ARCH)}"
            )
        plan.append(
            {
                "row": None,
                "metric": f"lpips-{NET_OF_ARCH[arch]}",
                "options": {"variant": "baseline", "trunk_weights": str(path)},
            }
        )
    # With --random-trunks the ImageNet rows are computed on a random trunk, standing in (noted).
    stand_in = args.random_trunks
    for net in LPIPS_NETS:
        plan.append(
            {
                "row": net,
                "metric": f"lpips-{net}",
                "options": {"variant": "baseline", "trunk_weights": imagenet},
                "stand_in": stand_in,
            }
        )
    given = {}
    for text in args.lpips:
        key, sep, where = text.partition("=")
        net, _, variant = key.partition("-")
        if not sep or net not in LPIPS_NETS or variant not in LPIPS_VARIANTS:
            raise CLIError(
                f"--lpips {text!r}: expected NET-VARIANT=PATH with NET one of "
                f"{', '.join(LPIPS_NETS)} and VARIANT one of {', '.join(LPIPS_VARIANTS)}"
            )
        given[key] = (*_lpips_files(text, Path(where), variant), _run_config(text, Path(where)))
        config = given[key][2]
        if config and (config.get("net"), config.get("variant")) != (net, variant):
            raise CLIError(
                f"--lpips {text!r}: that run trained {config.get('net')}-{config.get('variant')}"
                " (its results.json), not " + key
            )
    for variant in ("lin", "scratch", "tune"):
        for net in LPIPS_NETS:
            key = f"{net}-{variant}"
            if key in given:
                lin, trunk, config = given[key]
                options = {"variant": "lin", "lin_weights": str(lin), "trunk_weights": imagenet}
                if trunk is not None:  # tune, scratch: the trained trunk
                    options["trunk_weights"] = str(trunk)
                elif config and config.get("trunk_weights", "imagenet") != "imagenet":
                    # lin fitted over a random trunk (or a checkpoint): scored over the same one
                    options["trunk_weights"] = config["trunk_weights"]
                    options["seed"] = config.get("trunk_seed", 0)
                # The trunk the run started from, as its results.json says (tune may start
                # from a random trunk; scratch always does).
                started = _trunk_name(options["trunk_weights"])
                if config and "trunk_weights" in config:
                    started = _trunk_name(config["trunk_weights"])
                plan.append(
                    {
                        "row": key,
                        "metric": f"lpips-{net}",
                        "options": options,
                        "fit": {
                            "net": net,
                            "variant": variant,
                            "trunk": started,
                            "seed": options.get(
                                "seed", config.get("trunk_seed") if config else None
                            ),
                        },
                    }
                )
            elif variant == "lin":
                plan.append(
                    {
                        "row": key,
                        "metric": f"lpips-{net}",
                        "options": {"variant": "lin", "trunk_weights": imagenet},
                        "stand_in": stand_in,
                    }
                )
    return plan


def _run_config(text: str, where: Path) -> dict:
    """The `config` of a `train` output folder's results.json ({} when there is none)."""
    results = where / "results.json" if where.is_dir() else None
    if results is None or not results.is_file():
        return {}
    try:
        return dict(json.loads(results.read_text(encoding="utf-8")).get("config") or {})
    except (OSError, ValueError, AttributeError) as exc:
        raise CLIError(f"--lpips {text!r}: {results} is not readable ({exc})") from None


def _lpips_files(text: str, where: Path, variant: str) -> tuple[Path, Path | None]:
    """(lin weights, trunk checkpoint or None for the ImageNet trunk) of an --lpips value."""
    if where.is_dir():
        lin, trunk = where / "lin.pth", where / "trunk.pth"
        if not lin.is_file():
            raise CLIError(f"--lpips {text!r}: {where} has no lin.pth (a `train` output folder)")
        if variant != "lin" and not trunk.is_file():
            raise CLIError(
                f"--lpips {text!r}: {where} has no trunk.pth ({variant} trains the trunk too)"
            )
        return lin, trunk if variant != "lin" else None
    if where.is_file() and variant == "lin":
        return where, None
    if where.is_file():
        raise CLIError(
            f"--lpips {text!r}: {variant} needs a `train` output folder (lin.pth and trunk.pth)"
        )
    raise CLIError(f"--lpips {text!r}: {where} does not exist")


def _build(item: dict, args: argparse.Namespace):
    """The metric, or the reason it is not available (missing weights or extra)."""
    from metrics import create_metric
    from metrics._extras import MissingExtraError
    from metrics.lpips.trunks import TrunkWeightsNotFound

    options = dict(item["options"])
    if item["metric"].startswith("lpips-"):
        options["download"] = bool(args.download)
    if args.device is not None:
        options["device"] = args.device
    try:
        return create_metric(item["metric"], **options), None
    except (MissingExtraError, TrunkWeightsNotFound) as exc:
        return None, str(exc)


def _cell(value: float | None, partial: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}" + ("*" if partial else "")


def format_view(view: dict, *, title: str) -> str:
    """The view as text: a header, then per group its lines (ours), the paper's numbers under
    each (when shown), notes, and "not available" lines with how to obtain the weights."""
    columns = view["columns"]
    head = f"{'':<{NAME_WIDTH}}" + "".join(f"{LABELS[c]:>{CELL}}" for c in columns)
    out = [title, head, "-" * len(head)]
    partial = False
    for group in view["groups"]:
        out.append(f"{group['title']}")
        for line in group["lines"]:
            name = f"  {line['label']}"[: NAME_WIDTH - 1]
            if line["status"] == "computed":
                flags = set(line.get("partial", []))
                partial |= bool(flags)
                cells = "".join(f"{_cell(line['ours'][c], c in flags):>{CELL}}" for c in columns)
                out.append(f"{name:<{NAME_WIDTH}}{cells}")
            else:
                out.append(f"{name:<{NAME_WIDTH}}  not available")
            if line["paper"]:
                paper = "".join(f"{line['paper'][c]:>{CELL}.1f}" for c in columns)
                out.append(f"{'    paper':<{NAME_WIDTH}}{paper}")
            for note in line["notes"]:
                out.append(f"    note: {note}")
            if line["status"] != "computed":
                out.append(f"    how: {line['obtain']}")
                if line.get("reason"):
                    out.append(f"    why: {line['reason']}")
    if partial:
        out.append("* averages only the sets present, not the paper's full column")
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.resamples < 0:
        raise CLIError(f"--resamples must be ≥ 0, got {args.resamples}")
    if args.display_scale < 1:
        raise CLIError(f"--display-scale must be at least 1, got {args.display_scale}")
    if not args.viewing_distance > 0:
        raise CLIError(f"--viewing-distance must be positive, got {args.viewing_distance}")
    if not Path(args.bapps_dir).is_dir():
        raise CLIError(f"{args.bapps_dir} is not a folder")
    plan = _planned(args)

    from tqdm.auto import tqdm

    from metrics.bapps import BappsDataset
    from metrics.table5 import Entry, build_view, is_paper_dataset, place
    from metrics.training.evaluation import evaluate, split_categories

    data = BappsDataset(args.bapps_dir, load_size=args.load_size)
    categories = split_categories(data, "2afc", args.split, _sets(args.sets))
    if not categories:
        raise CLIError(f"{data.root}: no 2afc/{args.split} sets to score")
    total = sum(len(data.open("2afc", args.split, c)) for c in categories)
    entries, reasons, human = [], {}, None
    for item in plan:
        metric, reason = _build(item, args)
        if metric is None:
            reasons[item["row"]] = reason
            continue
        trunk = metric.provenance().get("trunk")
        placement = place(
            metric=item["metric"],
            options=item["options"],
            trunk=trunk,
            fit=item.get("fit"),
            stand_in_for=item["row"] if item.get("stand_in") else None,
        )
        label = item["metric"] + (
            " [" + ", ".join(f"{k}={_short(v)}" for k, v in item["options"].items()) + "]"
            if item["options"]
            else ""
        )
        with tqdm(
            total=total, desc=label[:40], unit="item", disable=True if args.no_progress else None
        ) as bar:
            result = evaluate(
                metric,
                data,
                label=label,
                n_resamples=args.resamples,
                seed=args.seed,
                split=args.split,
                categories=categories,
                jnd_categories=[],
                batch_size=args.batch_size,
                on_batch=lambda _set, n: bar.update(n),
            )
        del metric
        rows = list(result.twoafc.rows())
        if human is None:
            human = {r["column"]: r["human"] for r in rows}
        entries.append(
            Entry(
                placement=placement,
                label=label,
                scores={r["column"]: r["score"] for r in rows},
                partial=tuple(r["column"] for r in rows if not r.get("complete", True)),
                intervals={
                    r["column"]: (r["ci_low"], r["ci_high"])
                    for r in rows
                    if r["ci_low"] is not None
                },
                source={"metric": item["metric"], "options": _plain(item["options"])},
            )
        )
    with_paper = is_paper_dataset(categories) and not args.no_paper
    view = build_view(entries, human=human, with_paper=with_paper, reasons=reasons)
    title = (
        f"Table 5 view of {data.root} (2afc/{args.split}: {', '.join(categories)}): 2AFC score "
        "×100, higher is better" + ("; 'paper': Zhang et al. 2018, Table 5" if with_paper else "")
    )
    print(format_view(view, title=title))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "dataset": str(data.root),
        "split": args.split,
        "categories": categories,
        "load_size": args.load_size,
        **view,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


def _trunk_name(trunk_weights: str | None) -> str:
    """A fit's trunk as the platform stores it: "random", "imagenet" or the file's name."""
    if trunk_weights is None:
        return "random"
    return "imagenet" if trunk_weights == "imagenet" else Path(trunk_weights).name


def _short(value: object) -> str:
    text = "None" if value is None else str(value)
    return Path(text).name if "/" in text else text


def _plain(options: dict) -> dict:
    return {
        k: v if v is None or isinstance(v, bool | int | float) else str(v)
        for k, v in options.items()
    }
