// The end of the assignment. Only ever called with the object of a 200 from POST complete (or of a
// completed session), so a code or redirect is released only once the server holds every answer.

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

export function renderCompletion(root, completion) {
  const code = el("p", {}, "Your completion code: ", el("strong", { className: "pl-code" }, completion.completion_code));
  const parts = [el("h2", {}, "Thank you! All your answers are saved.")];
  if (completion.mturk) {
    // MTurk ExternalQuestion: the HIT is submitted by POSTing assignmentId to turkSubmitTo.
    const form = el("form", { method: "POST", action: completion.mturk.submit_url });
    form.append(
      el("input", { type: "hidden", name: "assignmentId", value: completion.mturk.assignment_id }),
      el("button", { type: "submit", className: "jspsych-btn" }, "Submit HIT"),
    );
    parts.push(el("p", {}, "Submitting your HIT to Mechanical Turk…"), form);
    root.replaceChildren(...parts);
    form.submit();
  } else if (completion.redirect_url) {
    const link = el("a", { href: completion.redirect_url }, "continue here");
    parts.push(code, el("p", {}, "Taking you back to Prolific… If nothing happens, ", link, "."));
    root.replaceChildren(...parts);
    window.location.assign(completion.redirect_url);
  } else {
    parts.push(code, el("p", {}, "Copy this code into the study page where you were asked for it."));
    root.replaceChildren(...parts);
  }
}

/** A page-ending message (expired assignment, load failure). */
export function renderMessage(root, title, text) {
  root.replaceChildren(el("h2", {}, title), el("p", {}, text));
}
