"""Version of the stimulus-generation library.

It is recorded in every provenance record. Bump the minor number whenever a change can alter the
bytes of a stimulus regenerated from the same provenance (a kernel, a default, a rounding rule), so
that :func:`experiments.regenerate` can refuse to silently produce different pixels.
"""

__version__ = "0.1.0"
