-- auth: users and API tokens.  Portable SQL (SQLite and PostgreSQL):
-- timestamps are INTEGER epoch seconds (UTC), lists are comma-separated TEXT.
CREATE TABLE auth_users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE auth_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES auth_users(id),
    token_hash  TEXT    NOT NULL UNIQUE,
    name        TEXT,
    scopes      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE INDEX auth_tokens_user ON auth_tokens(user_id);
