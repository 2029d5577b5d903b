-- Lifecycle policies, previews, image storage states (archive), leases and
-- pull-time update exclusions.

CREATE TABLE lifecycle_policies (
    repository        TEXT   NOT NULL PRIMARY KEY REFERENCES repositories (name) ON DELETE CASCADE,
    policy_text       TEXT   NOT NULL,
    updated_at        BIGINT NOT NULL,
    last_evaluated_at BIGINT           -- NULL until the policy first ran
);

-- The latest preview of each repository.
CREATE TABLE lifecycle_previews (
    repository  TEXT   NOT NULL PRIMARY KEY REFERENCES repositories (name) ON DELETE CASCADE,
    status      TEXT   NOT NULL,
    policy_text TEXT   NOT NULL,
    results     BLOB,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- A manifest's storage state; no row means ACTIVE and never changed.
CREATE TABLE image_states (
    repository        TEXT   NOT NULL,
    digest            TEXT   NOT NULL,
    status            TEXT   NOT NULL,
    last_archived_at  BIGINT,
    last_activated_at BIGINT,
    PRIMARY KEY (repository, digest),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);

-- Named leases: one holder at a time until expires_at.
CREATE TABLE leases (
    name       TEXT   NOT NULL PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE pull_time_exclusions (
    principal_arn TEXT   NOT NULL PRIMARY KEY,
    created_at    BIGINT NOT NULL
);
