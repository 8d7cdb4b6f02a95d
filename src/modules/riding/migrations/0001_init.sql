-- riding: riders, horses (several riders per horse), sessions and their raw
-- sensor data.  Portable SQL (SQLite and PostgreSQL): started_at is RFC 3339
-- UTC text, created_at INTEGER epoch seconds, summaries JSON text.
CREATE TABLE riding_riders (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE riding_horses (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE riding_horse_riders (
    horse_id INTEGER NOT NULL REFERENCES riding_horses(id),
    rider_id INTEGER NOT NULL REFERENCES riding_riders(id),
    PRIMARY KEY (horse_id, rider_id)
);

-- summary is NULL while a session waits for compute (event-driven summaries).
CREATE TABLE riding_sessions (
    id           INTEGER PRIMARY KEY,
    horse_id     INTEGER NOT NULL REFERENCES riding_horses(id),
    rider_id     INTEGER REFERENCES riding_riders(id),
    started_at   TEXT    NOT NULL,
    content_hash TEXT    NOT NULL,
    bytes        INTEGER NOT NULL,
    summary      TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (horse_id, content_hash)
);

CREATE INDEX riding_sessions_horse_started ON riding_sessions (horse_id, started_at);

CREATE TABLE riding_session_data (
    session_id INTEGER PRIMARY KEY REFERENCES riding_sessions(id),
    csv        TEXT    NOT NULL
);
