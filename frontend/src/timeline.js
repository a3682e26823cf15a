// The jsPsych timeline of a visit: intro (instructions, or "welcome back" after a reload), display
// check, image preload, practice with feedback (first visit only), the remaining trials with break
// offers, and the finish page.

import HtmlButtonResponsePlugin from "@jspsych/plugin-html-button-response";

import { columnsFor, measureDisplay } from "./display.js";
import AfcPlugin from "./plugins/afc.js";
import DisplayCheckPlugin from "./plugins/display-check.js";
import FinishPlugin from "./plugins/finish.js";
import JndPlugin from "./plugins/jnd.js";
import PreloadPlugin from "./plugins/preload.js";
import { breakPositions } from "./resume.js";

// Plain words for each kind of trial; a worker reads only the kinds their assignment has.
const HOW_TO = {
  "2afc":
    "<p><strong>Which picture looks more like the middle one?</strong> You see three pictures side by side. " +
    "Pick the left or the right one, whichever looks more like the picture in the middle. " +
    "Click or tap it, or press the ← or → key.</p>",
  jnd:
    "<p><strong>Same or different?</strong> One picture is shown, then briefly a second one in the same place. " +
    "Say whether the two looked the same or different: click or tap a button, or press S (same) or D (different).</p>",
};

const GENERAL =
  "<p>There are no right or wrong answers except on a few easy check questions: go with your first impression, " +
  "but please look carefully.</p>";

// Pages with one button (instructions, breaks): the button has the keyboard focus, so Enter or
// Space continues, and worker.css draws the focus ring.
const page = (html, button) => ({
  type: HtmlButtonResponsePlugin,
  stimulus: `<div class="pl-text">${html}</div>`,
  choices: [button],
  on_load: () => document.querySelector("#jspsych-html-button-response-btngroup button")?.focus(),
});

/**
 * @param {object} p
 * @param {object} p.session the GET session body
 * @param {object[]} p.remaining trials still to answer (resume.js)
 * @param {boolean} p.started whether the participant answered anything before
 * @param {import("./images.js").ImageStore} p.store
 * @param {object} p.app {api, sender, outbox} for the finish page
 * @param {(position: number, data: object) => void} p.onAnswer called as each real trial ends
 * @param {(progress: {label: string, done: number}) => void} p.onProgress called as each page
 *   starts, to update the progress bar: "Trial k of N" only on counted trials
 * @param {object} [p.finish] the last node (pilot mode ends with its own)
 */
export function buildTimeline({ session, remaining, started, store, app, onAnswer, onProgress, finish: lastNode }) {
  const { study, trials } = session;
  const total = trials.length;
  const done = total - remaining.length;
  const kinds = new Set([...trials, ...session.practice].map((t) => t.kind));
  const howTo = [...kinds].sort().map((k) => HOW_TO[k]).join("");
  // One scale for the whole visit, chosen for its widest trial, so patches never change size.
  const columns = columnsFor([...trials, ...session.practice]);

  const trialNode = (trial, { expected = null, data = {} } = {}) => ({
    type: trial.kind === "jnd" ? JndPlugin : AfcPlugin,
    images: () => store.pick(trial.images),
    display: () => measureDisplay(study, columns),
    expected,
    ...(trial.kind === "jnd" ? study.jnd : {}),
    data,
  });

  const finish = lastNode ?? { type: FinishPlugin, app };
  const finishNode = { ...finish, on_start: () => onProgress({ label: `All ${total} trials done`, done: total }) };
  if (remaining.length === 0) return [finishNode]; // reloaded after the last answer: just finish

  // Pages that are not counted trials show how far the worker is, without "Trial k of N".
  const between = (node, doneSoFar) => ({ ...node, on_start: () => onProgress({ label: "", done: doneSoFar }) });
  const intro = started
    ? page(`<h2>Welcome back</h2><p>You have done ${done} of ${total} trials and continue where you left off.</p>${howTo}`, "Continue")
    : page(
        `<h2>How it works</h2><div class="pl-instructions">${study.instructions_html}</div>${howTo}${GENERAL}` +
          `<p>There are ${total} questions${session.practice.length && !started ? `, after ${session.practice.length} practice round${session.practice.length === 1 ? "" : "s"}` : ""}.</p>`,
        "Continue",
      );
  const timeline = [
    between(intro, done),
    between({ type: DisplayCheckPlugin, study, columns }, done),
    between({ type: PreloadPlugin, store }, done),
  ];

  if (!started && session.practice.length > 0) {
    const n = session.practice.length;
    timeline.push(between(page(`<h2>Practice</h2><p>First, ${n} practice rounds. After each one you are told the right answer. Practice answers are not recorded.</p>`, "Start practice"), 0));
    session.practice.forEach((p, i) =>
      timeline.push({
        ...trialNode(p, { expected: p.answer, data: { practice: true } }),
        on_start: () => onProgress({ label: `Practice ${i + 1} of ${n}`, done: 0 }),
      }),
    );
    timeline.push(between(page("<h2>Practice done</h2><p>Now the real trials begin. From here on there is no feedback.</p>", "Start"), 0));
  }

  const breaks = breakPositions(remaining, study.break_every);
  remaining.forEach((trial) => {
    if (breaks.has(trial.position)) {
      timeline.push(between(page(`<h2>Break</h2><p>${trial.position} of ${total} trials done. Take a short rest if you like, then continue.</p>`, "Continue"), trial.position));
    }
    timeline.push({
      ...trialNode(trial, { data: { practice: false, position: trial.position } }),
      on_start: () => onProgress({ label: `Trial ${trial.position + 1} of ${total}`, done: trial.position }),
      on_finish: (data) => onAnswer(trial.position, data),
    });
  });

  timeline.push(finishNode);
  return timeline;
}

/** Every image URL the visit will draw: practice (first visit only) and the remaining trials. */
export function imageUrls({ session, remaining, started }) {
  const shown = started ? remaining : [...session.practice, ...remaining];
  return shown.flatMap((t) => Object.values(t.images));
}
