// Downloads on a page that follows the live events: a `download` event says a row's state,
// progress, import state or obligation changed; the page shows that at once (patch) and reads the
// row again shortly after for the rest (ratio, seeded time, the import's figures), once per row
// however many events came meanwhile (Refresher).

import type { Schemas } from "../api/client";
import type { DownloadEvent } from "./live.svelte";
import { countdown } from "./obligation";

export type DownloadItem = Schemas["DownloadOut"];

/** The row with the event's values; other rows untouched (the same objects). */
export function patch(items: DownloadItem[], e: DownloadEvent): DownloadItem[] {
  return items.map((d) => {
    if (d.id !== e.id) return d;
    const obligation = d.obligation && e.obligation ? { ...d.obligation, state: e.obligation } : d.obligation;
    return { ...d, state: e.state, progress: e.progress, import_state: e.import_state, obligation };
  });
}

const TONES: Record<string, string> = {
  seeding: "ok", downloading: "", pending: "", fetched: "", stalled: "warn", paused: "warn", missing: "bad",
  errored: "bad", removed: "", dry_run: "",
};

/** The badge tone of a download state: stopped or failing ones stand out. */
export function stateTone(state: string): string {
  return TONES[state] ?? "";
}

/** Is the seeding clock running for this download (it seeds while time is owed)? */
export function seeding(d: Pick<DownloadItem, "state">): boolean {
  return d.state === "seeding";
}

/** Most urgent first: the least slack before the deadline (what may stop soonest and still make it). */
export function byUrgency(now: number, readAt: (id: number) => number) {
  return (a: DownloadItem, b: DownloadItem): number => {
    const slack = (d: DownloadItem) =>
      d.obligation ? countdown(d.obligation, now, { seeding: seeding(d), readAt: readAt(d.id) }).slack : Infinity;
    return slack(a) - slack(b);
  };
}

/** Reads changed rows again after a short pause, each once, in the order they changed. */
export class Refresher<K> {
  private stale = new Set<K>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly read: (keys: K[]) => void | Promise<void>, private readonly delayMs = 300) {}

  mark(key: K): void {
    this.stale.add(key);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const keys = [...this.stale];
      this.stale.clear();
      void this.read(keys);
    }, this.delayMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.stale.clear();
  }
}
