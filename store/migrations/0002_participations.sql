-- Participants, participations and the consent ledger.

ALTER TABLE accounts ADD COLUMN participants_count BIGINT NOT NULL DEFAULT 0;
-- The head of the account's event chain, so that deleting the newest
-- events shows too.
ALTER TABLE accounts ADD COLUMN ledger_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN ledger_hash TEXT NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000';

CREATE TABLE participants (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    seq        BIGINT NOT NULL, -- 1, 2, 3… within the account: a dense number for bitmaps
    email      TEXT,            -- normalised; NULL once erased
    first_name TEXT,
    last_name  TEXT,
    created_at BIGINT NOT NULL,
    erased_at  BIGINT,
    UNIQUE (account_id, email),
    UNIQUE (account_id, seq)
);

CREATE TABLE participations (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    campaign_id     TEXT NOT NULL REFERENCES campaigns (id),
    participant_id  TEXT NOT NULL REFERENCES participants (id),
    participant_seq BIGINT NOT NULL,  -- the participant's number, for the statistics' bitmaps
    new_participant BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    day             INTEGER NOT NULL, -- YYYYMMDD in the account's time zone
    ip_hash         TEXT NOT NULL,
    user_agent      TEXT,             -- NULL once the participant is erased
    utm_source      TEXT NOT NULL,
    utm_medium      TEXT NOT NULL,
    utm_campaign    TEXT NOT NULL,
    utm_term        TEXT NOT NULL,
    utm_content     TEXT NOT NULL,
    source          TEXT NOT NULL
);
CREATE INDEX participations_campaign ON participations (campaign_id, id);
CREATE INDEX participations_participant ON participations (participant_id, id);

-- What a participation's form showed, and the answers: one row per opt-in.
CREATE TABLE participation_answers (
    participation_id TEXT NOT NULL REFERENCES participations (id),
    optin_id         TEXT NOT NULL REFERENCES optins (id),
    optin_version    INTEGER NOT NULL,
    position         INTEGER NOT NULL,
    response         BOOLEAN, -- NULL: an optional radio left blank
    -- accepted and in force: a single opt-in, or a double opt-in given
    -- already or confirmed later by this participation's email
    confirmed        BOOLEAN NOT NULL,
    PRIMARY KEY (participation_id, optin_id)
);

-- The ledger: append-only; each event's hash covers the previous one of
-- its account, so an edit or a deletion breaks the chain.
CREATE TABLE consent_events (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    seq              BIGINT NOT NULL,
    participant_id   TEXT NOT NULL REFERENCES participants (id),
    optin_id         TEXT NOT NULL REFERENCES optins (id),
    optin_version    INTEGER NOT NULL,
    type             TEXT NOT NULL,
    participation_id TEXT REFERENCES participations (id),
    campaign_id      TEXT,
    confirmation_id  TEXT,
    source           TEXT NOT NULL,
    ip_hash          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL,
    UNIQUE (account_id, seq)
);
CREATE INDEX consent_events_participant ON consent_events (participant_id, seq);

-- The current state per participant and opt-in, derived from the events.
CREATE TABLE consents (
    account_id     TEXT NOT NULL,
    participant_id TEXT NOT NULL REFERENCES participants (id),
    optin_id       TEXT NOT NULL REFERENCES optins (id),
    state          TEXT NOT NULL,
    added_at       BIGINT NOT NULL, -- time of the event that made the current state
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (participant_id, optin_id)
);
CREATE INDEX consents_audience ON consents (optin_id, state, added_at, participant_id);

CREATE TABLE idempotency_keys (
    account_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- Double opt-in: one confirmation per participation that accepted one or
-- more double opt-ins. The token is stored only as a hash.
CREATE TABLE confirmations (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    participant_id   TEXT NOT NULL REFERENCES participants (id),
    participation_id TEXT NOT NULL REFERENCES participations (id),
    token_hash       TEXT NOT NULL UNIQUE,
    optin_ids        TEXT NOT NULL, -- space-separated
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    confirmed_at     BIGINT,
    expired_at       BIGINT
);
CREATE INDEX confirmations_open ON confirmations (expires_at);

-- Emails to send, written in the transaction that decides them and
-- rendered when sent. A confirmation email's token is kept here in clear
-- only until the email is sent; then it is wiped.
CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    kind            TEXT NOT NULL, -- confirmation
    confirmation_id TEXT REFERENCES confirmations (id),
    recipient       TEXT NOT NULL,
    language        TEXT NOT NULL,
    token           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_at         BIGINT NOT NULL, -- not before; far future once sent
    sent_at         BIGINT,
    last_error      TEXT NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_at);
