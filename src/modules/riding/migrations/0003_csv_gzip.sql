-- riding: the raw CSV is stored gzip-compressed (issue 23: an hour at 100 Hz
-- is 21 MB of text, about 8 MB as gzip).  encoding says how a row keeps it:
-- 'identity' = the text in csv (every row stored before this migration, which
-- still reads as it is), 'gzip' = one gzip member in csv_gz and '' in csv.
-- content_hash in riding_sessions stays the SHA-256 of the uncompressed
-- bytes.  Portable SQL (SQLite and PostgreSQL: BLOB becomes BYTEA).
ALTER TABLE riding_session_data ADD COLUMN encoding TEXT NOT NULL DEFAULT 'identity';
ALTER TABLE riding_session_data ADD COLUMN csv_gz BLOB;
