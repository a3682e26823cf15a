// Screen check: measures the window and devicePixelRatio and says whether the images fit at the
// study's size. Any devicePixelRatio (OS scaling, browser zoom) is handled by drawing patches on
// whole device pixels (scale.js), so the only thing a worker may be asked to do is make a window
// that is too small larger. It updates live as the window is resized (and the zoom changed: both
// fire "resize"), and records the final result.

import { ParameterType } from "jspsych";

import packageInfo from "../../package.json";
import { measureDisplay } from "../display.js";
import { displayForAnswer } from "../scale.js";

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
    /** true when the images fit at the study's scale */
    ok: { type: ParameterType.BOOL },
  },
};

function describe(display, requested) {
  const ok = display.fits;
  const facts =
    `Window ${display.window[0]} × ${display.window[1]}, device pixel ratio ${display.dpr}: ` +
    `images will be ${display.device_px} × ${display.device_px} screen pixels (scale ${display.scale} of ${requested}).`;
  const advice = ok
    ? "Your screen is ready: the images fit at their full size."
    : "Your browser window is too small to show the images at their full size. Please make the window larger " +
      "(maximise it, or leave full-screen mode of other apps and close side panels). This page updates as you do. " +
      "You can also continue: the images will then be shown smaller.";
  return { ok, facts, advice };
}

export default class DisplayCheckPlugin {
  static info = info;

  constructor(jsPsych) {
    this.jsPsych = jsPsych;
  }

  trial(root, trial, onLoad = () => {}) {
    const requested = trial.study.display_scale;
    const advice = document.createElement("p");
    advice.setAttribute("aria-live", "polite");
    const facts = document.createElement("p");
    facts.className = "pl-small";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "jspsych-btn";
    button.textContent = "Continue";
    const heading = document.createElement("h2");
    heading.textContent = "Screen check";
    const box = document.createElement("div");
    box.className = "pl-text";
    box.append(heading, advice, facts);
    root.replaceChildren(box, button);
    button.focus();
    onLoad();

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
        resolve({ display: displayForAnswer(display), requested_scale: requested, ok: describe(display, requested).ok });
      });
    });
  }

  /** Pilot mode: measures this window; `visual` shows the page and continues after a moment. */
  simulate(trial, mode, options, onLoad) {
    if (mode === "visual") {
      const root = this.jsPsych.getDisplayElement();
      const result = this.trial(root, trial, onLoad);
      setTimeout(() => root.querySelector("button")?.click(), 500);
      return result;
    }
    onLoad();
    const display = measureDisplay(trial.study, trial.columns);
    const requested = trial.study.display_scale;
    return Promise.resolve({ display: displayForAnswer(display), requested_scale: requested, ok: describe(display, requested).ok });
  }
}
