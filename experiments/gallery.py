"""Picture grids and the parameter table of the distortion docs, generated from the registry.

``python -m experiments.gallery docs`` (from the repository root) rewrites the images
``docs/img/distortions_<group>.png`` and the table between the ``registry`` markers of
``docs/distortions.md``. A test checks that the committed table matches the code.

:func:`render_grid` is also usable for previews (for example in the admin): rows are
distortions, columns the reference patch and the requested severities, all drawn from the same
seed so a row differs only in severity.
"""

from __future__ import annotations

import argparse
import hashlib
import pathlib
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from experiments.registry import get_distortion, list_distortions

BEGIN, END = "<!-- registry:begin -->", "<!-- registry:end -->"
GROUPS = {
    "photometric": ("photometric",),
    "noise": ("noise",),
    "blur_compression": ("blur", "compression"),
    "spatial": ("spatial",),
    "composed_cnn": ("composed", "cnn"),
    "real": ("real",),
}
_LABEL_WIDTH, _HEADER, _GAP = 170, 18, 4


def render_grid(
    names: Sequence[str],
    patch: np.ndarray,
    severities: Sequence[float],
    *,
    models: dict[str, list[str]] | None = None,
    load_model: Callable[[str], bytes] | None = None,
    seed: int = 0,
    scale: int = 2,
) -> np.ndarray:
    """A labelled grid: one row per distortion, columns reference + one per severity.

    Args:
        names: Distortions (rows). A name may repeat with different ``models``: rows use the
            ``k``-th model of their kind for the ``k``-th repeat.
        patch: H×W×3 uint8 reference patch.
        severities: Column severities.
        models: Model kind → SHA-256s, for model-backed distortions.
        load_model: ``sha256 -> bytes`` when models are not cached in this process.
        seed: Seed of every row's parameter draws.
        scale: Nearest-neighbour magnification of each tile.

    Returns:
        An RGB uint8 image.
    """
    h, w = patch.shape[0] * scale, patch.shape[1] * scale
    width = _LABEL_WIDTH + (len(severities) + 1) * (w + _GAP)
    canvas = Image.new("RGB", (width, _HEADER + len(names) * (h + _GAP)), "white")
    draw = ImageDraw.Draw(canvas)
    for col, label in enumerate(["reference", *(f"s = {s:g}" for s in severities)]):
        draw.text((_LABEL_WIDTH + col * (w + _GAP) + 4, 3), label, fill="black")
    repeats: dict[str, int] = {}
    for row, name in enumerate(names):
        distortion = get_distortion(name)
        options = {}
        kind = distortion.info.model_kind
        if kind is not None:
            index = repeats.get(name, 0)
            repeats[name] = index + 1
            options["models"] = [(models or {})[kind][index]]
        top = _HEADER + row * (h + _GAP)
        draw.text((4, top + h // 2 - 6), name, fill="black")
        tiles = [patch]
        for severity in severities:
            params = distortion.sample_params(np.random.default_rng(seed), severity, **options)
            tiles.append(distortion.apply(patch, load_model=load_model, **params))
        for col, tile in enumerate(tiles):
            big = np.repeat(np.repeat(tile, scale, axis=0), scale, axis=1)
            canvas.paste(Image.fromarray(big), (_LABEL_WIDTH + col * (w + _GAP), top))
    return np.asarray(canvas)


def _cell(spec) -> str:
    if spec.kind in ("float", "int"):
        return f"`{spec.name}` {spec.kind} [{spec.low:.4g}, {spec.high:.4g}]"
    if spec.kind == "floats":
        return f"`{spec.name}` {spec.length} floats in [{spec.low:.4g}, {spec.high:.4g}]"
    if spec.kind == "choice":
        return f"`{spec.name}` one of {', '.join(map(str, spec.choices))}"
    return f"`{spec.name}` {spec.kind}"


def registry_markdown() -> str:
    """The markdown table of every registered distortion (family, parameters, severity)."""
    lines = [
        "| distortion | family | parameters (accepted range) | severity s ∈ [0, 1] |",
        "|---|---|---|---|",
    ]
    for info in list_distortions():
        params = "<br>".join(_cell(p) for p in info.params)
        family = info.family + (f" ({info.task})" if info.task else "")
        severity = info.severity.replace("|", "\\|")  # a bare | would split the table cell
        lines.append(f"| `{info.name}` | {family} | {params} | {severity} |")
    return "\n".join(lines)


def _sample_inputs():
    import skimage.data

    from experiments.patches import sample_patch
    from experiments.png import encode_png

    image = np.ascontiguousarray(skimage.data.astronaut())
    sha = hashlib.sha256(encode_png(image)).hexdigest()
    patches = [sample_patch(image, image_sha256=sha, seed=1, index=i).pixels for i in range(64)]
    crop = image[360:424, 120:184].copy()  # the mission patch: colour, text and edges
    return patches, crop


def write_docs(root: pathlib.Path) -> list[pathlib.Path]:
    """Regenerate the docs images and the registry table under ``root`` (the docs folder)."""
    from experiments import train_model
    from experiments.png import encode_png

    patches, crop = _sample_inputs()
    trained = {
        kind: [train_model(kind, patches, seed=s).sha256 for s in seeds]
        for kind, seeds in {
            "autoencoder": (0, 1, 2),
            "sr_net": (0,),
            "colorizer_net": (0,),
            "colorizer_lut": (0,),
        }.items()
    }
    written = []
    (root / "img").mkdir(parents=True, exist_ok=True)
    for group, families in GROUPS.items():
        names = [i.name for f in families for i in list_distortions(family=f)]
        if "cnn" in families:
            names += ["cnn_autoencoder"] * 2  # three different random autoencoders
        scale = 1 if group == "real" else 2
        grid = render_grid(names, crop, (0.25, 0.5, 0.75, 1.0), models=trained, scale=scale)
        path = root / "img" / f"distortions_{group}.png"
        path.write_bytes(encode_png(grid))
        written.append(path)
    doc = root / "distortions.md"
    text = doc.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    doc.write_text(text[:start] + "\n" + registry_markdown() + "\n" + text[end:])
    written.append(doc)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="Regenerate docs/img grids and the table.")
    parser.add_argument("docs", type=pathlib.Path, help="the docs folder")
    for path in write_docs(parser.parse_args().docs):
        print(path)


if __name__ == "__main__":
    main()
