import { cleanup, render, screen } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import ObligationCountdown from "./ObligationCountdown.svelte";

const H = 3600;
const T = Date.parse("2026-03-01T12:00:00Z");

function obligation(extra: Record<string, unknown> = {}) {
  return {
    state: "open", seeded_seconds: 72 * H - 125, required_seconds: 72 * H, met: false,
    completed_at: new Date(T - 80 * H * 1000).toISOString(),
    deadline: new Date(T + 20 * 86400 * 1000).toISOString(), met_at: null, risk_reason: null, ...extra,
  };
}

describe("<ObligationCountdown>", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T);
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
  });

  it("counts the time left down each second while the torrent seeds", async () => {
    const { container } = render(ObligationCountdown, { obligation: obligation(), seeding: true, readAt: T });
    const left = screen.getByTestId("time-left");
    expect(left.textContent).toBe("2 min 05 s left");
    expect(container.querySelector("[data-standing]")!.getAttribute("data-standing")).toBe("on_track");
    expect(screen.getByText("on track").classList.contains("badge")).toBe(true);
    await vi.advanceTimersByTimeAsync(5000);
    expect(left.textContent).toBe("2 min 00 s left");
    const bar = screen.getByRole("progressbar", { name: /^Seeded 71 h 58 min of 72 h 00 min$/ });
    expect(Number(bar.getAttribute("value"))).toBeGreaterThan(0.99);
  });

  it("stands still while the torrent is stopped, and says it is at risk", async () => {
    render(ObligationCountdown, {
      obligation: obligation({ state: "at_risk", risk_reason: "stopped in qBittorrent (pausedUP)" }),
      seeding: false, readAt: T,
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(screen.getByTestId("time-left").textContent).toBe("2 min 05 s left");
    expect(screen.getByText("at risk").classList.contains("warn")).toBe(true);
    expect(screen.getByText(/^stopped in qBittorrent \(pausedUP\); deadline /)).toBeTruthy();
  });

  it("shows a met obligation without a countdown, and an overdue one in red", () => {
    const met = render(ObligationCountdown, {
      obligation: obligation({ state: "met", met: true, seeded_seconds: 72 * H, met_at: new Date(T).toISOString() }),
      seeding: true, readAt: T,
    });
    expect(met.queryByTestId("time-left")).toBeNull();
    expect(met.getByText("met").classList.contains("ok")).toBe(true);
    met.unmount();
    render(ObligationCountdown, { obligation: obligation({ state: "failed" }), seeding: true, readAt: T });
    expect(screen.getByText("overdue").classList.contains("bad")).toBe(true);
  });
});
