import assert from "node:assert/strict";
import { test } from "node:test";

import { breakPositions, hasStarted, remainingTrials } from "../src/resume.js";

const trials = (answered) => answered.map((a, position) => ({ position, kind: "2afc", answered: a }));

test("a fresh assignment starts at position 0 and has not started", () => {
  const all = trials([false, false, false]);
  assert.deepEqual(remainingTrials(all, new Set()).map((t) => t.position), [0, 1, 2]);
  assert.equal(hasStarted(all, new Set()), false);
});

test("resume skips positions answered on the server and those waiting in the outbox", () => {
  const all = trials([true, true, false, false, false]);
  const pending = new Set([2]);
  assert.deepEqual(remainingTrials(all, pending).map((t) => t.position), [3, 4]);
  assert.equal(hasStarted(all, pending), true);
  assert.equal(hasStarted(trials([false, false]), new Set([0])), true);
});

test("a later position answered elsewhere is skipped too, and order follows position", () => {
  const all = trials([false, false, true, false]).reverse();
  assert.deepEqual(remainingTrials(all, new Set()).map((t) => t.position), [0, 1, 3]);
});

test("everything answered leaves nothing to show", () => {
  assert.deepEqual(remainingTrials(trials([true, false]), new Set([1])), []);
});

test("breaks come every break_every positions, never first after a (re)start", () => {
  const all = trials(Array(10).fill(false));
  assert.deepEqual([...breakPositions(all, 4)], [4, 8]);
  assert.deepEqual([...breakPositions(all.slice(4), 4)], [8]);
  assert.deepEqual([...breakPositions(all, 0)], []);
  assert.deepEqual([...breakPositions(all, 50)], []);
});
