import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { test } from "node:test";

import { newUuid } from "../src/uuid.js";

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("randomUUID is used where the browser offers it", () => {
  assert.equal(newUuid({ randomUUID: () => "from-browser" }), "from-browser");
});

test("without randomUUID (plain HTTP) a valid, fresh v4 UUID is built", () => {
  const insecure = { getRandomValues: (a) => webcrypto.getRandomValues(a) };
  const ids = new Set(Array.from({ length: 100 }, () => newUuid(insecure)));
  assert.equal(ids.size, 100);
  ids.forEach((id) => assert.match(id, V4));
});
