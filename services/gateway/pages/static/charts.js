/* Draws each <canvas data-chart="ID"> from the JSON in <script id="ID">, with Chart.js.
   The table under every chart holds the same numbers: the page needs no script to be read. */
(function () {
  "use strict";
  if (!window.Chart) { return; }
  var Chart = window.Chart;
  Chart.defaults.animation = false;
  Chart.defaults.color = "#1a1a1a";
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
  Chart.defaults.maintainAspectRatio = false;
  /* Colours with at least 3:1 contrast against white (WCAG 1.4.11), told apart by more than hue. */
  var palette = ["#1f5fa6", "#b35900", "#2e7d32", "#6a3d9a", "#8a1c3b"];
  var target = "#b00020";
  function percent(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    var datasets = spec.datasets.map(function (d, i) {
      var line = d.type === "line";
      var colour = line ? target : palette[i % palette.length];
      return {
        label: d.label,
        data: d.data,
        type: d.type,
        stack: d.stack || ("s" + i),
        backgroundColor: colour,
        borderColor: colour,
        borderWidth: line ? 2 : 0,
        borderDash: line ? [6, 4] : undefined,
        pointRadius: line ? 4 : undefined,
        pointStyle: line ? "rectRot" : undefined,
        fill: false,
        order: line ? 0 : 1
      };
    });
    var valueAxis = { beginAtZero: true, stacked: spec.stacked, ticks: {} };
    if (!spec.percent) { valueAxis.ticks.precision = 0; }  /* counts: whole numbers on the axis */
    if (spec.percent) {
      valueAxis.suggestedMax = 1;
      valueAxis.ticks.callback = function (v) { return (v * 100).toFixed(0) + "%"; };
    }
    var labelAxis = { stacked: spec.stacked };
    var horizontal = !!spec.horizontal;
    new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        indexAxis: horizontal ? "y" : "x",
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var v = horizontal ? ctx.parsed.x : ctx.parsed.y;
                return ctx.dataset.label + ": " + (spec.percent ? percent(v) : v);
              }
            }
          }
        }
      }
    });
  });
  /* Printed pages are narrower than the screen: redraw the charts at the printed width. */
  window.addEventListener("beforeprint", function () {
    Object.values(Chart.instances).forEach(function (chart) { chart.resize(); });
  });
})();
