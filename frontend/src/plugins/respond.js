// Shared pieces of the trial plugins: waiting for a frame, for an answer, practice feedback, and
// the simulated answers of pilot mode.

import { snapToDevicePixels } from "../canvas.js";

/**
 * The element a trial draws into. Its `data-phase` ("present", "respond", "done") says what the
 * trial is doing, for the browser tests (tests/e2e) and anyone debugging a session. It always ends
 * with the (empty) feedback line, so practice feedback appearing moves nothing on the page.
 */
export function trialStage(...children) {
  const stage = document.createElement("div");
  stage.className = "pl-trial";
  stage.dataset.phase = "present";
  const feedback = document.createElement("p");
  feedback.className = "pl-feedback";
  feedback.setAttribute("role", "status");
  stage.append(...children, feedback);
  return stage;
}

/**
 * Once the stage is in the page: puts every patch canvas on device pixels (canvas.js) and returns
 * the display object with `exact` saying whether that worked.
 */
export function placePatches(stage, display) {
  const canvases = [...stage.querySelectorAll("canvas")];
  const exact = display.exact && snapToDevicePixels(canvases, display.dpr);
  return { ...display, exact };
}

/** After an answer: no second answer, and the chosen button stays marked. */
export function endResponse(stage, answer) {
  stage.dataset.phase = "done";
  stage.querySelectorAll("button").forEach((b) => {
    b.disabled = true;
    b.classList.toggle("pl-chosen", b.dataset.answer === answer);
  });
}

/** Resolves with the timestamp of the next animation frame (performance.now() time base). */
export const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

/**
 * Resolves with the first answer given by a key in `keys` ({key: answer}) or a click on an enabled
 * element with `data-answer` inside `root`. `time` is the event's own timeStamp (same time base
 * as performance.now()), not the moment this code ran, so a busy main thread does not add to RT.
 */
export function awaitAnswer(root, keys) {
  return new Promise((resolve) => {
    const finish = (answer, time) => {
      document.removeEventListener("keydown", onKey);
      root.removeEventListener("click", onClick);
      resolve({ answer, time });
    };
    const onKey = (event) => {
      const answer = keys[event.key] ?? keys[event.key.toLowerCase()];
      if (!answer || event.repeat) return; // a held key must not answer the next trial
      event.preventDefault();
      finish(answer, event.timeStamp);
    };
    const onClick = (event) => {
      const target = event.target.closest("[data-answer]");
      if (target && root.contains(target) && !target.disabled) finish(target.dataset.answer, event.timeStamp);
    };
    document.addEventListener("keydown", onKey);
    root.addEventListener("click", onClick);
  });
}

const FEEDBACK_MS = 1200;

/** Practice only: says whether `answer` was right, for a moment. Returns `correct`. */
export async function showFeedback(stage, answer, expected, labels) {
  const correct = answer === expected;
  const note = stage.querySelector(".pl-feedback");
  const text = document.createElement("span");
  text.className = correct ? "pl-feedback-right" : "pl-feedback-wrong";
  text.textContent = correct ? "Correct." : `Not quite: the answer was “${labels[expected]}”.`;
  note.replaceChildren(text);
  await new Promise((resolve) => setTimeout(resolve, FEEDBACK_MS));
  return correct;
}

// ---- simulation (jsPsych's simulate(): pilot mode) ----

/** A response time a person might have: 500–1500 ms. */
export const simulatedRt = () => 500 + Math.random() * 1000;

/** One of `answers`, at random. */
export const simulatedAnswer = (answers) => answers[Math.floor(Math.random() * answers.length)];

/**
 * Visual simulation: runs the real trial and, once it takes answers, clicks the button of
 * `answer` after `rt` ms, as a participant would.
 */
export function clickWhenResponding(root, answer, rt) {
  const poll = setInterval(() => {
    const stage = root.querySelector('.pl-trial[data-phase="respond"]');
    if (!stage) return;
    clearInterval(poll);
    setTimeout(() => stage.querySelector(`[data-answer="${answer}"]`)?.click(), rt);
  }, 50);
}
