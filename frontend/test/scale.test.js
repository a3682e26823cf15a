import assert from "node:assert/strict";
import { test } from "node:test";

import { LAYOUT, computeDisplay, cssQuantum, displayForAnswer, patchBox } from "../src/scale.js";

const display = (over) => computeDisplay({ patchSize: 64, requestedScale: 4, dpr: 1, window: [1920, 1080], columns: 3, ...over });

test("a large window at dpr 1 gets the requested scale, drawn 1:1", () => {
  const d = display({});
  assert.deepEqual(displayForAnswer(d), { dpr: 1, window: [1920, 1080], scale: 4, css_px: 256, device_px: 256, exact: true });
  assert.equal(d.fits, true);
  assert.deepEqual(d.box, { css: 256, device: 256, exact: true });
});

test("every common devicePixelRatio keeps the requested scale, 1:1 in device pixels, with no action", () => {
  // OS scaling 100 %, 125 %, 150 %, 200 %, 250 %, 300 %: the patch is always 256 device pixels,
  // in a box whose CSS size is whole and whose device size is whole.
  const expected = { 1: [256, 256], 1.25: [208, 260], 1.5: [172, 258], 2: [128, 256], 2.5: [104, 260], 3: [86, 258] };
  for (const [dpr, [css, device]] of Object.entries(expected)) {
    const d = display({ dpr: Number(dpr), window: [1280, 800] });
    assert.equal(d.scale, 4, `dpr ${dpr}`);
    assert.equal(d.device_px, 256, `dpr ${dpr}`);
    assert.equal(d.exact, true, `dpr ${dpr}`);
    assert.equal(d.fits, true, `dpr ${dpr}`);
    assert.deepEqual(d.box, { css, device, exact: true }, `dpr ${dpr}`);
    assert.ok(Number.isInteger(d.box.css * Number(dpr)));
  }
  assert.equal(display({ dpr: 1.5 }).css_px, 170.667); // the patch itself, in CSS pixels
});

test("the CSS quantum is the smallest whole CSS size that is whole in device pixels", () => {
  assert.deepEqual([1, 1.25, 1.5, 2, 2.5, 3, 1.75].map(cssQuantum), [1, 4, 2, 1, 2, 1, 4]);
  assert.equal(cssQuantum(1.100000023841858), 10); // a float32 zoom level of 110 %
  assert.equal(cssQuantum(Math.PI), null);
  assert.deepEqual(patchBox(256, Math.PI), { css: 82, device: 258, exact: false });
});

test("a small window reduces the integer scale until three patches fit, and says so", () => {
  // 3·(256+1) + 2·24 + 48 = 867 > 800, 3·(192+1) + 96 = 675 ≤ 800
  const d = display({ window: [800, 900] });
  assert.equal(d.scale, 3);
  assert.equal(d.css_px, 192);
  assert.equal(d.exact, true);
  assert.equal(d.fits, false);
  // one JND patch fits at full scale in the same window
  const jnd = display({ window: [800, 900], columns: 1 });
  assert.equal(jnd.scale, 4);
  assert.equal(jnd.fits, true);
});

test("height limits the scale too", () => {
  const d = display({ window: [1920, 64 * 2 + 1 + LAYOUT.reserveHeightCss] });
  assert.equal(d.scale, 2);
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
