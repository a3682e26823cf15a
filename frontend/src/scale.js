// How big a patch is drawn. The study asks for an integer scale: every image pixel becomes a
// scale×scale block of *device* pixels (nearest neighbour), as in a lab. The canvas therefore has
// patch_size·scale device pixels and a CSS size of that divided by devicePixelRatio. When the CSS
// size is a whole number of CSS pixels, layout lands on device-pixel boundaries and the browser
// copies the canvas 1:1; a fractional size (browser zoom, 125 % OS scaling) makes it resample.

// Space the trial layout needs around the patches, in CSS pixels (kept in step with worker.css):
// the progress bar, prompt and response buttons above and below, margins at the sides.
export const LAYOUT = { gapCss: 24, reserveWidthCss: 48, reserveHeightCss: 220 };

const isWhole = (x) => Math.abs(x - Math.round(x)) < 1e-6;

/**
 * The largest integer scale ≤ the requested one that fits the window, preferring one drawn 1:1.
 *
 * @param {object} p
 * @param {number} p.patchSize patch side in image pixels
 * @param {number} p.requestedScale the study's display_scale
 * @param {number} p.dpr window.devicePixelRatio
 * @param {[number, number]} p.window inner width and height in CSS pixels
 * @param {number} p.columns patches side by side (3 for 2AFC, 1 for JND)
 * @returns {{dpr, window, scale, css_px, device_px, exact, fits}} `fits` is for the page only;
 *   the rest is the `display` object of worker-api.md.
 */
export function computeDisplay({ patchSize, requestedScale, dpr, window, columns }) {
  const [width, height] = window;
  const cssAt = (s) => (patchSize * s) / dpr;
  const fitsAt = (s) => {
    const css = cssAt(s);
    return (
      columns * css + (columns - 1) * LAYOUT.gapCss + LAYOUT.reserveWidthCss <= width &&
      css + LAYOUT.reserveHeightCss <= height
    );
  };
  const scales = [];
  for (let s = Math.max(1, Math.floor(requestedScale)); s >= 1; s -= 1) scales.push(s);
  const fitting = scales.filter(fitsAt);
  // A smaller sharp patch beats a larger resampled one; if nothing fits, scale 1 (the page scrolls).
  const scale = fitting.find((s) => isWhole(cssAt(s))) ?? fitting[0] ?? 1;
  const css = cssAt(scale);
  return {
    dpr,
    window: [width, height],
    scale,
    css_px: isWhole(css) ? Math.round(css) : Math.round(css * 1000) / 1000,
    device_px: patchSize * scale,
    exact: isWhole(css),
    fits: fitting.length > 0,
  };
}

/** The `display` object sent with an answer: computeDisplay's result without page-only fields. */
export function displayForAnswer({ fits, ...display }) {
  return display;
}
