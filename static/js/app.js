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
