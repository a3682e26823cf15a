import assert from "node:assert/strict";
import { test } from "node:test";

import { BASE_MS, CAP_MS, backoffDelay } from "../src/backoff.js";

test("delays double from the base and stop at the cap", () => {
  const top = () => 0.999999; // the upper end of the jitter
  const delays = [0, 1, 2, 3, 4, 10, 50].map((a) => backoffDelay(a, top));
  assert.deepEqual(delays, [BASE_MS, 2 * BASE_MS, 4 * BASE_MS, CAP_MS, CAP_MS, CAP_MS, CAP_MS]);
  assert.ok(CAP_MS <= 5000, "the cap is a few seconds");
});

test("jitter keeps each delay between half and all of its step", () => {
  assert.equal(backoffDelay(2, () => 0), 2 * BASE_MS);
  for (let i = 0; i < 200; i += 1) {
    const d = backoffDelay(2);
    assert.ok(d >= 2 * BASE_MS && d <= 4 * BASE_MS, `delay ${d}`);
  }
});
