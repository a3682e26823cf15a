// Sends the outbox to the server, one entry at a time, until it is empty.
//
// An entry leaves the outbox only when the server has it: 200/201 (stored now or before, the same
// UUID makes retries harmless) or 409 already_answered (another tab answered that position first;
// the server keeps that answer). Anything else keeps the entry and retries with backoff, except a
// closed assignment, where retrying cannot help and the page must say so instead.

import { backoffDelay } from "./backoff.js";

/**
 * What a POST answers response means for the entry.
 * @returns {{kind: "acked"} | {kind: "closed"} | {kind: "retry", reason: "offline"|"server"|"rejected", code?: string}}
 */
export function classifyAnswerResponse(status, body) {
  const code = body?.error?.code;
  if (status === 200 || status === 201) return { kind: "acked" };
  if (status === 409 && code === "already_answered") return { kind: "acked" };
  if (code === "assignment_closed") return { kind: "closed" };
  if (status === 408 || status === 429 || status >= 500) return { kind: "retry", reason: "server" };
  // Another 4xx means this browser and the server disagree about the contract (a bug on one
  // side). Dropping the answer would lose it, so it stays and is retried: a fixed server takes it.
  return { kind: "retry", reason: "rejected", code: code ?? `http_${status}` };
}

export class AssignmentClosedError extends Error {
  constructor() {
    super("This assignment is closed: it was completed or it expired.");
    this.code = "assignment_closed";
  }
}

export class Sender {
  /**
   * @param {object} deps
   * @param {import("./outbox.js").Outbox} deps.outbox
   * @param {(entry: object) => Promise<{status: number, body: any}>} deps.post rejects on network errors
   * @param {(status: {state: string, pending: number, reason?: string, code?: string}) => void} [deps.onStatus]
   * @param {(fn: () => void, ms: number) => any} [deps.setTimer]
   * @param {(handle: any) => void} [deps.clearTimer]
   * @param {() => number} [deps.random]
   */
  constructor({
    outbox,
    post,
    onStatus = () => {},
    // Wrapped: browsers throw "Illegal invocation" when setTimeout is called as this.setTimer(…).
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (handle) => clearTimeout(handle),
    random = Math.random,
  }) {
    Object.assign(this, { outbox, post, onStatus, setTimer, clearTimer, random });
    this.attempt = 0;
    this.closed = false;
    this.running = null; // the promise of the send loop while it runs
    this.wake = null; // cuts a backoff wait short
    this.waiters = [];
  }

  /** Sends now (an answer was just added, the connection returned, the page loaded). */
  flush() {
    if (this.closed) return Promise.resolve();
    if (this.wake) this.wake();
    if (!this.running) {
      this.running = this.#loop().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** The connection came back: retry at once and restart the backoff from its first step. */
  online() {
    this.attempt = 0;
    return this.flush();
  }

  /** Resolves once every entry is acknowledged; rejects with AssignmentClosedError if closed. */
  whenEmpty() {
    if (this.closed) return Promise.reject(new AssignmentClosedError());
    if (this.outbox.size === 0 && !this.running) return Promise.resolve();
    const promise = new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.flush();
    return promise;
  }

  async #loop() {
    for (;;) {
      const [entry] = this.outbox.entries();
      if (!entry) {
        this.attempt = 0;
        this.onStatus({ state: "idle", pending: 0 });
        this.#settle((w) => w.resolve());
        return;
      }
      this.onStatus({ state: "sending", pending: this.outbox.size });
      let outcome;
      try {
        const { status, body } = await this.post(entry);
        outcome = classifyAnswerResponse(status, body);
      } catch {
        outcome = { kind: "retry", reason: "offline" };
      }
      if (outcome.kind === "acked") {
        this.outbox.remove(entry.client_uuid);
        this.attempt = 0;
        continue;
      }
      if (outcome.kind === "closed") {
        this.closed = true;
        this.onStatus({ state: "closed", pending: this.outbox.size });
        this.#settle((w) => w.reject(new AssignmentClosedError()));
        return;
      }
      this.onStatus({ state: "retrying", pending: this.outbox.size, reason: outcome.reason, code: outcome.code });
      await this.#sleep(backoffDelay(this.attempt++, this.random));
    }
  }

  #sleep(ms) {
    return new Promise((resolve) => {
      let handle;
      const done = () => {
        this.clearTimer(handle);
        this.wake = null;
        resolve();
      };
      this.wake = done;
      handle = this.setTimer(done, ms);
    });
  }

  #settle(fn) {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach(fn);
  }
}
