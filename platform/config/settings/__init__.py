"""Settings: everything lives in `base`; `test` only speeds tests up."""
