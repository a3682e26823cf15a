// Display check: measures the window and devicePixelRatio, says at which scale patches will be
// drawn and, when that is not the study's scale or not 1:1, how to fix it. It updates live as the
// person resizes the window or changes the zoom (both fire "resize"), and records the final result.

import { ParameterType } from "jspsych";

import packageInfo from "../../package.json";
import { measureDisplay } from "../display.js";

const info = {
  name: "perceptlab-display-check",
  version: packageInfo.version,
  parameters: {
    /** The session's `study` object (patch_size, display_scale, kind). */
    study: { type: ParameterType.OBJECT, default: undefined },
    /** Patches side by side in the visit's widest trial (display.js columnsFor). */
    columns: { type: ParameterType.INT, default: undefined },
  },
  data: {
    /** The display object at the moment the person continued. */
    display: { type: ParameterType.OBJECT },
    requested_scale: { type: ParameterType.INT },
    /** true when patches are drawn 1:1 at the study's scale */
    ok: { type: ParameterType.BOOL },
  },
};

function describe(display, requested) {
  const ok = display.exact && display.scale === requested;
  const facts =
    `Window ${display.window[0]} × ${display.window[1]}, device pixel ratio ${display.dpr}: ` +
    `patches will be ${display.device_px} × ${display.device_px} screen pixels ` +
    `(scale ${display.scale} of ${requested}${display.exact ? ", pixel-exact" : ", not pixel-exact"}).`;
  const advice = ok
    ? "Your screen is ready."
    : "Please maximise this window and reset the browser zoom to 100 % (Ctrl+0, or ⌘+0 on a Mac) so the images can be shown at their intended size. This page updates as you do.";
  return { ok, facts, advice };
}

export default class DisplayCheckPlugin {
  static info = info;

  constructor(jsPsych) {
    this.jsPsych = jsPsych;
  }

  trial(root, trial) {
    const requested = trial.study.display_scale;
    const facts = document.createElement("p");
    const advice = document.createElement("p");
    advice.setAttribute("aria-live", "polite");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "jspsych-btn";
    button.textContent = "Continue";
    const heading = document.createElement("h2");
    heading.textContent = "Screen check";
    root.replaceChildren(heading, facts, advice, button);

    const update = () => {
      const text = describe(measureDisplay(trial.study, trial.columns), requested);
      facts.textContent = text.facts;
      advice.textContent = text.advice;
      advice.className = text.ok ? "pl-ok" : "pl-warning";
    };
    update();
    window.addEventListener("resize", update);
    return new Promise((resolve) => {
      button.addEventListener("click", () => {
        window.removeEventListener("resize", update);
        const display = measureDisplay(trial.study, trial.columns);
        resolve({ display, requested_scale: requested, ok: describe(display, requested).ok });
      });
    });
  }
}
