-- Plans on accounts; owned records as versioned JSON documents; the shared catalogue of tracked
-- products, their price history, and listings seen in sources.
ALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';

CREATE TABLE documents (
    kind    TEXT NOT NULL,
    owner   TEXT NOT NULL,
    key     TEXT NOT NULL,
    version INTEGER NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (kind, owner, key)
) WITHOUT ROWID;
CREATE INDEX documents_by_owner ON documents (owner);

CREATE TABLE products (
    id   TEXT PRIMARY KEY,
    url  TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);

CREATE TABLE price_points (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id TEXT NOT NULL,
    at_ns      INTEGER NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX price_points_by_product ON price_points (product_id, at_ns);

CREATE TABLE listings (
    id      TEXT PRIMARY KEY,
    seen_ns INTEGER NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX listings_by_seen ON listings (seen_ns);
