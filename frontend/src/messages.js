// What the status banner says about sending answers, from the Sender's status (sender.js).

export const OFFLINE = "You are offline — your answers are saved and will be sent when the connection returns.";
const NOT_SAVED =
  " This browser does not let the page store them, so please keep this page open until they are sent.";

/**
 * @param {{state: string, reason?: string, code?: string}} status
 * @param {boolean} persistent whether the outbox is in localStorage (false: only in this page)
 * @returns {string | null} the text to show, or null to hide the banner
 */
export function statusMessage(status, persistent) {
  if (status.state === "closed") {
    return "This assignment has been closed (completed or expired), so the server no longer accepts answers.";
  }
  if (status.state !== "retrying") return null;
  let text;
  if (status.reason === "offline") {
    text = persistent ? OFFLINE : OFFLINE.replace(" are saved and", "");
  } else if (status.reason === "server") {
    text = "The server is busy or unreachable — your answers are kept and will be sent as soon as it answers.";
  } else {
    text = `The server did not accept an answer (${status.code}). It is kept and retried; if this message stays, please contact the researcher.`;
  }
  return persistent ? text : text + NOT_SAVED;
}
