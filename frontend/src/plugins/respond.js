// Shared pieces of the trial plugins: waiting for a frame, for an answer, and practice feedback.

/**
 * The element a trial draws into. Its `data-phase` ("present", "respond", "done") says what the
 * trial is doing, for the browser tests (tests/e2e) and anyone debugging a session.
 */
export function trialStage(...children) {
  const stage = document.createElement("div");
  stage.className = "pl-trial";
  stage.dataset.phase = "present";
  stage.append(...children);
  return stage;
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
export async function showFeedback(root, answer, expected, labels) {
  const correct = answer === expected;
  const note = document.createElement("p");
  note.className = `pl-feedback ${correct ? "pl-feedback-right" : "pl-feedback-wrong"}`;
  note.setAttribute("role", "status");
  note.textContent = correct ? "Correct." : `Not quite: the answer was “${labels[expected]}”.`;
  root.append(note);
  await new Promise((resolve) => setTimeout(resolve, FEEDBACK_MS));
  return correct;
}
