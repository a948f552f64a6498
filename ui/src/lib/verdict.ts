// What became of a download in the library, for a person: the import's verdict (GET
// /api/v1/downloads: `import`, or the download's `import_state` before any import row exists) and,
// for a rejected recording, the figures that rejected it, as the verifier wrote them
// (shared/imports/verify.py: total and expected seconds, deviation and tolerance; the narrator the
// edition was chosen for, the one the file tags name, the one heard in the opening).

import { duration } from "./format";

export interface ImportLike {
  id: number;
  verdict: string | null;
  reason: string | null;
  step: string;
  error: string | null;
  figures: Record<string, unknown>;
  placement: string | null;
}

export type Tone = "ok" | "warn" | "bad" | "";

export interface VerdictView {
  label: string;
  tone: Tone;
  lines: string[]; // the figures, one fact a line
  retry: boolean; // POST /api/v1/imports/{id}/retry is allowed
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const names = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const pct = (x: number, digits = 1) => `${x >= 0 ? "+" : "−"}${Math.abs(x * 100).toFixed(digits)} %`;

/** The figures of a verification, one readable line each (what is not there is left out). */
export function figureLines(figures: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const total = num(figures.total_seconds);
  const expected = num(figures.expected_seconds);
  const deviation = num(figures.deviation);
  const tolerance = num(figures.tolerance);
  if (total !== null && expected !== null) {
    const off = deviation !== null ? ` (${pct(deviation)}${tolerance !== null ? `, tolerance ±${+(tolerance * 100).toFixed(1)} %` : ""})` : "";
    lines.push(`Duration: measured ${duration(total)}, expected ${duration(expected)}${off}`);
  } else if (total !== null) {
    lines.push(`Duration: measured ${duration(total)} (no expected runtime known)`);
  }
  const narrator = (figures.narrator ?? null) as Record<string, unknown> | null;
  if (narrator && typeof narrator === "object") {
    const chosen = names(narrator.chosen);
    const tags = names(narrator.tags);
    if (tags.length) {
      lines.push(`Narrator in the file tags: ${tags.join(", ")}; expected ${chosen.join(", ") || "?"}`);
    }
    const heard = (narrator.listened ?? null) as Record<string, unknown> | null;
    if (heard && typeof heard === "object") {
      const status = String(heard.status ?? "");
      const text = typeof heard.heard_text === "string" && heard.heard_text ? ` (“${heard.heard_text}”)` : "";
      if (status === "mismatch") {
        lines.push(`Narrator heard: ${String(heard.name ?? "?")}${text}; expected ${chosen.join(", ") || "?"}`);
      } else if (status === "heard") {
        lines.push(`Narrator heard: ${String(heard.name ?? chosen.join(", "))}${text}, as expected`);
      } else if (status === "not_heard") {
        lines.push("Narrator: not heard in the opening");
      }
    }
  }
  const codecs = names(figures.codecs);
  const kbps = num(figures.bitrate_kbps);
  const files = num(figures.audio_files);
  if (codecs.length || kbps !== null || files !== null) {
    const parts = [files !== null ? `${files} audio file${files === 1 ? "" : "s"}` : null, codecs.join("/") || null,
                   kbps !== null ? `${kbps} kbps` : null].filter(Boolean);
    lines.push(parts.join(", "));
  }
  return lines;
}

export function verdictOf(imp: ImportLike | null | undefined, importState: string | null | undefined): VerdictView {
  if (!imp) {
    if (importState === "queued") return { label: "import queued", tone: "", lines: [], retry: false };
    if (importState === "skipped") return { label: "not imported (no wanted entry)", tone: "", lines: [], retry: false };
    return { label: "not imported yet", tone: "", lines: [], retry: false };
  }
  switch (imp.verdict) {
    case "imported":
      return { label: "imported", tone: "ok", lines: imp.placement ? [`Placed by ${imp.placement}`] : [], retry: false };
    case "already_owned":
      return { label: "already owned", tone: "ok", lines: imp.reason ? [imp.reason] : [], retry: false };
    case "rejected":
      return { label: "wrong recording", tone: "bad", lines: figureLines(imp.figures), retry: true };
    case "failed":
      return { label: "import failed", tone: "bad", lines: imp.reason ? [imp.reason] : [], retry: true };
    default:
      return {
        label: `importing (${imp.step})`,
        tone: imp.error ? "warn" : "",
        lines: imp.error ? [`Retrying after: ${imp.error}`] : [],
        retry: false,
      };
  }
}
