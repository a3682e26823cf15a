"""What the embedded defaults keep on the local disk, made by the entry points, never by settings.

Importing settings has no side effects: it creates no folder and writes no file. The processes
that run the platform call `prepare()` before Django reads its settings: `manage.py`, the WSGI
application, Celery's first use in a process (its `on_configure` signal) and the test suite's
conftest. It creates the folders of the embedded defaults (the var/ folder for SQLite, static files and kombu's
filesystem broker) and, in development only (DEBUG on and no SECRET_KEY/SECRET_KEY_FILE given),
a generated secret key in var/secret_key, which settings then read (so sessions survive
restarts). Production sets SECRET_KEY (or SECRET_KEY_FILE) and its own paths.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import MutableMapping
from pathlib import Path

from config.env import env_bool, env_str

BASE_DIR = Path(__file__).resolve().parents[2]  # the repository root
CELERY_SUBFOLDERS = ("broker", "processed", "results", "control")


def var_dir(environ: MutableMapping[str, str] | None = None) -> Path:
    """PERCEPTLAB_VAR_DIR, or var/ in the repository."""
    return Path(env_str("PERCEPTLAB_VAR_DIR", str(BASE_DIR / "var"), environ_=environ))


def celery_dir(environ: MutableMapping[str, str] | None = None) -> Path:
    """Where kombu's filesystem broker keeps messages when REDIS_URL is unset."""
    return var_dir(environ) / "celery"


def static_root(environ: MutableMapping[str, str] | None = None) -> Path:
    return Path(env_str("STATIC_ROOT", str(var_dir(environ) / "static"), environ_=environ))


def dev_secret_path(environ: MutableMapping[str, str] | None = None) -> Path:
    return var_dir(environ) / "secret_key"


def prepare(environ: MutableMapping[str, str] | None = None) -> None:
    """Create the embedded defaults' folders and, in development, the generated secret key."""
    env = os.environ if environ is None else environ
    var_dir(env).mkdir(parents=True, exist_ok=True)
    static_root(env).mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing one
    if not env_str("REDIS_URL", environ_=env):
        for sub in CELERY_SUBFOLDERS:
            (celery_dir(env) / sub).mkdir(parents=True, exist_ok=True)
    given = env.get("SECRET_KEY") or env.get("SECRET_KEY_FILE")
    if not given and env_bool("DEBUG", True, environ_=env):
        path = dev_secret_path(env)
        if not path.exists():
            path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
            path.chmod(0o600)
