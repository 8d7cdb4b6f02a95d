-- auth: what keeps auth from being turned against its users.
--   parent_id      the token whose holder minted this one (create_token);
--                  revoking a token revokes its children.  NULL = a root
--                  (login, create-admin, or minted with the password).
--   auth_login_failures  failed logins per (email, client address) and the
--                  time the pair is locked until (exponential wait).
--   auth_rate      login/register calls per client address and minute.
-- Portable SQL (SQLite and PostgreSQL); times are epoch seconds.
ALTER TABLE auth_tokens ADD COLUMN parent_id INTEGER;
CREATE INDEX auth_tokens_parent ON auth_tokens (parent_id);

CREATE TABLE auth_login_failures (
    email        TEXT    NOT NULL,
    addr         TEXT    NOT NULL,
    failures     INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    PRIMARY KEY (email, addr)
);
CREATE INDEX auth_login_failures_last ON auth_login_failures (last_at);

CREATE TABLE auth_rate (
    addr         TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL
);
