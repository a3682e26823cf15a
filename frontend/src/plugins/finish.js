// The last page: waits until the outbox is empty, then asks the server to complete the assignment
// and shows the completion (code, Prolific redirect or MTurk submit) only after a 200. It is the
// end of the timeline and never finishes: every way out of it is a page the participant must see.

import { ParameterType } from "jspsych";

import packageInfo from "../../package.json";
import { backoffDelay } from "../backoff.js";
import { renderCompletion, renderMessage } from "../completion.js";

const info = {
  name: "perceptlab-finish",
  version: packageInfo.version,
  parameters: {
    /** {api, sender, outbox} from main.js */
    app: { type: ParameterType.OBJECT, default: undefined },
  },
  data: {},
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export default class FinishPlugin {
  static info = info;

  constructor(jsPsych) {
    this.jsPsych = jsPsych;
  }

  async trial(root, trial, onLoad = () => {}) {
    const { api, sender, outbox } = trial.app;
    const status = document.createElement("p");
    status.setAttribute("aria-live", "polite");
    const heading = document.createElement("h2");
    heading.textContent = "Saving your answers…";
    root.replaceChildren(heading, status);
    onLoad();

    const showPending = () => {
      status.textContent = outbox.size ? `${outbox.size} answer(s) still to send. Please keep this page open.` : "";
    };
    showPending();
    const poll = setInterval(showPending, 500);
    try {
      await sender.whenEmpty();
    } catch {
      clearInterval(poll);
      renderMessage(root, "This assignment is closed", "The server no longer accepts answers for it. Please contact the researcher.");
      return new Promise(() => {});
    }
    clearInterval(poll);

    for (let attempt = 0; ; attempt += 1) {
      let reply = null;
      try {
        reply = await api.complete();
      } catch {
        // no answer from the server: retried below
      }
      const code = reply?.body?.error?.code;
      if (reply?.status === 200) {
        renderCompletion(root, reply.body);
        break;
      }
      if (code === "incomplete") {
        // The server lacks answers this page no longer holds (e.g. refused earlier). Reloading
        // resumes at exactly those positions; a button, not an automatic reload, so a server that
        // keeps saying "incomplete" cannot put the page in a reload loop.
        renderMessage(root, "A few answers are missing", "Some of your answers did not reach the server. Please answer them again.");
        const again = Object.assign(document.createElement("button"), { type: "button", className: "jspsych-btn", textContent: "Continue" });
        again.addEventListener("click", () => window.location.reload());
        root.append(again);
        break;
      }
      if (code === "assignment_closed") {
        renderMessage(root, "This assignment is closed", "It expired before it was completed. Please contact the researcher.");
        break;
      }
      status.textContent = "Could not reach the server to finish; trying again…";
      await sleep(backoffDelay(attempt));
    }
    return new Promise(() => {});
  }

  /** Never simulated: pilot mode ends with its own page (pilot.js), which stores nothing. */
  simulate(trial, mode, options, onLoad) {
    return this.trial(this.jsPsych.getDisplayElement(), trial, onLoad);
  }
}
