// Forms drawn from the gateway's own OpenAPI document: the quality profile and the governor policy
// have dozens of fields, each with its bounds and a sentence saying what it does, and the server's
// models are where those live. Reading them at run time (GET /api/openapi.json, once) keeps the
// form, its help texts and its limits in step with the API without a second copy here.
//
// A schema is flattened into fields (a nested object such as `weights` becomes a group of fields
// with paths like ["weights", "narrator"]); a problem+json `errors[].loc` is mapped back to the
// field it names, so each message is shown next to its field.

export type Kind = "boolean" | "integer" | "number" | "string" | "enum" | "list" | "pair";

export interface Field {
  path: string[];
  key: string;
  label: string;
  help: string;
  kind: Kind;
  group: string | null;
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
  options?: string[];
  item?: "integer" | "number" | "string";
}

export type Raw = boolean | number | string | null;
type Schema = Record<string, unknown>;
type Components = Record<string, Schema>;

let document: Promise<Components> | null = null;

/** The document's component schemas (fetched once per page load). */
export function components(): Promise<Components> {
  document ??= fetch("/api/openapi.json", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`the API description answered ${r.status}`))))
    .then((d: { components?: { schemas?: Components } }) => d.components?.schemas ?? {});
  document.catch(() => (document = null)); // a failed fetch is tried again next time
  return document;
}

function resolve(schema: Schema, all: Components): Schema {
  let s = schema;
  const allOf = s.allOf as Schema[] | undefined;
  if (!s.$ref && allOf?.length === 1 && allOf[0]) s = { ...allOf[0], ...s, allOf: undefined };
  const ref = s.$ref as string | undefined;
  if (ref) {
    const target = all[ref.split("/").pop() ?? ""];
    if (target) return { ...target, ...s, $ref: undefined, title: s.title ?? target.title };
  }
  return s;
}

function leafKind(s: Schema): Kind | null {
  if (Array.isArray(s.enum)) return "enum";
  const t = s.type;
  if (t === "boolean" || t === "integer" || t === "number" || t === "string") return t;
  if (t === "array" && Array.isArray(s.prefixItems) && s.prefixItems.length === 2) return "pair";
  if (t === "array") return "list";
  return null;
}

/** A person's label for a property: the schema's title ("Min Bitrate Kbps"), sentence-cased. */
export function labelOf(name: string, s: Schema): string {
  const title = typeof s.title === "string" ? s.title : name.replace(/_/g, " ");
  const text = title.toLowerCase().replace(/\bkbps\b/g, "kbps").replace(/\bvip\b/g, "VIP");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Every editable field of a schema, nested objects flattened into groups (one level deep). */
export function fieldsOf(schema: Schema, all: Components, prefix: string[] = [], group: string | null = null): Field[] {
  const out: Field[] = [];
  const props = (resolve(schema, all).properties ?? {}) as Record<string, Schema>;
  for (const [name, raw] of Object.entries(props)) {
    const s = resolve(raw, all);
    const path = [...prefix, name];
    if (s.type === "object" || s.properties) {
      out.push(...fieldsOf(s, all, path, labelOf(name, {})));
      continue;
    }
    const kind = leafKind(s);
    if (!kind) continue;
    const field: Field = { path, key: path.join("."), label: labelOf(name, s), kind, group,
      help: typeof s.description === "string" ? s.description : "" };
    const bounds = kind === "pair" ? ((s.prefixItems as Schema[])[0] ?? {}) : s;
    if (typeof bounds.minimum === "number") field.min = bounds.minimum;
    if (typeof bounds.exclusiveMinimum === "number") { field.min = bounds.exclusiveMinimum; field.exclusiveMin = true; }
    if (typeof bounds.maximum === "number") field.max = bounds.maximum;
    if (kind === "enum") field.options = (s.enum as unknown[]).map(String);
    if (kind === "pair") field.item = bounds.type === "integer" ? "integer" : "number";
    if (kind === "list") {
      const items = resolve((s.items ?? {}) as Schema, all);
      field.item = items.type === "integer" || items.type === "number" ? items.type : "string";
      if (Array.isArray(items.enum)) field.options = (items.enum as unknown[]).map(String);
    }
    out.push(field);
  }
  return out;
}

export function getAt(obj: unknown, path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}

function setAt(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  path.slice(0, -1).forEach((p) => {
    if (!cur[p] || typeof cur[p] !== "object") cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  });
  cur[path[path.length - 1] ?? ""] = value;
}

/** What a field's input shows for a value (a pair is two entries, `key.0` and `key.1`). */
export function toInputs(fields: Field[], value: unknown): Record<string, Raw> {
  const out: Record<string, Raw> = {};
  for (const f of fields) {
    const v = getAt(value, f.path);
    if (f.kind === "pair") {
      const pair = Array.isArray(v) ? v : [];
      out[`${f.key}.0`] = typeof pair[0] === "number" ? pair[0] : null;
      out[`${f.key}.1`] = typeof pair[1] === "number" ? pair[1] : null;
    } else if (f.kind === "list") out[f.key] = Array.isArray(v) ? v.join(", ") : "";
    else if (f.kind === "boolean") out[f.key] = v === true;
    else if (f.kind === "integer" || f.kind === "number") out[f.key] = typeof v === "number" ? v : null;
    else out[f.key] = v == null ? "" : String(v);
  }
  return out;
}

function number(raw: Raw): unknown {
  // an empty or unreadable entry goes to the server as it is, whose 422 names the field
  if (typeof raw === "number") return raw;
  const text = String(raw ?? "").trim();
  return text !== "" && Number.isFinite(Number(text)) ? Number(text) : raw;
}

/** The request body the inputs describe: every field, nested as the schema nests them. */
export function fromInputs(fields: Field[], inputs: Record<string, Raw>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of fields) {
    let v: unknown;
    if (f.kind === "pair") v = [number(inputs[`${f.key}.0`] ?? null), number(inputs[`${f.key}.1`] ?? null)];
    else if (f.kind === "list") {
      const items = String(inputs[f.key] ?? "").split(",").map((x) => x.trim()).filter(Boolean);
      v = f.item === "string" ? items : items.map(number);
    } else if (f.kind === "integer" || f.kind === "number") v = number(inputs[f.key] ?? null);
    else v = inputs[f.key];
    setAt(body, f.path, v);
  }
  return body;
}

/** Each problem+json error under the field it names (`loc` ["body", ...path, index?]); the rest under "". */
export function fieldErrors(problem: unknown, fieldKeys: Iterable<string>): Record<string, string> {
  const out: Record<string, string> = {};
  const errors = (problem as { errors?: { loc: (string | number)[]; msg: string }[] } | null)?.errors ?? [];
  const keys = new Set(fieldKeys);
  for (const e of errors) {
    const path = e.loc.slice(1).map(String);
    let key = "";
    for (let n = path.length; n > 0; n -= 1) {
      const candidate = path.slice(0, n).join(".");
      if (keys.has(candidate)) {
        key = candidate;
        break;
      }
    }
    const msg = e.msg.replace(/^Value error, /, "");
    const where = key ? msg : `${path.join(".") || "body"}: ${msg}`;
    out[key] = out[key] ? `${out[key]}; ${where}` : where;
  }
  return out;
}

/** Fields under their group (null: the top level first), in the schema's order. */
export function grouped(fields: Field[]): { group: string | null; fields: Field[] }[] {
  const out: { group: string | null; fields: Field[] }[] = [];
  for (const f of fields) {
    const last = out.find((g) => g.group === f.group);
    if (last) last.fields.push(f);
    else out.push({ group: f.group, fields: [f] });
  }
  return out.sort((a, b) => (a.group === null ? -1 : b.group === null ? 1 : 0));
}
