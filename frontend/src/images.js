// Loads and decodes every image of the assignment before the first trial, so no trial waits on the
// network and a JND patch is on screen from the first frame of its 1000 ms. Decoded <img> elements
// are kept here and drawn into canvases, which also avoids asking the server for them again.

const CONCURRENCY = 6;
const ATTEMPTS = 3;
const RETRY_MS = [500, 1500];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function loadOne(url) {
  for (let attempt = 0; ; attempt += 1) {
    const img = new Image();
    img.src = url;
    try {
      await img.decode();
      return img;
    } catch (error) {
      if (attempt + 1 >= ATTEMPTS) throw error;
      await sleep(RETRY_MS[attempt]);
    }
  }
}

export class ImageStore {
  /** @param {string[]} urls every image URL the page will draw */
  constructor(urls) {
    this.urls = [...new Set(urls)];
    this.images = new Map();
    this.failed = [];
    this.listeners = new Set();
    this.loading = null;
  }

  get loaded() {
    return this.images.size;
  }

  get total() {
    return this.urls.length;
  }

  /** Calls `fn(store)` after each image settles; returns a function that stops it. */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Loads what is not loaded yet (again after a failure); resolves to the URLs that failed. */
  load() {
    if (this.loading) return this.loading;
    const queue = this.urls.filter((url) => !this.images.has(url));
    this.failed = [];
    const worker = async () => {
      for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
        try {
          this.images.set(url, await loadOne(url));
        } catch {
          this.failed.push(url);
        }
        this.listeners.forEach((fn) => fn(this));
      }
    };
    this.loading = Promise.all(Array.from({ length: CONCURRENCY }, worker)).then(() => {
      this.loading = null;
      return this.failed;
    });
    return this.loading;
  }

  /** The decoded image for a URL; throws if it was not loaded (a bug, not a network problem). */
  get(url) {
    const img = this.images.get(url);
    if (!img) throw new Error(`image not preloaded: ${url}`);
    return img;
  }

  /** Maps {role: url} to {role: decoded image}. */
  pick(urls) {
    return Object.fromEntries(Object.entries(urls).map(([role, url]) => [role, this.get(url)]));
  }
}
