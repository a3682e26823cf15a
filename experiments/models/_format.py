"""A small, deterministic, pickle-free container for trained models.

Layout (all integers little-endian)::

    b"PLMODEL1"                     8-byte magic
    uint32 header_length
    header                          canonical JSON (sorted keys, no spaces), UTF-8
    payload                         the arrays' raw bytes, concatenated in header order

The header holds ``kind``, ``hparams``, ``training`` (seed, steps, patch digest …), the library
version, and for each array its ``name``, ``dtype`` (NumPy ``str``, e.g. ``<f4``) and ``shape``.
The same weights therefore always give the same bytes, hence the same SHA-256, which is the
model's identity in provenance records. No pickle is involved, so loading bytes from a database or
an upload cannot execute code (unlike ``torch.load`` on an untrusted file).
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = b"PLMODEL1"
_ALLOWED_DTYPES = {"<f4", "<f8", "<i8", "<i4", "|u1"}


@dataclass(frozen=True)
class ModelBlob:
    """A parsed model file.

    Attributes:
        kind: Model kind (``autoencoder``, ``sr_net``, ``colorizer_net``, ``colorizer_lut``).
        hparams: Hyperparameters that rebuild the architecture.
        training: What it was trained on and how (seed, steps, patch digest, losses).
        library_version: :data:`experiments.__version__` at training time.
        arrays: Weights by name, in stored order.
        sha256: Digest of the serialised bytes.
    """

    kind: str
    hparams: dict[str, Any]
    training: dict[str, Any]
    library_version: str
    arrays: dict[str, np.ndarray]
    sha256: str


def pack_model(
    kind: str,
    hparams: dict[str, Any],
    training: dict[str, Any],
    arrays: dict[str, np.ndarray],
    library_version: str,
) -> bytes:
    """Serialise a model; see the module docs for the layout."""
    specs = []
    chunks = []
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        array = array.astype(dtype, copy=False)
        if dtype.str not in _ALLOWED_DTYPES:
            raise ValueError(f"array {name!r} has unsupported dtype {dtype}")
        specs.append({"name": name, "dtype": dtype.str, "shape": list(array.shape)})
        chunks.append(array.tobytes())
    header = {
        "format": 1,
        "kind": kind,
        "hparams": hparams,
        "training": training,
        "library_version": library_version,
        "arrays": specs,
    }
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    return MAGIC + struct.pack("<I", len(text)) + text + b"".join(chunks)


def unpack_model(data: bytes, expected_sha256: str | None = None) -> ModelBlob:
    """Parse model bytes, checking the magic, the sizes and (optionally) the digest.

    Raises:
        ValueError: Not a model file, truncated, or the digest differs from ``expected_sha256``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"model data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise ValueError(f"model bytes have sha256 {digest}, expected {expected_sha256}")
    if data[:8] != MAGIC or len(data) < 12:
        raise ValueError("not a PerceptLab model file (bad magic)")
    (length,) = struct.unpack("<I", data[8:12])
    try:
        header = json.loads(data[12 : 12 + length])
    except ValueError as error:
        raise ValueError(f"corrupt model header: {error}") from None
    offset = 12 + length
    arrays = {}
    for spec in header["arrays"]:
        if spec["dtype"] not in _ALLOWED_DTYPES:
            raise ValueError(f"model array {spec['name']!r} has unsupported dtype {spec['dtype']}")
        dtype = np.dtype(spec["dtype"])
        count = int(np.prod(spec["shape"], dtype=np.int64))
        end = offset + count * dtype.itemsize
        if end > len(data):
            raise ValueError("model file is truncated")
        arrays[spec["name"]] = np.frombuffer(data, dtype, count, offset).reshape(spec["shape"])
        offset = end
    if offset != len(data):
        raise ValueError("model file has trailing bytes")
    return ModelBlob(
        header["kind"],
        header["hparams"],
        header["training"],
        header["library_version"],
        arrays,
        digest,
    )
