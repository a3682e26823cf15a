"""DRF's command name for `create_api_token` (the key is stored hashed; see that command)."""

from .create_api_token import Command  # noqa: F401
