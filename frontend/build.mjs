// npm run build: one esbuild call bundles src/main.js (with jsPsych and our plugins) into
// dist/perceptlab/worker.js and the CSS it imports into dist/perceptlab/worker.css, and
// src/leaderboard.js (Chart.js charts and table sorting of the analysis app's leaderboard page)
// into dist/perceptlab/leaderboard.js, src/duels.js (the duel results page's charts) into
// dist/perceptlab/duels.js, and src/analysis.js (a fit's training curves, a study's collection
// monitor) into dist/perceptlab/analysis.js.
import { rmSync } from "node:fs";

import { build } from "esbuild";

rmSync("dist/perceptlab", { recursive: true, force: true }); // no stale files from older builds

await build({
  entryPoints: {
    worker: "src/main.js",
    leaderboard: "src/leaderboard.js",
    duels: "src/duels.js",
    analysis: "src/analysis.js",
  },
  outdir: "dist/perceptlab",
  bundle: true,
  format: "iife",
  minify: true,
  sourcemap: "linked",
  // Browsers with crypto.randomUUID fallbacks, AbortSignal.timeout and private class fields.
  target: ["chrome103", "firefox100", "safari16"],
  logLevel: "warning",
});
