"""BAPPS dataset I/O: lazy, validating readers and deterministic writers of the BAPPS layout.

The layout is the one published with the LPIPS paper (Zhang et al., CVPR 2018) and read by the
official repository's data loaders::

    <root>/2afc/{train,val}/<category>/{ref,p0,p1,judge}/
    <root>/jnd/val/<category>/{p0,p1,same}/

Reading follows the official evaluation loader (file order, matching by position, RGB conversion,
``Resize(64)`` of the shorter side) and adds checks it lacks: mismatched files, fractions outside
[0, 1] and unreadable images raise :class:`BappsError` naming the file. Writing produces folders
that code written for BAPPS reads unchanged. Only NumPy and Pillow are needed: no torch, no Django.

Quick use::

    from metrics.bapps import BappsDataset, write_2afc
    data = BappsDataset("dataset")
    print(data.summary())
    val = data.twoafc("val", "traditional")        # lazy; len(val), val[0], val.batches(50)
    write_2afc("export", "val", "study-12", ((ref, p0, p1, judge), ...))
"""

from metrics.bapps._layout import (
    IMAGE_EXTENSIONS,
    JND,
    KNOWN_CATEGORIES,
    TWOAFC,
    BappsError,
    KindLayout,
)
from metrics.bapps.images import load_fraction, load_image, resize_short_side, to_official_float
from metrics.bapps.reader import (
    BappsDataset,
    BappsSet,
    JNDBatch,
    JNDItem,
    JNDSet,
    TwoAFCBatch,
    TwoAFCItem,
    TwoAFCSet,
)
from metrics.bapps.writer import write_2afc, write_jnd

__all__ = [
    "IMAGE_EXTENSIONS",
    "JND",
    "KNOWN_CATEGORIES",
    "TWOAFC",
    "BappsDataset",
    "BappsError",
    "BappsSet",
    "JNDBatch",
    "JNDItem",
    "JNDSet",
    "KindLayout",
    "TwoAFCBatch",
    "TwoAFCItem",
    "TwoAFCSet",
    "load_fraction",
    "load_image",
    "resize_short_side",
    "to_official_float",
    "write_2afc",
    "write_jnd",
]
