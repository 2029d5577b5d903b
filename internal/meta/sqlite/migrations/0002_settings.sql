-- Registry-wide settings: a small key/value table shared by every node
-- (account id, sealed root access key, ECR account settings, ...).
-- Values are opaque bytes owned by their writer.

CREATE TABLE settings (
    key        TEXT   NOT NULL PRIMARY KEY,
    value      BLOB   NOT NULL,
    updated_at BIGINT NOT NULL
);
