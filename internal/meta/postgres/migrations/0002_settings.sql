-- Registry-wide settings: a small key/value table shared by every node
-- (account id, sealed root access key, ECR account settings, ...).
-- Values are opaque bytes owned by their writer. As the SQLite store's
-- 0002_settings.sql, in PostgreSQL's dialect.

CREATE TABLE settings (
    key        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value      BYTEA  NOT NULL,
    updated_at BIGINT NOT NULL
);
