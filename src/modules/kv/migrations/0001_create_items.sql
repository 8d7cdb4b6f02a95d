-- kv: one row per key.  Times: updated_at is ISO-8601 UTC text,
-- expires_at is milliseconds since the Unix epoch (NULL = never).
CREATE TABLE kv_items (
    key        TEXT    NOT NULL PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    expires_at INTEGER
);
CREATE INDEX kv_items_expires ON kv_items (expires_at) WHERE expires_at IS NOT NULL;
