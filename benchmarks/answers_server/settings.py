"""Settings for the answer benchmark's server: the deployment settings plus one benchmark-only
URL (``/bench/write/``), so the minimal durable write runs in the same gunicorn as the answers."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "benchmarks.answers_server.urls"
