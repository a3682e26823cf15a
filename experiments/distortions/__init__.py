"""Traditional distortions (BAPPS Table 2), their composition, and the CNN-based family.

Importing this package registers, in listing order: photometric (4), noise (6), blur (2),
spatial (7), compression (1), ``composed`` and ``cnn_autoencoder``. Nothing here imports torch:
the CNN kernel imports it when a model is applied.
"""

from experiments.distortions import (  # noqa: F401  (imported to register)
    blur,
    cnn,
    composed,
    compression,
    noise,
    overlays,
    photometric,
    warps,
)
