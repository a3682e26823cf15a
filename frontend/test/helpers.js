// A Storage stand-in: the Web Storage API subset the outbox uses, optionally refusing writes.
export class MemoryStorage {
  constructor({ refuseWrites = false } = {}) {
    this.items = new Map();
    this.refuseWrites = refuseWrites;
  }

  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }

  setItem(key, value) {
    if (this.refuseWrites) throw new Error("QuotaExceededError");
    this.items.set(key, String(value));
  }

  removeItem(key) {
    if (this.refuseWrites) throw new Error("QuotaExceededError");
    this.items.delete(key);
  }
}
