"""Deterministic seeds derived from named keys.

Everything random in the library (patch positions, distortion parameters, trial plans, training)
draws from a NumPy generator seeded from a tuple of keys such as ``("patch", seed, sha256, index)``.
The keys are serialised to canonical JSON and hashed with SHA-256, so the stream depends only on
the keys: not on the process, the platform, Python's hash randomisation, or on what was generated
before. That is what makes generation restartable by index.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

#: Seeds stored in parameters are drawn in ``[0, SEED_MAX]``: small enough for every JSON reader
#: (JavaScript numbers are exact up to 2**53) and for ``torch.Generator.manual_seed``.
SEED_MAX = 2**32 - 1


def derive_seed(*keys: object) -> int:
    """Hash a tuple of keys to a 64-bit seed.

    .. math:: \\mathrm{seed} = \\mathrm{le64}(\\mathrm{SHA256}(\\mathrm{json}(keys))[0:8])

    Args:
        *keys: JSON-serialisable values (str, int, float, bool, None, lists of those).

    Returns:
        An integer in ``[0, 2**64)``.
    """
    payload = json.dumps(keys, separators=(",", ":"), sort_keys=True, allow_nan=False)
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def derive_rng(*keys: object) -> np.random.Generator:
    """A PCG64 generator seeded with :func:`derive_seed` of ``keys``."""
    return np.random.Generator(np.random.PCG64(derive_seed(*keys)))


def draw_seed(rng: np.random.Generator) -> int:
    """Draw a seed for a parameter dict (``0 <= seed <= SEED_MAX``) as a plain ``int``."""
    return int(rng.integers(0, SEED_MAX, endpoint=True))
