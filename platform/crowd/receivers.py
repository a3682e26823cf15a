"""Crowd's reactions to study design events (connected in `CrowdConfig.ready`). Thin: each calls
a crowd service, inside the sender's transaction."""

from __future__ import annotations

from studies.choices import StudyStatus


def open_collection(sender, *, study, from_status, to_status, **kwargs) -> None:
    """A study going live gets the load rows allocation locks (`trial_loads_open`)."""
    if to_status == StudyStatus.LIVE:
        from .services import trial_loads_open

        trial_loads_open(study=study)
