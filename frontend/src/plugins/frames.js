// Frame-locked presentation: a patch goes on or off in a requestAnimationFrame callback, and its
// time is that frame's timestamp, so onsets and offsets are known to one frame.

import { nextFrame } from "./respond.js";

const WARMUP_FRAMES = 6; // lets layout settle and gives a first estimate of the frame period

export class FrameClock {
  constructor() {
    this.last = null;
    this.deltas = [];
  }

  /** Waits for the next frame and returns its timestamp, updating the period estimate. */
  async frame() {
    const t = await nextFrame();
    if (this.last !== null) this.deltas = [...this.deltas.slice(-29), t - this.last];
    this.last = t;
    return t;
  }

  /** Median of the last 30 frame intervals: robust to an occasional dropped frame. */
  get period() {
    if (this.deltas.length === 0) return 1000 / 60;
    const sorted = [...this.deltas].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  async warmUp() {
    for (let i = 0; i < WARMUP_FRAMES; i += 1) await this.frame();
  }

  /**
   * Waits for the frame that ends a `ms`-long interval begun at `start`: the first frame at least
   * `ms` minus half a frame after it. So a duration that is a whole number of frames is met
   * exactly, and any other is rounded to the nearest whole frame.
   */
  async after(start, ms) {
    for (;;) {
      const t = await this.frame();
      if (t - start >= ms - this.period / 2) return t;
    }
  }
}
