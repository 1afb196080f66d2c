CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE jobs (
    job_id          TEXT PRIMARY KEY NOT NULL,
    video_id        TEXT NOT NULL,
    owner_id        TEXT NOT NULL,
    filename        TEXT NOT NULL,
    preset          TEXT NOT NULL,
    status          TEXT NOT NULL,
    progress        REAL NOT NULL DEFAULT 0,
    mp3_id          TEXT,
    error_code      TEXT,
    error_message   TEXT,
    idempotency_key TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- ordering key for "newest first" and "oldest queued first" that survives equal timestamps
    seq             INTEGER NOT NULL
);

CREATE UNIQUE INDEX jobs_owner_idempotency_key ON jobs (owner_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_owner_seq ON jobs (owner_id, seq);
CREATE INDEX jobs_status_seq ON jobs (status, seq);
