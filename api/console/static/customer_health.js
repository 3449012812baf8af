// The customer view's chart: each indicator's contribution to the health score (plotly, data from the page).
(function () {
  "use strict";
  var holder = document.getElementById("chart");
  var source = document.getElementById("chart-data");
  if (!holder || !source || typeof Plotly === "undefined") { return; }
  var data = JSON.parse(source.textContent || "null");
  if (!data) { return; }
  Plotly.newPlot(holder, [
    { type: "bar", name: "possible (effective weight)", x: data.indicators, y: data.weight,
      marker: { color: "#c9ced6" } },
    { type: "bar", name: "contribution", x: data.indicators, y: data.contribution, marker: { color: "#0b4f8a" } }
  ], {
    barmode: "overlay", height: 320, margin: { t: 10, r: 10, b: 90, l: 50 },
    yaxis: { title: { text: "points of 100" } }, legend: { orientation: "h" }
  }, { displayModeBar: false, responsive: true });
})();
