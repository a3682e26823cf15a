// Pilot mode (a researcher's page, see docs/frontend.md): the study's real timeline, built by
// timeline.js from a session the server made up without storing anything, run by jsPsych's
// simulation (`data-only` or `visual`). Nothing is sent: no outbox, no API, no completion. It ends
// with its own page: a summary of the simulated data. Every page gets a trial-level `on_load`
// that counts, so the summary also shows that the plugins call jsPsych's `on_load`.

import { initJsPsych } from "jspsych";

import packageInfo from "../package.json";
import { ImageStore } from "./images.js";
import { buildTimeline, imageUrls } from "./timeline.js";

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

/** The last page of a pilot: ends at once; the summary is drawn once jsPsych is done. */
export class PilotEndPlugin {
  static info = { name: "perceptlab-pilot-end", version: packageInfo.version, parameters: {}, data: {} };

  trial(root, trial, onLoad = () => {}) {
    onLoad();
    return Promise.resolve({});
  }

  simulate(trial, mode, options, onLoad) {
    onLoad();
    return Promise.resolve({});
  }
}

/** Adds a trial-level `on_load` to every node (keeping its own) that calls `count(node)`. */
export function countLoads(timeline, count) {
  return timeline.map((node) => ({
    ...node,
    on_load: (...args) => {
      node.on_load?.(...args);
      count(node);
    },
  }));
}

const median = (values) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * What the pilot produced: the simulated answers (as a worker's app would have sent them) and
 * practice rounds, with counts a researcher checks at a glance.
 * @param {object[]} answers {position, kind, response, rt, display}, one per trial
 * @param {object[]} practice {kind, response, correct}
 */
export function summarize({ answers, practice, pages, loads, total }) {
  const responses = {};
  for (const a of answers) responses[a.response] = (responses[a.response] ?? 0) + 1;
  return {
    trials: answers.length,
    total,
    practice: practice.length,
    practice_correct: practice.filter((p) => p.correct).length,
    responses,
    median_rt_ms: median(answers.map((a) => a.rt)),
    pages,
    on_load: loads,
  };
}

function renderSummary(root, { mode, summary, answers }) {
  const facts = [
    ["Trials answered", `${summary.trials} of ${summary.total}`],
    ["Practice rounds", `${summary.practice} (${summary.practice_correct} right)`],
    ["Answers", Object.entries(summary.responses).map(([k, n]) => `${k}: ${n}`).join(", ") || "-"],
    ["Median simulated time per trial", summary.median_rt_ms === null ? "-" : `${Math.round(summary.median_rt_ms)} ms`],
    ["Pages whose on_load ran", `${summary.on_load} of ${summary.pages}`],
  ];
  const list = el("dl", { className: "pl-pilot-facts" });
  for (const [name, value] of facts) list.append(el("dt", {}, name), el("dd", {}, value));
  const table = el("table", { className: "pl-pilot-data" });
  table.append(el("tr", {}, ...["position", "kind", "answer", "rt (ms)", "scale"].map((h) => el("th", {}, h))));
  for (const a of answers) {
    table.append(el("tr", {}, ...[a.position + 1, a.kind, a.response, Math.round(a.rt), a.display?.scale ?? "-"].map((v) => el("td", {}, String(v)))));
  }
  const json = el("details", {}, el("summary", {}, "Simulated data (JSON)"), el("pre", {}, JSON.stringify({ summary, answers }, null, 1)));
  const again = el("a", { href: window.location.href }, "Run it again");
  root.replaceChildren(
    el("div", { className: "pl-text pl-pilot-summary" },
      el("h2", {}, `Pilot finished (${mode}): nothing was stored`),
      list,
      table,
      json,
      el("p", {}, again),
    ),
  );
}

/** Runs a pilot: `pilot` is the page configuration's {mode, session}. */
export async function runPilot(pilot, root) {
  const { mode, session } = pilot;
  const remaining = session.trials;
  const store = new ImageStore(imageUrls({ session, remaining, started: false }));
  store.load();

  const total = session.trials.length;
  let label = "";
  const jsPsych = initJsPsych({
    display_element: root,
    show_progress_bar: true,
    auto_update_progress_bar: false,
    message_progress_bar: () => label,
  });
  const answers = [];
  const kindAt = new Map(session.trials.map((t) => [t.position, t.kind]));
  const onAnswer = (position, data) => {
    answers.push({ position, kind: kindAt.get(position), response: data.response, rt: data.rt, display: data.display });
  };
  const onProgress = ({ label: text, done }) => {
    label = text;
    jsPsych.progressBar.progress = total ? done / total : 1;
  };
  let loads = 0;
  const timeline = countLoads(
    buildTimeline({ session, remaining, started: false, store, app: null, onAnswer, onProgress, finish: { type: PilotEndPlugin } }),
    () => {
      loads += 1;
    },
  );
  await jsPsych.simulate(timeline, mode);

  const data = jsPsych.data.get();
  const practice = data.filter({ practice: true }).values().map((d) => ({ kind: d.kind, response: d.response, correct: d.correct }));
  const summary = summarize({ answers, practice, pages: data.count(), loads, total });
  renderSummary(jsPsych.getDisplayElement(), { mode, summary, answers });
  document.documentElement.dataset.pilot = "done"; // for the browser tests
  return summary;
}
