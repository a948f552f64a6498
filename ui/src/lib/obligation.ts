// A seeding obligation as a countdown: MAM counts a torrent as satisfied once it has seeded
// `required_seconds` (72 h by default) within its window after completion (30 days); until then
// nothing may stop it. The server's figures (GET /api/v1/downloads: `obligation`) are a reading
// taken at some instant; while the torrent seeds, its seeded time keeps growing a second a second,
// so the page counts on from that reading (`readAt`, the browser's clock when it was read, so a
// skewed clock does not matter) instead of asking the server every second.
//
//   time left = required seeding − seeded        deadline = completion + window (the server's `deadline`)
//
// Standing:
//   met       the server says so (seeded in time);
//   overdue   the window closed with time still owed (the server's `failed`, or the deadline passed);
//   at_risk   not seeding while time is owed (the server's `at_risk`, or a download state that is
//             not `seeding`), or less slack before the deadline than `margin` (the wall-clock time
//             left minus the seeding time still owed);
//   on_track  otherwise.

export interface ObligationLike {
  state: string;
  seeded_seconds: number;
  required_seconds: number;
  met: boolean;
  deadline: string;
  completed_at: string;
  met_at?: string | null;
  risk_reason?: string | null;
}

export type Standing = "met" | "on_track" | "at_risk" | "overdue";

export interface Countdown {
  standing: Standing;
  seeded: number; // seconds seeded by `now` (counted on from the reading while seeding)
  left: number; // seeding seconds still owed (0 once met)
  untilDeadline: number; // seconds from `now` to the deadline (negative once it passed)
  slack: number; // untilDeadline − left: how long it may still stop and make it
  fraction: number; // seeded / required, 0..1
  deadline: number; // the deadline, ms since the epoch
  summary: string; // one sentence for a person, standing alone
  note: string; // what to show beside a "… left" figure: the rest of the summary
}

export const DEFAULT_MARGIN = 12 * 3600;

export interface CountdownOptions {
  seeding: boolean; // the download is seeding now (its state), so its clock runs
  readAt: number; // when the obligation was read (ms since the epoch, this browser's clock)
  margin?: number; // slack below this (seconds) is at risk
}

/** "29 d 4 h", "71 h 07 min", "12 min 05 s", "40 s": coarser the further away; hours up to 99,
 *  the unit MAM states the requirement in (72 h). */
export function span(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  if (s >= 100 * 3600) return `${d} d ${h} h`;
  if (s >= 3600) return `${d * 24 + h} h ${two(m)} min`;
  if (s >= 60) return `${m} min ${two(sec)} s`;
  return `${sec} s`;
}

export function countdown(ob: ObligationLike, now: number, opts: CountdownOptions): Countdown {
  const required = Math.max(0, ob.required_seconds);
  const deadline = Date.parse(ob.deadline);
  const met = ob.met || ob.state === "met";
  const counting = opts.seeding && !met && ob.state !== "at_risk";
  const elapsed = counting ? Math.max(0, (now - opts.readAt) / 1000) : 0;
  const seeded = met ? Math.max(ob.seeded_seconds, required) : Math.min(required, ob.seeded_seconds + elapsed);
  const left = met ? 0 : Math.max(0, required - seeded);
  const untilDeadline = (deadline - now) / 1000;
  const slack = untilDeadline - left;
  const fraction = required > 0 ? Math.min(1, seeded / required) : 1;
  const margin = opts.margin ?? DEFAULT_MARGIN;
  const by = new Date(deadline).toLocaleString();

  let standing: Standing;
  let summary: string;
  let note: string;
  const until = `deadline ${by} (${span(untilDeadline)} from now)`;
  if (met) {
    standing = "met";
    note = `seeded ${span(required)}${ob.met_at ? ` by ${new Date(ob.met_at).toLocaleString()}` : ""}`;
    summary = `Met: ${note}`;
  } else if (ob.state === "failed" || untilDeadline <= 0) {
    standing = "overdue";
    note = `the window closed ${by}; keep it seeding`;
    summary = `Overdue: the window closed ${by} with ${span(left)} still owed; keep it seeding`;
  } else if (ob.state === "at_risk" || !opts.seeding || slack < margin) {
    standing = "at_risk";
    const why = ob.risk_reason ?? (!opts.seeding ? "not seeding"
      : `only ${span(untilDeadline)} before the deadline for ${span(left)} of seeding`);
    note = `${why}; ${until}`;
    summary = `At risk: ${why}; ${span(left)} left to seed by ${by}`;
  } else {
    standing = "on_track";
    note = until;
    summary = `${span(left)} left to seed, by ${by} (${span(untilDeadline)} from now)`;
  }
  return { standing, seeded, left, untilDeadline, slack, fraction, deadline, summary, note };
}

export const STANDING_LABEL: Record<Standing, string> = {
  met: "met",
  on_track: "on track",
  at_risk: "at risk",
  overdue: "overdue",
};

export const STANDING_TONE: Record<Standing, string> = { met: "ok", on_track: "", at_risk: "warn", overdue: "bad" };
