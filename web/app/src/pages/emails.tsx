// E-mail preview: the alert, digest, verification, password-reset and newsletter mails as the
// server renders them (with the user's real data when there is some), as HTML and as text.
// The HTML is shown in a sandboxed frame: no scripts, no same-origin access.
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api } from "../lib/api";
import { Badge, Loaded, PageTitle } from "../components";

interface EmailPreview {
  template: string;
  subject: string;
  html: string;
  text: string;
  sample: boolean;
}

const TEMPLATES: [string, string][] = [
  ["alert", "Deal alert"],
  ["digest", "Digest"],
  ["verification", "Address verification"],
  ["password-reset", "Password reset"],
  ["newsletter", "Weekly newsletter"],
];

export function EmailPreviewPage({ template }: { template: string }) {
  const [format, setFormat] = useState<"html" | "text">("html");
  const preview = useQuery({
    queryKey: ["email-preview", template],
    queryFn: () => api<EmailPreview>("GET", `/api/v1/me/email-previews/${encodeURIComponent(template)}`),
  });
  return (
    <>
      <PageTitle>E-mail preview</PageTitle>
      <nav aria-label="Templates" className="mb-4 flex flex-wrap gap-1">
        {TEMPLATES.map(([id, name]) => (
          <a
            key={id}
            href={`#/emails/${id}`}
            aria-current={template === id ? "page" : undefined}
            className="rounded-full border border-slate-400 bg-white px-3 py-1 text-sm aria-[current=page]:bg-blue-700 aria-[current=page]:text-white"
          >
            {name}
          </a>
        ))}
      </nav>
      <Loaded query={preview} what="the preview">
        {(mail) => (
          <section aria-label="Preview" className="rounded-lg bg-white p-4 shadow">
            <p className="mb-2">
              <span className="text-sm text-slate-600">Subject: </span>
              <strong>{mail.subject}</strong> {mail.sample ? <Badge tone="amber">sample data</Badge> : <Badge tone="green">your data</Badge>}
            </p>
            <div role="group" aria-label="Format" className="mb-3 flex gap-1">
              {(["html", "text"] as const).map((f) => (
                <button
                  key={f}
                  type="button"
                  aria-pressed={format === f}
                  onClick={() => setFormat(f)}
                  className="rounded border border-slate-400 px-3 py-1 text-sm aria-pressed:bg-blue-700 aria-pressed:text-white"
                >
                  {f === "html" ? "HTML" : "Plain text"}
                </button>
              ))}
            </div>
            {format === "html" ? (
              <iframe title={`${mail.subject} (HTML)`} sandbox="" srcDoc={mail.html} className="h-[32rem] w-full rounded border border-slate-200" />
            ) : (
              <pre tabIndex={0} aria-label={`${mail.subject} (plain text)`} className="overflow-x-auto whitespace-pre-wrap break-words rounded border border-slate-200 p-3 text-sm [overflow-wrap:anywhere]">
                {mail.text}
              </pre>
            )}
          </section>
        )}
      </Loaded>
    </>
  );
}
