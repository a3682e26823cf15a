"""Builders for test data: live studies with real PNG stimuli, without running generation."""

from __future__ import annotations

import hashlib
import io

import numpy as np
from django.core.files.base import ContentFile
from PIL import Image

from crowd import services as crowd_services
from studies import services as study_services
from studies.models import Stimulus, Study, Trial


def png(seed: int, size: int = 16, noise: float = 0.0) -> bytes:
    rng = np.random.default_rng(seed)
    base = np.full((size, size, 3), (seed * 37) % 200 + 20, dtype=np.float64)
    base += rng.normal(0, noise, base.shape) if noise else 0
    buffer = io.BytesIO()
    Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def stimulus(study: Study, data: bytes) -> Stimulus:
    digest = hashlib.sha256(data).hexdigest()
    stim = Stimulus(study=study, sha256=digest, provenance={"test": True})
    stim.file.save("s.png", ContentFile(data), save=False)
    stim.save()
    return stim


def _split(split: str, n: int, *, regular: bool) -> str:
    if not regular:
        return ""  # practice and sentinel trials are in no split
    if split == "mixed":
        return "train" if n % 2 == 0 else "val"
    return split


def make_live_study(
    owner,
    *,
    kind: str = "2afc",
    trials: int = 10,
    sentinels: int = 2,
    practice: int = 3,
    needed: int = 2,
    assignment_size: int | None = None,
    sentinel_rate: float | None = None,
    split: str = "val",
    **study_fields,
) -> Study:
    """A live study whose trials are small synthetic PNGs, with crowd's trial loads opened as
    going live does.

    2AFC: p0 is a faint distortion of ref, p1 a strong one; sentinels expect p0. JND: sentinel
    pairs are identical (expected "same"); regular pairs differ slightly. `split="mixed"` puts
    even-numbered trials in train and odd ones in val.
    """
    study = study_services.study_create(
        owner=owner,
        name=f"{kind} live study",
        kind=kind,
        assignment_size=assignment_size or (trials + sentinels + 1),
        sentinel_rate=sentinel_rate
        if sentinel_rate is not None
        else (sentinels / max(trials + sentinels, 1)),
        **study_fields,
    )
    for n in range(trials + sentinels + practice):
        is_sentinel = trials <= n < trials + sentinels
        is_practice = n >= trials + sentinels
        ref = stimulus(study, png(n, noise=0))
        if kind == "2afc":
            p0 = stimulus(study, png(n, noise=2))
            p1 = stimulus(study, png(n, noise=60))
            expected = "p0" if (is_sentinel or is_practice) else ""
            Trial.objects.create(
                study=study,
                kind=kind,
                split=_split(split, n, regular=not (is_sentinel or is_practice)),
                category="traditional",
                index=n,
                ref=ref,
                p0=p0,
                p1=p1,
                is_sentinel=is_sentinel,
                is_practice=is_practice,
                expected=expected,
                judgments_needed=0 if (is_sentinel or is_practice) else needed,
            )
        else:
            p1 = ref if is_sentinel else stimulus(study, png(n, noise=30))
            expected = "same" if is_sentinel else ("different" if is_practice else "")
            Trial.objects.create(
                study=study,
                kind=kind,
                split=_split(split, n, regular=not (is_sentinel or is_practice)),
                category="traditional",
                index=n,
                p0=ref,
                p1=p1,
                is_sentinel=is_sentinel,
                is_practice=is_practice,
                expected=expected,
                judgments_needed=0 if (is_sentinel or is_practice) else needed,
            )
    Study.objects.filter(pk=study.pk).update(status=Study.Status.LIVE)
    study.refresh_from_db()
    crowd_services.trial_loads_open(study=study)
    return study


def answer_assignment(assignment, choose) -> None:
    """Answer every item of an assignment through the service; `choose(item) -> answer`."""
    import uuid

    from crowd import services

    for item in assignment.items.select_related("trial").order_by("position"):
        services.response_record(
            assignment_token=assignment.token,
            client_uuid=uuid.uuid4(),
            position=item.position,
            answer=choose(item),
            rt_ms=900,
            display={},
            timing={},
        )
    services.assignment_complete(assignment_token=assignment.token)


def collect(study, participants: int, choose, recruiter: str = "prolific") -> None:
    """Have `participants` people complete assignments of `study`."""
    from crowd import services

    for n in range(participants):
        assignment = services.participant_enter(
            study=study, entry=services.Entry(recruiter, f"person-{n}")
        )
        answer_assignment(assignment, choose)


def api_key(user, name: str = "tests") -> str:
    """A new API key of `user` (a researcher), through the token service."""
    from common import tokens

    return tokens.api_token_create(user=user, name=name)[1]
