// Small SVG charts for the KPI view: each compares the period with the one before it.
import { html } from "./html.js";
import { words } from "./format.js";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** A headline figure: two bars (previous, current) and the change; `better` says which direction is good. */
export function KpiCard({ title, current, previous, format, better = "up" }) {
  const max = Math.max(current || 0, previous || 0, 1e-9);
  const change = current != null && previous != null ? current - previous : null;
  const good = change == null || change === 0 ? null : (change > 0) === (better === "up");
  const bar = (value, y, cls) => html`<rect class=${cls} x="0" y=${y} height="14" width=${value == null ? 0 : Math.max(2, (value / max) * 200)} rx="2" />`;
  return html`<figure class="kpi" aria-label=${`${title}: ${format(current)}, previous period ${format(previous)}`}>
    <figcaption>${title}</figcaption>
    <div class="kpi-value">${format(current)}
      ${change != null && change !== 0 && html`<span class=${`delta ${good ? "good" : "bad"}`}>${change > 0 ? "▲" : "▼"} ${format(Math.abs(change))}</span>`}</div>
    <svg viewBox="0 0 260 40" class="chart" role="img" aria-hidden="true">
      ${bar(previous, 2, "prev")}<text x="205" y="13" font-size="10">before</text>
      ${bar(current, 22, "cur")}<text x="205" y="33" font-size="10">now</text>
    </svg>
    <p class="muted">previous period: ${format(previous)}</p>
  </figure>`;
}

/** Exceptions by kind, grouped bars: previous period (light) beside the current one. */
export function KindBars({ current, previous }) {
  const kinds = [...new Set([...Object.keys(current), ...Object.keys(previous)])].sort((a, b) => (current[b] || 0) - (current[a] || 0));
  const max = Math.max(1, ...kinds.map((k) => Math.max(current[k] || 0, previous[k] || 0)));
  const rowH = 30;
  return html`<svg class="chart bars" viewBox=${`0 0 360 ${Math.max(1, kinds.length) * rowH + 10}`} role="img"
      aria-label=${"Exceptions by kind: " + kinds.map((k) => `${words(k)} ${current[k] || 0} (before ${previous[k] || 0})`).join(", ")}>
    ${kinds.length === 0 && html`<text x="0" y="20">No exceptions in either period.</text>`}
    ${kinds.map((k, i) => html`<g transform=${`translate(0,${i * rowH + 4})`}>
      <text x="0" y="11" font-size="11">${words(k)}</text>
      <rect class="prev" x="130" y="0" height="10" width=${((previous[k] || 0) / max) * 190} rx="2" />
      <rect class="cur" x="130" y="12" height="10" width=${((current[k] || 0) / max) * 190} rx="2" />
      <text x=${134 + ((current[k] || 0) / max) * 190} y="21" font-size="10">${current[k] || 0}</text>
    </g>`)}
  </svg>`;
}

/** Hour × weekday heat map of exception counts. */
export function HeatMap({ cells, title }) {
  const counts = {};
  for (const c of cells) counts[`${c.isoWeekday}-${c.hour}`] = c.exceptions;
  const max = Math.max(1, ...cells.map((c) => c.exceptions));
  const size = 14, left = 32, top = 14;
  return html`<svg class="chart heat" viewBox=${`0 0 ${left + 24 * size + 4} ${top + 7 * size + 4}`} role="img" aria-label=${title}>
    ${[0, 6, 12, 18].map((h) => html`<text x=${left + h * size} y="10" font-size="9">${String(h).padStart(2, "0")}h</text>`)}
    ${WEEKDAYS.map((day, d) => html`<g>
      <text x="0" y=${top + d * size + 10} font-size="9">${day}</text>
      ${Array.from({ length: 24 }, (_, h) => {
        const n = counts[`${d + 1}-${h}`] || 0;
        return html`<rect class="cell" x=${left + h * size} y=${top + d * size} width=${size - 1} height=${size - 1}
          fill=${n ? `rgba(220,38,38,${0.2 + 0.8 * (n / max)})` : "#f1f5f9"}><title>${`${day} ${h}:00 — ${n} exceptions`}</title></rect>`;
      })}
    </g>`)}
  </svg>`;
}

/** A KPI over time (per day), as a line with dots. */
export function Series({ points, label }) {
  const values = points.map((p) => p.value ?? 0);
  const max = Math.max(1e-9, ...values);
  const w = 360, hgt = 90, step = points.length > 1 ? (w - 20) / (points.length - 1) : 0;
  const xy = values.map((v, i) => [10 + i * step, hgt - 10 - (v / max) * (hgt - 25)]);
  return html`<svg class="chart series" viewBox=${`0 0 ${w} ${hgt}`} role="img" aria-label=${label}>
    <polyline points=${xy.map((p) => p.join(",")).join(" ")} fill="none" stroke="#1d4ed8" stroke-width="2" />
    ${xy.map(([x, y], i) => html`<circle cx=${x} cy=${y} r="3" fill="#1d4ed8"><title>${`${points[i].bucket}: ${points[i].value ?? "–"}`}</title></circle>`)}
  </svg>`;
}
