// The worker API of docs/worker-api.md. Every call resolves to {status, body} for any HTTP answer
// (the caller decides what a status means) and rejects only when no answer came: offline, DNS,
// a dropped connection or the timeout below. The token in the URL is the only credential: no
// cookies, no CSRF token.

const TIMEOUT_MS = 15000; // a hung request must not hold the outbox queue forever

async function request(url, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    // an HTML error page from a proxy: the status alone decides
  }
  return { status: response.status, body: parsed };
}

/** @param {string} base the `api` URL from the page's configuration, ending in "/" */
export function createApi(base) {
  return {
    session: () => request(`${base}session`),
    postAnswer: (entry) => request(`${base}answers`, { method: "POST", body: entry }),
    complete: () => request(`${base}complete`, { method: "POST", body: {} }),
  };
}
