from django.apps import AppConfig


class DuelsConfig(AppConfig):
    name = "duels"
    verbose_name = "Metric duels"

    def ready(self) -> None:
        # A duel study is a `studies.Study` whose regular trials this app designs: register the
        # generator the study lifecycle calls (studies never imports duels).
        from studies import generators, workflow

        from . import services, steps

        generators.register(
            services.GENERATOR,
            generators.Generator(
                validate=services.duel_generation_validate,
                enqueue=services.duel_generation_enqueue,
                discard=services.duel_generation_discard,
            ),
        )
        # Its part of the study page: the duel's design instead of the distortion picker.
        workflow.contribute("design", steps.design_step)
