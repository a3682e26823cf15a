// Entry point of the worker app (/w/<token>/): reads the page's configuration, sends what an
// earlier visit left in the outbox, loads the session and runs the jsPsych timeline. On a
// researcher's pilot page the configuration holds a made-up session instead (pilot.js).

import "./worker.css";

import { initJsPsych } from "jspsych";

import { createApi } from "./api.js";
import { backoffDelay } from "./backoff.js";
import { createBanner } from "./banner.js";
import { renderCompletion, renderMessage } from "./completion.js";
import { ImageStore } from "./images.js";
import { statusMessage } from "./messages.js";
import { Outbox } from "./outbox.js";
import { runPilot } from "./pilot.js";
import { rememberAssignment } from "./remember.js";
import { hasStarted, remainingTrials } from "./resume.js";
import { displayForAnswer } from "./scale.js";
import { Sender } from "./sender.js";
import { buildTimeline, imageUrls } from "./timeline.js";
import { newUuid } from "./uuid.js";

function localStorageOrNull() {
  try {
    window.localStorage.getItem("perceptlab-probe"); // throws where storage is blocked
    return window.localStorage;
  } catch {
    return null;
  }
}

/** GET session, retried while the network is down (a reload on a flaky connection). */
async function loadSession(api, root) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const { status, body } = await api.session();
      if (status === 200) return body;
      if (status === 404) return null;
    } catch {
      // offline: retried below
    }
    renderMessage(root, "Connecting…", "Cannot reach the server yet; trying again.");
    await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt)));
  }
}

async function main() {
  const config = JSON.parse(document.getElementById("pl-config").textContent);
  const root = document.getElementById("jspsych-target");
  if (config.pilot) {
    // A researcher's pilot: the same timeline, simulated, with nothing stored or sent.
    await runPilot(config.pilot, root);
    return;
  }
  rememberAssignment(localStorageOrNull(), config);
  const api = createApi(config.api);
  const outbox = new Outbox(localStorageOrNull(), config.token);
  const banner = createBanner();
  const sender = new Sender({
    outbox,
    post: api.postAnswer,
    onStatus: (status) => banner.set(statusMessage(status, outbox.persistent)),
  });
  window.addEventListener("online", () => sender.online());
  // Leaving with answers unsent: ask to stay, and hand them to the browser to deliver anyway
  // (sendBeacon outlives the page; the server ignores a UUID it already has, and the outbox keeps
  // them until a later visit gets the acknowledgement).
  window.addEventListener("beforeunload", (event) => {
    if (outbox.size > 0) {
      event.preventDefault();
      event.returnValue = ""; // Chrome before 119 asks only when returnValue is set
    }
  });
  window.addEventListener("pagehide", () => {
    for (const entry of outbox.entries()) {
      navigator.sendBeacon(`${config.api}answers`, new Blob([JSON.stringify(entry)], { type: "application/json" }));
    }
  });

  // Positions pending before the session is read: an entry acknowledged while the request runs
  // is then either answered in the session or still counted here, never shown again.
  const pendingBefore = outbox.positions();
  sender.flush();
  const session = await loadSession(api, root);
  if (session === null) {
    renderMessage(root, "Assignment not found", "This link is not valid. Please go back to the study page.");
    return;
  }
  if (session.status === "completed") {
    renderCompletion(root, session.completion);
    return;
  }
  if (session.status === "expired") {
    renderMessage(root, "This assignment has expired", "Its time ran out before it was finished. Please go back to the study page.");
    return;
  }

  const pending = new Set([...pendingBefore, ...outbox.positions()]);
  const remaining = remainingTrials(session.trials, pending);
  const started = hasStarted(session.trials, pending);
  const store = new ImageStore(imageUrls({ session, remaining, started }));
  store.load(); // in the background while the instructions are read

  const total = session.trials.length;
  let label = ""; // the progress bar's text, set by onProgress
  const jsPsych = initJsPsych({
    display_element: root,
    show_progress_bar: true,
    auto_update_progress_bar: false,
    message_progress_bar: () => label,
  });
  const onProgress = ({ label: text, done }) => {
    label = text;
    jsPsych.progressBar.progress = total ? done / total : 1;
  };
  const onAnswer = (position, data) => {
    // Stored before it is sent: from here on a reload, crash or lost connection cannot lose it.
    outbox.add({
      client_uuid: newUuid(),
      position,
      answer: data.response,
      rt_ms: Math.round(data.rt),
      display: displayForAnswer(data.display),
      timing: data.timing,
    });
    sender.flush();
  };
  const timeline = buildTimeline({ session, remaining, started, store, app: { api, sender, outbox }, onAnswer, onProgress });
  await jsPsych.run(timeline);
}

main();
