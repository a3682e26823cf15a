// Drawing patches 1:1 in device pixels (see scale.js for how the size is chosen).

/** A canvas with `display.device_px` backing pixels shown at `display.css_px` CSS pixels. */
export function patchCanvas(display, className = "pl-patch") {
  const canvas = document.createElement("canvas");
  canvas.className = className;
  canvas.width = display.device_px;
  canvas.height = display.device_px;
  canvas.style.width = `${display.css_px}px`;
  canvas.style.height = `${display.css_px}px`;
  return canvas;
}

/** Draws an image upscaled by nearest neighbour to fill the canvas. */
export function drawPatch(canvas, image) {
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
}

export function clearPatch(canvas) {
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
}
