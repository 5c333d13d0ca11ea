// A small hash router: `#/rules?q=tv` → { path: "/rules", query }. Hash routes need no server
// rewrites, so the same build works from `dealpulse serve` and from S3 behind CloudFront.
import { useEffect, useState } from "react";

export interface Route {
  path: string;
  query: URLSearchParams;
}

function current(): Route {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = hash.split("?");
  return { path: path || "/", query: new URLSearchParams(search) };
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
