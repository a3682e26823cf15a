import assert from "node:assert/strict";
import { test } from "node:test";

import { rememberAssignment } from "../src/remember.js";
import { MemoryStorage } from "./helpers.js";

test("the assignment token is kept under the study's resume key", () => {
  const storage = new MemoryStorage();
  const config = { token: "tok", resume_key: "perceptlab-resume-study" };
  assert.equal(rememberAssignment(storage, config), true);
  assert.equal(storage.getItem("perceptlab-resume-study"), "tok");
  rememberAssignment(storage, { ...config, token: "newer" }); // a later assignment replaces it
  assert.equal(storage.getItem("perceptlab-resume-study"), "newer");
});

test("blocked or full storage keeps nothing and does not throw", () => {
  const config = { token: "tok", resume_key: "perceptlab-resume-study" };
  assert.equal(rememberAssignment(null, config), false);
  assert.equal(rememberAssignment(new MemoryStorage({ refuseWrites: true }), config), false);
  assert.equal(rememberAssignment(new MemoryStorage(), { token: "tok" }), false);
});
