-- Accounts, users, API keys, subcategories, opt-ins and campaigns.
-- Times are Unix microseconds (BIGINT) on both engines; ids are generated in Go.

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    time_zone  TEXT NOT NULL,
    secret     TEXT NOT NULL, -- keys the IP hashes and signed links of this account
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX users_account ON users (account_id, id);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE, -- SHA-256 of the key, hex
    created_at BIGINT NOT NULL
);
CREATE INDEX api_keys_account ON api_keys (account_id, id);

CREATE TABLE subcategories (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    category   TEXT NOT NULL,
    builtin    BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, value)
);

CREATE TABLE optins (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    name         TEXT NOT NULL,
    language     TEXT NOT NULL,
    text         TEXT NOT NULL,
    info         TEXT NOT NULL,
    logo_url     TEXT NOT NULL,
    display      TEXT NOT NULL,
    mandatory    BOOLEAN NOT NULL,
    double_optin BOOLEAN NOT NULL,
    variable     TEXT, -- NULL when unset, so that the unique constraint ignores it
    status       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    answered     BOOLEAN NOT NULL, -- set by the first participation that answers it
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (account_id, variable)
);
CREATE INDEX optins_account ON optins (account_id, id);

CREATE TABLE optin_versions (
    optin_id   TEXT NOT NULL REFERENCES optins (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    language   TEXT NOT NULL,
    text       TEXT NOT NULL,
    info       TEXT NOT NULL,
    display    TEXT NOT NULL,
    mandatory  BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (optin_id, version)
);

CREATE TABLE optin_subcategories (
    optin_id       TEXT NOT NULL REFERENCES optins (id) ON DELETE CASCADE,
    subcategory_id TEXT NOT NULL REFERENCES subcategories (id),
    PRIMARY KEY (optin_id, subcategory_id)
);
CREATE INDEX optin_subcategories_subcategory ON optin_subcategories (subcategory_id);

CREATE TABLE campaigns (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    name             TEXT NOT NULL,
    language         TEXT NOT NULL,
    type             TEXT NOT NULL,
    starts_at        BIGINT,
    ends_at          BIGINT,
    first_name_field TEXT NOT NULL,
    last_name_field  TEXT NOT NULL,
    status           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX campaigns_account ON campaigns (account_id, id);

CREATE TABLE campaign_optins (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    optin_id    TEXT NOT NULL REFERENCES optins (id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, optin_id)
);
CREATE INDEX campaign_optins_optin ON campaign_optins (optin_id);
