import assert from "node:assert/strict";
import { test } from "node:test";

import { LAYOUT, computeDisplay, displayForAnswer } from "../src/scale.js";

const display = (over) => computeDisplay({ patchSize: 64, requestedScale: 4, dpr: 1, window: [1920, 1080], columns: 3, ...over });

test("a large window at dpr 1 gets the requested scale, drawn 1:1", () => {
  const d = display({});
  assert.deepEqual(d, { dpr: 1, window: [1920, 1080], scale: 4, css_px: 256, device_px: 256, exact: true, fits: true });
});

test("on a dpr-2 screen the CSS size halves and the device size stays", () => {
  const d = display({ dpr: 2, window: [1280, 800] });
  assert.equal(d.scale, 4);
  assert.equal(d.device_px, 256);
  assert.equal(d.css_px, 128);
  assert.equal(d.exact, true);
});

test("a small window reduces the integer scale until three patches fit", () => {
  // 3·256 + 2·24 + 48 = 864 > 800, 3·192 + 96 = 672 ≤ 800
  const d = display({ window: [800, 900] });
  assert.equal(d.scale, 3);
  assert.equal(d.css_px, 192);
  assert.equal(d.exact, true);
  // one JND patch fits at full scale in the same window
  assert.equal(display({ window: [800, 900], columns: 1 }).scale, 4);
});

test("height limits the scale too", () => {
  const d = display({ window: [1920, 64 * 2 + LAYOUT.reserveHeightCss] });
  assert.equal(d.scale, 2);
});

test("a non-integer dpr prefers a smaller scale with a whole CSS size", () => {
  // dpr 1.5: 64·4/1.5 = 170.67 CSS px (resampled), 64·3/1.5 = 128 CSS px (1:1)
  const d = display({ dpr: 1.5 });
  assert.equal(d.scale, 3);
  assert.equal(d.css_px, 128);
  assert.equal(d.device_px, 192);
  assert.equal(d.exact, true);
});

test("when no fitting scale is 1:1 the largest fitting one is used and marked inexact", () => {
  // browser zoom 110 %: 64·s/1.1 is never whole for s ≤ 4
  const d = display({ dpr: 1.1 });
  assert.equal(d.scale, 4);
  assert.equal(d.exact, false);
  assert.equal(d.css_px, 232.727);
});

test("a window too small for scale 1 still draws at scale 1 and says it does not fit", () => {
  const d = display({ window: [200, 200] });
  assert.equal(d.scale, 1);
  assert.equal(d.fits, false);
  assert.equal(d.exact, true);
});

test("the scale never exceeds the requested one", () => {
  assert.equal(display({ requestedScale: 2, window: [4000, 4000] }).scale, 2);
  assert.equal(display({ requestedScale: 1, window: [4000, 4000] }).scale, 1);
});

test("the answer's display object has exactly the contract's fields", () => {
  assert.deepEqual(Object.keys(displayForAnswer(display({}))).sort(), ["device_px", "dpr", "exact", "scale", "css_px", "window"].sort());
});
