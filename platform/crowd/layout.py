"""How an assignment is laid out: how many regular trials, sentinels and repeats it has, and their
order. Pure (no database): allocation (`services`) and pilot mode (`selectors.pilot_session`)
lay out their trials with the same rules, so a pilot shows what a participant would get."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Sizes:
    regular: int
    sentinels: int
    repeat: bool


def sizes(*, assignment_size: int, sentinel_rate: float) -> Sizes:
    """An assignment of `assignment_size` items: sentinels at `sentinel_rate`, one repeated trial
    when it has at least 10 items, and at least one regular trial."""
    n_sentinels = round(assignment_size * sentinel_rate)
    repeat = assignment_size >= 10
    return Sizes(
        regular=max(assignment_size - n_sentinels - int(repeat), 1),
        sentinels=n_sentinels,
        repeat=repeat,
    )


def arrange(
    regular: list[tuple[T, bool]], sentinels: list[T], rng: random.Random, *, repeat: bool
) -> list[tuple[T, bool, bool, bool]]:
    """The items in the order shown, as (trial, swapped, is_repeat, counts).

    `regular` pairs each regular trial with its side (swapped or not); sentinels get a random
    side. All are shuffled; with `repeat`, the first regular trial is shown once more later,
    with its sides swapped (it does not count toward the quota the second time)."""
    entries = [(trial, swapped, False, True) for trial, swapped in regular]
    entries += [(trial, rng.random() < 0.5, False, False) for trial in sentinels]
    rng.shuffle(entries)
    if repeat and any(e[3] for e in entries):
        first = next(i for i, e in enumerate(entries) if e[3])
        original = entries[first]
        at = rng.randint(first + 1, len(entries))
        entries.insert(at, (original[0], not original[1], True, False))
    return entries
