-- IAM users, groups, access keys and policies. Names are unique without
-- regard to case, as in IAM: name_key is the lower-cased name and every
-- lookup goes through it; name keeps the spelling the user was created with.
-- Access key secrets are stored sealed with the server key, never in clear.
-- As the SQLite store's 0003_iam.sql, in PostgreSQL's dialect.

CREATE TABLE iam_users (
    name_key   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL,
    path       TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE iam_groups (
    name_key   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL,
    path       TEXT COLLATE "C" NOT NULL,
    group_id   TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE iam_access_keys (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_key      TEXT COLLATE "C" NOT NULL REFERENCES iam_users (name_key),
    sealed_secret BYTEA  NOT NULL,
    status        TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX iam_access_keys_user ON iam_access_keys (user_key);

CREATE TABLE iam_user_policies (
    owner_key TEXT COLLATE "C" NOT NULL REFERENCES iam_users (name_key),
    name      TEXT COLLATE "C" NOT NULL,
    document  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (owner_key, name)
);

CREATE TABLE iam_group_policies (
    owner_key TEXT COLLATE "C" NOT NULL REFERENCES iam_groups (name_key),
    name      TEXT COLLATE "C" NOT NULL,
    document  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (owner_key, name)
);

CREATE TABLE iam_user_attached_policies (
    user_key   TEXT COLLATE "C" NOT NULL REFERENCES iam_users (name_key),
    policy_arn TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_key, policy_arn)
);

CREATE TABLE iam_group_members (
    group_key TEXT COLLATE "C" NOT NULL REFERENCES iam_groups (name_key),
    user_key  TEXT COLLATE "C" NOT NULL REFERENCES iam_users (name_key),
    PRIMARY KEY (group_key, user_key)
);
CREATE INDEX iam_group_members_user ON iam_group_members (user_key);
