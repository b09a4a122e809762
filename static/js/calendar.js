// The campaign calendar (FullCalendar, French by default). The feed gives the organisation's wall times
// without offset and the calendar runs in "UTC" mode, so it shows the shop's time whatever the browser's
// zone; a dropped event's UTC fields are therefore the new wall time, sent as is to the server.
(() => {
  const element = document.getElementById("campaign-calendar");
  if (!element || !window.FullCalendar) return;
  const config = JSON.parse(document.getElementById(element.dataset.config).textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const statusBox = document.getElementById("calendar-status");
  const dialog = document.getElementById("reschedule-dialog");
  const question = document.getElementById("reschedule-question");
  const previewBox = document.getElementById("reschedule-preview");
  const text = config.text || {};

  const urlFor = (template, id) => template.replace("/0/", `/${encodeURIComponent(id)}/`);
  const fill = (template, values) => (template || "").replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
  const wallTime = (date) => date.toISOString().slice(0, 16);
  const display = (date) =>
    new Intl.DateTimeFormat(config.locale, { dateStyle: "full", timeStyle: "short", timeZone: "UTC" }).format(date);
  const say = (message, isError) => {
    statusBox.textContent = message;
    statusBox.className = `calendar-status message ${isError ? "message-error" : "message-success"}`;
  };

  function paragraph(content, className) {
    const p = document.createElement("p");
    p.textContent = content;
    if (className) p.className = className;
    return p;
  }

  async function preview(event, at) {
    previewBox.replaceChildren(paragraph("…"));
    previewBox.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(`${urlFor(config.previewUrl, event.id)}?at=${encodeURIComponent(at)}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const data = await response.json();
      if (!response.ok) {
        previewBox.replaceChildren(paragraph(data.detail || text.failed, "message message-error"));
        return;
      }
      const parts = [];
      if (data.deferred > 0) {
        parts.push(
          paragraph(
            fill(text.deferred, {
              deferred: data.deferred,
              recipients: data.recipients,
              until: data.deferred_until_display,
            }),
            "message message-warning",
          ),
        );
      } else {
        parts.push(paragraph(text.allInWindow, "message message-success"));
      }
      if (data.blocked_total > 0) parts.push(paragraph(fill(text.blocked, { blocked: data.blocked_total })));
      previewBox.replaceChildren(...parts);
    } catch (error) {
      previewBox.replaceChildren(paragraph(text.failed, "message message-error"));
    } finally {
      previewBox.removeAttribute("aria-busy");
    }
  }

  function ask(info) {
    return new Promise((resolve) => {
      const at = wallTime(info.event.start);
      question.textContent = fill(text.confirm, { name: info.event.title, when: display(info.event.start) });
      preview(info.event, at);
      const done = (answer) => {
        dialog.removeEventListener("click", onClick);
        dialog.removeEventListener("cancel", onCancel);
        if (dialog.open) dialog.close();
        resolve(answer ? at : null);
      };
      const onClick = (event) => {
        const button = event.target.closest("[data-dialog]");
        if (button) done(button.dataset.dialog === "confirm");
      };
      const onCancel = (event) => {
        event.preventDefault();
        done(false);
      };
      dialog.addEventListener("click", onClick);
      dialog.addEventListener("cancel", onCancel);
      dialog.showModal();
    });
  }

  async function onDrop(info) {
    if (!config.canWrite) {
      info.revert();
      return;
    }
    const at = await ask(info);
    if (!at) {
      info.revert();
      return;
    }
    const body = new FormData();
    body.append("at", at);
    try {
      const response = await fetch(urlFor(config.rescheduleUrl, info.event.id), {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      });
      const data = await response.json();
      if (!response.ok) {
        info.revert();
        say(data.detail || text.failed, true);
        return;
      }
      say(data.detail || text.moved, false);
    } catch (error) {
      info.revert();
      say(text.failed, true);
    }
  }

  const narrow = window.matchMedia("(max-width: 700px)").matches;
  const calendar = new FullCalendar.Calendar(element, {
    timeZone: "UTC",
    locale: config.locale || "fr",
    buttonText: config.buttonText,
    firstDay: 1,
    initialView: narrow ? "listWeek" : "dayGridMonth",
    headerToolbar: narrow
      ? { left: "prev,next", center: "title", right: "listWeek,dayGridMonth" }
      : { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay,listWeek" },
    height: "auto",
    events: { url: config.eventsUrl },
    editable: Boolean(config.canWrite),
    eventDurationEditable: false,
    slotMinTime: "06:00:00",
    slotMaxTime: "23:00:00",
    displayEventEnd: false,
    // A campaign is an instant; FullCalendar gives it an hour, so one scheduled at 23:30 would "end" the
    // next day and be drawn across two days of the month view. Only what reaches 06:00 spills over.
    nextDayThreshold: "06:00:00",
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    eventDidMount: (arg) => {
      const props = arg.event.extendedProps;
      arg.el.title = `${arg.event.title} · ${props.statusLabel}`;
    },
    eventDrop: onDrop,
    // The toolbar's chevrons are decorative (the buttons carry the name); day numbers are not links
    // here, so their "26 October 2026" label would only hide the visible "26" from speech input.
    datesSet: () => {
      element.querySelectorAll(".fc-icon").forEach((icon) => icon.setAttribute("aria-hidden", "true"));
    },
    dayCellDidMount: (arg) => {
      arg.el.removeAttribute("aria-labelledby"); // a cell is named by what it shows: day and campaigns
      arg.el.querySelectorAll("a.fc-daygrid-day-number:not([href])").forEach((a) => a.removeAttribute("aria-label"));
    },
  });
  calendar.render();
})();
