"""``metrics weights``: which weights are present, and whether their checksums hold.

Lists the shipped LPIPS lin weights (sha256 against ``metrics/weights/manifest.json``) and the
torchvision trunk checkpoints in the torch hub cache (``$TORCH_HOME/hub/checkpoints``), saying for
each missing one which file to put where. ``--verify-trunks`` also hashes the trunk checkpoints
present (hundreds of MB) against the sha256 prefix in their torchvision file names.

Exit status: 0 when every check passes, 1 when a shipped file is damaged or (with
``--verify-trunks``) a trunk checkpoint fails its hash, or (with ``--require-trunks``) one is
missing.
"""

from __future__ import annotations

import argparse

NAME = "weights"
HELP = "list the LPIPS weights that are present and verify their checksums"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verify-trunks",
        action="store_true",
        help="hash the trunk checkpoints present (slow: up to 528 MB each)",
    )
    parser.add_argument(
        "--require-trunks",
        action="store_true",
        help="exit with status 1 when a trunk checkpoint is missing",
    )


def run(args: argparse.Namespace) -> int:
    from metrics.lpips import lin, trunks

    failures = 0
    print(f"LPIPS lin weights shipped in {lin.WEIGHTS_DIR} (BSD-2-Clause, see LICENSE there):")
    for rel, entry in sorted(lin.load_manifest().items()):
        path = lin.WEIGHTS_DIR / rel
        try:
            lin.verify_shipped(path)
            status = "sha256 ok"
        except lin.WeightsChecksumError as exc:
            status, failures = f"FAILED: {exc}", failures + 1
        print(f"  {rel:<18} {entry['bytes']:>6} B  {status}")

    folder = trunks.hub_checkpoint_dir()
    print(f"Trunk checkpoints in the torch hub cache {folder}:")
    for spec in trunks.TRUNKS.values():
        filename = trunks.checkpoint_filename(spec)
        path = folder / filename
        label = f"  lpips-{spec.net:<8} {filename:<28}"
        if not path.is_file():
            print(
                f"{label} missing: place it there (from {trunks.checkpoint_url(spec)}) or pass "
                "trunk_weights=<path>"
            )
            failures += int(args.require_trunks)
            continue
        status = f"present, {path.stat().st_size} B"
        if args.verify_trunks:
            digest = lin.sha256_of(path)
            prefix = trunks.hash_prefix(filename) or ""
            if digest.startswith(prefix):
                status += f", sha256 {digest[:12]}… ok"
            else:
                status += f", FAILED: sha256 {digest[:12]}… does not start with {prefix}"
                failures += 1
        print(f"{label} {status}")
    return 1 if failures else 0
