import assert from "node:assert/strict";
import { test } from "node:test";

import { OFFLINE, statusMessage } from "../src/messages.js";

test("the offline message shows only while sends fail", () => {
  assert.equal(statusMessage({ state: "retrying", reason: "offline" }, true), OFFLINE);
  assert.equal(statusMessage({ state: "sending" }, true), null);
  assert.equal(statusMessage({ state: "idle" }, true), null);
});

test("server trouble and refused answers get their own words, with the error code", () => {
  assert.match(statusMessage({ state: "retrying", reason: "server" }, true), /server is busy/);
  assert.match(statusMessage({ state: "retrying", reason: "rejected", code: "invalid" }, true), /\(invalid\)/);
});

test("without persistent storage the page does not promise that answers are saved", () => {
  const text = statusMessage({ state: "retrying", reason: "offline" }, false);
  assert.doesNotMatch(text, /are saved/);
  assert.match(text, /keep this page open/);
});

test("a closed assignment says so", () => {
  assert.match(statusMessage({ state: "closed" }, true), /closed/);
});
