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

const HOW_TO = {
  "2afc":
    "<p><strong>Which is more similar?</strong> Three images appear side by side. Choose the left or right one, " +
    "whichever is more similar to the image in the middle: click it or press ← or →.</p>",
  jnd:
    "<p><strong>Same or different?</strong> Two images are flashed one after the other. Say whether they were " +
    "the same or different: click a button or press S (same) or D (different).</p>",
};

const page = (html, button) => ({ type: HtmlButtonResponsePlugin, stimulus: `<div class="pl-text">${html}</div>`, choices: [button] });

/**
 * @param {object} p
 * @param {object} p.session the GET session body
 * @param {object[]} p.remaining trials still to answer (resume.js)
 * @param {boolean} p.started whether the participant answered anything before
 * @param {import("./images.js").ImageStore} p.store
 * @param {object} p.app {api, sender, outbox} for the finish page
 * @param {(position: number, data: object) => void} p.onAnswer called as each real trial ends
 * @param {(position: number | null) => void} p.onPosition called with the position about to be shown
 *   (null: all done), to update the progress bar
 */
export function buildTimeline({ session, remaining, started, store, app, onAnswer, onPosition }) {
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

  const finish = { type: FinishPlugin, app, on_start: () => onPosition(null) };
  if (remaining.length === 0) return [finish]; // reloaded after the last answer: just finish

  const intro = started
    ? page(`<h2>Welcome back</h2><p>You have done ${done} of ${total} trials and continue where you left off.</p>${howTo}`, "Continue")
    : page(`<div class="pl-instructions">${study.instructions_html}</div><h3>How to answer</h3>${howTo}`, "Continue");
  const timeline = [
    { ...intro, on_start: () => onPosition(remaining[0].position) },
    { type: DisplayCheckPlugin, study, columns },
    { type: PreloadPlugin, store },
  ];

  if (!started && session.practice.length > 0) {
    timeline.push(page(`<h2>Practice</h2><p>First, ${session.practice.length} practice trials. After each one you are told the right answer. Practice answers are not recorded.</p>`, "Start practice"));
    session.practice.forEach((p) => timeline.push(trialNode(p, { expected: p.answer, data: { practice: true } })));
    timeline.push(page("<h2>Practice done</h2><p>Now the real trials begin. From here on there is no feedback.</p>", "Start"));
  }

  const breaks = breakPositions(remaining, study.break_every);
  remaining.forEach((trial) => {
    if (breaks.has(trial.position)) {
      timeline.push(page(`<h2>Break</h2><p>${trial.position} of ${total} trials done. Take a short rest if you like, then continue.</p>`, "Continue"));
    }
    timeline.push({
      ...trialNode(trial, { data: { practice: false, position: trial.position } }),
      on_start: () => onPosition(trial.position),
      on_finish: (data) => onAnswer(trial.position, data),
    });
  });

  timeline.push(finish);
  return timeline;
}

/** Every image URL the visit will draw: practice (first visit only) and the remaining trials. */
export function imageUrls({ session, remaining, started }) {
  const shown = started ? remaining : [...session.practice, ...remaining];
  return shown.flatMap((t) => Object.values(t.images));
}
