import { describe, expect, it } from "vitest";
import { audioLine } from "./imports";

describe("audioLine", () => {
  it("names one file's codec and duration", () => {
    expect(audioLine([{ audio: true, codec: "aac", duration: 120.02 }])).toBe("1 aac file, 2 min");
  });

  it("sums the parts of a multi-file release instead of rounding each to nothing", () => {
    const parts = Array.from({ length: 6 }, () => ({ audio: true, codec: "mp3", duration: 20 }));
    expect(audioLine([...parts, { audio: false, codec: null, duration: null }])).toBe("6 mp3 files, 2 min in all");
  });

  it("says so when nothing was audio", () => {
    expect(audioLine([{ audio: false, codec: null, duration: null }])).toBe("no audio file");
  });

  it("keeps every codec of a mixed release", () => {
    expect(audioLine([{ audio: true, codec: "mp3", duration: 3600 }, { audio: true, codec: "aac", duration: 1800 }]))
      .toBe("2 mp3/aac files, 1 h 30 min in all");
  });
});
