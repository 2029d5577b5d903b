-- Online garbage collection tombstones and repository creation templates.
-- As the SQLite store's 0005_gc_templates.sql, in PostgreSQL's dialect.

-- A digest whose bytes the garbage collector deletes. The row is written in
-- the transaction that removes the blob row (or finds no row, for orphan
-- bytes), stays DELETING until the bytes are gone, then DELETED for a while so
-- that a push that committed the same bytes before the deletion checks they
-- are still there before recording them.
CREATE TABLE gc_blob_deletions (
    digest      TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    size        BIGINT NOT NULL,
    state       TEXT   NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);
CREATE INDEX gc_blob_deletions_state ON gc_blob_deletions (state, digest);

-- Link garbage: links by age.
CREATE INDEX repository_blobs_created_at ON repository_blobs (created_at);

-- Repository creation templates, keyed by prefix ("ROOT" matches every name).
CREATE TABLE repository_creation_templates (
    prefix     TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    document   BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
