-- API key scopes: existing keys act for their account; ingest keys push listings as one source.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'account';
ALTER TABLE api_keys ADD COLUMN ingest_source TEXT;
