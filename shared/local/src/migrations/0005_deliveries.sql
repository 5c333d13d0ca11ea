-- Delivery claims: one row per dedup key, claimed before sending, finished after.
CREATE TABLE deliveries (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
