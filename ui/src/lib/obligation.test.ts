import { describe, expect, it } from "vitest";
import { countdown, span, type ObligationLike } from "./obligation";

const H = 3600;
const T = Date.parse("2026-03-01T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function ob(extra: Partial<ObligationLike> = {}): ObligationLike {
  const completed = T - 10 * H * 1000;
  return {
    state: "open", seeded_seconds: 8 * H, required_seconds: 72 * H, met: false,
    completed_at: iso(completed), deadline: iso(completed + 30 * 86400 * 1000), met_at: null, risk_reason: null,
    ...extra,
  };
}

describe("span", () => {
  it("gets coarser the further away", () => {
    expect(span(40)).toBe("40 s");
    expect(span(12 * 60 + 5)).toBe("12 min 05 s");
    expect(span(5 * H + 7 * 60 + 59)).toBe("5 h 07 min");
    expect(span(64 * H)).toBe("64 h 00 min");
    expect(span(99 * H + 59 * 60)).toBe("99 h 59 min");
    expect(span(100 * H)).toBe("4 d 4 h");
    expect(span(-5)).toBe("0 s");
  });
});

describe("countdown", () => {
  it("takes the time left from required minus seeded, and the deadline from the server", () => {
    const c = countdown(ob(), T, { seeding: true, readAt: T });
    expect(c.standing).toBe("on_track");
    expect(c.left).toBe(64 * H);
    expect(c.fraction).toBeCloseTo(8 / 72);
    expect(c.deadline).toBe(T - 10 * H * 1000 + 30 * 86400 * 1000);
    expect(c.untilDeadline).toBe(30 * 86400 - 10 * H);
    expect(c.slack).toBe(c.untilDeadline - c.left);
    expect(c.summary).toMatch(/^64 h 00 min left to seed, by /);
    expect(c.note).toMatch(/^deadline .* \(29 d 14 h from now\)$/);
  });

  it("counts on from the reading while the torrent seeds, and not while it does not", () => {
    const later = T + 90_000;
    expect(countdown(ob(), later, { seeding: true, readAt: T }).left).toBe(64 * H - 90);
    expect(countdown(ob(), later, { seeding: false, readAt: T }).left).toBe(64 * H);
    expect(countdown(ob({ state: "at_risk" }), later, { seeding: true, readAt: T }).left).toBe(64 * H);
    // never beyond what is required, and never from a reading taken "in the future"
    expect(countdown(ob(), T + 100 * H * 1000, { seeding: true, readAt: T }).left).toBe(0);
    expect(countdown(ob(), T, { seeding: true, readAt: T + 60_000 }).left).toBe(64 * H);
  });

  it("is met when the server says so, whatever the clock", () => {
    const c = countdown(ob({ state: "met", met: true, seeded_seconds: 72 * H, met_at: iso(T) }), T + 40 * 86400e3,
                        { seeding: false, readAt: T });
    expect(c.standing).toBe("met");
    expect(c.left).toBe(0);
    expect(c.fraction).toBe(1);
    expect(c.summary).toMatch(/^Met: seeded 72 h 00 min by /);
  });

  it("is at risk when not seeding, when the server flags it, or when the slack is thin", () => {
    expect(countdown(ob(), T, { seeding: false, readAt: T }).standing).toBe("at_risk");
    expect(countdown(ob(), T, { seeding: false, readAt: T }).summary).toMatch(/^At risk: not seeding; /);
    const flagged = countdown(ob({ state: "at_risk", risk_reason: "stopped in qBittorrent (pausedUP)" }), T,
                              { seeding: false, readAt: T });
    expect(flagged.summary).toMatch(/^At risk: stopped in qBittorrent \(pausedUP\); 64 h 00 min left to seed/);
    expect(flagged.note).toMatch(/^stopped in qBittorrent \(pausedUP\); deadline /);
    // 70 h until the deadline for 64 h owed: 6 h of slack, under the 12 h margin
    const tight = ob({ deadline: iso(T + 70 * H * 1000) });
    expect(countdown(tight, T, { seeding: true, readAt: T }).standing).toBe("at_risk");
    expect(countdown(tight, T, { seeding: true, readAt: T, margin: 3 * H }).standing).toBe("on_track");
    expect(countdown(tight, T, { seeding: true, readAt: T }).summary)
      .toContain("only 70 h 00 min before the deadline for 64 h 00 min of seeding");
  });

  it("is overdue once the window closed unmet, or when the server failed it", () => {
    const past = ob({ deadline: iso(T - 1000) });
    expect(countdown(past, T, { seeding: true, readAt: T }).standing).toBe("overdue");
    expect(countdown(ob({ state: "failed" }), T, { seeding: true, readAt: T }).standing).toBe("overdue");
    expect(countdown(past, T, { seeding: true, readAt: T }).summary).toMatch(/^Overdue: the window closed .* with 64 h 00 min still owed/);
  });
});
