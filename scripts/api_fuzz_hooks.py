"""Schemathesis hooks for scripts/api-fuzz (loaded through SCHEMATHESIS_HOOKS).

`message/rfc822` bodies (POST /api/v1/ingest/email): schemathesis has no generator for mail, so
draw both well-formed messages with hostile header and body text, and arbitrary bytes.
"""

import ast
import threading

import schemathesis
from hypothesis import strategies as st

# CPython 3.11 keeps the AST builder's recursion counter in per-interpreter state, so two threads
# in `ast.parse` at once corrupt it and one fails with "SystemError: AST constructor recursion depth
# mismatch" (3.11.7 here: two threads parsing while the collector runs a finaliser reproduce it
# within seconds, and never with this lock). Hypothesis parses source to
# describe lambdas, and `--workers 2` runs two hypothesis threads: one such error failed a CI run.
# Serialising `ast.parse` in this process removes the race; parses are rare and cached.
_ast_parse = ast.parse
_ast_parse_lock = threading.Lock()


def _serialised_ast_parse(*args, **kwargs):
    with _ast_parse_lock:
        return _ast_parse(*args, **kwargs)


ast.parse = _serialised_ast_parse

# Header text may carry CR/LF (header injection), non-ASCII and encoded words.
header_text = st.text(max_size=200) | st.sampled_from(
    ["=?utf-8?b?8J+SsCBEZWFscw==?=", "Deals\r\nBcc: victim@example.com", "x" * 2000]
)
body_text = st.text(max_size=2000) | st.sampled_from(
    [
        "<html><body><a href='https://shop.example/p/1'>Laptop</a> $499.99</body></html>",
        "Gaming PC — now $749 (was $999) https://shop.example/pc",
    ]
)
content_type = st.sampled_from(
    [
        "text/plain; charset=utf-8",
        "text/html; charset=utf-8",
        "multipart/alternative; boundary=b1",
        "text/plain; charset=unknown-8bit",
        "application/octet-stream",
    ]
)


def message(sender, to, subject, kind, body):
    head = f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nContent-Type: {kind}\r\n"
    if kind.startswith("multipart/"):
        body = f"--b1\r\nContent-Type: text/plain\r\n\r\n{body}\r\n--b1--\r\n"
    return (head + "\r\n" + body).encode("utf-8", "surrogatepass")


mail = st.builds(
    message,
    header_text | st.emails().map(str),
    st.sampled_from(["deals@inbound.dealpulse.test", "someone@elsewhere.test"]) | header_text,
    header_text,
    content_type,
    body_text,
) | st.binary(max_size=8192)

schemathesis.openapi.media_type("message/rfc822", mail)
