"""WSGI entry point: `gunicorn config.wsgi:application` (with platform/ on PYTHONPATH)."""

import os

from django.core.wsgi import get_wsgi_application

from config.local_state import prepare

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
prepare()  # var/ folders and the development secret key (settings themselves write nothing)
application = get_wsgi_application()
