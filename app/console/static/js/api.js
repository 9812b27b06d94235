// The console's only way to the server: the public GraphQL API over HTTP and graphql-transport-ws.
const TOKEN_KEY = "detour.console.token";
let documents = null;

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(value) { value ? sessionStorage.setItem(TOKEN_KEY, value) : sessionStorage.removeItem(TOKEN_KEY); },
};

export async function loadDocuments() {
  if (!documents) documents = await (await fetch("/console/static/documents.json")).json();
  return documents;
}

export class ApiError extends Error {
  constructor(message, code) { super(message); this.code = code; }
}

/** Run one trusted document by name; GraphQL errors throw, payload errors are returned to the caller. */
export async function gql(name, variables = {}) {
  const docs = await loadDocuments();
  const query = docs[name];
  if (!query) throw new ApiError(`unknown document ${name}`, "CLIENT");
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${session.token}` },
    body: JSON.stringify({ query, variables, operationName: name }),
  });
  const body = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }));
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, (first.extensions && first.extensions.code) || "ERROR");
  }
  return body.data;
}

/** The first typed error of a mutation payload, if any. */
export function payloadError(payload) {
  return payload && payload.errors && payload.errors.length ? payload.errors[0] : null;
}

/**
 * One graphql-transport-ws socket carrying the console's subscriptions. When it drops, it reconnects with backoff
 * and resubscribes; each subscription's `resume()` gives fresh variables (exceptionEvents sends the last id as `after`).
 */
export class LiveSocket {
  constructor(onState) {
    this.onState = onState;
    this.subs = new Map();
    this.nextId = 1;
    this.retry = 0;
    this.closed = false;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/graphql`, "graphql-transport-ws");
    this.ws = ws;
    this.acked = false;
    this.onState(this.retry ? "reconnecting" : "connecting");
    ws.onopen = () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${session.token}` } }));
    ws.onmessage = (message) => this.receive(JSON.parse(message.data));
    ws.onclose = () => {
      if (this.ws !== ws || this.closed) return;
      this.acked = false;
      this.onState("reconnecting");
      if (this.held) return;
      const delay = Math.min(10000, 500 * 2 ** this.retry++);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  receive(message) {
    if (message.type === "connection_ack") {
      this.acked = true;
      this.retried = this.retry > 0;
      this.retry = 0;
      this.onState("live");
      for (const [id, sub] of this.subs) this.start(id, sub);
    } else if (message.type === "ping") {
      this.ws.send(JSON.stringify({ type: "pong" }));
    } else if (message.type === "next") {
      const sub = this.subs.get(message.id);
      if (sub && message.payload.data) sub.onData(message.payload.data);
    } else if (message.type === "error") {
      const sub = this.subs.get(message.id);
      if (sub && sub.onError) sub.onError(message.payload);
    }
  }

  async start(id, sub) {
    const docs = await loadDocuments();
    if (!this.acked || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ id, type: "subscribe", payload: { query: docs[sub.name], variables: sub.resume(), operationName: sub.name } }));
  }

  /** Subscribe to a document; returns a function that stops it. */
  subscribe(name, resume, onData, onError) {
    const id = String(this.nextId++);
    const sub = { name, resume, onData, onError };
    this.subs.set(id, sub);
    if (this.acked) this.start(id, sub);
    return () => {
      this.subs.delete(id);
      if (this.acked && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ id, type: "complete" }));
    };
  }

  /** Drop the connection as a network failure would; `hold` keeps it down until resume() (the reconnect test uses it). */
  drop(hold = false) {
    this.held = hold;
    if (this.ws) this.ws.close();
  }

  resume() {
    if (!this.held) return;
    this.held = false;
    this.retry += 1;
    this.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }
}
