"""``metrics list``: the registered metrics with their input ranges and options (no torch)."""

from __future__ import annotations

import argparse

NAME = "list"
HELP = "list the registered metrics, their input ranges and options"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", help="shell-style name pattern, e.g. 'lpips-*'")
    parser.add_argument("--options", action="store_true", help="also list every option")


def run(args: argparse.Namespace) -> int:
    from metrics import list_metrics

    infos = list_metrics(args.pattern)
    if not infos:
        print(f"no metric matches {args.pattern!r}")
        return 1
    for info in infos:
        low, high = info.input_range
        print(f"{info.name:<14} [{low:g}, {high:g}]  {info.summary}")
        if args.options:
            for opt in info.options:
                choices = f" {{{', '.join(repr(c) for c in opt.choices)}}}" if opt.choices else ""
                print(f"    {opt.name}={opt.default!r}{choices}: {opt.help}")
    return 0
