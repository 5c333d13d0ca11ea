// Sign up, log in, e-mail verification (the e-mailed link lands on #/verify-email?token=…),
// forgot and reset password (#/reset-password?token=…).
import { useEffect, useState, type FormEvent } from "react";
import { api, ApiProblem, logIn } from "../lib/api";
import { navigate } from "../lib/route";
import { Card, Field, Notice, Submit, messageOf } from "../components";

export function LogIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await logIn(email, password);
      navigate("/");
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card title="Log in">
      {error && <Notice kind="error">{error}</Notice>}
      <form onSubmit={submit} noValidate>
        <Field label="E-mail" name="email" type="email" value={email} onChange={setEmail} autoComplete="email" required />
        <Field label="Password" name="password" type="password" value={password} onChange={setPassword} autoComplete="current-password" required />
        <Submit busy={busy}>Log in</Submit>
      </form>
      <p className="mt-4 text-sm">
        <a className="text-blue-700 underline" href="#/forgot-password">Forgot your password?</a>
        {" · "}
        <a className="text-blue-700 underline" href="#/sign-up">Create an account</a>
      </p>
    </Card>
  );
}

export function SignUp() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      await api("POST", "/api/v1/auth/register", { email, password, timezone });
      setDone(true);
    } catch (e) {
      setProblem(e);
    } finally {
      setBusy(false);
    }
  }
  if (done) {
    return (
      <Card title="Check your inbox">
        <Notice kind="success">
          We sent a confirmation link to {email}. Open it to verify your address, then log in.
        </Notice>
      </Card>
    );
  }
  const field = (name: string) => (problem instanceof ApiProblem ? problem.fieldError(name) : undefined);
  const general = problem !== null && !(problem instanceof ApiProblem && problem.errors.length > 0);
  return (
    <Card title="Create your account">
      {general && <Notice kind="error">{messageOf(problem)}</Notice>}
      <form onSubmit={submit} noValidate>
        <Field label="E-mail" name="email" type="email" value={email} onChange={setEmail} error={field("email")} autoComplete="email" required />
        <Field label="Password (8 characters or more)" name="password" type="password" value={password} onChange={setPassword} error={field("password")} autoComplete="new-password" required />
        <Submit busy={busy}>Sign up</Submit>
      </form>
      <p className="mt-4 text-sm">
        Have an account? <a className="text-blue-700 underline" href="#/log-in">Log in</a>
      </p>
    </Card>
  );
}

export function VerifyEmail({ token }: { token: string | null }) {
  const [state, setState] = useState<"working" | "done" | string>("working");
  useEffect(() => {
    if (!token) {
      setState("This link has no token. Open the link from the e-mail again.");
      return;
    }
    api("POST", "/api/v1/auth/verify-email", { token })
      .then(() => setState("done"))
      .catch((e) => setState(messageOf(e)));
  }, [token]);
  return (
    <Card title="Verify your e-mail">
      {state === "working" && <p role="status">Checking the link…</p>}
      {state === "done" && (
        <Notice kind="success">
          Your address is verified. <a className="underline" href="#/log-in">Log in</a>
        </Notice>
      )}
      {state !== "working" && state !== "done" && <Notice kind="error">{state}</Notice>}
    </Card>
  );
}

export function ForgotPassword() {
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api("POST", "/api/v1/auth/password/forgot", { email });
      setSent(true);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card title="Reset your password">
      {sent ? (
        <Notice kind="success">If {email} has an account, a reset link is on its way.</Notice>
      ) : (
        <form onSubmit={submit} noValidate>
          {error && <Notice kind="error">{error}</Notice>}
          <Field label="E-mail" name="email" type="email" value={email} onChange={setEmail} autoComplete="email" required />
          <Submit busy={busy}>Send the reset link</Submit>
        </form>
      )}
    </Card>
  );
}

export function ResetPassword({ token }: { token: string | null }) {
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await api("POST", "/api/v1/auth/password/reset", { token: token ?? "", new_password: password });
      setDone(true);
    } catch (e) {
      setProblem(e);
    } finally {
      setBusy(false);
    }
  }
  if (done) {
    return (
      <Card title="Password changed">
        <Notice kind="success">
          Every session was ended. <a className="underline" href="#/log-in">Log in</a> with the new password.
        </Notice>
      </Card>
    );
  }
  const fieldError = problem instanceof ApiProblem ? problem.fieldError("new_password") : undefined;
  return (
    <Card title="Choose a new password">
      {problem !== null && !fieldError && <Notice kind="error">{messageOf(problem)}</Notice>}
      <form onSubmit={submit} noValidate>
        <Field label="New password (8 characters or more)" name="new_password" type="password" value={password} onChange={setPassword} error={fieldError} autoComplete="new-password" required />
        <Submit busy={busy}>Set the password</Submit>
      </form>
    </Card>
  );
}
