// Words and numbers as a dispatcher reads them.
export const words = (value) => (value || "").toLowerCase().replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "–";
}

export function dateTime(iso) {
  return iso ? new Date(iso).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" }) : "–";
}

/** "42 min left", "1 h 05 left", or "12 min late" against the window's end. */
export function countdown(endIso, now) {
  if (!endIso) return { text: "no window", late: false, urgent: false };
  const minutes = Math.round((new Date(endIso).getTime() - now) / 60000);
  const late = minutes < 0;
  const m = Math.abs(minutes);
  const span = m >= 60 ? `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")}` : `${m} min`;
  return { text: late ? `${span} late` : `${span} left`, late, urgent: !late && minutes <= 30 };
}

export function age(iso, now) {
  const minutes = Math.max(0, Math.round((now - new Date(iso).getTime()) / 60000));
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min ago` : `${minutes} min ago`;
}

export const money = (cents, currency = "EUR") =>
  cents == null ? "–" : new Intl.NumberFormat([], { style: "currency", currency }).format(cents / 100);

export const percent = (rate) => (rate == null ? "–" : `${(rate * 100).toFixed(1)} %`);

export const minutes = (value) => (value == null ? "–" : `${Math.round(value)} min`);

/** Who acted on a timeline entry: system, customer, driver or dispatcher. */
export function actorKind(event) {
  const role = (event.actorRole || "").toLowerCase();
  if (role === "driver") return "driver";
  if (role === "dispatcher" || role === "supervisor") return "dispatcher";
  if (role === "customer") return "customer";
  const payload = event.payload || {};
  if (payload.proposedBy === "CUSTOMER" || payload.source === "SMS" || payload.source === "LINK" || payload.customer) return "customer";
  return "system";
}

export const OPEN_STATUSES = ["OPEN", "CONTACTING_CUSTOMER", "AWAITING_DECISION", "ACTION_APPROVED"];
export const KINDS = ["CUSTOMER_ABSENT", "ACCESS_DENIED", "ADDRESS_PROBLEM", "PACKAGE_DAMAGED", "DELAYED", "ROUTING_ERROR", "REFUSED", "OTHER"];
export const OUTCOMES = ["DELIVERED_TO_CUSTOMER", "DELIVERED_TO_NEIGHBOR", "SECURE_DROPOFF", "PICKUP_POINT", "RESCHEDULED", "ADDRESS_CORRECTED", "RETURNED_TO_DEPOT", "CANCELLED"];
