import assert from "node:assert/strict";
import { test } from "node:test";

import { Outbox } from "../src/outbox.js";
import { AssignmentClosedError, Sender, classifyAnswerResponse } from "../src/sender.js";
import { MemoryStorage } from "./helpers.js";

const answer = (position) => ({ client_uuid: `uuid-${position}`, position, answer: "same", rt_ms: 400 });

/**
 * A scripted server: `replies` is consumed one per POST; each is a status (with a matching body),
 * [status, body], or "network" (the fetch rejects). Timers fire at once and their delays are logged.
 */
function harness(replies, entries = [answer(0)]) {
  const outbox = new Outbox(new MemoryStorage(), "tok");
  entries.forEach((e) => outbox.add(e));
  const posted = [];
  const delays = [];
  const statuses = [];
  const post = async (entry) => {
    posted.push(entry.client_uuid);
    const reply = replies.shift() ?? 201;
    if (reply === "network") throw new TypeError("Failed to fetch");
    const [status, body] = Array.isArray(reply) ? reply : [reply, {}];
    return { status, body };
  };
  const setTimer = (fn, ms) => {
    delays.push(ms);
    queueMicrotask(fn);
    return delays.length;
  };
  const sender = new Sender({ outbox, post, setTimer, clearTimer: () => {}, random: () => 0, onStatus: (s) => statuses.push(s) });
  return { outbox, sender, posted, delays, statuses };
}

test("responses that remove an entry, and those that keep it", () => {
  assert.equal(classifyAnswerResponse(201, {}).kind, "acked");
  assert.equal(classifyAnswerResponse(200, { duplicate: true }).kind, "acked");
  assert.equal(classifyAnswerResponse(409, { error: { code: "already_answered" } }).kind, "acked");
  assert.equal(classifyAnswerResponse(409, { error: { code: "assignment_closed" } }).kind, "closed");
  assert.equal(classifyAnswerResponse(400, { error: { code: "assignment_closed" } }).kind, "closed");
  assert.deepEqual(classifyAnswerResponse(429, {}), { kind: "retry", reason: "server" });
  assert.deepEqual(classifyAnswerResponse(503, null), { kind: "retry", reason: "server" });
  assert.deepEqual(classifyAnswerResponse(400, { error: { code: "invalid" } }), { kind: "retry", reason: "rejected", code: "invalid" });
  assert.deepEqual(classifyAnswerResponse(404, "<html>"), { kind: "retry", reason: "rejected", code: "http_404" });
  // A 409 for another reason is not proof that the server holds this position's answer.
  assert.equal(classifyAnswerResponse(409, { error: { code: "conflict" } }).kind, "retry");
});

test("a stored answer leaves the outbox after one POST", async () => {
  const h = harness([201]);
  await h.sender.flush();
  assert.equal(h.outbox.size, 0);
  assert.deepEqual(h.posted, ["uuid-0"]);
  assert.deepEqual(h.delays, []);
  assert.equal(h.statuses.at(-1).state, "idle");
});

test("network failures retry the same UUID with growing delays until stored", async () => {
  const h = harness(["network", "network", 503, 429, 200]);
  await h.sender.flush();
  assert.deepEqual(h.posted, Array(5).fill("uuid-0"));
  assert.deepEqual(h.delays, [250, 500, 1000, 2000]); // backoffDelay with random() = 0
  assert.equal(h.outbox.size, 0);
  const offline = h.statuses.find((s) => s.state === "retrying");
  assert.deepEqual(offline, { state: "retrying", pending: 1, reason: "offline", code: undefined });
});

test("entries are sent in order and each is sent until acknowledged", async () => {
  const h = harness([201, "network", 201, 201], [answer(0), answer(1), answer(2)]);
  await h.sender.flush();
  assert.deepEqual(h.posted, ["uuid-0", "uuid-1", "uuid-1", "uuid-2"]);
  assert.equal(h.outbox.size, 0);
});

test("409 already_answered drops the entry; another 4xx keeps it and retries", async () => {
  const h = harness([[409, { error: { code: "already_answered" } }], [400, { error: { code: "invalid" } }], 201], [answer(0), answer(1)]);
  await h.sender.flush();
  assert.deepEqual(h.posted, ["uuid-0", "uuid-1", "uuid-1"]);
  assert.ok(h.statuses.some((s) => s.reason === "rejected" && s.code === "invalid"));
  assert.equal(h.outbox.size, 0);
});

test("a closed assignment stops sending, keeps the entries and fails whenEmpty", async () => {
  const h = harness([[409, { error: { code: "assignment_closed" } }]], [answer(0), answer(1)]);
  await assert.rejects(h.sender.whenEmpty(), AssignmentClosedError);
  assert.equal(h.outbox.size, 2);
  assert.equal(h.statuses.at(-1).state, "closed");
  await h.sender.flush();
  assert.deepEqual(h.posted, ["uuid-0"]);
});

test("whenEmpty resolves at once when nothing is pending, and after the last ack otherwise", async () => {
  const empty = harness([], []);
  await empty.sender.whenEmpty();
  assert.deepEqual(empty.posted, []);
  const h = harness(["network", 201]);
  await h.sender.whenEmpty();
  assert.equal(h.outbox.size, 0);
});

test("flush during a backoff wait sends at once; only one send loop runs", async () => {
  const outbox = new Outbox(new MemoryStorage(), "tok");
  outbox.add(answer(0));
  const replies = ["network"];
  let inFlight = 0;
  let maxInFlight = 0;
  const post = async () => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setImmediate(r));
    inFlight -= 1;
    if (replies.shift() === "network") throw new TypeError("offline");
    return { status: 201, body: {} };
  };
  const pendingTimers = [];
  const sender = new Sender({ outbox, post, setTimer: (fn, ms) => pendingTimers.push(ms), clearTimer: () => {} });
  const first = sender.flush();
  while (pendingTimers.length === 0) await new Promise((r) => setImmediate(r));
  // The timer never fires by itself here: only the next answer's flush can wake the loop.
  outbox.add(answer(1));
  assert.equal(sender.flush(), first);
  sender.flush();
  await first;
  assert.equal(outbox.size, 0);
  assert.equal(maxInFlight, 1);
});

test("online() retries at once and restarts the backoff at its first step", async () => {
  const outbox = new Outbox(new MemoryStorage(), "tok");
  outbox.add(answer(0));
  const replies = ["network", "network", "network", "network"];
  const timers = []; // [delay, fire] of waits that fire only when the test says so
  const post = async () => {
    if (replies.shift() === "network") throw new TypeError("offline");
    return { status: 201, body: {} };
  };
  const sender = new Sender({ outbox, post, random: () => 0, setTimer: (fn, ms) => timers.push([ms, fn]), clearTimer: () => {} });
  const nextWait = async (n) => {
    while (timers.length < n) await new Promise((r) => setImmediate(r));
    return timers[n - 1];
  };
  const done = sender.flush();
  (await nextWait(1))[1]();
  (await nextWait(2))[1]();
  await nextWait(3);
  sender.online(); // wakes the third wait early
  (await nextWait(4))[1]();
  await done;
  assert.deepEqual(timers.map(([ms]) => ms), [250, 500, 1000, 250]);
  assert.equal(outbox.size, 0);
});
