// A small hash router: `#/rules?q=tv` → { path: "/rules", query }. Hash routes need no server
// rewrites, so the same build works from `dealpulse serve` and from S3 behind CloudFront.
import { useEffect, useState } from "react";

export interface Route {
  path: string;
  query: URLSearchParams;
}

/** The route of a location: its hash, or, without one, its path (e-mailed links such as
 * `/verify-email?token=…` are served the app under their own path). */
export function routeOf(location: { hash: string; pathname: string; search: string }): Route {
  const hash = location.hash.replace(/^#/, "");
  const target = hash || `${location.pathname}${location.search}`;
  const [path, search = ""] = target.split("?");
  return { path: path || "/", query: new URLSearchParams(search) };
}

function current(): Route {
  return routeOf(window.location);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function navigate(to: string) {
  window.location.hash = to;
}
