-- Image scanning: the persisted scan queue, the latest result per image,
-- the OSV vulnerability database and scan completion events.

CREATE TABLE scan_jobs (
    repository  TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    enqueued_at BIGINT  NOT NULL,
    lease_until BIGINT  NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repository, digest),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
CREATE INDEX scan_jobs_ready ON scan_jobs (lease_until, enqueued_at);

CREATE TABLE scan_results (
    repository         TEXT    NOT NULL,
    digest             TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    started_at         BIGINT  NOT NULL,
    requested_manually BOOLEAN NOT NULL,
    completed_at       BIGINT,
    packages           BYTEA,
    findings           BYTEA,
    source_updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (repository, digest),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);

CREATE TABLE vulns (
    id       TEXT   NOT NULL PRIMARY KEY,
    modified BIGINT NOT NULL,
    data     BYTEA   NOT NULL
);

CREATE TABLE vuln_packages (
    ecosystem TEXT NOT NULL,
    name      TEXT NOT NULL,
    vuln_id   TEXT NOT NULL REFERENCES vulns (id) ON DELETE CASCADE,
    PRIMARY KEY (ecosystem, name, vuln_id)
);
CREATE INDEX vuln_packages_vuln ON vuln_packages (vuln_id);

CREATE TABLE scan_events (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repository TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    counts     BYTEA,
    at         BIGINT  NOT NULL
);
