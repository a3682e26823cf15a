"""Signals of study design, for apps that build on studies without studies importing them.

`study_status_changed` is sent by `studies.services.study_transition` inside its transaction,
after the status changed, with `study`, `from_status` and `to_status`. A receiver that raises
rolls the transition back. Receivers stay thin: they call their own app's service (crowd opens
its trial loads when a study goes live), so the logic still lives in services.
"""

from django.dispatch import Signal

study_status_changed = Signal()
