// How big a patch is drawn. The study asks for an integer scale: every image pixel becomes a
// scale×scale block of *device* pixels (nearest neighbour), as in a lab, whatever the screen's
// devicePixelRatio (100 %, 125 %, 150 %, 200 %, 250 %, 300 % OS scaling or browser zoom): the worker
// never has to change a setting.
//
// A patch is device_px = patch_size·scale device pixels. The browser copies a canvas 1:1 only when
// its CSS box is a whole number of device pixels wide *and* starts on a device pixel. So the patch
// is drawn in the middle of a slightly larger canvas, the "box": the smallest whole number of CSS
// pixels whose size in device pixels is also whole (at dpr 1.25 a multiple of 4 CSS px, at 1.5 or
// 2.5 a multiple of 2, at 1, 2 or 3 any). The page then nudges each box onto a device pixel
// (canvas.js snapToDevicePixels); the few device pixels of margin are transparent.

// Space the trial layout needs around the patches, in CSS pixels (kept in step with worker.css):
// the progress bar, prompt, response buttons and the feedback line above and below, margins at the
// sides.
export const LAYOUT = { gapCss: 24, reserveWidthCss: 48, reserveHeightCss: 240 };

const TOLERANCE = 1e-5; // devicePixelRatio is a float32 at some zoom levels (1.100000023841858)
const isWhole = (x) => Math.abs(x - Math.round(x)) < TOLERANCE;

/**
 * The smallest number of CSS pixels q such that q·dpr is a whole number of device pixels (1 for
 * dpr 1, 2, 3; 4 for 1.25; 2 for 1.5 and 2.5), or null for a ratio with no small such number.
 */
export function cssQuantum(dpr) {
  for (let q = 1; q <= 100; q += 1) if (isWhole(q * dpr)) return q;
  return null;
}

/** The canvas box for a patch of `devicePx` device pixels: {css, device, exact}. */
export function patchBox(devicePx, dpr) {
  const quantum = cssQuantum(dpr);
  if (quantum === null) {
    const css = Math.ceil(devicePx / dpr - TOLERANCE);
    return { css, device: Math.round(css * dpr), exact: false };
  }
  const css = Math.ceil(devicePx / dpr / quantum - TOLERANCE) * quantum;
  return { css, device: Math.round(css * dpr), exact: true };
}

/**
 * The largest integer scale ≤ the requested one that fits the window.
 *
 * @param {object} p
 * @param {number} p.patchSize patch side in image pixels
 * @param {number} p.requestedScale the study's display_scale
 * @param {number} p.dpr window.devicePixelRatio
 * @param {[number, number]} p.window inner width and height in CSS pixels
 * @param {number} p.columns patches side by side (3 for 2AFC, 1 for JND)
 * @returns {{dpr, window, scale, css_px, device_px, exact, fits, box}} `fits` (whether the
 *   requested scale fits) and `box` (the canvas, {css, device, exact}) are for the page only; the
 *   rest is the `display` object of worker-api.md. `exact`: the patch can be drawn 1:1 in device
 *   pixels (false only at a devicePixelRatio with no small whole multiple); the trial plugins
 *   replace it with what the page achieved.
 */
export function computeDisplay({ patchSize, requestedScale, dpr, window, columns }) {
  const [width, height] = window;
  const quantum = cssQuantum(dpr) ?? 1;
  const fitsAt = (s) => {
    const css = patchBox(patchSize * s, dpr).css + quantum; // + the nudge onto a device pixel
    return (
      columns * css + (columns - 1) * LAYOUT.gapCss + LAYOUT.reserveWidthCss <= width &&
      css + LAYOUT.reserveHeightCss <= height
    );
  };
  const requested = Math.max(1, Math.floor(requestedScale));
  let scale = requested;
  while (scale > 1 && !fitsAt(scale)) scale -= 1; // if nothing fits, scale 1 (the page scrolls)
  const box = patchBox(patchSize * scale, dpr);
  const css = (patchSize * scale) / dpr;
  return {
    dpr,
    window: [width, height],
    scale,
    css_px: isWhole(css) ? Math.round(css) : Math.round(css * 1000) / 1000,
    device_px: patchSize * scale,
    exact: box.exact,
    fits: scale === requested && fitsAt(scale),
    box,
  };
}

/** The `display` object sent with an answer: computeDisplay's result without page-only fields. */
export function displayForAnswer({ fits, box, ...display }) {
  return display;
}
