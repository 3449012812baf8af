/* The tracking page's small map: progressive enhancement over the server-rendered text.
 * ES5 only (WeChat's built-in browser on older phones); reads everything from the map element's data-
 * attributes (coordinates already in the basemap's datum), draws no tiles unless a tile URL is given. */
(function () {
  "use strict";
  var el = document.getElementById("track-map");
  if (!el || !window.L) {
    return;
  }
  function point(name) {
    var parts = (el.getAttribute("data-" + name) || "").split(",");
    return [parseFloat(parts[0]), parseFloat(parts[1])];
  }
  var carrier = point("carrier");
  var dropoff = point("dropoff");
  if (isNaN(carrier[0]) || isNaN(dropoff[0])) {
    return;
  }
  var radius = parseFloat(el.getAttribute("data-radius-m")) || 0;
  var tiles = el.getAttribute("data-tile-url");
  var fallback = el.querySelector(".map-fallback");
  if (fallback) {
    el.removeChild(fallback);
  }
  el.className += " map-live";
  var map = L.map(el, {
    attributionControl: !!tiles,
    scrollWheelZoom: false,
    tap: false
  });
  if (tiles) {
    map.attributionControl.setPrefix(false);
    L.tileLayer(tiles, { attribution: el.getAttribute("data-tile-attribution") || "" }).addTo(map);
  }
  if (radius > 0) {
    L.circle(carrier, {
      radius: radius, color: "#0b57d0", weight: 1, fillColor: "#0b57d0", fillOpacity: 0.12, interactive: false
    }).addTo(map);
  }
  L.polyline([carrier, dropoff], { color: "#595959", weight: 2, dashArray: "4 6", interactive: false }).addTo(map);
  L.circleMarker(dropoff, {
    radius: 9, color: "#ffffff", weight: 3, fillColor: "#1a7f37", fillOpacity: 1, interactive: false
  }).addTo(map);
  L.circleMarker(carrier, {
    radius: 9, color: "#ffffff", weight: 3, fillColor: "#0b57d0", fillOpacity: 1, interactive: false
  }).addTo(map);
  map.fitBounds(L.latLngBounds([carrier, dropoff]).pad(0.35), { maxZoom: 16 });
})();
