"""``metrics convert-trunk``: an AlexNet-family checkpoint of a self-supervised paper in
torchvision's layout (``metrics.lpips.convert_trunk`` documents the layouts and what is assumed).

Prints what it mapped (source key and shape → torchvision key and shape, per layer) and writes
``OUT`` plus the same report as JSON next to it (``OUT`` with the suffix ``.json``). A checkpoint
that does not fit the layout is an error naming the layer; nothing is written then.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "convert-trunk"
HELP = (
    "convert a self-supervised AlexNet checkpoint (BiGAN, Split-Brain, ...) to torchvision's layout"
)


# Kept here so that --help does not import torch; a test checks them against the library's.
LAYOUTS = ("caffe-alexnet", "bigan", "splitbrain", "puzzle", "moving", "netdissect", "torchvision")
INPUTS = ("imagenet", "bgr255", "rgb255", "rgb01", "rgb-1-1", "lab")


# The source layouts of the papers in Table 5, and the method each declares in the sidecar.
SELF_SUPERVISED_LAYOUTS = {
    "bigan": "bigan",
    "splitbrain": "split-brain",
    "puzzle": "puzzle",
    "moving": "watching",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", metavar="SRC", help="source checkpoint (torch file or .npz)")
    parser.add_argument("out", metavar="OUT", help="torchvision-layout checkpoint to write")
    parser.add_argument(
        "--layout",
        required=True,
        choices=LAYOUTS,
        help="source layout (docs/reproducing-the-paper.md lists the key names each assumes)",
    )
    parser.add_argument(
        "--input",
        choices=INPUTS,
        default=None,
        help="the source's input convention (default: the layout's)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def run(args: argparse.Namespace) -> int:
    from metrics.cli import CLIError

    src, out = Path(args.src), Path(args.out)
    if not src.is_file():
        raise CLIError(f"{src} does not exist")
    if out.exists() and not args.overwrite:
        raise CLIError(f"{out} exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise CLIError(f"the folder of {out} does not exist")

    from metrics.lpips.convert_trunk import convert_trunk
    from metrics.supervision import SELF_SUPERVISED, sidecar_path, write_trunk_meta

    report = convert_trunk(src, out, args.layout, input=args.input)
    out.with_suffix(".json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    print("\n".join(report.lines()))
    print(f"wrote {out}")
    # The papers' layouts say how their nets were trained: their Table-5 row is declared beside
    # the checkpoint (docs/trunk-metadata.md). The generic layouts do not, so nothing is guessed.
    method = SELF_SUPERVISED_LAYOUTS.get(args.layout)
    if method is None:
        print(
            f"no {sidecar_path(out).name} written: the {args.layout!r} layout does not say how "
            "the net was trained; declare its Table-5 row there (docs/trunk-metadata.md)"
        )
    else:
        sidecar = write_trunk_meta(
            out, supervision=SELF_SUPERVISED, method=method, layout=args.layout, source=src.name
        )
        print(f"declared self-supervised ({method}) in {sidecar.name}")
    return 0
