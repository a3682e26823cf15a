"""Regenerate the pictures of docs/duels.md from a real run of ``metrics.duels``.

    .venv/bin/python benchmarks/duels_figures.py docs/img/duels

1. ``gmad_l2_ssim.png``: gMAD selection on a pool of 20 photo patches × 12 traditional
   distortions × 10 severities; for each ordered pair of L2 and SSIM (``wang2004``), the top pair
   of each of 3 defender levels: reference, the attacker's closer image, its farther image.
2. ``mad_l2_ssim.png``: MAD synthesis from one noisy patch (Gaussian white noise, severity 0.5):
   L2 held (relative tolerance 1%) while SSIM is maximised and minimised, and SSIM held while L2
   moves; 200 steps each.

Pixels are enlarged 3× (nearest neighbour) for the page; labels give the metric values. Prints
the numbers it drew, for the captions.
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from duels_pool import build_pool, references  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

import metrics  # noqa: E402
from metrics.duels import score_pool, select_gmad_pairs, synthesize_mad_pair  # noqa: E402

SCALE = 3
PAD = 6
LABEL = 30


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return (
        (x.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy())
        .repeat(SCALE, 0)
        .repeat(SCALE, 1)
    )


def grid(rows: list[tuple[str, list[tuple[torch.Tensor, str]]]]) -> np.ndarray:
    """Rows of (title, [(image, label), ...]) as one white canvas with text."""
    side = rows[0][1][0][0].shape[-1] * SCALE
    cols = max(len(r[1]) for r in rows)
    title_w = 150
    w = title_w + cols * (side + PAD) + PAD
    h = len(rows) * (side + LABEL + PAD) + PAD
    canvas = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (title, cells) in enumerate(rows):
        y = PAD + i * (side + LABEL + PAD)
        for k, line in enumerate(title.split("\n")):
            draw.text((PAD, y + side // 2 - 12 + 12 * k), line, fill="black")
        for j, (img, label) in enumerate(cells):
            x = title_w + j * (side + PAD)
            canvas.paste(Image.fromarray(_to_uint8(img)), (x, y))
            for k, line in enumerate(label.split("\n")):
                draw.text((x, y + side + 2 + 12 * k), line, fill="black")
    return np.asarray(canvas)


def gmad_figure(out: pathlib.Path) -> None:
    refs, cands, columns = build_pool(references(20), severities=10)
    l2 = metrics.create_metric("l2", device="cpu")
    ssim = metrics.create_metric("ssim", device="cpu")
    scores = {"L2": score_pool(l2, refs, cands), "SSIM": score_pool(ssim, refs, cands)}
    rows = []
    for dname, aname in (("L2", "SSIM"), ("SSIM", "L2")):
        pairs = select_gmad_pairs(
            scores[dname], scores[aname], levels=3, pairs_per_level=1, tolerance=0.05
        )
        for p in pairs:
            f0, s0 = columns[p.i0]
            f1, s1 = columns[p.i1]
            print(f"defender {dname} attacker {aname} level {p.level}: {p}", f0, s0, f1, s1)
            rows.append(
                (
                    f"defender {dname}\nattacker {aname}\nlevel {p.level}",
                    [
                        (refs[p.ref_index], "reference"),
                        (
                            cands[p.ref_index, p.i0],
                            f"{dname} {p.defender[0]:.4g}\n{aname} {p.attacker[0]:.4g}",
                        ),
                        (
                            cands[p.ref_index, p.i1],
                            f"{dname} {p.defender[1]:.4g}\n{aname} {p.attacker[1]:.4g}",
                        ),
                    ],
                )
            )
    Image.fromarray(grid(rows)).save(out / "gmad_l2_ssim.png", optimize=True)


def mad_figure(out: pathlib.Path) -> None:
    refs, cands, columns = build_pool(
        references(1), severities=2, families=("gaussian_white_noise",)
    )
    ref, start = refs[0], cands[0, 0]
    print("start:", columns[0])
    l2 = metrics.create_metric("l2", device="cpu")
    ssim = metrics.create_metric("ssim", device="cpu")
    rows = []
    for fixed, moved, fname, mname in ((l2, ssim, "L2", "SSIM"), (ssim, l2, "SSIM", "L2")):
        r = synthesize_mad_pair(fixed, moved, ref, start, tolerance=0.01, steps=200)
        print(
            f"{fname} fixed, {mname} moved: fixed {r.fixed}, moved {r.moved}, {r.steps_run} steps"
        )
        rows.append(
            (
                f"{fname} held\n{mname} moved",
                [
                    (ref, "reference"),
                    (start, f"start\n{fname} {r.fixed[0]:.4g} {mname} {r.moved[0]:.4g}"),
                    (r.x_min, f"{mname} min\n{fname} {r.fixed[2]:.4g} {mname} {r.moved[2]:.4g}"),
                    (r.x_max, f"{mname} max\n{fname} {r.fixed[1]:.4g} {mname} {r.moved[1]:.4g}"),
                ],
            )
        )
    Image.fromarray(grid(rows)).save(out / "mad_l2_ssim.png", optimize=True)


def main() -> None:
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img/duels")
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    gmad_figure(out)
    mad_figure(out)


if __name__ == "__main__":
    main()
