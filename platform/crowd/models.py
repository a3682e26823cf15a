"""Models of the crowd app (see the issues that build it)."""
