// The browser side of scale.js: measures this window and screen.

import { computeDisplay } from "./scale.js";

/** Patches side by side in the widest trial of a visit: 3 if it has 2AFC trials, else 1. */
export const columnsFor = (trials) => (trials.some((t) => t.kind === "2afc") ? 3 : 1);

export function measureDisplay(study, columns) {
  return computeDisplay({
    patchSize: study.patch_size,
    requestedScale: study.display_scale,
    dpr: window.devicePixelRatio || 1,
    window: [window.innerWidth, window.innerHeight],
    columns,
  });
}
