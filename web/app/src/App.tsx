// The app shell: restores the session on load (refresh token), routes by hash, keeps signed-out
// visitors on the public pages and admin pages for admins. Admin pages load on demand so the
// first load stays small.
import { lazy, Suspense, useEffect, useState } from "react";
import { logOut, onSession, refreshSession, type UserProfile } from "./lib/api";
import { navigate, useRoute } from "./lib/route";
import { ForgotPassword, LogIn, ResetPassword, SignUp, VerifyEmail } from "./pages/auth";
import { DashboardPage } from "./pages/dashboard";
import { RulesPage } from "./pages/rules";
import { WatchlistPage } from "./pages/watchlist";
import { DealsPage } from "./pages/deals";
import { AlertsPage } from "./pages/alerts";
import { PreferencesPage } from "./pages/preferences";
import { EmailPreviewPage } from "./pages/emails";

const AdminPage = lazy(() => import("./pages/admin"));

const PUBLIC = new Set(["/log-in", "/sign-up", "/verify-email", "/forgot-password", "/reset-password"]);

const SECTIONS: [string, string][] = [
  ["/", "Dashboard"],
  ["/rules", "Rules"],
  ["/watchlist", "Watchlist"],
  ["/deals", "Deals"],
  ["/alerts", "Alerts"],
  ["/preferences", "Preferences"],
  ["/emails", "E-mails"],
];

/** The section a path belongs to: `/rules/new` → `/rules`. */
export function sectionOf(path: string): string {
  const first = path.split("/")[1] ?? "";
  return `/${first}`;
}

export function App() {
  const route = useRoute();
  const [user, setUser] = useState<UserProfile | null>(null);
  const [restoring, setRestoring] = useState(true);
  useEffect(() => onSession(setUser), []);
  useEffect(() => {
    refreshSession().finally(() => setRestoring(false));
  }, []);
  useEffect(() => {
    if (!restoring && !user && !PUBLIC.has(route.path)) navigate("/log-in");
  }, [restoring, user, route.path]);
  useEffect(() => {
    const name = [...SECTIONS, ["/admin", "Admin"]].find(([path]) => path === sectionOf(route.path))?.[1];
    document.title = name ? `${name} · DealPulse` : "DealPulse";
  }, [route.path]);

  switch (route.path) {
    case "/log-in":
      return <LogIn />;
    case "/sign-up":
      return <SignUp />;
    case "/verify-email":
      return <VerifyEmail token={route.query.get("token")} />;
    case "/forgot-password":
      return <ForgotPassword />;
    case "/reset-password":
      return <ResetPassword token={route.query.get("token")} />;
  }
  if (restoring || !user) return <p role="status" className="p-8">Loading…</p>;
  const section = sectionOf(route.path);
  const sections = user.role === "admin" ? [...SECTIONS, ["/admin", "Admin"] as [string, string]] : SECTIONS;
  return (
    <div className="min-h-screen">
      {/* Moves focus itself: following "#main" would change the hash route. */}
      <a
        href="#main"
        onClick={(event) => {
          event.preventDefault();
          document.getElementById("main")?.focus();
        }}
        className="sr-only focus:not-sr-only focus:absolute focus:p-2"
      >
        Skip to content
      </a>
      <header className="bg-white shadow">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-2 px-4 py-3">
          <a href="#/" className="text-lg font-semibold text-blue-800">
            DealPulse
          </a>
          <div className="flex items-center gap-3 text-sm">
            <span className="max-w-48 truncate" title={user.email}>
              {user.email}
            </span>
            <button type="button" className="underline" onClick={() => logOut().then(() => navigate("/log-in"))}>
              Log out
            </button>
          </div>
        </div>
        <nav aria-label="Main" className="mx-auto max-w-6xl overflow-x-auto px-2">
          <ul className="flex gap-1 text-sm">
            {sections.map(([path, name]) => (
              <li key={path}>
                <a
                  href={`#${path}`}
                  aria-current={section === path ? "page" : undefined}
                  className="block whitespace-nowrap border-b-2 border-transparent px-3 py-2 hover:border-slate-400 aria-[current=page]:border-blue-700 aria-[current=page]:font-semibold aria-[current=page]:text-blue-800"
                >
                  {name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto max-w-6xl p-4 sm:p-6 focus:outline-none">
        <Page path={route.path} query={route.query} user={user} />
      </main>
    </div>
  );
}

function Page({ path, query, user }: { path: string; query: URLSearchParams; user: UserProfile }) {
  const [, section, id] = path.split("/");
  switch (`/${section ?? ""}`) {
    case "/":
      return <DashboardPage />;
    case "/rules":
      return <RulesPage id={id ?? null} query={query} />;
    case "/watchlist":
      return <WatchlistPage id={id ?? null} />;
    case "/deals":
      return <DealsPage query={query} />;
    case "/alerts":
      return <AlertsPage />;
    case "/preferences":
      return <PreferencesPage />;
    case "/emails":
      return <EmailPreviewPage template={id ?? "alert"} />;
    case "/admin":
      if (user.role !== "admin") return <NotFound />;
      return (
        <Suspense fallback={<p role="status">Loading the admin console…</p>}>
          <AdminPage view={id ?? "stats"} query={query} />
        </Suspense>
      );
  }
  return <NotFound />;
}

function NotFound() {
  return (
    <div>
      <h1 className="mb-2 text-2xl font-semibold">Page not found</h1>
      <p>
        <a href="#/" className="text-blue-700 underline">
          Back to the dashboard
        </a>
      </p>
    </div>
  );
}
