from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Your account"

    def ready(self) -> None:
        from celery.signals import worker_ready

        from .jobs import sweep_at_worker_start

        # A worker that starts publishes what a broker outage left in the outbox and re-queues
        # jobs whose worker died, without waiting for beat's first sweep.
        worker_ready.connect(sweep_at_worker_start, weak=False, dispatch_uid="perceptlab-sweep")
