// Waits until every image of the assignment is loaded and decoded (images.js), with a progress
// bar. Loading starts as soon as the page has the session, so usually this page flashes by. If
// images fail even after retries, it says so plainly and offers to try again: a trial is never
// shown with a missing image.

import { ParameterType } from "jspsych";

import packageInfo from "../../package.json";

const info = {
  name: "perceptlab-preload",
  version: packageInfo.version,
  parameters: {
    /** The ImageStore of images.js. */
    store: { type: ParameterType.OBJECT, default: undefined },
  },
  data: {
    images: { type: ParameterType.INT },
    /** times "Try again" was needed */
    retries: { type: ParameterType.INT },
  },
};

export default class PreloadPlugin {
  static info = info;

  constructor(jsPsych) {
    this.jsPsych = jsPsych;
  }

  async trial(root, trial, onLoad = () => {}) {
    const { store } = trial;
    const label = document.createElement("p");
    const bar = document.createElement("progress");
    bar.className = "pl-loading";
    bar.setAttribute("aria-label", "Images loaded");
    bar.max = Math.max(1, store.total);
    const error = document.createElement("p");
    error.className = "pl-warning";
    error.setAttribute("role", "alert");
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "jspsych-btn";
    retry.textContent = "Try again";
    retry.hidden = true;
    root.replaceChildren(label, bar, error, retry);
    onLoad();

    const show = () => {
      bar.value = store.loaded;
      label.textContent = `Loading images: ${store.loaded} of ${store.total}`;
    };
    const unsubscribe = store.subscribe(show);
    show();
    let retries = 0;
    // If the background load already finished with failures, this first load() quietly tries
    // those images once more before the participant is asked to.
    for (let failed = await store.load(); failed.length > 0; failed = await store.load()) {
      error.textContent =
        `${failed.length} of ${store.total} images could not be loaded. ` +
        "Please check your internet connection, then press “Try again”.";
      retry.hidden = false;
      await new Promise((resolve) => retry.addEventListener("click", resolve, { once: true }));
      retries += 1;
      retry.hidden = true;
      error.textContent = "";
    }
    unsubscribe();
    return { images: store.total, retries };
  }

  /** Pilot mode loads the real images too (the trials draw them), in both modes. */
  async simulate(trial, mode, options, onLoad) {
    if (mode === "visual") return this.trial(this.jsPsych.getDisplayElement(), trial, onLoad);
    onLoad();
    const failed = await trial.store.load();
    return { images: trial.store.total, retries: 0, failed: failed.length };
  }
}
