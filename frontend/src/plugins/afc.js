// 2AFC trial: the reference in the middle, two candidates left and right; the participant picks
// the candidate closer to the reference by clicking it or pressing ← / →.

import { ParameterType } from "jspsych";

import packageInfo from "../../package.json";
import { drawPatch, patchCanvas } from "../canvas.js";
import {
  awaitAnswer,
  clickWhenResponding,
  endResponse,
  nextFrame,
  placePatches,
  showFeedback,
  simulatedAnswer,
  simulatedRt,
  trialStage,
} from "./respond.js";

const KEYS = { ArrowLeft: "left", ArrowRight: "right" };
const LABELS = { left: "left", right: "right" };

const info = {
  name: "perceptlab-2afc",
  version: packageInfo.version,
  parameters: {
    /** Decoded images {ref, left, right}. */
    images: { type: ParameterType.OBJECT, default: undefined },
    /** The display object of scale.js computeDisplay, measured at trial start. */
    display: { type: ParameterType.OBJECT, default: undefined },
    /** Practice: the right answer ("left"/"right"), shown as feedback. null for real trials. */
    expected: { type: ParameterType.STRING, default: null },
  },
  data: {
    response: { type: ParameterType.STRING },
    /** ms from the patches' onset to the answer */
    rt: { type: ParameterType.FLOAT },
    display: { type: ParameterType.OBJECT },
    /** performance.now() times: `on` (frame the patches were drawn in) and `response` */
    timing: { type: ParameterType.OBJECT },
    /** practice only: whether the answer was right */
    correct: { type: ParameterType.BOOL },
  },
};

export default class AfcPlugin {
  static info = info;

  constructor(jsPsych) {
    this.jsPsych = jsPsych;
  }

  async trial(root, trial, onLoad = () => {}) {
    const { images } = trial;
    const choice = (side) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "pl-choice";
      button.dataset.answer = side;
      button.setAttribute("aria-label", `${side === "left" ? "Left" : "Right"} image (key ${side === "left" ? "←" : "→"})`);
      const canvas = patchCanvas(trial.display);
      const key = document.createElement("span");
      key.className = "pl-key";
      key.setAttribute("aria-hidden", "true");
      key.textContent = side === "left" ? "← left" : "right →";
      button.append(canvas, key);
      return { button, canvas };
    };
    const left = choice("left");
    const right = choice("right");
    const reference = patchCanvas(trial.display, { label: "Middle image (the reference)" });
    const row = document.createElement("div");
    row.className = "pl-row";
    row.append(left.button, reference, right.button);
    const prompt = document.createElement("p");
    prompt.className = "pl-prompt";
    prompt.textContent = "Which image, left or right, is more similar to the one in the middle?";
    const stage = trialStage(row, prompt);
    root.replaceChildren(stage);
    onLoad(); // jsPsych's on_load: the trial's own callback and extensions

    await nextFrame(); // the canvases are laid out before they are placed and timed
    const display = placePatches(stage, trial.display);
    const on = await nextFrame();
    drawPatch(left.canvas, images.left);
    drawPatch(reference, images.ref);
    drawPatch(right.canvas, images.right);

    stage.dataset.phase = "respond";
    const { answer, time } = await awaitAnswer(stage, KEYS);
    endResponse(stage, answer);
    const correct = trial.expected === null ? null : await showFeedback(stage, answer, trial.expected, LABELS);
    return { response: answer, rt: Math.max(0, time - on), display, timing: { on, response: time }, correct };
  }

  /** Pilot mode: a random side after a plausible time (`data-only`), or clicked on the page. */
  simulate(trial, mode, options, onLoad) {
    const answer = options?.data?.response ?? simulatedAnswer(["left", "right"]);
    const rt = options?.data?.rt ?? simulatedRt();
    if (mode === "visual") {
      const root = this.jsPsych.getDisplayElement();
      clickWhenResponding(root, answer, rt);
      return this.trial(root, trial, onLoad);
    }
    onLoad();
    const on = performance.now();
    const correct = trial.expected === null ? null : answer === trial.expected;
    return Promise.resolve({ response: answer, rt, display: trial.display, timing: { on, response: on + rt }, correct });
  }
}
