// The console's live map: Leaflet layers for the vector basemap, H3 heat of demand and of late deliveries,
// today's orders and the carriers, reloaded every few seconds; the tables under the map are kept in step
// so that the page says in text what the map shows.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var DEMAND = ["#dbe9f6", "#9ecae1", "#4292c6", "#2166ac", "#08306b"];
  var LATE = ["#fde0dd", "#fc9272", "#ef3b2c", "#cb181d", "#67000d"];
  var CARRIER = { idle: "#1e6b2f", busy: "#c45500", stale: "#8c8c8c", inactive: "#8c8c8c" };
  var HOTTEST_ROWS = 15;

  var map = L.map("map", { preferCanvas: false, zoomControl: true, attributionControl: !!config.tileUrl });
  map.setView([30.27, 120.15], 10);
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "", maxZoom: 18 }).addTo(map);
  }
  var layers = {
    basemap: L.featureGroup().addTo(map),
    demand: L.featureGroup().addTo(map),
    late: L.featureGroup().addTo(map),
    orders: L.featureGroup().addTo(map),
    carriers: L.featureGroup().addTo(map),
  };
  var fitted = false;
  var controls = document.getElementById("map-controls");
  var statusLine = document.getElementById("map-status");

  function shade(ramp, count, max) {
    if (!max) { return ramp[0]; }
    var step = Math.min(ramp.length - 1, Math.floor((count / max) * ramp.length));
    return ramp[Math.max(0, step)];
  }

  function getJson(path) {
    return fetch(config.dataUrl + path, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) { throw new Error(path + " answered " + answer.status); }
        return answer.json();
      });
  }

  function heatPath(kind) {
    var days = Number(controls.elements.period.value);
    var to = new Date();
    var from = new Date(to.getTime() - days * 86400000);
    return "/heat?kind=" + kind + "&resolution=" + controls.elements.resolution.value +
      "&from=" + encodeURIComponent(from.toISOString()) + "&to=" + encodeURIComponent(to.toISOString());
  }

  function drawHeat(kind, body) {
    var ramp = kind === "late" ? LATE : DEMAND;
    var group = layers[kind];
    group.clearLayers();
    L.geoJSON(body, {
      style: function (feature) {
        return {
          color: kind === "late" ? "#67000d" : "#08306b",
          weight: kind === "late" ? 2 : 1,
          fillColor: shade(ramp, feature.properties.count, body.max_count),
          fillOpacity: kind === "late" ? 0.6 : 0.5,
          className: "hex hex-" + kind,
        };
      },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip((kind === "late" ? "Late deliveries: " : "Orders: ") + feature.properties.count +
          " (cell " + feature.properties.cell + ")");
      },
    }).addTo(group);
    var maxLabel = document.getElementById("legend-" + kind + "-max");
    if (maxLabel) { maxLabel.textContent = body.max_count ? String(body.max_count) : "most"; }
  }

  function drawBasemap(body) {
    layers.basemap.clearLayers();
    L.geoJSON(body, {
      style: function () { return { color: "#4a525c", weight: 1.5, dashArray: "6 4", fill: false }; },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { radius: 7, color: "#1b1f24", weight: 2, fillColor: "#1b1f24", fillOpacity: 1 });
      },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        layer.bindTooltip((p.layer === "warehouse" ? "Warehouse " : "Coverage of ") + p.id + " · " + p.name);
      },
    }).addTo(layers.basemap);
    if (!fitted && layers.basemap.getLayers().length) {
      var bounds = layers.basemap.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds.pad(0.1)); fitted = true; }
    }
  }

  function drawOrders(body) {
    layers.orders.clearLayers();
    body.orders.forEach(function (o) {
      L.circleMarker([o.lat, o.lng], {
        radius: 4, weight: 2, color: o.late ? "#a4161a" : "#0b4f8a",
        fillColor: o.late ? "#a4161a" : "#ffffff", fillOpacity: 1, className: "order",
      }).bindTooltip(o.order_id + " · " + o.status + (o.late ? " · late" : "")).addTo(layers.orders);
    });
  }

  function cell(row, text, numeric) {
    var td = document.createElement("td");
    td.textContent = text;
    if (numeric) { td.className = "n"; }
    row.appendChild(td);
  }

  function fillTable(id, rows, columns, empty) {
    var body = document.querySelector("#" + id + " tbody");
    body.textContent = "";
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = columns;
      td.className = "muted";
      td.textContent = empty;
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    rows.forEach(function (values) {
      var tr = document.createElement("tr");
      values.forEach(function (v) { cell(tr, v[0], v[1]); });
      body.appendChild(tr);
    });
  }

  function drawCarriers(body) {
    layers.carriers.clearLayers();
    body.carriers.forEach(function (c) {
      if (c.lat === null) { return; }
      L.circleMarker([c.lat, c.lng], {
        radius: 7, weight: 2, color: "#1b1f24", fillColor: CARRIER[c.status] || "#8c8c8c", fillOpacity: 1,
        className: "carrier",
      }).bindTooltip(c.carrier_id + " · " + c.status.replace("_", " ") + " · " +
        Math.round(c.position_age_s / 60) + " min ago").addTo(layers.carriers);
    });
    fillTable("carriers-table", body.carriers.map(function (c) {
      var age = c.position_age_s === null ? "–" : (Math.round(c.position_age_s / 6) / 10) + " min";
      var where = c.lat === null ? "–" : c.lat.toFixed(4) + ", " + c.lng.toFixed(4);
      return [[c.carrier_id + " · " + c.name], [c.vehicle_type], [c.status.replace("_", " ")], [age, true],
        [String(c.active_shipments), true], [where]];
    }), 6, "No carriers.");
  }

  function fillHottest(demand, late) {
    var lateByCell = {};
    late.features.forEach(function (f) { lateByCell[f.id] = f.properties.count; });
    fillTable("hottest-table", demand.features.slice(0, HOTTEST_ROWS).map(function (f) {
      var c = f.properties.center;
      return [[f.id], [String(f.properties.count), true], [String(lateByCell[f.id] || 0), true],
        [c.lat.toFixed(4) + ", " + c.lng.toFixed(4)]];
    }), 4, "No orders in the period.");
    var title = document.getElementById("hottest-title");
    var period = controls.elements.period;
    title.textContent = "Hottest cells (demand, " + period.options[period.selectedIndex].text.toLowerCase() +
      ", resolution " + controls.elements.resolution.value + ")";
  }

  function refresh() {
    statusLine.textContent = "Updating…";
    return Promise.all([
      getJson("/basemap"), getJson(heatPath("demand")), getJson(heatPath("late")),
      getJson("/orders"), getJson("/carriers"),
    ]).then(function (parts) {
      drawBasemap(parts[0]);
      drawHeat("demand", parts[1]);
      drawHeat("late", parts[2]);
      drawOrders(parts[3]);
      drawCarriers(parts[4]);
      fillHottest(parts[1], parts[2]);
      if (!fitted && layers.demand.getLayers().length) {
        var bounds = layers.demand.getBounds();
        if (bounds.isValid()) { map.fitBounds(bounds.pad(0.1)); fitted = true; }
      }
      document.getElementById("map").setAttribute("data-loaded", "true");
      statusLine.textContent = "Updated at " + new Date().toLocaleTimeString() + ": " + parts[3].total +
        " orders today (" + parts[3].late + " late), " + parts[1].cells + " demand cells, " + parts[2].cells +
        " late cells, " + parts[4].carriers.length + " carriers.";
    }).catch(function (error) {
      statusLine.textContent = "Could not update the map: " + error.message;
    });
  }

  controls.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "layer") {
      var group = layers[target.value];
      if (target.checked) { map.addLayer(group); } else { map.removeLayer(group); }
    } else if (target.name === "resolution" || target.name === "period") {
      refresh();
    }
  });
  controls.addEventListener("submit", function (event) { event.preventDefault(); });

  var timer = null;
  function schedule() {
    if (timer) { clearInterval(timer); timer = null; }
    if (document.getElementById("live-refresh").checked) {
      timer = setInterval(function () { if (!document.hidden) { refresh(); } }, config.refreshS * 1000);
    }
  }
  document.getElementById("live-refresh").addEventListener("change", schedule);
  refresh();
  schedule();
})();
