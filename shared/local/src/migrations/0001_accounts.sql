-- Accounts, sessions, API keys, link tokens, audit trail, rate counters, and the durable queue.
CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    display_name        TEXT,
    timezone            TEXT NOT NULL,
    locale              TEXT NOT NULL,
    role                TEXT NOT NULL,
    status              TEXT NOT NULL,
    email_verified_at   TEXT,
    password_changed_at TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    version             INTEGER NOT NULL
);

CREATE TABLE sessions (
    id                   TEXT PRIMARY KEY,
    user_id              TEXT NOT NULL,
    current_refresh_hash TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    last_refreshed_at    TEXT NOT NULL,
    expires_at           TEXT NOT NULL,
    expires_epoch        INTEGER NOT NULL,
    revoked_at           TEXT,
    user_agent           TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id, id);

-- Every refresh token ever issued for a session, so a replayed (rotated) one is recognised.
CREATE TABLE refresh_tokens (
    hash          TEXT PRIMARY KEY,
    session_id    TEXT NOT NULL,
    expires_epoch INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_keys_by_user ON api_keys (user_id, id);

CREATE TABLE one_time_tokens (
    hash          TEXT PRIMARY KEY,
    purpose       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    expires_epoch INTEGER NOT NULL
);
CREATE INDEX one_time_tokens_by_user ON one_time_tokens (user_id);

CREATE TABLE audit_events (
    id      TEXT PRIMARY KEY,
    at      TEXT NOT NULL,
    user_id TEXT,
    actor   TEXT,
    action  TEXT NOT NULL,
    ip      TEXT,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_events_by_user ON audit_events (user_id, at);

CREATE TABLE rate_counters (
    key           TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    hits          INTEGER NOT NULL,
    expires_epoch INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- SQS semantics: a message is invisible until visible_at_ms; each receive bumps receive_count
-- and issues a new receipt; too many receives move it to the dead-letter queue.
CREATE TABLE queue_messages (
    id            TEXT PRIMARY KEY,
    queue         TEXT NOT NULL,
    body          TEXT NOT NULL,
    sent_at_ms    INTEGER NOT NULL,
    visible_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT
);
CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at_ms);
CREATE UNIQUE INDEX queue_messages_receipt ON queue_messages (receipt);
