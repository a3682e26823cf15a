// The browser side of scale.js: measures this window and screen.

import { computeDisplay } from "./scale.js";

/** 3 patches side by side when the study has 2AFC trials, else 1. */
export const columnsFor = (study) => (study.kind === "jnd" ? 1 : 3);

export function measureDisplay(study) {
  return computeDisplay({
    patchSize: study.patch_size,
    requestedScale: study.display_scale,
    dpr: window.devicePixelRatio || 1,
    window: [window.innerWidth, window.innerHeight],
    columns: columnsFor(study),
  });
}
