// The persistent outbox: every answer is written here before it is sent, and leaves only when the
// server has acknowledged it (see sender.js). It survives reloads, crashes and lost connections
// because it lives in localStorage under one key per assignment.
//
// Each operation re-reads the stored list instead of trusting an in-memory copy, so two tabs of
// the same assignment add to one list rather than overwriting each other's entries.

export const outboxKey = (token) => `perceptlab-outbox-${token}`;

export class Outbox {
  /**
   * @param {Storage | null} storage localStorage, or null where the browser refuses it
   * @param {string} token the assignment token
   */
  constructor(storage, token) {
    this.storage = storage;
    this.key = outboxKey(token);
    // Used only when storage is missing or refuses writes (quota, private mode): answers are then
    // kept for this page's lifetime, and `persistent` lets the page warn that a reload loses them.
    this.memory = null;
    this.persistent = storage !== null;
  }

  /** The entries (answer bodies with a `client_uuid`), oldest first. */
  entries() {
    if (this.memory !== null) return [...this.memory];
    let raw = null;
    try {
      raw = this.storage.getItem(this.key);
    } catch {
      return [];
    }
    if (raw === null) return [];
    try {
      const parsed = JSON.parse(raw);
      return Array.isArray(parsed) ? parsed : [];
    } catch {
      return []; // not ours or truncated: nothing in it can be sent
    }
  }

  /** Adds an answer body; it must carry a `client_uuid`. Returns the entry. */
  add(entry) {
    if (!entry.client_uuid) throw new Error("outbox entries need a client_uuid");
    const entries = this.entries().filter((e) => e.client_uuid !== entry.client_uuid);
    entries.push(entry);
    this.#write(entries);
    return entry;
  }

  /** Removes the entry with this UUID (after the server acknowledged it). */
  remove(clientUuid) {
    this.#write(this.entries().filter((e) => e.client_uuid !== clientUuid));
  }

  /** Positions that have an answer waiting to be sent. */
  positions() {
    return new Set(this.entries().map((e) => e.position));
  }

  get size() {
    return this.entries().length;
  }

  #write(entries) {
    if (this.memory === null && this.storage !== null) {
      try {
        if (entries.length === 0) this.storage.removeItem(this.key);
        else this.storage.setItem(this.key, JSON.stringify(entries));
        return;
      } catch {
        // Quota exceeded or storage disabled mid-session: keep going in memory rather than lose
        // the answer; the caller sees `persistent === false`.
        this.persistent = false;
      }
    }
    this.memory = [...entries];
  }
}
