from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo's management commands (`demo_setup`, `demo_run`, `load_sample_images`).

    It sits above every domain app (it drives a whole study through them) and nothing imports it.
    """

    name = "demo"
    verbose_name = "Demo"
