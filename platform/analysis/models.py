"""Models of the analysis app (see the issues that build it)."""
