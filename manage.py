#!/usr/bin/env python
"""Django's command-line utility for PerceptLab.

`platform/` is a plain folder, never a package (a `platform/__init__.py` would shadow the standard
library's `platform` module); this script puts it on sys.path so `config`, `studies`, ... import.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main() -> None:
    for path in (str(ROOT), str(ROOT / "platform")):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    from config.local_state import prepare

    prepare()  # var/ folders and the development secret key (settings themselves write nothing)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
