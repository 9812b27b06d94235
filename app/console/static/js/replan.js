// Preview what a replan would do to the route, then apply it as a new route version.
import { html, useState } from "./html.js";
import { gql, payloadError } from "./api.js";
import { words, clock } from "./format.js";

export function Replan({ route, servingStopId, onApplied }) {
  const [proposal, setProposal] = useState(null);
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const preview = async () => {
    setBusy(true); setMessage(null);
    try {
      const result = (await gql("PreviewReplan", { routeId: route.id, servingStopId })).previewReplan;
      const err = payloadError(result);
      if (err) setMessage({ kind: "error", text: `${words(err.code)}: ${err.message}` }); else setProposal(result.proposal);
    } catch (e) { setMessage({ kind: "error", text: e.message }); }
    setBusy(false);
  };
  const apply = async () => {
    setBusy(true);
    try {
      const result = (await gql("ReplanRoute", { input: { routeId: route.id, expectedVersion: proposal.basedOnVersion, servingStopId } })).replanRoute;
      const err = payloadError(result);
      if (err && err.code === "VERSION_CONFLICT") setMessage({ kind: "conflict", text: "The route changed since this preview (a newer version exists). Preview again to see the current plan." });
      else if (err) setMessage({ kind: "error", text: `${words(err.code)}: ${err.message}` });
      else { setMessage({ kind: "ok", text: `Applied: route version ${result.route.version} sent to the driver.` }); setProposal(null); onApplied(); }
    } catch (e) { setMessage({ kind: "error", text: e.message }); }
    setBusy(false);
  };
  const saved = proposal ? -Math.round(proposal.driveSecondsChange / 60) : 0;
  return html`<div class="replan">
    <button data-action="preview-replan" onClick=${preview} disabled=${busy}>Preview replan</button>
    ${message && html`<p class=${`notice ${message.kind}`} role="status">${message.text}</p>`}
    ${proposal && html`<div class="proposal" aria-label="Replan preview">
      <p><strong>${saved >= 0 ? `${saved} min saved` : `${-saved} min longer`}</strong> · drive ${Math.round(proposal.driveSeconds / 60)} min
        (was ${Math.round(proposal.previousDriveSeconds / 60)}) · from ${words(proposal.startSource)} at ${clock(proposal.departure)}</p>
      <ol class="plan">${proposal.stops.map((s) => html`<li>${s.stop.address} <span class="muted">ETA ${clock(s.eta)} (window ${clock(s.stop.timeWindow.start)}–${clock(s.stop.timeWindow.end)})</span></li>`)}</ol>
      ${proposal.unassigned.length > 0 && html`<h4>Not planned</h4><ul>${proposal.unassigned.map((u) => html`<li>${u.stop.address}: ${words(u.reason)}${u.detail ? ` — ${u.detail}` : ""}</li>`)}</ul>`}
      <div class="row"><button class="primary" data-action="apply-replan" onClick=${apply} disabled=${busy}>Apply replan</button>
        <button onClick=${() => setProposal(null)}>Discard</button></div>
    </div>`}
  </div>`;
}
