-- Initial schema: the SQLite store's 0001_init.sql in PostgreSQL's dialect.
-- Same tables, columns, keys and indexes; BLOB becomes BYTEA, and names and
-- digests are COLLATE "C" so that ordering (listing, paging with "after") is
-- bytewise whatever the database's default collation. Timestamps are BIGINT
-- unix nanoseconds, as there.

CREATE TABLE repositories (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    -- Opaque JSON document owned by the core.
    settings   BYTEA
);

-- Blobs known to exist in the blob store, registry-wide.
CREATE TABLE blobs (
    digest     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A blob visible in a repository. A link needs the blob row; the blob row
-- outlives the link and is reclaimed by garbage collection.
CREATE TABLE repository_blobs (
    repository TEXT COLLATE "C" NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    digest     TEXT COLLATE "C" NOT NULL REFERENCES blobs (digest),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repository, digest)
);
CREATE INDEX repository_blobs_digest ON repository_blobs (digest);

CREATE TABLE manifests (
    repository     TEXT COLLATE "C" NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    digest         TEXT COLLATE "C" NOT NULL,
    media_type     TEXT   NOT NULL,
    content        BYTEA  NOT NULL,
    artifact_type  TEXT   NOT NULL,
    subject        TEXT COLLATE "C",  -- NULL when the manifest has no subject
    config_digest  TEXT COLLATE "C",  -- NULL for indexes and config-less artifacts
    annotations    TEXT,              -- JSON object, NULL when empty
    image_size     BIGINT NOT NULL,
    pushed_at      BIGINT NOT NULL,
    last_pulled_at BIGINT,            -- NULL until the first recorded pull
    PRIMARY KEY (repository, digest)
);
-- Referrers lookup, already in the order it is listed.
CREATE INDEX manifests_subject ON manifests (repository, subject, digest);

-- Blobs (config and layers) a manifest references. Not a foreign key to
-- repository_blobs: reference integrity at push time is the core's check, and
-- unlinking a layer must not be blocked by the store.
CREATE TABLE manifest_blob_refs (
    repository      TEXT COLLATE "C" NOT NULL,
    manifest_digest TEXT COLLATE "C" NOT NULL,
    blob_digest     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (repository, manifest_digest, blob_digest),
    FOREIGN KEY (repository, manifest_digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
-- Garbage collection and "is this blob still referenced here" checks.
CREATE INDEX manifest_blob_refs_blob ON manifest_blob_refs (blob_digest, repository);

-- Child manifests of an index.
CREATE TABLE manifest_manifest_refs (
    repository    TEXT COLLATE "C" NOT NULL,
    parent_digest TEXT COLLATE "C" NOT NULL,
    child_digest  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (repository, parent_digest, child_digest),
    FOREIGN KEY (repository, parent_digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
-- Parents lookup, already in the order it is listed.
CREATE INDEX manifest_manifest_refs_child ON manifest_manifest_refs (repository, child_digest, parent_digest);

-- A tag always points at a stored manifest; deleting the manifest deletes it.
CREATE TABLE tags (
    repository TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    digest     TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repository, name),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
-- Tags of a manifest, already in the order they are listed.
CREATE INDEX tags_digest ON tags (repository, digest, name);

CREATE TABLE uploads (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    repository    TEXT COLLATE "C" NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    upload_offset BIGINT NOT NULL,
    hash_state    BYTEA,
    algorithm     TEXT   NOT NULL,
    backend_state BYTEA,
    started_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX uploads_repository ON uploads (repository);
CREATE INDEX uploads_updated_at ON uploads (updated_at, id);
