// Live updates: one EventSource on GET /api/v1/events (server-sent events fed by Redis pub/sub).
// The browser reconnects by itself after a gateway restart; each (re)connection starts with a
// `hello` event, and since events sent while disconnected are not replayed, pages reload their
// lists on `hello`. A stream the browser gave up on (readyState CLOSED) is reopened after 3 s.

export interface JobEvent { kind: "job"; id: string; state: string; type: string | null; queue: string | null }
export interface PoolEvent { kind: "pool"; pool: string; paused: boolean }
/** A download's state, progress, import state or obligation changed (at most one per monitor cycle). */
export interface DownloadEvent {
  kind: "download"; id: number; wanted_id: number | null; state: string; progress: number;
  import_state: string | null; obligation?: string;
}
/** An import advanced a step, reached its verdict, or noted an error. */
export interface ImportEvent {
  kind: "import"; id: number; download_id: number; wanted_id: number | null; step: string; verdict: string | null;
  failing: boolean;
}
export type LiveEvent = JobEvent | PoolEvent | DownloadEvent | ImportEvent | { kind: "hello" };
type Handler = (event: LiveEvent) => void;

export const live = $state({ connected: false, reconnects: 0 });
const handlers = new Set<Handler>();
let source: EventSource | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;

function dispatch(kind: string, data: string): void {
  let parsed: LiveEvent;
  try {
    parsed = kind === "hello" ? { kind: "hello" } : JSON.parse(data);
  } catch {
    return;
  }
  for (const h of handlers) h(parsed);
}

export function connect(): void {
  if (source) return;
  const es = new EventSource("/api/v1/events");
  source = es;
  es.addEventListener("hello", (e) => {
    if (live.connected === false && live.reconnects >= 0) live.reconnects += 1;
    live.connected = true;
    dispatch("hello", (e as MessageEvent).data);
  });
  for (const kind of ["job", "pool", "download", "import"]) es.addEventListener(kind, (e) => dispatch(kind, (e as MessageEvent).data));
  es.onerror = () => {
    live.connected = false;
    if (es.readyState === EventSource.CLOSED) {
      source = null;
      clearTimeout(timer);
      timer = setTimeout(connect, 3000);
    }
  };
}

export function disconnect(): void {
  clearTimeout(timer);
  source?.close();
  source = null;
  live.connected = false;
}

/** Subscribe; returns the unsubscribe function (call it from a component's teardown). */
export function subscribe(handler: Handler): () => void {
  handlers.add(handler);
  return () => handlers.delete(handler);
}
