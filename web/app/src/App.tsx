// The app shell: restores the session on load (refresh token), routes by hash, and keeps
// signed-out visitors on the public pages.
import { useEffect, useState } from "react";
import { logOut, onSession, refreshSession, type UserProfile } from "./lib/api";
import { navigate, useRoute } from "./lib/route";
import { ForgotPassword, LogIn, ResetPassword, SignUp, VerifyEmail } from "./pages/auth";
import { DashboardPage } from "./pages/dashboard";

const PUBLIC = new Set(["/log-in", "/sign-up", "/verify-email", "/forgot-password", "/reset-password"]);

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
  return (
    <div className="min-h-screen">
      <header className="flex items-center justify-between bg-white px-6 py-3 shadow">
        <a href="#/" className="text-lg font-semibold text-blue-800">DealPulse</a>
        <nav aria-label="Account" className="flex items-center gap-4 text-sm">
          <span>{user.email}</span>
          <button type="button" className="underline" onClick={() => logOut().then(() => navigate("/log-in"))}>
            Log out
          </button>
        </nav>
      </header>
      <main className="mx-auto max-w-6xl p-4 sm:p-6">
        <h1 className="mb-4 text-2xl font-semibold">Dashboard</h1>
        <DashboardPage />
      </main>
    </div>
  );
}
