-- riding: summaries are computed after the upload answers (issue 18: the
-- riding.session_uploaded event).  status: 'pending' from the upload until
-- the event's handler stored compute's summary ('ready') or gave up
-- ('failed', with compute's message in error).  Every row stored before
-- this migration was summarized in its upload: 'ready' (a row without a
-- summary, which no release wrote, is 'failed' rather than a 'ready' with
-- nothing in it).  Portable SQL (SQLite and PostgreSQL).
ALTER TABLE riding_sessions ADD COLUMN status TEXT NOT NULL DEFAULT 'ready'
    CHECK (status IN ('pending', 'ready', 'failed'));
ALTER TABLE riding_sessions ADD COLUMN error TEXT;
UPDATE riding_sessions SET status = 'failed', error = 'stored without a summary'
    WHERE summary IS NULL;
