"""The test suite is an entry point like manage.py: it prepares the embedded defaults' local
state (var/ folders) before any test database or broker folder is used. Settings never do."""

from config.local_state import prepare

prepare()
