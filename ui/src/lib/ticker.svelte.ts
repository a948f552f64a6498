// One clock for every countdown on a page: a single interval while at least one component
// watches it (not one timer per row), stopped when the last one goes.

export const ticker = $state({ now: Date.now() });
let watchers = 0;
let timer: ReturnType<typeof setInterval> | undefined;

/** Start following the clock; returns the function that stops (call it from a teardown). */
export function watchClock(periodMs = 1000): () => void {
  watchers += 1;
  if (timer === undefined) {
    ticker.now = Date.now();
    timer = setInterval(() => (ticker.now = Date.now()), periodMs);
  }
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    watchers -= 1;
    if (watchers === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}
