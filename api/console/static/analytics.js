// The Analytics pages' charts, drawn by plotly.js from the page's embedded JSON (#analytics-data).
// Each chart has a table of the same numbers in the page; the charts add no number the tables lack.
(function () {
  "use strict";
  var source = document.getElementById("analytics-data");
  if (!source || typeof Plotly === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var INK = "#1b1f24", BLUE = "#0b4f8a", ORANGE = "#b35900", GREEN = "#1e6b2f";
  var config = { displayModeBar: false, responsive: true };
  function layout(extra) {
    var base = {
      margin: { l: 60, r: 60, t: 10, b: 110 }, height: 380, font: { color: INK, size: 13 },
      paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff", legend: { orientation: "h", y: 1.12 }
    };
    for (var key in extra) { base[key] = extra[key]; }
    return base;
  }
  function draw(id, traces, extra) {
    var node = document.getElementById(id);
    if (node) { Plotly.newPlot(node, traces, layout(extra), config); }
    return node;
  }

  if (data.transitions) {
    var labels = data.transitions.map(function (t) { return t.label; });
    draw("chart-timings", [
      { type: "bar", name: "p50 (h)", x: labels, y: data.transitions.map(function (t) { return t.p50_h; }), marker: { color: BLUE } },
      { type: "bar", name: "p90 (h)", x: labels, y: data.transitions.map(function (t) { return t.p90_h; }), marker: { color: ORANGE } }
    ], { barmode: "group", yaxis: { title: { text: "hours" } } });
    draw("chart-funnel", [{
      type: "funnel", y: data.funnel.map(function (n) { return n.node; }), x: data.funnel.map(function (n) { return n.reached; }),
      marker: { color: BLUE }, textinfo: "value+percent initial"
    }], { margin: { l: 110, r: 30, t: 10, b: 30 } });
    var days = data.trend.map(function (d) { return d.day; });
    draw("chart-trend", [
      { type: "bar", name: "placed", x: days, y: data.trend.map(function (d) { return d.placed; }), marker: { color: BLUE } },
      { type: "bar", name: "delivered", x: days, y: data.trend.map(function (d) { return d.delivered; }), marker: { color: GREEN } },
      { type: "scatter", mode: "lines+markers", name: "end to end p50 (h)", x: days, yaxis: "y2",
        y: data.trend.map(function (d) { return d.end_to_end_p50_h; }), line: { color: ORANGE } }
    ], { barmode: "group", xaxis: { type: "category" }, yaxis: { title: { text: "orders" } },
         yaxis2: { title: { text: "hours" }, overlaying: "y", side: "right", rangemode: "tozero" },
         margin: { l: 60, r: 60, t: 10, b: 60 } });
  }

  if (data.bars) {
    var names = data.bars.map(function (b) { return b.label; });
    var chart = draw("chart-pareto", [
      { type: "bar", name: "exceptions", x: names, y: data.bars.map(function (b) { return b.exceptions; }),
        marker: { color: BLUE }, customdata: data.bars.map(function (b) { return b.url; }),
        hovertemplate: "%{x}: %{y} exceptions<extra></extra>" },
      { type: "scatter", mode: "lines+markers", name: "cumulative %", x: names, yaxis: "y2",
        y: data.bars.map(function (b) { return b.cumulative_pct; }), line: { color: ORANGE },
        hovertemplate: "%{y} %<extra></extra>" }
    ], { yaxis: { title: { text: "exceptions" } },
         yaxis2: { title: { text: "cumulative %" }, overlaying: "y", side: "right", range: [0, 105],
                   tickvals: [0, 25, 50, 75, 100] },
         xaxis: { type: "category", title: { text: data.by_label } } });
    if (chart && chart.on) {
      // A bar opens its orders (the table's links do the same for keyboards).
      chart.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        if (point && point.customdata) { window.location.href = point.customdata; }
      });
    }
  }
}());
