// A virtualised list's window maths: which rows of a long list of equal-height rows to put in the
// DOM for the part of the list the viewport shows, and how much empty space stands for the rest.
// Why by hand: the Library page shows up to 10,000 books and 10,000 rows in the DOM cost seconds of
// layout; the few lines here are all it needs, and no package to keep in step with Svelte.

export interface ListWindow {
  /** First row to render (inclusive). */
  start: number;
  /** Row after the last one to render (exclusive): rows start..end-1 are in the DOM. */
  end: number;
  /** Pixels standing for the rows before `start` (the list's top padding). */
  before: number;
  /** Pixels standing for the rows from `end` to the last one (the list's bottom padding). */
  after: number;
}

export interface WindowInput {
  /** How far the list's top edge is above the viewport's top edge, in pixels (negative while the
   *  list starts further down the page): `-list.getBoundingClientRect().top`. */
  offset: number;
  /** The viewport's height in pixels. */
  viewport: number;
  /** One row's height in pixels (every row has this height). */
  rowHeight: number;
  /** Rows in the list. */
  count: number;
  /** Extra rows rendered above and below the visible ones, so a fast scroll or a Tab to the next
   *  row finds it already there. */
  overscan?: number;
}

export function listWindow({ offset, viewport, rowHeight, count, overscan = 8 }: WindowInput): ListWindow {
  const n = Math.max(0, Math.floor(count));
  if (n === 0 || !(rowHeight > 0)) return { start: 0, end: 0, before: 0, after: 0 };
  const top = Math.max(0, offset);
  const bottom = Math.max(0, offset + Math.max(0, viewport));
  const first = Math.min(n, Math.floor(top / rowHeight));
  const last = Math.min(n, Math.ceil(bottom / rowHeight)); // exclusive
  const start = Math.max(0, Math.min(first, last) - overscan);
  const end = Math.min(n, Math.max(last, first) + overscan);
  return { start, end, before: start * rowHeight, after: (n - end) * rowHeight };
}

/** True when the rendered window reaches within `margin` rows of the loaded rows' end: time to
 *  fetch the next page, so scrolling never waits at a blank bottom. */
export function nearEnd(win: ListWindow, loaded: number, margin = 40): boolean {
  return loaded > 0 && win.end >= loaded - margin;
}
