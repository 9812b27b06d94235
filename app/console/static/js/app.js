// The console shell: sign-in, the live socket, the queue/detail/map layout, KPIs, keyboard shortcuts.
import { html, render, useState, useEffect, useRef, useCallback } from "./html.js";
import { gql, session, LiveSocket } from "./api.js";
import { Queue, useQueue } from "./queue.js";
import { Detail } from "./detail.js";
import { Kpis } from "./kpis.js";
import { MapView } from "./map.js";

function SignIn({ config, onToken }) {
  const [pasted, setPasted] = useState("");
  const [error, setError] = useState(null);
  const demo = async () => {
    setError(null);
    const response = await fetch("/console/demo-token", { method: "POST" });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) return setError(body.error || "The demo sign-in is not available here.");
    onToken(body.token);
  };
  return html`<main class="signin" aria-labelledby="signin-title">
    <h1 id="signin-title">Detour dispatcher console</h1>
    ${config.demoSignIn && html`<button class="primary big" onClick=${demo}>Sign in to the demo as dispatcher</button>
      <p class="muted">One click: a token for the demo tenant's dispatcher, kept in this tab only.</p>`}
    <form onSubmit=${(e) => { e.preventDefault(); if (pasted.trim()) onToken(pasted.trim()); }}>
      <label for="token">Or paste a dispatcher token</label>
      <textarea id="token" rows="3" autocomplete="off" spellcheck="false" value=${pasted} onInput=${(e) => setPasted(e.target.value)}></textarea>
      <button type="submit">Sign in with this token</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </main>`;
}

const HELP = [["j / k", "next / previous exception"], ["Enter", "open the selected exception"], ["a", "approve the first proposed alternative"],
  ["m", "message the customer"], ["r", "resolve"], ["p", "preview a replan"], ["f", "filter by status"], ["1 / 2", "queue / KPIs"], ["Esc", "back"], ["?", "this help"]];

function Console({ viewer, config, onSignOut }) {
  const depot = viewer.depots[0];
  const [live, setLive] = useState("connecting");
  const [view, setView] = useState("queue");
  const [pane, setPane] = useState("list");
  const [help, setHelp] = useState(false);
  const [selectedId, setSelectedId] = useState(null);
  const [positions, setPositions] = useState({});
  const [lastEvent, setLastEvent] = useState(null);
  const socket = useRef(null);
  const queue = useQueue(depot && depot.id);
  const lastId = useRef(null);
  const lastSelected = useRef(null);

  useEffect(() => {
    if (!depot) return undefined;
    // After a reconnect the subscription replays from the last event seen; the queue is reloaded too, which also
    // covers a drop before the first event (no cursor yet).
    const ws = new LiveSocket((state) => { setLive(state); if (state === "live" && ws && ws.retried) queue.refresh(); });
    socket.current = ws;
    const received = [];
    window.detourConsole = { drop: (hold) => ws.drop(hold), resume: () => ws.resume(), lastEventId: () => lastId.current, received };
    const stopEvents = ws.subscribe("ExceptionEvents", () => ({ depotId: depot.id, after: lastId.current }), (data) => {
      const event = data.exceptionEvents;
      if (lastId.current !== null && Number(event.id) <= Number(lastId.current)) return;  // replayed twice: already seen
      lastId.current = event.id;
      received.push({ id: event.id, exceptionId: event.exceptionId });
      setLastEvent(event);
      queue.refresh();
    });
    gql("DriverPositions", { depotId: depot.id }).then((d) => setPositions(Object.fromEntries(d.driverPositions.map((p) => [p.driverId, p])))).catch(() => {});
    const stopMap = ws.subscribe("LiveMap", () => ({ depotId: depot.id }), (data) => {
      const p = data.driverPositions;
      setPositions((old) => ({ ...old, [p.driverId]: p }));
    });
    return () => { stopEvents(); stopMap(); ws.close(); };
  }, [depot && depot.id]);

  const [toast, setToast] = useState(null);
  useEffect(() => {
    if (!lastEvent || lastEvent.type !== "REPORTED") return undefined;
    setToast(`New exception reported (${(lastEvent.payload && lastEvent.payload.kind) || "see the queue"})`);
    const t = setTimeout(() => setToast(null), 6000);
    return () => clearTimeout(t);
  }, [lastEvent && lastEvent.id]);

  const select = useCallback((id) => { setSelectedId(id); setPane("detail"); }, []);

  useEffect(() => {
    const move = (id) => { setSelectedId(id); document.querySelector(`[data-exception='${id}'] button`)?.focus(); };
    const onKey = (e) => {
      if (e.target.closest("input, textarea, select") || e.metaKey || e.ctrlKey || e.altKey) return;
      const items = queue.visible;
      const index = items.findIndex((x) => x.id === selectedId);
      const actions = { "1": () => setView("queue"), "2": () => setView("kpi"), "?": () => setHelp((v) => !v),
        j: () => items.length && move(items[Math.min(items.length - 1, index + 1)].id),
        k: () => items.length && move(items[Math.max(0, index - 1)].id),
        Enter: () => selectedId && setPane("detail"),
        Escape: () => { setHelp(false); setPane("list"); },
        f: () => document.getElementById("filter-status")?.focus(),
        a: () => document.querySelector("[data-action=approve]")?.click(),
        m: () => document.getElementById("message-text")?.focus(),
        r: () => document.getElementById("resolve-outcome")?.focus(),
        p: () => document.querySelector("[data-action=preview-replan]")?.click() };
      if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [queue.visible, selectedId]);

  if (!depot) return html`<main class="signin"><p>This user sees no depot.</p><button onClick=${onSignOut}>Sign out</button></main>`;
  // An exception the dispatcher just resolved leaves the open queue; its detail stays on screen (with "Closed …")
  // until they select another one.
  const listed = queue.items.find((x) => x.id === selectedId);
  if (listed) lastSelected.current = listed;
  const selected = listed || (lastSelected.current && lastSelected.current.id === selectedId ? lastSelected.current : null);
  const drivers = Object.values(positions).map((p) => ({ ...p, name: queue.driverNames[p.driverId] }));
  return html`<div class=${`shell pane-${pane} view-${view}`}>
    <header class="top">
      <strong class="brand">Detour</strong>
      <span class="depot">${depot.name}</span>
      <nav aria-label="Views">
        <button aria-pressed=${view === "queue"} onClick=${() => setView("queue")}>Queue</button>
        <button aria-pressed=${view === "kpi"} onClick=${() => setView("kpi")}>KPIs</button>
      </nav>
      <span class=${`live ${live}`} role="status" aria-live="polite" data-live=${live}>${live === "live" ? "● Live" : live === "reconnecting" ? "Reconnecting…" : "Connecting…"}</span>
      <button class="ghost" onClick=${() => setHelp(true)} aria-label="Keyboard shortcuts">?</button>
      <button class="ghost" onClick=${onSignOut}>Sign out</button>
    </header>
    ${toast && html`<div class="toast" role="status" aria-live="polite">${toast}</div>`}
    ${view === "queue" ? html`<div class="work">
      <section class="col list" aria-label="Exception queue"><${Queue} queue=${queue} selectedId=${selectedId} onSelect=${select} /></section>
      <section class="col detail" aria-label="Exception detail">
        ${pane === "detail" && html`<button class="back" onClick=${() => setPane("list")}>← Queue</button>`}
        ${selected ? html`<${Detail} key=${selected.id} item=${selected} role=${viewer.user.role} lastEvent=${lastEvent} onChanged=${queue.refresh} tileUrl=${config.tileUrl} drivers=${drivers} />`
          : html`<p class="muted pad">Select an exception (j/k, Enter) to work it.</p>`}
      </section>
      <section class="col mapcol" aria-label="Live map">
        <${MapView} label="Live map of the depot's exceptions and drivers" tileUrl=${config.tileUrl} drivers=${drivers}
          stops=${queue.visible.map((x) => ({ id: x.stop.id, lat: x.stop.lat, lon: x.stop.lon, status: "FAILED", exception: true, label: `${x.kind}: ${x.stop.address}` }))}
          selectedStopId=${selected && selected.stop.id}
          onSelectStop=${(s) => { const x = queue.visible.find((i) => i.stop.id === s.id); if (x) select(x.id); }} />
      </section>
    </div>` : html`<${Kpis} depot=${depot} tileUrl=${config.tileUrl} currency=${viewer.tenant.currency} />`}
    <nav class="tabs" aria-label="Panes">
      <button aria-pressed=${view === "queue" && pane === "list"} onClick=${() => { setView("queue"); setPane("list"); }}>Queue</button>
      <button aria-pressed=${view === "queue" && pane === "map"} onClick=${() => { setView("queue"); setPane("map"); }}>Map</button>
      <button aria-pressed=${view === "kpi"} onClick=${() => setView("kpi")}>KPIs</button>
    </nav>
    ${help && html`<div class="overlay" role="dialog" aria-modal="true" aria-labelledby="help-title" onClick=${() => setHelp(false)}>
      <div class="dialog"><h2 id="help-title">Keyboard shortcuts</h2>
        <dl>${HELP.map(([k, v]) => html`<dt><kbd>${k}</kbd></dt><dd>${v}</dd>`)}</dl>
        <button autofocus onClick=${() => setHelp(false)}>Close</button></div></div>`}
  </div>`;
}

function App() {
  const [config, setConfig] = useState(null);
  const [token, setToken] = useState(session.token);
  const [viewer, setViewer] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { fetch("/console/config.json").then((r) => r.json()).then(setConfig); }, []);
  useEffect(() => {
    if (!token) return;
    session.token = token;
    gql("Viewer").then((d) => setViewer(d.viewer)).catch((e) => { session.token = null; setToken(null); setError(e.message); });
  }, [token]);
  const signOut = () => { session.token = null; setViewer(null); setToken(null); };
  if (!config) return html`<p class="boot">Loading…</p>`;
  if (!token || !viewer) {
    return token ? html`<p class="boot">Signing in…</p>` : html`<div>
      <${SignIn} config=${config} onToken=${(t) => { setError(null); setToken(t); }} />
      ${error && html`<p class="error center" role="alert">Sign-in refused: ${error}</p>`}</div>`;
  }
  return html`<${Console} viewer=${viewer} config=${config} onSignOut=${signOut} />`;
}

render(html`<${App} />`, document.getElementById("app"));
