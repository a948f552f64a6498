import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import SchemaForm from "../components/SchemaForm.svelte";
import { fieldErrors, fieldsOf, fromInputs, grouped, toInputs } from "./schemaform";

// The shapes pydantic writes into the gateway's OpenAPI document (a nested model by $ref with the
// field's own description, a [low, high] tuple as prefixItems, a Literal as an enum).
const all = {
  Weights: {
    type: "object", title: "ScoreWeights",
    properties: {
      match: { type: "number", title: "Match", minimum: 0, maximum: 100, description: "how sure" },
      narrator: { type: "number", title: "Narrator", minimum: 0, maximum: 100 },
    },
  },
  Profile: {
    type: "object", title: "Profile", additionalProperties: false,
    properties: {
      formats: { type: "array", title: "Formats", items: { type: "string", maxLength: 20 }, description: "best first" },
      min_bitrate_kbps: { type: "integer", title: "Min Bitrate Kbps", minimum: 0, maximum: 1000 },
      ideal_bitrate_kbps: { type: "array", title: "Ideal Bitrate Kbps", minItems: 2, maxItems: 2,
                            prefixItems: [{ type: "integer", minimum: 1, maximum: 1000 }, { type: "integer", minimum: 1, maximum: 1000 }] },
      duration_tolerance: { type: "number", title: "Duration Tolerance", exclusiveMinimum: 0, maximum: 1 },
      allow_abridged: { type: "boolean", title: "Allow Abridged" },
      mode: { type: "string", enum: ["normal", "cautious", "freeleech_event"], title: "Mode" },
      weights: { $ref: "#/components/schemas/Weights", description: "relative weight of each component" },
      extras: { type: "object", additionalProperties: true, title: "Extras" },
    },
  },
};
const profile = {
  formats: ["m4b", "mp3"], min_bitrate_kbps: 64, ideal_bitrate_kbps: [128, 192], duration_tolerance: 0.15,
  allow_abridged: false, mode: "normal", weights: { match: 3, narrator: 3 },
};

describe("fieldsOf", () => {
  const fields = fieldsOf(all.Profile, all);

  it("flattens the schema in its order, nested models into a group, with labels, help and bounds", () => {
    expect(fields.map((f) => f.key)).toEqual(["formats", "min_bitrate_kbps", "ideal_bitrate_kbps", "duration_tolerance",
      "allow_abridged", "mode", "weights.match", "weights.narrator"]);
    const byKey = Object.fromEntries(fields.map((f) => [f.key, f]));
    expect(byKey["min_bitrate_kbps"]).toMatchObject({ kind: "integer", label: "Min bitrate kbps", min: 0, max: 1000 });
    expect(byKey["ideal_bitrate_kbps"]).toMatchObject({ kind: "pair", item: "integer", min: 1, max: 1000 });
    expect(byKey["duration_tolerance"]).toMatchObject({ kind: "number", min: 0, exclusiveMin: true, max: 1 });
    expect(byKey["mode"]).toMatchObject({ kind: "enum", options: ["normal", "cautious", "freeleech_event"] });
    expect(byKey["weights.match"]).toMatchObject({ group: "Weights", path: ["weights", "match"], help: "how sure" });
    expect(byKey["formats"]).toMatchObject({ kind: "list", item: "string", help: "best first" });
    expect(grouped(fields).map((g) => g.group)).toEqual([null, "Weights"]);
  });

  it("turns a value into inputs and the inputs back into the same body", () => {
    const inputs = toInputs(fields, profile);
    expect(inputs["formats"]).toBe("m4b, mp3");
    expect(inputs["ideal_bitrate_kbps.0"]).toBe(128);
    expect(inputs["weights.narrator"]).toBe(3);
    expect(fromInputs(fields, inputs)).toEqual(profile);
  });

  it("sends what a person typed as it is when it is not a number, for the server to name", () => {
    const inputs = { ...toInputs(fields, profile), min_bitrate_kbps: "lots", "weights.match": null, formats: " m4b ,, aac " };
    const body = fromInputs(fields, inputs);
    expect(body["min_bitrate_kbps"]).toBe("lots");
    expect((body["weights"] as Record<string, unknown>)["match"]).toBeNull();
    expect(body["formats"]).toEqual(["m4b", "aac"]);
  });
});

describe("fieldErrors", () => {
  const keys = fieldsOf(all.Profile, all).map((f) => f.key);

  it("puts each problem+json error under the field its loc names", () => {
    const problem = { title: "Invalid request", errors: [
      { loc: ["body", "weights", "narrator"], msg: "Input should be greater than or equal to 0", type: "x" },
      { loc: ["body", "ideal_bitrate_kbps", 1], msg: "Input should be a valid integer", type: "x" },
      { loc: ["body", "ideal_bitrate_kbps"], msg: "Value error, low <= high", type: "value_error" },
      { loc: ["body", "bitrate"], msg: "Extra inputs are not permitted", type: "x" },
    ] };
    expect(fieldErrors(problem, keys)).toEqual({
      "weights.narrator": "Input should be greater than or equal to 0",
      ideal_bitrate_kbps: "Input should be a valid integer; low <= high",
      "": "bitrate: Extra inputs are not permitted",
    });
  });

  it("finds nothing in a problem without errors", () => {
    expect(fieldErrors({ title: "Conflict", status: 409 }, keys)).toEqual({});
    expect(fieldErrors(null, keys)).toEqual({});
  });
});

describe("SchemaForm", () => {
  it("labels every control and ties each error and help text to its field", () => {
    const fields = fieldsOf(all.Profile, all);
    render(SchemaForm, { props: { fields, inputs: toInputs(fields, profile), idPrefix: "t",
                                  errors: { "weights.narrator": "must be at least 0" } } });
    const narrator = screen.getByLabelText("Narrator");
    expect(narrator.getAttribute("aria-invalid")).toBe("true");
    expect(narrator.getAttribute("aria-describedby")).toBe("t-weights-narrator-err");
    expect(document.getElementById("t-weights-narrator-err")?.textContent).toBe("must be at least 0");
    expect((screen.getByLabelText("Allow abridged") as HTMLInputElement).checked).toBe(false);
    expect((screen.getByLabelText("Mode") as HTMLSelectElement).value).toBe("normal");
    expect(screen.getByLabelText("low")).toBeTruthy();
    expect(screen.getByRole("group", { name: "Weights" })).toBeTruthy();
    expect(document.getElementById("t-formats-help")?.textContent).toBe("best first (comma separated)");
    expect(document.getElementById("t-duration_tolerance")?.getAttribute("aria-describedby")).toBeNull();
  });
});
