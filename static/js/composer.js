// The campaign composer: merge-field buttons, one-click fixes of characters that force Unicode,
// templates, and the schedule fields. The live counter itself is htmx (hx-post on the counter block):
// every change here dispatches an "input" event on the text area so that the counter refreshes.
(() => {
  const form = document.getElementById("campaign-form");
  const body = document.getElementById("id_body");
  if (!form || !body) return;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  const changed = () => body.dispatchEvent(new Event("input", { bubbles: true }));

  function insertAtCursor(text) {
    const start = body.selectionStart ?? body.value.length;
    const end = body.selectionEnd ?? body.value.length;
    const before = body.value.slice(0, start);
    const spacer = before && !/\s$/.test(before) ? " " : "";
    body.value = before + spacer + text + body.value.slice(end);
    const caret = start + spacer.length + text.length;
    body.focus();
    body.setSelectionRange(caret, caret);
    changed();
  }

  async function fix(params) {
    const data = new FormData();
    data.append("body", body.value);
    for (const [key, value] of Object.entries(params)) data.append(key, value);
    const response = await fetch(form.dataset.fixUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": csrf },
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const result = await response.json();
    body.value = result.body;
    body.focus();
    changed();
  }

  document.addEventListener("click", (event) => {
    const merge = event.target.closest("[data-insert]");
    if (merge) {
      event.preventDefault();
      insertAtCursor(merge.dataset.insert);
      return;
    }
    const one = event.target.closest("[data-fix-char]");
    if (one) {
      event.preventDefault();
      fix({ char: one.dataset.fixChar });
      return;
    }
    // The counter offers to transliterate the recipients' values: the choice is the form's checkbox.
    const plain = event.target.closest("[data-transliterate]");
    if (plain) {
      event.preventDefault();
      const box = document.getElementById("id_transliterate_merge_values");
      if (box && !box.checked) {
        box.checked = true;
        box.dispatchEvent(new Event("change", { bubbles: true }));
      }
      return;
    }
    const all = event.target.closest("[data-fix-all]");
    if (all) {
      event.preventDefault();
      fix({ all: all.dataset.fixAll });
    }
  });

  const picker = document.getElementById("template-picker");
  if (picker) {
    const source = document.getElementById(picker.dataset.templates);
    const templates = source ? JSON.parse(source.textContent) : [];
    picker.addEventListener("change", () => {
      const chosen = templates.find((t) => String(t.id) === picker.value);
      picker.value = "";
      if (!chosen) return;
      if (body.value.trim() && !window.confirm(picker.dataset.confirmReplace)) return;
      body.value = chosen.body;
      body.focus();
      changed();
    });
  }

  // The date and time fields only matter for "at a date and time".
  const schedule = form.querySelector("[data-show-when]");
  const syncSchedule = () => {
    if (!schedule) return;
    const checked = form.querySelector('input[name="when"]:checked');
    const show = checked && checked.value === schedule.dataset.showWhen;
    schedule.hidden = !show;
    schedule.querySelectorAll("input").forEach((input) => {
      input.required = Boolean(show);
    });
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === "when") syncSchedule();
  });
  syncSchedule();
})();
