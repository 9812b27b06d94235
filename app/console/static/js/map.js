// An offline map drawn from the data itself (Web Mercator, SVG), with a scale bar; tiles only when a URL is configured.
import { html, useMemo } from "./html.js";
import { clock } from "./format.js";

const TILE = 256;
const STOP_COLOURS = { PENDING: "#475569", DELIVERED: "#15803d", FAILED: "#b91c1c", SKIPPED: "#7c3aed", RESCHEDULED: "#0369a1" };
const ROUTE_COLOURS = ["#1d4ed8", "#c2410c", "#0f766e", "#a21caf", "#4d7c0f"];

const worldX = (lon, z) => ((lon + 180) / 360) * TILE * 2 ** z;
function worldY(lat, z) {
  const s = Math.sin((lat * Math.PI) / 180);
  return (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * TILE * 2 ** z;
}

function niceDistance(metres) {
  const power = 10 ** Math.floor(Math.log10(metres));
  const step = [1, 2, 5, 10].find((n) => n * power >= metres) || 10;
  return step * power;
}

/** The view of all points: a zoom whose pixels fit the box into about `width` pixels, and the box in those pixels. */
function frame(points, width, height) {
  const lats = points.map((p) => p.lat), lons = points.map((p) => p.lon);
  const [south, north, west, east] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  let z = 18;
  while (z > 2 && (worldX(east, z) - worldX(west, z) > width * 0.85 || worldY(south, z) - worldY(north, z) > height * 0.85)) z -= 1;
  const cx = (worldX(west, z) + worldX(east, z)) / 2, cy = (worldY(north, z) + worldY(south, z)) / 2;
  return { z, x0: cx - width / 2, y0: cy - height / 2, width, height, lat: (south + north) / 2 };
}

function tiles(view, url) {
  const out = [];
  const max = 2 ** view.z;
  for (let tx = Math.floor(view.x0 / TILE); tx * TILE < view.x0 + view.width; tx++) {
    for (let ty = Math.floor(view.y0 / TILE); ty * TILE < view.y0 + view.height; ty++) {
      if (ty < 0 || ty >= max) continue;
      const href = url.replace("{z}", view.z).replace("{x}", ((tx % max) + max) % max).replace("{y}", ty);
      out.push(html`<image href=${href} x=${tx * TILE - view.x0} y=${ty * TILE - view.y0} width=${TILE} height=${TILE} />`);
    }
  }
  return out;
}

function ScaleBar({ view }) {
  const metresPerPixel = (156543.03392 * Math.cos((view.lat * Math.PI) / 180)) / 2 ** view.z;
  const metres = niceDistance(metresPerPixel * view.width * 0.2);
  const length = metres / metresPerPixel;
  const label = metres >= 1000 ? `${metres / 1000} km` : `${metres} m`;
  const y = view.height - 14;
  return html`<g class="scale" aria-label=${`scale bar: ${label}`}>
    <rect x="8" y=${y - 14} width=${length + 8} height="22" fill="#ffffffd9" rx="3" />
    <path d=${`M12 ${y - 4} V${y} H${12 + length} V${y - 4}`} stroke="#111827" stroke-width="2" fill="none" />
    <text x=${12 + length / 2} y=${y - 6} text-anchor="middle" font-size="11" fill="#111827">${label}</text>
  </g>`;
}

/**
 * stops: [{id, lat, lon, status, label, exception, routeIndex}], drivers: [{driverId, lat, lon, name, nextStop}],
 * route: [{lat, lon}] (the selected route's line), hexagons: [{cell, boundary, value}].
 */
export function MapView({ stops = [], drivers = [], route = [], hexagons = [], tileUrl, selectedStopId, onSelectStop, label = "Map", width = 640, height = 420 }) {
  const points = [...stops, ...drivers, ...route, ...hexagons.flatMap((h) => h.boundary.map(([lat, lon]) => ({ lat, lon })))]
    .filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  const view = useMemo(() => (points.length ? frame(points, width, height) : null), [JSON.stringify(points.map((p) => [p.lat, p.lon])), width, height]);
  if (!view) return html`<div class="map empty" role="img" aria-label=${label}>Nothing to show on the map yet.</div>`;
  const px = (lat, lon) => [worldX(lon, view.z) - view.x0, worldY(lat, view.z) - view.y0];
  const maxHex = Math.max(1, ...hexagons.map((h) => h.value));
  const line = route.map((p) => px(p.lat, p.lon).join(",")).join(" ");
  return html`<svg class="map" viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${label}>
    <rect width=${width} height=${height} fill="#eef2f7" />
    ${tileUrl ? tiles(view, tileUrl) : html`<g class="grid">${gridLines(view)}</g>`}
    ${hexagons.map((h) => html`<polygon class="hex" points=${h.boundary.map(([lat, lon]) => px(lat, lon).join(",")).join(" ")}
        fill="#dc2626" fill-opacity=${0.15 + 0.6 * (h.value / maxHex)} stroke="#7f1d1d" stroke-width="1">
        <title>${h.title || `${h.value} exceptions`}</title></polygon>`)}
    ${route.length > 1 && html`<polyline points=${line} fill="none" stroke=${ROUTE_COLOURS[0]} stroke-width="3" stroke-opacity="0.7" stroke-linejoin="round" />`}
    ${stops.map((s) => {
      const [x, y] = px(s.lat, s.lon);
      const selected = s.id === selectedStopId;
      return html`<g class=${`stop ${s.exception ? "has-exception" : ""}`} transform=${`translate(${x},${y})`}
          onClick=${() => onSelectStop && onSelectStop(s)} data-stop=${s.id}>
        ${s.exception && html`<circle r=${selected ? 13 : 10} fill="#facc15" stroke="#854d0e" stroke-width="2" />`}
        <circle r=${s.exception ? 5 : 4} fill=${STOP_COLOURS[s.status] || "#475569"} stroke="#fff" stroke-width="1.5" />
        <title>${s.label}</title>
      </g>`;
    })}
    ${drivers.map((d) => {
      const [x, y] = px(d.lat, d.lon);
      return html`<g class="driver" transform=${`translate(${x},${y})`} data-driver=${d.driverId}>
        <path d="M0,-11 L8,7 L0,3 L-8,7 Z" fill="#1d4ed8" stroke="#fff" stroke-width="1.5"
          transform=${`rotate(${d.headingDeg || 0})`} />
        <text y="20" text-anchor="middle" font-size="11" font-weight="600" fill="#1e3a8a" paint-order="stroke" stroke="#fff" stroke-width="3">${d.name || "driver"}</text>
        ${d.nextStop && html`<text class="eta" y="33" text-anchor="middle" font-size="10" fill=${nextLate(d.nextStop) ? "#b91c1c" : "#334155"}
          paint-order="stroke" stroke="#fff" stroke-width="3" data-eta=${d.nextStop.stopId}>${nextLabel(d.nextStop)}</text>`}
        <title>${`${d.name || "Driver"} at ${new Date(d.recordedAt).toLocaleTimeString()}${d.nextStop ? ` · ${nextLabel(d.nextStop)}` : ""}`}</title>
      </g>`;
    })}
    <${ScaleBar} view=${view} />
    <text x=${width - 6} y=${height - 6} text-anchor="end" font-size="10" fill="#475569">${tileUrl ? "tiles: configured server" : "drawn offline from the data"}</text>
  </svg>`;
}

/** "stop 3 · ETA 10:42 (plan 10:30)": the live ETA when the driver's fixes gave one, else the planned one. */
function nextLabel(next) {
  const planned = next.plannedEta ? ` (plan ${clock(next.plannedEta)})` : "";
  return next.liveEta ? `stop ${next.sequence} · ETA ${clock(next.liveEta)}${planned}` : `stop ${next.sequence} · planned ${clock(next.plannedEta)}`;
}

const nextLate = (next) => Boolean(next.liveEta && next.windowEnd && new Date(next.liveEta) > new Date(next.windowEnd));

function gridLines(view) {
  const step = TILE / 2;
  const lines = [];
  for (let x = -((view.x0 % step) + step) % step; x < view.width; x += step) lines.push(html`<line x1=${x} x2=${x} y1="0" y2=${view.height} stroke="#dbe2ea" />`);
  for (let y = -((view.y0 % step) + step) % step; y < view.height; y += step) lines.push(html`<line y1=${y} y2=${y} x1="0" x2=${view.width} stroke="#dbe2ea" />`);
  return lines;
}

export const STOP_LEGEND = STOP_COLOURS;
