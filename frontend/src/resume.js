// Where a (re)loaded page starts: at the first position that is neither answered on the server
// nor waiting in the outbox. Later positions that are already answered (e.g. by a second tab) are
// skipped too: the server would refuse a second answer for them anyway.

/**
 * @param {{position: number, answered: boolean}[]} trials the session's trials
 * @param {Set<number>} pending positions with an answer in the outbox
 * @returns the trials still to show, in position order
 */
export function remainingTrials(trials, pending) {
  return trials
    .filter((t) => !t.answered && !pending.has(t.position))
    .sort((a, b) => a.position - b.position);
}

/** True when the participant has given at least one answer (then practice is not repeated). */
export function hasStarted(trials, pending) {
  return pending.size > 0 || trials.some((t) => t.answered);
}

/**
 * Positions before which a break is offered: every `breakEvery` trials, counted from the first
 * trial of the assignment, but never as the first thing after (re)starting.
 */
export function breakPositions(remaining, breakEvery) {
  if (!breakEvery) return new Set();
  return new Set(
    remaining.slice(1).map((t) => t.position).filter((p) => p > 0 && p % breakEvery === 0),
  );
}
