"""``python -m metrics <subcommand>``: the metrics library's command line.

Each subcommand is a module in this package with ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; it is registered by adding its dotted path to ``SUBCOMMANDS``. Modules import
torch only inside ``run``, so ``--help`` and ``list`` stay fast.

Errors meant for the user (``CLIError``, ``ValueError``, ``TypeError``, missing files, a missing
optional extra) are printed as one ``metrics <subcommand>: error: ...`` line on stderr with exit
status 2; argparse's own usage errors exit with 2 as well.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from metrics._extras import MissingExtraError

SUBCOMMANDS = [
    "metrics.cli.list_metrics",
    "metrics.cli.weights",
    "metrics.cli.score_pairs",
    "metrics.cli.evaluate",
    "metrics.cli.table5",
    "metrics.cli.train",
    "metrics.cli.kmeans_init",
    "metrics.cli.convert_trunk",
]

USAGE_ERROR = 2


class CLIError(Exception):
    """A problem with the user's input, reported without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per entry of ``SUBCOMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="python -m metrics",
        description="PerceptLab metrics: LPIPS and baseline image distances.",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for dotted in SUBCOMMANDS:
        module = importlib.import_module(dotted)
        child = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(child)
        child.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args))
    except (
        CLIError,
        MissingExtraError,
        ValueError,
        TypeError,
        FileNotFoundError,
        NotADirectoryError,
    ) as exc:
        print(f"metrics {args.command}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR


def parse_option(text: str) -> tuple[str, object]:
    """Parse ``KEY=VALUE``; VALUE is read as JSON when it parses (1, 0.5, true, null), else text.

    Raises:
        argparse.ArgumentTypeError: Without ``=``.
    """
    import json

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.replace("-", "_"), json.loads(value)
    except json.JSONDecodeError:
        return key.replace("-", "_"), value
