// Report pages and the dashboard: charts (Chart.js from static/vendor, data from json_script) and
// sortable comparison tables. No inline script: the content security policy forbids them.
(function () {
  "use strict";

  function drawCharts() {
    if (typeof window.Chart === "undefined") return;
    document.querySelectorAll("canvas[data-timeline]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.dataset.timeline);
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var palette = { sent: "#8aa4c8", delivered: "#2e7d32", clicks: "#e07b00" };
      // A report draws running totals since the launch (lines on one axis); the dashboard draws daily bars.
      var cumulative = canvas.dataset.cumulative === "1";
      var datasets = ["sent", "delivered", "clicks"]
        .filter(function (name) { return Array.isArray(data[name]); })
        .map(function (name) {
          var separate = !cumulative && name === "clicks";
          return {
            label: canvas.dataset["label" + name.charAt(0).toUpperCase() + name.slice(1)] || name,
            data: data[name],
            borderColor: palette[name],
            backgroundColor: palette[name],
            type: cumulative || separate ? "line" : "bar",
            yAxisID: separate ? "clicks" : "messages",
            tension: 0,
            fill: false,
            pointRadius: cumulative && data.labels.length > 20 ? 0 : 3,
          };
        });
      var scales = { messages: { beginAtZero: true, position: "left", ticks: { precision: 0 } } };
      if (!cumulative && Array.isArray(data.clicks)) {
        scales.clicks = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } };
      }
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, {
        type: cumulative ? "line" : "bar",
        data: { labels: data.labels, datasets: datasets },
        options: {
          responsive: true,
          animation: false,
          interaction: { mode: "index", intersect: false },
          scales: scales,
          locale: document.documentElement.lang || "fr",
        },
      });
    });
  }

  function sortTable(button) {
    var th = button.closest("th");
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = button.dataset.sort === "number";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.value || a.cells[index].textContent;
      var y = b.cells[index].dataset.value || b.cells[index].textContent;
      var order = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("table.sortable th button[data-sort]");
    if (button) sortTable(button);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawCharts);
  } else {
    drawCharts();
  }
  window.addEventListener("load", drawCharts);
})();
