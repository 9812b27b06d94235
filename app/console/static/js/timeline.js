// The exception's story: the timeline by actor, the conversation with the customer, and how to get in (never a code).
import { html } from "./html.js";
import { words, clock, actorKind } from "./format.js";

const ACTOR_LABEL = { system: "System", customer: "Customer", driver: "Driver", dispatcher: "Dispatcher" };

function summary(event) {
  const p = event.payload || {};
  const parts = [p.note, p.text, p.reason, p.kind && words(p.kind), p.from && p.to && `${words(p.from)} → ${words(p.to)}`, p.outcome && words(p.outcome)];
  return parts.filter((v) => typeof v === "string" && v).join(" · ");
}

export function Timeline({ events }) {
  return html`<section aria-labelledby="timeline-title">
    <h3 id="timeline-title">Timeline</h3>
    <ol class="timeline">${events.map((e) => {
      const who = actorKind(e);
      return html`<li class=${`ev actor-${who}`} data-actor=${who}>
        <span class="ev-who">${ACTOR_LABEL[who]}${e.actor ? ` · ${e.actor.name}` : ""}</span>
        <span class="ev-what">${words(e.type)} <span class="muted">(${words(e.step)})</span> ${summary(e)}</span>
        <time datetime=${e.occurredAt}>${clock(e.occurredAt)}</time>
      </li>`;
    })}</ol>
  </section>`;
}

export function Messages({ outreach }) {
  const entries = [
    ...outreach.notifications.map((n) => ({ at: n.sentAt || n.sendAfter, who: "out", text: n.body, meta: `${n.channel} · ${words(n.status)}${n.failureReason ? ` · ${n.failureReason}` : ""}` })),
    ...outreach.customerResponses.map((r) => ({ at: r.receivedAt, who: "in", text: r.text || words(r.option), meta: `${words(r.source)} · chose ${words(r.option)}` })),
  ].sort((a, b) => String(a.at).localeCompare(String(b.at)));
  return html`<section aria-labelledby="messages-title">
    <h3 id="messages-title">Customer messages</h3>
    ${entries.length === 0 && html`<p class="muted">No messages yet.</p>`}
    <ul class="chat">${entries.map((m) => html`<li class=${`msg ${m.who}`}>
      <span class="sr-only">${m.who === "in" ? "From the customer" : "To the customer"}:</span>
      <span>${m.text}</span><span class="muted small">${m.meta} · ${clock(m.at)}</span></li>`)}</ul>
  </section>`;
}

const yes = (v) => (v ? "yes" : "no");

export function AccessSummary({ access }) {
  const p = access.accessProfileForStop;
  const audit = access.accessAudit.edges.map((e) => e.node);
  return html`<section aria-labelledby="access-title">
    <h3 id="access-title">Access</h3>
    ${p ? html`<dl class="facts">
        <dt>Profile</dt><dd>${p.label || "–"} (from ${words(p.providedBy)})</dd>
        <dt>Gate code on file</dt><dd>${yes(p.hasGateCode)}</dd>
        <dt>Entry code on file</dt><dd>${yes(p.hasEntryCode)}</dd>
        <dt>Instructions</dt><dd>${yes(p.hasInstructions)}</dd>
        <dt>Digital key</dt><dd>${p.digitalKeyProvider || "none"}</dd>
      </dl>` : html`<p class="muted">No access profile for this address.</p>`}
    ${audit.length > 0 && html`<ul class="audit">${audit.map((a) => html`<li>${clock(a.occurredAt)} · ${words(a.action)} · ${words(a.outcome)}
      ${a.refusalReason ? ` (${words(a.refusalReason)})` : ""}${a.distanceM != null ? ` · ${Math.round(a.distanceM)} m away` : ""}</li>`)}</ul>`}
  </section>`;
}
