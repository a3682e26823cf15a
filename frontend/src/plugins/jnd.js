// JND trial (paper protocol): the first patch for `first_ms`, a blank for `gap_ms`, the second
// patch for `second_ms`, then "same or different?" answered by click or the S / D keys.
// Every onset and offset happens in an animation frame and is time-stamped with that frame's time.

import { ParameterType } from "jspsych";

import packageInfo from "../../package.json";
import { clearPatch, drawPatch, patchCanvas } from "../canvas.js";
import { FrameClock } from "./frames.js";
import {
  awaitAnswer,
  clickWhenResponding,
  endResponse,
  placePatches,
  showFeedback,
  simulatedAnswer,
  simulatedRt,
  trialStage,
} from "./respond.js";

const KEYS = { s: "same", d: "different" };
const LABELS = { same: "same", different: "different" };

const info = {
  name: "perceptlab-jnd",
  version: packageInfo.version,
  parameters: {
    /** Decoded images {first, second}. */
    images: { type: ParameterType.OBJECT, default: undefined },
    /** The display object of scale.js computeDisplay, measured at trial start. */
    display: { type: ParameterType.OBJECT, default: undefined },
    first_ms: { type: ParameterType.INT, default: 1000 },
    gap_ms: { type: ParameterType.INT, default: 250 },
    second_ms: { type: ParameterType.INT, default: 1000 },
    /** Practice: the right answer ("same"/"different"), shown as feedback. null for real trials. */
    expected: { type: ParameterType.STRING, default: null },
  },
  data: {
    response: { type: ParameterType.STRING },
    /** ms from the question appearing (second patch off) to the answer */
    rt: { type: ParameterType.FLOAT },
    display: { type: ParameterType.OBJECT },
    /** performance.now() frame times first_on, first_off, second_on, second_off, the response's
     * event time, and frame_ms, the measured frame period */
    timing: { type: ParameterType.OBJECT },
    /** practice only: whether the answer was right */
    correct: { type: ParameterType.BOOL },
  },
};

function answerButton(answer, label) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "jspsych-btn pl-answer";
  button.dataset.answer = answer;
  button.textContent = label;
  return button;
}

export default class JndPlugin {
  static info = info;

  constructor(jsPsych) {
    this.jsPsych = jsPsych;
  }

  async trial(root, trial, onLoad = () => {}) {
    const { images } = trial;
    const canvas = patchCanvas(trial.display, { label: "The image being compared" });
    const row = document.createElement("div");
    row.className = "pl-row";
    row.append(canvas);
    const question = document.createElement("div");
    question.className = "pl-question";
    question.style.visibility = "hidden"; // keeps its space, so the patch does not move when it appears
    const prompt = document.createElement("p");
    prompt.className = "pl-prompt";
    prompt.textContent = "Were the two images the same or different?";
    question.append(prompt, answerButton("same", "Same (S)"), answerButton("different", "Different (D)"));
    const stage = trialStage(row, question);
    root.replaceChildren(stage);
    onLoad(); // jsPsych's on_load: the trial's own callback and extensions

    const clock = new FrameClock();
    await clock.frame(); // laid out
    const display = placePatches(stage, trial.display);
    await clock.warmUp();
    const firstOn = await clock.frame();
    drawPatch(canvas, images.first);
    const firstOff = await clock.after(firstOn, trial.first_ms);
    clearPatch(canvas);
    const secondOn = await clock.after(firstOff, trial.gap_ms);
    drawPatch(canvas, images.second);
    const secondOff = await clock.after(secondOn, trial.second_ms);
    clearPatch(canvas);
    question.style.visibility = "visible";

    stage.dataset.phase = "respond";
    const { answer, time } = await awaitAnswer(question, KEYS);
    endResponse(stage, answer);
    const correct = trial.expected === null ? null : await showFeedback(stage, answer, trial.expected, LABELS);
    const timing = {
      first_on: firstOn,
      first_off: firstOff,
      second_on: secondOn,
      second_off: secondOff,
      response: time,
      frame_ms: clock.period, // the measured frame period: the precision of the times above
    };
    return { response: answer, rt: Math.max(0, time - secondOff), display, timing, correct };
  }

  /** Pilot mode: a random answer after a plausible time (`data-only`), or clicked on the page. */
  simulate(trial, mode, options, onLoad) {
    const answer = options?.data?.response ?? simulatedAnswer(["same", "different"]);
    const rt = options?.data?.rt ?? simulatedRt();
    if (mode === "visual") {
      const root = this.jsPsych.getDisplayElement();
      clickWhenResponding(root, answer, rt);
      return this.trial(root, trial, onLoad);
    }
    onLoad();
    const t = performance.now();
    const firstOff = t + trial.first_ms;
    const secondOn = firstOff + trial.gap_ms;
    const secondOff = secondOn + trial.second_ms;
    const timing = { first_on: t, first_off: firstOff, second_on: secondOn, second_off: secondOff, response: secondOff + rt, frame_ms: 1000 / 60 };
    const correct = trial.expected === null ? null : answer === trial.expected;
    return Promise.resolve({ response: answer, rt, display: trial.display, timing, correct });
  }
}
