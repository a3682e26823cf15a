from django.apps import AppConfig


class CrowdConfig(AppConfig):
    name = "crowd"
    verbose_name = "Crowd"

    def ready(self) -> None:
        # Studies must not import crowd: crowd listens for a study going live instead.
        from studies.signals import study_status_changed

        from .receivers import open_collection

        study_status_changed.connect(open_collection, dispatch_uid="crowd.open_collection")
        # The study page's collection links and numbers (studies cannot import crowd).
        from . import study_steps

        study_steps.register()
