"""``metrics train BAPPS_DIR --net alex --variant lin --out DIR``: fit LPIPS on BAPPS judgments.

Trains on ``BAPPS_DIR/2afc/train/*`` with the official recipe (``metrics.training``), validates
on ``BAPPS_DIR/2afc/val/*`` after every epoch, and writes ``DIR/lin.pth`` (official key format),
``DIR/rank.pth``, ``DIR/results.json`` and, for tune/scratch, ``DIR/trunk.pth`` and
``DIR/lpips_official.pth``. Checkpoints go to ``DIR/checkpoints/``: running the same command
again resumes from the newest one, and Ctrl-C checkpoints and stops cleanly.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from metrics.cli import CLIError
from metrics.deep.archs import zoo_nets
from metrics.refs import trunk_option

NAME = "train"
HELP = "fit LPIPS (lin, tune or scratch) on a BAPPS folder with the official recipe"

NETS = ("alex", "vgg", "squeeze", *zoo_nets())
VARIANTS = ("lin", "tune", "scratch")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "bapps_dir",
        metavar="BAPPS_DIR",
        help="BAPPS root: the folder holding 2afc/train (and 2afc/val)",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder (weights, results.json, checkpoints/)",
    )
    parser.add_argument(
        "--net",
        choices=NETS,
        default="alex",
        metavar="NET",
        help="trunk: alex, vgg, squeeze (LPIPS) or deep-<arch> (any zoo net, see "
        "'list deep-*'; version 0.1 only) (default alex)",
    )
    parser.add_argument(
        "--variant",
        choices=VARIANTS,
        default="lin",
        help="lin: frozen trunk; tune: pretrained trunk trained too; "
        "scratch: random trunk trained too (default lin)",
    )
    parser.add_argument(
        "--version",
        choices=("0.1", "0.0"),
        default="0.1",
        help="0.1: with the scaling layer (default); 0.0: without",
    )
    parser.add_argument(
        "--trunk-weights",
        default=None,
        help="'imagenet' (default for lin/tune), a torchvision checkpoint path, "
        "or 'random' (seeded random trunk; what scratch always uses)",
    )
    parser.add_argument("--trunk-seed", type=int, default=0, help="seed of a random trunk")
    parser.add_argument("--epochs", type=int, default=5, help="epochs at the base lr (5)")
    parser.add_argument(
        "--decay-epochs", type=int, default=5, help="epochs of linear lr decay after them (5)"
    )
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (1e-4)")
    parser.add_argument("--beta1", type=float, default=0.5, help="Adam beta1 (0.5)")
    parser.add_argument("--batch-size", type=int, default=50, help="triplets per step (50)")
    parser.add_argument(
        "--dropout",
        type=float,
        default=0.5,
        help="dropout before the lin layer during training (0.5; 0: off)",
    )
    parser.add_argument("--seed", type=int, default=0, help="training seed (0)")
    parser.add_argument(
        "--path",
        choices=("auto", "fast", "full"),
        default="auto",
        help="fast: cached per-channel vectors (lin only); full: images through "
        "the trunk every step; auto: fast for lin (default)",
    )
    parser.add_argument(
        "--load-size",
        type=int,
        default=64,
        help="shorter side after resizing, as the official loader (64)",
    )
    parser.add_argument(
        "--train-sets", default=None, help="comma-separated 2afc/train sets (default: all present)"
    )
    parser.add_argument(
        "--val-sets", default=None, help="comma-separated 2afc/val sets (default: all present)"
    )
    parser.add_argument("--no-val", action="store_true", help="skip validation")
    parser.add_argument("--device", default=None, help="torch device (default: CUDA if present)")
    parser.add_argument("--no-progress", action="store_true", help="never show progress bars")


def _sets(text: str | None) -> list[str] | None:
    return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


class _Progress:
    """Turns training events into tqdm bars and one printed line per epoch."""

    def __init__(self, disable: bool | None) -> None:
        from tqdm.auto import tqdm

        self.tqdm, self.disable = tqdm, disable
        self.bar, self.key, self.done = None, None, 0

    def _advance(self, key: str, total: int, done: int, unit: str) -> None:
        if key != self.key:
            self.close()
            self.bar = self.tqdm(
                total=total,
                desc=key,
                unit=unit,
                disable=self.disable,
                dynamic_ncols=True,
                leave=False,
            )
            self.key, self.done = key, 0
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.key = None, None

    def __call__(self, event: dict) -> None:
        kind = event["event"]
        if kind == "start":
            resumed = event["resumed_from"]
            note = f", resuming from {Path(resumed).name}" if resumed else ""
            self.tqdm.write(
                f"training on {event['train_size']} triplets, {event['path']} path, "
                f"{event['epochs']} epochs{note}"
            )
        elif kind == "vectors":
            self._advance(f"vectors {event['set']}", event["total"], event["done"], "triplet")
        elif kind == "step":
            self._advance(f"epoch {event['epoch']}", event["steps"], event["step"], "step")
            self.bar.set_postfix(loss=f"{event['loss']:.4f}", refresh=False)
        elif kind == "epoch":
            self.close()
            val = event.get("val_2afc")
            val_text = f"  val 2AFC {100 * val:.2f}" if val is not None else ""
            self.tqdm.write(
                f"epoch {event['epoch']}/{event['epochs']}  lr {event['lr']:.2e}  "
                f"loss {event['loss']:.4f}  train 2AFC "
                f"{100 * event['train_2afc']:.2f}{val_text}"
            )
        elif kind in ("done", "stopped"):
            self.close()


def run(args: argparse.Namespace) -> int:
    if not Path(args.bapps_dir).is_dir():
        raise CLIError(f"{args.bapps_dir} is not a folder")
    trunk = args.trunk_weights
    if trunk is None:
        trunk = None if args.variant == "scratch" else "imagenet"
    else:
        trunk = trunk_option(trunk)

    from metrics.cli.evaluate import format_2afc_table
    from metrics.training import TrainConfig, fit

    config = TrainConfig(
        net=args.net, variant=args.variant, version=args.version, epochs=args.epochs,
        decay_epochs=args.decay_epochs, lr=args.lr, beta1=args.beta1,
        batch_size=args.batch_size, dropout=args.dropout, seed=args.seed, path=args.path,
        trunk_weights=trunk, trunk_seed=args.trunk_seed, load_size=args.load_size,
    )  # fmt: skip
    out = Path(args.out)
    progress = _Progress(True if args.no_progress else None)
    interrupted = []

    def on_interrupt(signum, frame) -> None:
        # First Ctrl-C: finish the step, checkpoint and stop; a second one aborts at once.
        if interrupted:
            raise KeyboardInterrupt
        interrupted.append(signum)
        progress.tqdm.write("stopping after this step (Ctrl-C again to abort)...")

    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: keep the default Ctrl-C behaviour
        previous = None
    try:
        result = fit(
            args.bapps_dir, val=False if args.no_val else None, config=config,
            device=args.device, checkpoint_dir=out / "checkpoints", progress=progress,
            should_stop=lambda: bool(interrupted), train_categories=_sets(args.train_sets),
            val_categories=_sets(args.val_sets),
        )  # fmt: skip
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        progress.close()
    if result.stopped:
        print(
            f"stopped after {result.epochs_completed} epochs; run the same command to resume "
            f"from {out / 'checkpoints'}"
        )
        return 130
    files = result.save(out)
    if result.val_report is not None:
        print(format_2afc_table([result.val_report]))
    for name, path in files.items():
        print(f"wrote {name}: {path}")
    return 0
