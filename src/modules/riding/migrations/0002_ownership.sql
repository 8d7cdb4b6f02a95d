-- riding: ownership and sharing.  Horses and riders belong to the user who
-- created them (owner_id, an auth user id); NULL = the operator's, visible to
-- admins only.  Rows that existed before this migration keep a NULL owner:
-- riding cannot read auth's tables, so `keel riding assign-owner` hands them
-- to their users.  Portable SQL (SQLite and PostgreSQL).
ALTER TABLE riding_horses ADD COLUMN owner_id INTEGER;
ALTER TABLE riding_riders ADD COLUMN owner_id INTEGER;
ALTER TABLE riding_sessions ADD COLUMN uploaded_by INTEGER;

CREATE INDEX riding_horses_owner ON riding_horses (owner_id);
CREATE INDEX riding_riders_owner ON riding_riders (owner_id);

-- role: 'viewer' (read) or 'editor' (also upload and delete own uploads)
CREATE TABLE riding_horse_shares (
    horse_id   INTEGER NOT NULL REFERENCES riding_horses(id),
    user_id    INTEGER NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('viewer', 'editor')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (horse_id, user_id)
);

CREATE INDEX riding_horse_shares_user ON riding_horse_shares (user_id);
