/**
 * Hash routing (`#/batches/<id>?state=blocked`): every page has an address that can be
 * bookmarked and shared, and the server serves one `index.html` for all of them.
 */
import { useEffect, useState } from "preact/hooks";

export interface Route {
  /** The path's parts: `#/batches/abc` → `["batches", "abc"]`. */
  readonly parts: readonly string[];
  readonly query: URLSearchParams;
}

function current(): Route {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  const [path = "/", search = ""] = hash.split("?");
  return {
    parts: path
      .split("/")
      .filter((p) => p !== "")
      .map(decodeURIComponent),
    query: new URLSearchParams(search),
  };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const onChange = () => setRoute(current());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

/** The address of a page: `href("batches", id)`, with a query of its non-empty values. */
export function href(...parts: (string | Record<string, string | undefined>)[]): string {
  const path = parts.filter((p): p is string => typeof p === "string").map(encodeURIComponent);
  const query = parts.find((p): p is Record<string, string | undefined> => typeof p !== "string");
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") params.set(k, v);
  const search = params.toString();
  return `#/${path.join("/")}${search === "" ? "" : `?${search}`}`;
}

export function navigate(to: string): void {
  window.location.hash = to.replace(/^#/, "");
}
