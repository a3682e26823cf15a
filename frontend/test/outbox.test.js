import assert from "node:assert/strict";
import { test } from "node:test";

import { Outbox, outboxKey } from "../src/outbox.js";
import { MemoryStorage } from "./helpers.js";

const answer = (position, uuid = `uuid-${position}`) => ({ client_uuid: uuid, position, answer: "left", rt_ms: 500 });

test("entries are stored under the assignment's key and survive a new Outbox (a reload)", () => {
  const storage = new MemoryStorage();
  new Outbox(storage, "tok").add(answer(0));
  assert.ok(storage.getItem(outboxKey("tok")).includes("uuid-0"));
  assert.equal(outboxKey("tok"), "perceptlab-outbox-tok");
  const reloaded = new Outbox(storage, "tok");
  assert.deepEqual(reloaded.entries(), [answer(0)]);
  assert.deepEqual(reloaded.positions(), new Set([0]));
});

test("assignments do not share an outbox", () => {
  const storage = new MemoryStorage();
  new Outbox(storage, "a").add(answer(0));
  assert.equal(new Outbox(storage, "b").size, 0);
});

test("remove drops only the acknowledged entry and clears the key when empty", () => {
  const storage = new MemoryStorage();
  const outbox = new Outbox(storage, "tok");
  outbox.add(answer(0));
  outbox.add(answer(1));
  outbox.remove("uuid-0");
  assert.deepEqual(outbox.entries().map((e) => e.position), [1]);
  outbox.remove("uuid-1");
  assert.equal(storage.getItem(outboxKey("tok")), null);
});

test("adding the same UUID twice keeps one entry", () => {
  const outbox = new Outbox(new MemoryStorage(), "tok");
  outbox.add(answer(0));
  outbox.add(answer(0));
  assert.equal(outbox.size, 1);
});

test("entries need a client_uuid", () => {
  assert.throws(() => new Outbox(new MemoryStorage(), "tok").add({ position: 0 }), /client_uuid/);
});

test("two tabs' outboxes over one storage keep each other's entries", () => {
  const storage = new MemoryStorage();
  const tabA = new Outbox(storage, "tok");
  const tabB = new Outbox(storage, "tok");
  tabA.add(answer(0, "a"));
  tabB.add(answer(1, "b"));
  assert.deepEqual(tabA.entries().map((e) => e.client_uuid), ["a", "b"]);
});

test("corrupt stored data reads as empty instead of throwing", () => {
  const storage = new MemoryStorage();
  storage.setItem(outboxKey("tok"), "{not json");
  assert.deepEqual(new Outbox(storage, "tok").entries(), []);
});

test("a storage that refuses writes keeps answers in memory and says it is not persistent", () => {
  const storage = new MemoryStorage({ refuseWrites: true });
  const outbox = new Outbox(storage, "tok");
  assert.equal(outbox.persistent, true);
  outbox.add(answer(0));
  assert.equal(outbox.persistent, false);
  assert.deepEqual(outbox.positions(), new Set([0]));
  outbox.remove("uuid-0");
  assert.equal(outbox.size, 0);
});

test("no storage at all works in memory", () => {
  const outbox = new Outbox(null, "tok");
  assert.equal(outbox.persistent, false);
  outbox.add(answer(3));
  assert.deepEqual(outbox.positions(), new Set([3]));
});
