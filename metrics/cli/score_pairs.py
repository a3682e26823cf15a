"""``metrics score-pairs DIR_A DIR_B``: per-pair distances between two folders of images.

Files are paired by name (both folders must hold the same image file names) and printed as
``name<TAB>distance`` lines in name order. Images are read as RGB and mapped onto the metric's
input range, so any registered metric works on ordinary image files.
"""

from __future__ import annotations

import argparse

from metrics.cli import CLIError, parse_option
from metrics.refs import trunk_option

NAME = "score-pairs"
HELP = "print the distance between same-named images in two folders"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir_a", metavar="DIR_A", help="first folder of images")
    parser.add_argument("dir_b", metavar="DIR_B", help="second folder, with the same file names")
    parser.add_argument("--metric", default="lpips-alex", help="registry name (default lpips-alex)")
    parser.add_argument("--batch-size", type=int, default=64, help="pairs per batch (default 64)")
    parser.add_argument("--device", default=None, help="torch device (default: CUDA if present)")
    parser.add_argument(
        "--trunk-weights",
        default=None,
        help="LPIPS trunk: a torchvision checkpoint path, 'imagenet' (the default: torch hub "
        "cache, then download) or 'random' (a seeded random trunk, for tests)",
    )
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        type=parse_option,
        metavar="KEY=VALUE",
        help='any other metric option, e.g. version="0.0"',
    )
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def pair_files(dir_a: str, dir_b: str) -> tuple[list[str], list, list]:
    """Names and paths of the images the two folders share.

    Raises:
        CLIError: A folder is missing or empty, or the folders' file names differ.
    """
    from metrics.images import list_images

    a, b = list_images(dir_a), list_images(dir_b)
    if not a:
        raise CLIError(f"{dir_a} holds no image files")
    names_a, names_b = [p.name for p in a], [p.name for p in b]
    if names_a != names_b:
        only_a = sorted(set(names_a) - set(names_b))[:5]
        only_b = sorted(set(names_b) - set(names_a))[:5]
        raise CLIError(
            "the folders must hold the same image file names; "
            f"only in {dir_a}: {', '.join(only_a) or '-'}; only in {dir_b}: {', '.join(only_b) or '-'}"
        )
    return names_a, a, b


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be at least 1, got {args.batch_size}")
    names, files_a, files_b = pair_files(args.dir_a, args.dir_b)

    from metrics import create_metric, get_metric_info, score_pairs

    options = dict(args.option)
    if args.device is not None:
        options["device"] = args.device
    if args.trunk_weights is not None:
        if all(opt.name != "trunk_weights" for opt in get_metric_info(args.metric).options):
            raise CLIError(f"--trunk-weights applies to LPIPS metrics, not {args.metric}")
        options["trunk_weights"] = trunk_option(args.trunk_weights)
    metric = create_metric(args.metric, **options)
    if getattr(metric, "spatial", False):
        raise CLIError("spatial=true is not supported here: score-pairs prints one number a pair")
    distances = score_pairs(
        metric,
        files_a,
        files_b,
        batch_size=args.batch_size,
        progress=False if args.no_progress else None,
    )
    for name, value in zip(names, distances.tolist(), strict=True):
        print(f"{name}\t{value:.6f}")
    return 0
