// Sign up, log in, e-mail verification (the e-mailed link lands on #/verify-email?token=…),
// forgot and reset password (#/reset-password?token=…).
import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { api, ApiProblem, logIn } from "../lib/api";
import { navigate } from "../lib/route";
import { Card, Field, Notice, Submit, fieldError, messageOf, submitting } from "../components";

export function LogIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const login = useMutation({ mutationFn: () => logIn(email, password), onSuccess: () => navigate("/") });
  return (
    <Card title="Log in">
      {login.isError && <Notice kind="error">{messageOf(login.error)}</Notice>}
      <form onSubmit={submitting(login.mutate)} noValidate>
        <Field label="E-mail" name="email" type="email" value={email} onChange={setEmail} autoComplete="email" required />
        <Field label="Password" name="password" type="password" value={password} onChange={setPassword} autoComplete="current-password" required />
        <Submit busy={login.isPending}>Log in</Submit>
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
  const register = useMutation({
    mutationFn: () =>
      api("POST", "/api/v1/auth/register", { email, password, timezone: Intl.DateTimeFormat().resolvedOptions().timeZone }),
  });
  if (register.isSuccess) {
    return (
      <Card title="Check your inbox">
        <Notice kind="success">
          We sent a confirmation link to {email}. Open it to verify your address, then log in.
        </Notice>
      </Card>
    );
  }
  const field = (name: string) => fieldError(register.error, name);
  const general = register.isError && !(register.error instanceof ApiProblem && register.error.errors.length > 0);
  return (
    <Card title="Create your account">
      {general && <Notice kind="error">{messageOf(register.error)}</Notice>}
      <form onSubmit={submitting(register.mutate)} noValidate>
        <Field label="E-mail" name="email" type="email" value={email} onChange={setEmail} error={field("email")} autoComplete="email" required />
        <Field label="Password (8 characters or more)" name="password" type="password" value={password} onChange={setPassword} error={field("password")} autoComplete="new-password" required />
        <Submit busy={register.isPending}>Sign up</Submit>
      </form>
      <p className="mt-4 text-sm">
        Have an account? <a className="text-blue-700 underline" href="#/log-in">Log in</a>
      </p>
    </Card>
  );
}

/** Confirms on a button press, not on open: mail scanners that follow links must not use the
 * one-time token up before the person does. */
export function VerifyEmail({ token }: { token: string | null }) {
  const verify = useMutation({ mutationFn: () => api("POST", "/api/v1/auth/verify-email", { token: token ?? "" }) });
  return (
    <Card title="Verify your e-mail">
      {!token ? (
        <Notice kind="error">This link has no token. Open the link from the e-mail again.</Notice>
      ) : verify.isSuccess ? (
        <Notice kind="success">
          Your address is verified. <a className="underline" href="#/log-in">Log in</a>
        </Notice>
      ) : (
        <form onSubmit={submitting(verify.mutate)} noValidate>
          <p className="mb-4 text-sm text-slate-700">Press the button to confirm this address for your DealPulse account.</p>
          {verify.isError && <Notice kind="error">{messageOf(verify.error)}</Notice>}
          <Submit busy={verify.isPending}>Confirm e-mail address</Submit>
        </form>
      )}
    </Card>
  );
}

export function ForgotPassword() {
  const [email, setEmail] = useState("");
  const forgot = useMutation({ mutationFn: () => api("POST", "/api/v1/auth/password/forgot", { email }) });
  return (
    <Card title="Reset your password">
      {forgot.isSuccess ? (
        <Notice kind="success">If {email} has an account, a reset link is on its way.</Notice>
      ) : (
        <form onSubmit={submitting(forgot.mutate)} noValidate>
          {forgot.isError && <Notice kind="error">{messageOf(forgot.error)}</Notice>}
          <Field label="E-mail" name="email" type="email" value={email} onChange={setEmail} autoComplete="email" required />
          <Submit busy={forgot.isPending}>Send the reset link</Submit>
        </form>
      )}
    </Card>
  );
}

export function ResetPassword({ token }: { token: string | null }) {
  const [password, setPassword] = useState("");
  const reset = useMutation({
    mutationFn: () => api("POST", "/api/v1/auth/password/reset", { token: token ?? "", new_password: password }),
  });
  if (reset.isSuccess) {
    return (
      <Card title="Password changed">
        <Notice kind="success">
          Every session was ended. <a className="underline" href="#/log-in">Log in</a> with the new password.
        </Notice>
      </Card>
    );
  }
  const passwordError = fieldError(reset.error, "new_password");
  return (
    <Card title="Choose a new password">
      {reset.isError && !passwordError && <Notice kind="error">{messageOf(reset.error)}</Notice>}
      <form onSubmit={submitting(reset.mutate)} noValidate>
        <Field label="New password (8 characters or more)" name="new_password" type="password" value={password} onChange={setPassword} error={passwordError} autoComplete="new-password" required />
        <Submit busy={reset.isPending}>Set the password</Submit>
      </form>
    </Card>
  );
}
