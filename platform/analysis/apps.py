from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = "Analysis"

    def ready(self) -> None:
        # Make "fitted:<id>" and "uploaded:<id>" resolvable by metrics.create_metric in workers.
        from . import metric_resolvers

        metric_resolvers.register()
        # The study page's freeze, fit/score and leaderboard steps (studies cannot import us).
        from . import study_steps

        study_steps.register()
