-- Initial schema.
--
-- Portable by design: the PostgreSQL store uses the same tables, columns,
-- keys and indexes with only dialect changes (BLOB -> BYTEA, and text
-- columns that are ordered or compared, i.e. names and digests, declared
-- COLLATE "C" so ordering is bytewise as it is here). Timestamps are BIGINT
-- unix nanoseconds; no column depends on SQLite type affinity.

CREATE TABLE repositories (
    name       TEXT   NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    -- Opaque JSON document owned by the core.
    settings   BLOB
);

-- Blobs known to exist in the blob store, registry-wide.
CREATE TABLE blobs (
    digest     TEXT   NOT NULL PRIMARY KEY,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A blob visible in a repository. A link needs the blob row; the blob row
-- outlives the link and is reclaimed by garbage collection.
CREATE TABLE repository_blobs (
    repository TEXT   NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    digest     TEXT   NOT NULL REFERENCES blobs (digest),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repository, digest)
);
CREATE INDEX repository_blobs_digest ON repository_blobs (digest);

CREATE TABLE manifests (
    repository     TEXT   NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    digest         TEXT   NOT NULL,
    media_type     TEXT   NOT NULL,
    content        BLOB   NOT NULL,
    artifact_type  TEXT   NOT NULL,
    subject        TEXT,             -- NULL when the manifest has no subject
    config_digest  TEXT,             -- NULL for indexes and config-less artifacts
    annotations    TEXT,             -- JSON object, NULL when empty
    image_size     BIGINT NOT NULL,
    pushed_at      BIGINT NOT NULL,
    last_pulled_at BIGINT,           -- NULL until the first recorded pull
    PRIMARY KEY (repository, digest)
);
-- Referrers lookup, already in the order it is listed.
CREATE INDEX manifests_subject ON manifests (repository, subject, digest);

-- Blobs (config and layers) a manifest references. Not a foreign key to
-- repository_blobs: reference integrity at push time is the core's check, and
-- unlinking a layer must not be blocked by the store.
CREATE TABLE manifest_blob_refs (
    repository      TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    blob_digest     TEXT NOT NULL,
    PRIMARY KEY (repository, manifest_digest, blob_digest),
    FOREIGN KEY (repository, manifest_digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
-- Garbage collection and "is this blob still referenced here" checks.
CREATE INDEX manifest_blob_refs_blob ON manifest_blob_refs (blob_digest, repository);

-- Child manifests of an index.
CREATE TABLE manifest_manifest_refs (
    repository    TEXT NOT NULL,
    parent_digest TEXT NOT NULL,
    child_digest  TEXT NOT NULL,
    PRIMARY KEY (repository, parent_digest, child_digest),
    FOREIGN KEY (repository, parent_digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
-- Parents lookup, already in the order it is listed.
CREATE INDEX manifest_manifest_refs_child ON manifest_manifest_refs (repository, child_digest, parent_digest);

-- A tag always points at a stored manifest; deleting the manifest deletes it.
CREATE TABLE tags (
    repository TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    digest     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repository, name),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
-- Tags of a manifest, already in the order they are listed.
CREATE INDEX tags_digest ON tags (repository, digest, name);

CREATE TABLE uploads (
    id            TEXT   NOT NULL PRIMARY KEY,
    repository    TEXT   NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    upload_offset BIGINT NOT NULL,
    hash_state    BLOB,
    algorithm     TEXT   NOT NULL,
    backend_state BLOB,
    started_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX uploads_repository ON uploads (repository);
CREATE INDEX uploads_updated_at ON uploads (updated_at, id);
