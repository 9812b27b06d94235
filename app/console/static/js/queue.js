// The depot's exception queue: filters, a countdown to each window's end, refreshed by the live events.
import { html, useState, useEffect, useRef, useCallback, useMemo } from "./html.js";
import { gql } from "./api.js";
import { countdown, age, words, KINDS, OPEN_STATUSES } from "./format.js";

export function useNow(intervalMs = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => { const t = setInterval(() => setNow(Date.now()), intervalMs); return () => clearInterval(t); }, [intervalMs]);
  return now;
}

export function useQueue(depotId) {
  const [filters, setFilters] = useState({ status: "open", kind: "", driver: "" });
  const [items, setItems] = useState([]);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState(null);
  const timer = useRef(null);
  const filterRef = useRef(filters);
  filterRef.current = filters;

  const load = useCallback(async () => {
    if (!depotId) return;
    const f = filterRef.current;
    const filter = { depotId, status: f.status === "open" ? OPEN_STATUSES : f.status === "all" ? null : [f.status], kind: f.kind ? [f.kind] : null };
    try {
      const data = await gql("ExceptionQueue", { filter, first: 100 });
      setItems(data.exceptions.edges.map((e) => e.node));
      setError(null);
    } catch (e) { setError(e.message); }
    setLoaded(true);
  }, [depotId]);

  // Live events arrive in bursts (one report writes several): one reload per burst.
  const refresh = useCallback(() => { clearTimeout(timer.current); timer.current = setTimeout(load, 150); }, [load]);
  useEffect(() => { load(); }, [load, filters.status, filters.kind]);

  const driverNames = useMemo(() => Object.fromEntries(items.filter((x) => x.route.driver).map((x) => [x.route.driver.id, x.route.driver.name])), [items]);
  const visible = filters.driver ? items.filter((x) => x.route.driver && x.route.driver.id === filters.driver) : items;
  return { items, visible, loaded, error, filters, setFilters, refresh, driverNames };
}

export function Queue({ queue, selectedId, onSelect }) {
  const now = useNow();
  const { filters, setFilters } = queue;
  const set = (key) => (e) => setFilters({ ...filters, [key]: e.target.value });
  return html`<div class="queue">
    <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label="Filters">
      <label>Status<select id="filter-status" value=${filters.status} onChange=${set("status")}>
        <option value="open">Open (all steps)</option><option value="all">All</option>
        ${[...OPEN_STATUSES, "RESOLVED", "FAILED"].map((s) => html`<option value=${s}>${words(s)}</option>`)}
      </select></label>
      <label>Kind<select id="filter-kind" value=${filters.kind} onChange=${set("kind")}>
        <option value="">Any kind</option>${KINDS.map((k) => html`<option value=${k}>${words(k)}</option>`)}
      </select></label>
      <label>Driver<select id="filter-driver" value=${filters.driver} onChange=${set("driver")}>
        <option value="">Any driver</option>${Object.entries(queue.driverNames).map(([id, name]) => html`<option value=${id}>${name}</option>`)}
      </select></label>
    </form>
    ${queue.error && html`<p class="error" role="alert">${queue.error}</p>`}
    <p class="muted count" aria-live="polite">${queue.loaded ? `${queue.visible.length} exception${queue.visible.length === 1 ? "" : "s"}` : "Loading…"}</p>
    <ul class="items" aria-label="Exceptions">
      ${queue.visible.map((x) => {
        const left = countdown(x.stop.timeWindow.end, now);
        return html`<li key=${x.id} class=${`item ${x.id === selectedId ? "selected" : ""}`}
            data-exception=${x.id} data-kind=${x.kind}>
          <button class="item-open" aria-current=${x.id === selectedId ? "true" : undefined} onClick=${() => onSelect(x.id)}>
            <span class=${`dot s-${x.status}`} aria-hidden="true"></span>
            <span class="item-main">
              <span class="item-title">${words(x.kind)} <span class="reason">· ${words(x.reasonCode)}</span></span>
              <span class="item-sub">${x.stop.address}</span>
              <span class="item-sub">${x.route.driver ? x.route.driver.name : "no driver"} · ${words(x.status)} · ${age(x.reportedAt, now)}</span>
            </span>
            <span class=${`countdown ${left.late ? "late" : left.urgent ? "urgent" : ""}`} title="until the delivery window ends">${left.text}</span>
          </button>
        </li>`;
      })}
    </ul>
  </div>`;
}
