"""Traditional distortions (BAPPS Table 2), their composition, and the CNN-based family.

Importing this package registers photometric (4), noise (6), blur (2), spatial (7) and
compression (1) distortions, ``composed`` and ``cnn_autoencoder``; ``list_distortions`` orders
them by family. Nothing here imports torch: the CNN kernel imports it when a model is applied.
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
