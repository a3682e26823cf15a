"""The BAPPS folder layout: names, file listing in the official order, and name matching.

Layout (reference §4.1)::

    <root>/2afc/<split>/<category>/{ref,p0,p1,judge}/
    <root>/jnd/<split>/<category>/{p0,p1,same}/

The official loader lists each member folder with ``os.walk`` (so sub-folders count too), keeps
image files (or ``.npy`` files) by extension, sorts the full paths and pairs members **by
position**. We list the same way, then check that the positions really name the same item: every
member folder must hold one file per item stem, so a missing or extra file is reported by name
instead of silently shifting every later triplet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Extensions the loader accepts as images; compared case-sensitively, upper and lower case listed.
IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".ppm",
    ".bmp",
    ".JPG",
    ".JPEG",
    ".PNG",
    ".PPM",
    ".BMP",
)
VALUE_EXTENSION = ".npy"


@dataclass(frozen=True)
class KindLayout:
    """Member folders of one dataset kind.

    Attributes:
        kind: ``"2afc"`` or ``"jnd"``, also the top-level folder name.
        images: Image member folders, in item order.
        value: The folder of per-item ``.npy`` fractions.
        value_meaning: What the fraction counts, for messages and docs.
    """

    kind: str
    images: tuple[str, ...]
    value: str
    value_meaning: str

    @property
    def members(self) -> tuple[str, ...]:
        return (*self.images, self.value)


TWOAFC = KindLayout("2afc", ("ref", "p0", "p1"), "judge", "fraction of humans preferring p1")
JND = KindLayout("jnd", ("p0", "p1"), "same", "fraction of humans answering 'same'")
LAYOUTS = {layout.kind: layout for layout in (TWOAFC, JND)}

# Display order: the paper's sets first (Table 5 order), anything else alphabetically after.
KNOWN_SPLITS = ("train", "val")
KNOWN_CATEGORIES = ("traditional", "cnn", "mix", "superres", "deblur", "color", "frameinterp")


class BappsError(ValueError):
    """A BAPPS folder or file is missing, malformed or unreadable.

    Attributes:
        path: The file or folder at fault.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


def ordered(names: list[str], known: tuple[str, ...]) -> tuple[str, ...]:
    """Sort names with ``known`` ones first in their given order, the rest alphabetically."""
    rank = {name: i for i, name in enumerate(known)}
    return tuple(sorted(names, key=lambda n: (rank.get(n, len(known)), n)))


def subfolders(path: Path) -> list[str]:
    """Names of the visible sub-folders of ``path`` (hidden ones hold partial writes)."""
    if not path.is_dir():
        return []
    return [p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]


def list_member(folder: Path, extensions: tuple[str, ...]) -> list[Path]:
    """Files under ``folder`` (recursively) ending with one of ``extensions``, sorted by path."""
    found = []
    for dirpath, _dirnames, filenames in os.walk(folder):
        found.extend(os.path.join(dirpath, f) for f in filenames if f.endswith(extensions))
    return [Path(p) for p in sorted(found)]


def _stem(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder``, without its last suffix, with ``/`` separators.

    String operations: pathlib's ``relative_to``/``with_suffix`` cost more than decoding the
    file on a 2,500-item category.
    """
    text, prefix = str(path), str(folder) + os.sep
    if not text.startswith(prefix):
        return path.relative_to(folder).with_suffix("").as_posix()  # raises the usual error
    return os.path.splitext(text[len(prefix) :])[0].replace(os.sep, "/")


def _describe(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def match_members(category_dir: Path, layout: KindLayout) -> tuple[tuple[str, ...], dict]:
    """List a category's member folders and check that they describe the same items.

    Args:
        category_dir: ``<root>/<kind>/<split>/<category>``.
        layout: The kind's member folders.

    Returns:
        ``(stems, paths)``: the item names in loader order, and member name → list of paths
        aligned with ``stems``.

    Raises:
        BappsError: Missing member folder, empty category, duplicate stems, files present in one
            member but not another (named), or an ordering that differs between members.
    """
    if not category_dir.is_dir():
        raise BappsError(f"{category_dir}: no such category folder", category_dir)
    paths: dict[str, list[Path]] = {}
    for member in layout.members:
        folder = category_dir / member
        if not folder.is_dir():
            wanted = ", ".join(f"{m}/" for m in layout.members)
            raise BappsError(
                f"{folder}: missing folder {member}/ (a {layout.kind} category holds {wanted})",
                folder,
            )
        exts = (VALUE_EXTENSION,) if member == layout.value else IMAGE_EXTENSIONS
        paths[member] = list_member(folder, exts)
    if not any(paths.values()):
        raise BappsError(
            f"{category_dir}: empty category, no files in any of its folders", category_dir
        )
    stems = {m: [_stem(p, category_dir / m) for p in ps] for m, ps in paths.items()}
    for member, names in stems.items():
        seen: dict[str, Path] = {}
        for name, path in zip(names, paths[member], strict=True):
            if name in seen:
                raise BappsError(
                    f"{path}: two files for item {name!r} in {member}/ (also {seen[name].name})",
                    path,
                )
            seen[name] = path
    _check_same_items(category_dir, layout, stems, paths)
    first = stems[layout.members[0]]
    for member, names in stems.items():
        for i, (a, b) in enumerate(zip(first, names, strict=True)):
            if a != b:
                raise BappsError(
                    f"{category_dir}: {member}/ sorts item {b!r} at position {i} where "
                    f"{layout.members[0]}/ has {a!r}; use the same extension in every folder",
                    paths[member][i],
                )
    return tuple(first), paths


def _check_same_items(
    category_dir: Path,
    layout: KindLayout,
    stems: dict[str, list[str]],
    paths: dict[str, list[Path]],
) -> None:
    every = set().union(*map(set, stems.values()))
    problems = []
    for member in layout.members:
        missing = sorted(every - set(stems[member]))
        if not missing:
            continue
        ext = VALUE_EXTENSION if member == layout.value else ".*"
        # Name a file that does exist for the first missing item, so the user can find it.
        other = next(m for m in layout.members if missing[0] in stems[m])
        witness = paths[other][stems[other].index(missing[0])]
        shown = ", ".join(f"{member}/{name}{ext}" for name in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        problems.append(
            f"{member}/ has {len(stems[member])} files, missing {shown}{more} "
            f"(e.g. {_describe(witness, category_dir)} exists)"
        )
    if problems:
        raise BappsError(f"{category_dir}: mismatched files: " + "; ".join(problems), category_dir)
