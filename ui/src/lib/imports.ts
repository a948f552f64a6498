// How an import's files read in one line on a wanted entry's page.
import type { Schemas } from "../api/client";
import { duration } from "./format";

/** "1 aac file, 2 min" / "6 mp3 files, 2 min in all": what ffprobe found. Parts of a few seconds each
 * would each round to "0 min", so the durations are summed before they are shown. */
export function audioLine(files: Pick<Schemas["ImportedFile"], "audio" | "codec" | "duration">[]): string {
  const audio = files.filter((f) => f.audio);
  if (!audio.length) return "no audio file";
  const codecs = [...new Set(audio.map((f) => f.codec ?? "?"))].join("/");
  const total = audio.reduce((sum, f) => sum + (f.duration ?? 0), 0);
  const many = audio.length > 1;
  return `${audio.length} ${codecs} file${many ? "s" : ""}, ${duration(total)}${many ? " in all" : ""}`;
}
