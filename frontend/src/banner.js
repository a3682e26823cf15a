// The status line at the top of the page (offline, server trouble). aria-live so screen readers
// announce it; it never covers the stimuli because it takes its own space in the page flow.

export function createBanner() {
  const banner = document.createElement("div");
  banner.id = "pl-status";
  banner.setAttribute("role", "status");
  banner.setAttribute("aria-live", "polite");
  banner.hidden = true;
  document.body.prepend(banner);
  return {
    element: banner,
    /** Shows `text`, or hides the banner for null. */
    set(text) {
      banner.hidden = text === null;
      banner.textContent = text ?? "";
    },
  };
}
