// KPIs of the depot against the previous period of the same length: charts drawn in SVG.
import { html, useState, useEffect } from "./html.js";
import { gql } from "./api.js";
import { KpiCard, KindBars, HeatMap, Series } from "./charts.js";
import { MapView } from "./map.js";
import { percent, minutes, money, words } from "./format.js";

const PERIODS = { 1: "Last 24 hours", 7: "Last 7 days", 30: "Last 30 days" };
const byKind = (rows) => rows.reduce((acc, r) => ({ ...acc, [r.kind]: (acc[r.kind] || 0) + r.exceptions }), {});

export function Kpis({ depot, tileUrl, currency }) {
  const [days, setDays] = useState(7);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const to = new Date(Date.now() + 3600_000);
    const from = new Date(to.getTime() - days * 86400_000);
    const before = new Date(from.getTime() - days * 86400_000);
    const period = (a, b) => ({ filter: { from: a.toISOString(), to: b.toISOString(), depotId: depot.id } });
    setData(null);
    Promise.all([gql("AnalyticsDashboard", period(from, to)), gql("AnalyticsDashboard", period(before, from))])
      .then(([now, prev]) => { setData({ now: now.analytics, prev: prev.analytics }); setError(null); })
      .catch((e) => setError(e.message));
  }, [days, depot.id]);
  const cents = (v) => money(v, currency);
  return html`<main class="kpis" aria-labelledby="kpi-title">
    <header class="row"><h2 id="kpi-title">KPIs · ${depot.name}</h2>
      <label>Period <select id="kpi-period" value=${days} onChange=${(e) => setDays(Number(e.target.value))}>
        ${Object.entries(PERIODS).map(([d, label]) => html`<option value=${d}>${label}</option>`)}</select></label></header>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${!data ? html`<p class="muted">Loading…</p>` : html`<div class="kpi-grid" data-ready="true">
      <${KpiCard} title="First-time success" current=${data.now.kpis.current.firstTimeSuccessRate} previous=${data.now.kpis.previous.firstTimeSuccessRate} format=${percent} />
      <${KpiCard} title="Average resolution time" current=${data.now.kpis.current.avgResolutionMinutes} previous=${data.now.kpis.previous.avgResolutionMinutes} format=${minutes} better="down" />
      <${KpiCard} title="Cost per failed attempt" current=${data.now.kpis.current.costPerFailedAttemptCents} previous=${data.now.kpis.previous.costPerFailedAttemptCents} format=${cents} better="down" />
      <${KpiCard} title="Exceptions" current=${data.now.kpis.current.exceptions} previous=${data.now.kpis.previous.exceptions} format=${(v) => (v == null ? "–" : String(v))} better="down" />
      <figure class="panel wide"><figcaption>Exceptions by kind <span class="legend"><i class="prev"></i>before <i class="cur"></i>now</span></figcaption>
        <${KindBars} current=${byKind(data.now.kpis.current.byKindAndReason)} previous=${byKind(data.prev.kpis.current.byKindAndReason)} /></figure>
      <figure class="panel"><figcaption>First-time success per day</figcaption>
        <${Series} points=${data.now.series} label="First-time success rate per day" /></figure>
      <figure class="panel wide"><figcaption>Peak hours (hour × weekday), this period</figcaption>
        <${HeatMap} cells=${data.now.hourOfWeek} title="Exceptions by hour and weekday, this period" /></figure>
      <figure class="panel wide"><figcaption>Peak hours, previous period</figcaption>
        <${HeatMap} cells=${data.prev.hourOfWeek} title="Exceptions by hour and weekday, previous period" /></figure>
      <figure class="panel wide"><figcaption>Hot spots (H3 cells; darker: more exceptions)</figcaption>
        <${MapView} label="Hot spots map" tileUrl=${tileUrl} width=${640} height=${360}
          hexagons=${data.now.areas.map((a) => ({ cell: a.cell, boundary: a.boundary, value: a.exceptions,
            title: `${a.exceptions} exceptions, ${a.accessFailures} access failures (${Math.round(a.accessFailureShare * 100)} %)` }))} /></figure>
      <figure class="panel"><figcaption>How customers were reached</figcaption>
        <ul>${data.now.customerPreference.map((c) => html`<li>${words(c.channel)}: ${c.exceptions} (${c.resolved} resolved, ${minutes(c.avgResolutionMinutes)})</li>`)}</ul></figure>
    </div>`}
  </main>`;
}
