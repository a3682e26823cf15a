"""``metrics kmeans-init``: an AlexNet trunk initialised by stacked k-means on a folder of images.

The paper's unsupervised row (Krähenbühl et al., ICLR 2016; ``metrics.training.kmeans_init``
describes the recipe and how it differs). Writes a torchvision-layout ``features`` state dict
(``features.{0,3,6,8,10}.weight/bias``) that ``lpips-alex`` and ``deep-alexnet`` take as
``trunk_weights``, and next to it ``OUT.json`` with the settings and what each layer did.
The same images, seed and device give the same bytes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "kmeans-init"
HELP = "initialise an AlexNet trunk by stacked k-means on your images (the unsupervised row)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images_dir", metavar="IMAGES_DIR", help="folder of images (not recursive)")
    parser.add_argument("out", metavar="OUT.pt", help="checkpoint to write")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--crop-size", type=int, default=128, help="random crop side (128)")
    parser.add_argument("--crops", type=int, default=256, help="random crops drawn (256)")
    parser.add_argument("--patches", type=int, default=8192, help="patches per layer (8192)")
    parser.add_argument("--iterations", type=int, default=30, help="k-means steps per layer (30)")
    parser.add_argument(
        "--no-between-layer", action="store_true", help="skip the between-layer scaling"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT.pt if it exists")
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def run(args: argparse.Namespace) -> int:
    from metrics.cli import CLIError

    folder, out = Path(args.images_dir), Path(args.out)
    if not folder.is_dir():
        raise CLIError(f"{folder} is not a folder of images")
    if out.exists() and not args.overwrite:
        raise CLIError(f"{out} exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise CLIError(f"the folder of {out} does not exist")

    import torch
    from tqdm.auto import tqdm

    from metrics.images import list_images, load_image
    from metrics.supervision import UNSUPERVISED, write_trunk_meta
    from metrics.training.kmeans_init import LAYER_NAMES, KMeansInitConfig, kmeans_init

    config = KMeansInitConfig(
        seed=args.seed,
        crop_size=args.crop_size,
        n_crops=args.crops,
        n_patches=args.patches,
        kmeans_iterations=args.iterations,
        between_layer=not args.no_between_layer,
    )
    paths = list_images(folder)
    if not paths:
        raise CLIError(f"{folder} holds no images")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    disable = True if args.no_progress else None
    steps = len(LAYER_NAMES) + int(config.between_layer)
    with tqdm(total=steps, desc="k-means init", unit="layer", disable=disable) as bar:

        def progress(event: dict) -> None:
            bar.set_postfix_str(event.get("layer", "between-layer scaling"))
            bar.update(1)

        images = [load_image(p) for p in paths]
        result = kmeans_init(images, config, device=device, progress=progress)
    result.save(out)
    report = {**result.report(), "device": str(device), "images_dir": str(folder)}
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    # Its Table-5 row (unsupervised, k-means) declared beside it (docs/trunk-metadata.md).
    sidecar = write_trunk_meta(
        out, supervision=UNSUPERVISED, method="kmeans", seed=config.seed, images_dir=str(folder)
    )
    print(f"wrote {out} ({len(paths)} images, seed {config.seed}, {device}) and {sidecar.name}")
    print(f"{'layer':<6} {'filters':>7} {'dim':>5} {'rank':>5} {'k-means':>8} {'between':>8}")
    for layer in result.layers:
        print(
            f"{layer.name:<6} {layer.filters:>7} {layer.patch_dim:>5} {layer.whitening_rank:>5} "
            f"{layer.kmeans_objective:>8.3f} {layer.between_factor:>8.3f}"
        )
    return 0
