"""Real algorithms (BAPPS §5.3) with classical, weight-free implementations, plus small networks
trained on the fly: super-resolution, deblurring, frame interpolation and colourisation.

Importing this package registers them (family ``real``); nothing here imports torch. Algorithms
of one task share a sampler, so the planner can compare two of them on the same input. Outputs of
algorithms run elsewhere are imported with :mod:`experiments.external`.
"""

from experiments.real import (  # noqa: F401  (imported to register)
    colorize,
    deblur,
    frameinterp,
    superres,
)
