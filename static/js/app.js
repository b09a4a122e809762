// Small behaviours shared by every page. No inline scripts: the content security policy forbids them.
document.addEventListener("click", (event) => {
  // Destructive actions ask first: <button data-confirm="...">.
  const target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = button.dataset.copied || "✓";
  }
});
// Live pages: <div id="..." data-live="<state>"> is fetched again every few seconds while the state
// lasts. The same state: only its [data-live-part] children are replaced (figures, latest rows), so
// the buttons keep the focus. Another state: the whole block is replaced once, and polling stops when
// the new block is no longer live (a finished campaign).
(() => {
  const INTERVAL = 3000;
  const poll = async (block) => {
    if (!document.body.contains(block)) return;
    let fresh = null;
    try {
      const response = await fetch(window.location.href, { headers: { "X-Live-Refresh": "1" }, credentials: "same-origin" });
      if (response.ok) {
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        fresh = doc.getElementById(block.id);
        const balance = doc.getElementById("credit-balance-value");
        const shown = document.getElementById("credit-balance-value");
        if (balance && shown) shown.textContent = balance.textContent; // credits spent as it sends
      }
    } catch (error) { /* offline for a moment: try again at the next tick */ }
    if (fresh && fresh.dataset.live !== block.dataset.live) {
      block.replaceWith(fresh);
      if (window.htmx) window.htmx.process(fresh);
      block = fresh;
    } else if (fresh) {
      fresh.querySelectorAll("[data-live-part]").forEach((part) => {
        const old = block.querySelector(`[data-live-part="${part.dataset.livePart}"]`);
        if (old) old.replaceWith(part);
      });
    }
    if (block.dataset.live) window.setTimeout(() => poll(block), INTERVAL);
  };
  document.querySelectorAll("[data-live]").forEach((block) => window.setTimeout(() => poll(block), INTERVAL));
})();
// A submitted form shows that it is working and cannot be sent twice (an upload, a launch).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const button = event.submitter;
  if (event.defaultPrevented || !button || form.matches("[hx-post], [hx-get], [data-no-busy]")) return;
  button.setAttribute("aria-busy", "true");
  window.setTimeout(() => { button.disabled = true; }, 0); // after the browser has read the form
});
window.addEventListener("pageshow", () => {
  document.querySelectorAll("button[aria-busy='true']").forEach((button) => {
    button.removeAttribute("aria-busy");
    button.disabled = false;
  });
});
