// One exception: what happened, who said what, and the actions that move it on, each one click.
import { html, useState, useEffect, useCallback } from "./html.js";
import { gql, payloadError } from "./api.js";
import { words, countdown, clock, money, OUTCOMES } from "./format.js";
import { useNow } from "./queue.js";
import { Timeline, Messages, AccessSummary } from "./timeline.js";
import { Replan } from "./replan.js";
import { MapView } from "./map.js";

const OUTCOME_OF_ALTERNATIVE = { RESCHEDULE: "RESCHEDULED", NEIGHBOR_HANDOVER: "DELIVERED_TO_NEIGHBOR", SECURE_DROPOFF: "SECURE_DROPOFF",
  PICKUP_POINT: "PICKUP_POINT", RETURN_TO_DEPOT: "RETURNED_TO_DEPOT", ADDRESS_CORRECTION: "ADDRESS_CORRECTED" };
const NEXT_STATUS = { OPEN: "CONTACTING_CUSTOMER", CONTACTING_CUSTOMER: "AWAITING_DECISION" };

function useDetail(item, lastEvent) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(async () => {
    try {
      const [detail, outreach, alternatives, access, route] = await Promise.all([
        gql("ExceptionDetail", { id: item.id }), gql("ExceptionOutreach", { id: item.id }), gql("ExceptionAlternatives", { exceptionId: item.id }),
        gql("AccessAudit", { stopId: item.stop.id, first: 10 }), gql("RouteStops", { id: item.route.id })]);
      setData({ exception: detail.exception, outreach: outreach.exception, alternatives: alternatives.alternatives, access, route: route.route });
      setError(null);
    } catch (e) { setError(e.message); }
  }, [item.id]);
  useEffect(() => { load(); }, [load]);
  useEffect(() => { if (lastEvent && String(lastEvent.exceptionId) === String(item.id)) load(); }, [lastEvent && lastEvent.id]);
  return { data, error, load };
}

export function Detail({ item, role, lastEvent, onChanged, tileUrl, drivers }) {
  const { data, error, load } = useDetail(item, lastEvent);
  const [notice, setNotice] = useState(null);
  const now = useNow();

  /** Run a mutation; a stale version is explained and the view reloaded, other typed errors shown as they are. */
  const act = async (name, input, done) => {
    setNotice(null);
    try {
      const result = Object.values(await gql(name, { input }))[0];
      const err = payloadError(result);
      if (err && err.code === "VERSION_CONFLICT") {
        setNotice({ kind: "conflict", text: "Someone else changed this exception while you were looking at it. The view has been reloaded with their change: check it, then try again." });
      } else if (err) {
        setNotice({ kind: "error", text: `${words(err.code)}: ${err.message}` });
      } else {
        setNotice({ kind: "ok", text: done });
      }
    } catch (e) { setNotice({ kind: "error", text: e.message }); }
    await load();
    onChanged();
  };

  if (error) return html`<p class="error pad" role="alert">${error}</p>`;
  if (!data) return html`<p class="muted pad">Loading…</p>`;
  const x = data.exception;
  const left = countdown(item.stop.timeWindow.end, now);
  const closed = x.status === "RESOLVED" || x.status === "FAILED";
  const approved = data.alternatives.find((a) => a.status === "APPROVED" || a.status === "EXECUTED");
  const stops = (data.route ? data.route.stops : []).map((s) => ({ ...s, exception: !!s.openException || s.id === x.stop.id, label: `${s.sequence}. ${s.address} (${words(s.status)})` }));
  return html`<article class="exception" aria-labelledby="exception-title" data-status=${x.status} data-version=${x.version}>
    <header>
      <h2 id="exception-title">${words(x.kind)} <span class="reason">· ${words(x.reasonCode)}</span></h2>
      <p><span class=${`badge s-${x.status}`} data-testid="status">${words(x.status)}</span>
        <span class=${`countdown ${left.late ? "late" : left.urgent ? "urgent" : ""}`}>${left.text}</span>
        <span class="muted">v${x.version}</span></p>
      <p>${x.stop.address} · ${item.route.driver ? item.route.driver.name : "no driver"} · customer ${item.stop.customer.name}</p>
      <p class="muted">${`Window ${clock(item.stop.timeWindow.start)}–${clock(item.stop.timeWindow.end)} · attempt ${x.failedAttemptNumber || "–"} · ${x.stop.parcels.length} parcel${x.stop.parcels.length === 1 ? "" : "s"} · cost ${money(x.failureCostCents)}`}</p>
      ${x.description && html`<blockquote>${x.description}</blockquote>`}
    </header>
    ${notice && html`<div class=${`notice ${notice.kind}`} role=${notice.kind === "ok" ? "status" : "alert"} data-notice=${notice.kind}>
      ${notice.text} ${notice.kind === "conflict" && html`<button onClick=${load}>Reload again</button>`}</div>`}

    ${!closed && html`<section aria-labelledby="actions-title" class="actions">
      <h3 id="actions-title" class="sr-only">Actions</h3>
      ${x.status === "OPEN" && !x.acknowledgedAt && html`<button onClick=${() => act("AcknowledgeException", { id: x.id, expectedVersion: x.version }, "You took this exception.")}>Take it</button>`}
      ${NEXT_STATUS[x.status] && html`<button onClick=${() => act("UpdateExceptionStatus", { id: x.id, expectedVersion: x.version, status: NEXT_STATUS[x.status] }, "Status updated.")}>
        Mark ${words(NEXT_STATUS[x.status]).toLowerCase()}</button>`}
    </section>`}

    <${Alternatives} alternatives=${data.alternatives} closed=${closed} act=${act} role=${role} />
    ${!closed && html`<${Resolve} x=${x} suggested=${approved ? OUTCOME_OF_ALTERNATIVE[approved.kind] : null} act=${act} />`}
    ${closed && html`<p class="resolved">Closed ${clock(x.resolvedAt)}: ${words(x.resolutionOutcome)}${x.resolutionNote ? ` — ${x.resolutionNote}` : ""}</p>`}
    ${!closed && html`<${MessageCustomer} x=${x} act=${act} />`}
    <${Messages} outreach=${data.outreach} />
    <${AccessSummary} access=${data.access} />
    ${!closed && html`<${GrantAccess} stopId=${x.stop.id} act=${act} />`}
    <${Timeline} events=${x.timeline} />
    ${data.route && html`<section aria-labelledby="route-title"><h3 id="route-title">Route ${data.route.vehicleLabel || ""} · v${data.route.version}</h3>
      <${MapView} label="Map of the exception's route" tileUrl=${tileUrl} stops=${stops} route=${data.route.stops}
        drivers=${drivers.filter((d) => data.route.driver && String(d.driverId) === String(data.route.driver.id))} selectedStopId=${x.stop.id} width=${480} height=${320} />
      <${Replan} route=${data.route} servingStopId=${null} onApplied=${() => { load(); onChanged(); }} /></section>`}
  </article>`;
}

/** Whether this user may decide it: a supervisor-only proposal is shown, but not offered to a dispatcher. */
const mayDecide = (a, role) => a.decision !== "REFUSED" && (a.decision !== "NEEDS_SUPERVISOR" || String(role).toUpperCase() === "SUPERVISOR");

function Alternatives({ alternatives, closed, act, role }) {
  const [rejecting, setRejecting] = useState(null);
  const [reason, setReason] = useState("");
  return html`<section aria-labelledby="alt-title">
    <h3 id="alt-title">Alternatives</h3>
    ${alternatives.length === 0 && html`<p class="muted">None proposed yet (the customer's link and replies, or the driver, propose them).</p>`}
    <ul class="alts">${alternatives.map((a) => html`<li class="alt" data-alternative=${a.id} data-status=${a.status}>
      <div><strong>${words(a.kind)}</strong> <span class=${`badge a-${a.status}`}>${words(a.status)}</span></div>
      <div class="muted">by ${a.proposedByUser ? a.proposedByUser.name : words(a.proposedBy)} · ${clock(a.proposedAt)}
        ${Object.entries(a.details || {}).filter(([, v]) => v != null && typeof v !== "object").map(([k, v]) => html` · ${k}: ${String(v)}`)}</div>
      <div class="policy">Policy: ${words(a.decision)} (rule <code>${a.decisionRule}</code>)</div>
      ${a.rejectionReason && html`<div class="muted">Rejected: ${a.rejectionReason}</div>`}
      ${a.status === "PROPOSED" && !closed && !mayDecide(a, role) && html`<div class="muted">Waiting for a supervisor's decision.</div>`}
      ${a.status === "PROPOSED" && !closed && mayDecide(a, role) && html`<div class="row">
        <button class="primary" data-action="approve" onClick=${() => act("ApproveAlternative", { id: a.id, expectedVersion: a.version }, "Alternative approved.")}>Approve</button>
        <button onClick=${() => { setRejecting(a.id); setReason(""); }}>Reject…</button></div>`}
      ${rejecting === a.id && html`<form class="row" onSubmit=${(e) => { e.preventDefault(); setRejecting(null); act("RejectAlternative", { id: a.id, expectedVersion: a.version, reason }, "Alternative rejected."); }}>
        <label class="grow">Reason<input required value=${reason} onInput=${(e) => setReason(e.target.value)} /></label><button type="submit">Reject</button></form>`}
    </li>`)}</ul>
  </section>`;
}

function Resolve({ x, suggested, act }) {
  const [outcome, setOutcome] = useState(suggested || "DELIVERED_TO_CUSTOMER");
  const [note, setNote] = useState("");
  useEffect(() => { if (suggested) setOutcome(suggested); }, [suggested]);
  return html`<form class="resolve" aria-labelledby="resolve-title" onSubmit=${(e) => { e.preventDefault(); act("ResolveException", { id: x.id, expectedVersion: x.version, outcome, note: note || null }, "Exception resolved."); }}>
    <h3 id="resolve-title">Resolve</h3>
    <div class="row">
      <label>Outcome<select id="resolve-outcome" value=${outcome} onChange=${(e) => setOutcome(e.target.value)}>${OUTCOMES.map((o) => html`<option value=${o}>${words(o)}</option>`)}</select></label>
      <label class="grow">Note<input id="resolve-note" value=${note} onInput=${(e) => setNote(e.target.value)} placeholder="What was done" /></label>
      <button type="submit" class="primary" data-action="resolve">Resolve</button>
    </div>
  </form>`;
}

function MessageCustomer({ x, act }) {
  const [text, setText] = useState("");
  return html`<form class="message" aria-labelledby="msg-title" onSubmit=${(e) => { e.preventDefault(); act("MessageCustomer", { exceptionId: x.id, text }, "Message queued for the customer."); setText(""); }}>
    <h3 id="msg-title">Message the customer</h3>
    <div class="row"><label class="grow"><span class="sr-only">Message text</span>
      <textarea id="message-text" rows="2" required maxlength="480" value=${text} onInput=${(e) => setText(e.target.value)} placeholder="Your parcel…"></textarea></label>
      <button type="submit">Send SMS</button></div>
  </form>`;
}

function GrantAccess({ stopId, act }) {
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState("");
  const [code, setCode] = useState("");
  const [ttl, setTtl] = useState(15);
  if (!open) return html`<p><button onClick=${() => setOpen(true)}>Grant access to the driver…</button></p>`;
  return html`<form class="grant" aria-labelledby="grant-title" onSubmit=${(e) => {
      e.preventDefault(); setOpen(false);
      act("GrantAccess", { stopId, note, ttlMinutes: Number(ttl), code: code || null }, "Access granted to the stop's driver once."); setCode(""); }}>
    <h3 id="grant-title">Grant access once</h3>
    <div class="row">
      <label class="grow">Why (audit note)<input required value=${note} onInput=${(e) => setNote(e.target.value)} /></label>
      <label>One-time code (optional)<input type="password" autocomplete="off" value=${code} onInput=${(e) => setCode(e.target.value)} /></label>
      <label>Valid (min)<input type="number" min="1" max="240" value=${ttl} onInput=${(e) => setTtl(e.target.value)} /></label>
      <button type="submit">Grant</button>
    </div>
  </form>`;
}
