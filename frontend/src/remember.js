// The worker page keeps its assignment token under the study's resume key (given by the server
// in the page's configuration). On a later entry through the recruiter's link, the consent page
// sends it back: proof that this browser started this work, needed when the recruiter's session
// id changed (a returned and re-accepted MTurk HIT). See docs/worker-api.md, "Resuming".

/**
 * @param {Storage | null} storage localStorage, or null where the browser blocks it
 * @param {{token: string, resume_key?: string}} config the page's configuration
 * @returns whether the token was kept
 */
export function rememberAssignment(storage, config) {
  if (!storage || !config.resume_key) return false;
  try {
    storage.setItem(config.resume_key, config.token);
    return true;
  } catch {
    return false; // full or refused: re-entry then relies on the recruiter's session id
  }
}
