// Retry delays for sending answers and calling `complete`.
//
// Exponential growth spreads retries out while a connection is down; the cap keeps the wait short
// once it returns (a participant should not sit for a minute after their Wi-Fi comes back); the
// jitter stops many browsers that lost the same server from retrying in lockstep.

export const BASE_MS = 500;
export const CAP_MS = 4000;

/**
 * Delay before retry number `attempt` (0 = the first retry): BASE_MS·2^attempt capped at CAP_MS,
 * then scaled into [50 %, 100 %] of that by `random` (a function returning [0, 1)).
 */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** Math.max(0, attempt));
  return Math.round(ceiling * (0.5 + 0.5 * random()));
}
