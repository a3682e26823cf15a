// Drawing patches 1:1 in device pixels (see scale.js for how the size is chosen).

import { cssQuantum } from "./scale.js";

/**
 * A canvas of `display.box`: a whole number of CSS pixels that is also a whole number of device
 * pixels, with as many backing pixels as device pixels. The patch is drawn in its middle.
 */
export function patchCanvas(display, { label = "", className = "pl-patch" } = {}) {
  const canvas = document.createElement("canvas");
  canvas.className = className;
  canvas.width = display.box.device;
  canvas.height = display.box.device;
  canvas.style.width = `${display.box.css}px`;
  canvas.style.height = `${display.box.css}px`;
  canvas.dataset.devicePx = String(display.device_px);
  if (label) {
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", label);
  }
  return canvas;
}

/**
 * Moves each canvas (by relative positioning, never a transform, which would resample) so that
 * its box starts on a whole device pixel: on a whole multiple of `cssQuantum(dpr)` CSS pixels,
 * which layout represents exactly. Call once the canvases are laid out; returns whether every
 * box now lies on device pixels with one device pixel per backing pixel.
 */
export function snapToDevicePixels(canvases, dpr) {
  const quantum = cssQuantum(dpr);
  for (const canvas of canvases) {
    canvas.style.position = "relative";
    canvas.style.left = "0px";
    canvas.style.top = "0px";
  }
  const rects = canvases.map((canvas) => canvas.getBoundingClientRect()); // one layout for all
  const target = (x) => (quantum ? Math.ceil(x / quantum - 1e-6) * quantum : Math.ceil(x * dpr - 1e-6) / dpr);
  canvases.forEach((canvas, i) => {
    const { left, top } = rects[i];
    canvas.style.left = `${target(left) - left}px`;
    canvas.style.top = `${target(top) - top}px`;
  });
  const onPixel = (x) => Math.abs(x * dpr - Math.round(x * dpr)) < 1e-3;
  return canvases.every((canvas) => {
    const r = canvas.getBoundingClientRect();
    return onPixel(r.left) && onPixel(r.top) && Math.abs(r.width * dpr - canvas.width) < 1e-3;
  });
}

/** Draws an image upscaled by nearest neighbour into the middle of the canvas. */
export function drawPatch(canvas, image) {
  const ctx = canvas.getContext("2d");
  const size = Number(canvas.dataset.devicePx);
  const offset = Math.floor((canvas.width - size) / 2);
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, offset, offset, size, size);
}

export function clearPatch(canvas) {
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
}
