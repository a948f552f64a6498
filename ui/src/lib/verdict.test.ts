import { describe, expect, it } from "vitest";
import { figureLines, verdictOf, type ImportLike } from "./verdict";

// The rejected recording of docs/api.md: 20 % short, another narrator in the tags and in the opening.
const rejected: ImportLike = {
  id: 2, verdict: "rejected", step: "done", error: null, placement: null,
  reason: "runs 5:36:00, -20.0% from the expected 7:00:00 (tolerance ±3%): another recording or an abridged edition",
  figures: {
    total_seconds: 20160, expected_seconds: 25200, tolerance: 0.03, deviation: -0.2, audio_files: 1, files: 1,
    codecs: ["aac"], bitrate_kbps: 64,
    narrator: { chosen: ["Nigel Planer"], tags: ["Stephen Fry"], agree: 0.21,
                listened: { status: "mismatch", name: "Stephen Fry", heard_text: "narrated by steven fry" } },
  },
};

describe("verdictOf", () => {
  it("names a rejected recording and gives its figures", () => {
    const v = verdictOf(rejected, "rejected");
    expect(v).toMatchObject({ label: "wrong recording", tone: "bad", retry: true });
    expect(v.lines).toEqual([
      "Duration: measured 5 h 36 min, expected 7 h 0 min (−20.0 %, tolerance ±3 %)",
      "Narrator in the file tags: Stephen Fry; expected Nigel Planer",
      "Narrator heard: Stephen Fry (“narrated by steven fry”); expected Nigel Planer",
      "1 audio file, aac, 64 kbps",
    ]);
  });

  it("says where an import is before its verdict, and whether it can be retried", () => {
    expect(verdictOf(null, null)).toMatchObject({ label: "not imported yet", retry: false });
    expect(verdictOf(null, "queued").label).toBe("import queued");
    expect(verdictOf({ ...rejected, verdict: null, step: "placed", error: "ConnectionError: ABS" }, "importing"))
      .toMatchObject({ label: "importing (placed)", tone: "warn", lines: ["Retrying after: ConnectionError: ABS"] });
    expect(verdictOf({ ...rejected, verdict: "failed", reason: "ABS did not list the folder" }, "failed"))
      .toMatchObject({ label: "import failed", retry: true, lines: ["ABS did not list the folder"] });
    expect(verdictOf({ ...rejected, verdict: "imported", placement: "hardlink" }, "imported"))
      .toMatchObject({ label: "imported", tone: "ok", retry: false, lines: ["Placed by hardlink"] });
    expect(verdictOf({ ...rejected, verdict: "already_owned", reason: "ASIN B0X" }, "already_owned"))
      .toMatchObject({ label: "already owned", retry: false });
  });
});

describe("figureLines", () => {
  it("leaves out what the verifier did not know, and says a narrator was not heard", () => {
    expect(figureLines({ total_seconds: 3600, expected_seconds: null,
                         narrator: { chosen: ["A"], tags: [], listened: { status: "not_heard" } } }))
      .toEqual(["Duration: measured 1 h 0 min (no expected runtime known)", "Narrator: not heard in the opening"]);
    expect(figureLines({})).toEqual([]);
  });
});
