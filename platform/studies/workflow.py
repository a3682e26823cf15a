"""The study page's stepper: design → generate → live → freeze → fit/score → leaderboard.

Studies knows nothing of collection or analysis (docs/architecture.md), yet its page shows every
step of a study's life. The apps above it contribute their steps here when they start
(`crowd.apps`, `analysis.apps`): a *contributor* fills in a step of a study for a user (state,
a line of detail, links, live progress) and an *action* is a button whose handler calls that
app's service, the same one its API calls, so a refusal carries the API's message. Studies
itself contributes the design, generate and live steps (`studies.admin`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# The steps in order: key → label.
STEPS: dict[str, str] = {
    "design": "Design",
    "generate": "Generate",
    "live": "Collect",
    "freeze": "Freeze",
    "analyse": "Fit / score",
    "leaderboard": "Leaderboard",
}
DONE, CURRENT, TODO = "done", "current", "todo"


@dataclass
class Progress:
    """A job the page shows live: `done` of `total` (total 0: not known), and a label."""

    key: str
    label: str
    done: int = 0
    total: int = 0
    running: bool = True


@dataclass
class Step:
    key: str
    label: str
    state: str = TODO
    detail: list[str] = field(default_factory=list)  # plain text lines
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url)
    actions: list[tuple[str, str]] = field(default_factory=list)  # (action key, button label)
    progress: list[Progress] = field(default_factory=list)


# A contributor fills in the step `step` of `study` as `user` may see it.
Contributor = Callable[..., None]  # (*, step: Step, study, user) -> None
# An action's handler runs the service and returns the success message; a DomainError it
# raises is shown as an error message.
Handler = Callable[..., str]  # (*, study, user) -> str

_CONTRIBUTORS: dict[str, list[Contributor]] = {key: [] for key in STEPS}
_ACTIONS: dict[str, Handler] = {}


def contribute(step: str, contributor: Contributor) -> None:
    """Register `contributor` for `step` (idempotent: an app's ready() may run twice)."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; steps are {list(STEPS)}")
    if contributor not in _CONTRIBUTORS[step]:
        _CONTRIBUTORS[step].append(contributor)


def action(key: str, handler: Handler) -> None:
    """Register the handler of the button `key`."""
    _ACTIONS[key] = handler


def handler(key: str) -> Handler | None:
    return _ACTIONS.get(key)


def steps(*, study, user) -> list[Step]:
    """The study's steps as `user` sees them. Contributors mark their step done; the first
    step that is not done is the current one (its first button is the next action)."""
    out = []
    for key, label in STEPS.items():
        step = Step(key=key, label=label)
        for contributor in _CONTRIBUTORS[key]:
            contributor(step=step, study=study, user=user)
        out.append(step)
    current = next((s for s in out if s.state != DONE), None)
    for step in out:
        if step.state != DONE:
            step.state = CURRENT if step is current else TODO
    return out


def running_jobs(all_steps: list[Step]) -> list[Progress]:
    return [p for step in all_steps for p in step.progress if p.running]
