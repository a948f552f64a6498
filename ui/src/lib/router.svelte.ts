// A small history router: the gateway answers index.html for every page path (api/ui.py), and
// links are plain <a href> that App intercepts, so they work with a keyboard, a middle click and
// without JavaScript-specific markup.

export const route = $state({ path: location.pathname, search: location.search });

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  const url = new URL(to, location.origin);
  route.path = url.pathname;
  route.search = url.search;
  window.scrollTo(0, 0);
}

/** Replace the current page's query parameters in ``changes`` (an empty value removes one), keeping the
 * others: the list pages keep their filters in the URL, so a reload or a shared link shows the same list. */
export function setQuery(changes: Record<string, string>): void {
  const q = new URLSearchParams(route.search);
  for (const [name, value] of Object.entries(changes)) {
    if (value) q.set(name, value);
    else q.delete(name);
  }
  navigate(`${route.path}${q.size ? `?${q}` : ""}`, true);
}

addEventListener("popstate", () => {
  route.path = location.pathname;
  route.search = location.search;
});

/** Turn clicks on same-origin links into navigation without a reload. */
export function interceptLinks(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  const link = (event.target as Element | null)?.closest?.("a");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.origin);
  if (url.origin !== location.origin || url.pathname.startsWith("/api")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

export function param(pattern: RegExp): string | null {
  const m = pattern.exec(route.path);
  return m?.[1] ?? null;
}
