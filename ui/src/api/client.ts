// The typed API client: openapi-fetch over the types openapi-typescript generates from the
// gateway's OpenAPI document (`make ui-client` -> schema.d.ts). Same origin, cookie session.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Job = Schemas["JobOut"];
export type Pool = Schemas["PoolOut"];
export type Wanted = Schemas["WantedOut"];
export type Candidate = Schemas["CandidateOut"];
export type Snapshot = Schemas["SnapshotOut"];
export type Problem = Schemas["Problem"];

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
let unauthorized: () => void = () => {};

/** Called on any 401: the session ended (logout elsewhere, expiry); the app goes to the login page. */
export function onUnauthorized(fn: () => void): void {
  unauthorized = fn;
}

/** The CSRF token the server set at login (a readable cookie), echoed on unsafe requests. */
export function csrfToken(): string | null {
  const found = document.cookie.split("; ").find((c) => c.startsWith("mamc_csrf="));
  return found ? decodeURIComponent(found.slice("mamc_csrf=".length)) : null;
}

const session: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method)) {
      const token = csrfToken();
      if (token) request.headers.set("X-CSRF-Token", token);
    }
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith("/api/v1/auth/login")) unauthorized();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? "", credentials: "same-origin" });
api.use(session);

/** One line for a person out of a problem+json body (or anything else that went wrong). */
export function problemText(error: unknown): string {
  if (error && typeof error === "object") {
    const p = error as Partial<Problem>;
    const extra = Array.isArray(p.errors) && p.errors.length
      ? `: ${p.errors.map((e) => `${e.loc.slice(1).join(".")} ${e.msg}`).join("; ")}`
      : "";
    if (p.title) return `${p.title}${p.detail ? ` — ${p.detail}` : ""}${extra}`;
  }
  return error instanceof Error ? error.message : String(error);
}
