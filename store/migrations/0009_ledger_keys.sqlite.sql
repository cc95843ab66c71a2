-- The ledger and the consent states, rebuilt with fewer B-trees to insert
-- into per row (each participation of five opt-ins writes five events and
-- up to five states):
--
-- * consent_events is keyed by (account_id, seq), the order of the chain,
--   in a table without rowid: the rowid and the unique index on id that
--   no query used are gone (three B-trees per event to two). Event ids
--   stay unique by construction (NewID).
-- * consents is keyed by (participant_id, optin_id) without rowid (three
--   B-trees per state to two).
-- * The foreign keys among a participation's own rows go, as they went on
--   PostgreSQL in migration 5: they are written together by one code path
--   that makes each parent first, and accounts, participants and
--   participations are never deleted; each one cost a lookup per row.
--   The foreign keys to opt-ins stay: an opt-in never answered can be
--   deleted, and an event or a state must never name a missing one.
CREATE TABLE consent_events_rebuilt (
    account_id       TEXT NOT NULL,
    seq              BIGINT NOT NULL,
    id               TEXT NOT NULL,
    participant_id   TEXT NOT NULL,
    optin_id         TEXT NOT NULL REFERENCES optins (id),
    optin_version    INTEGER NOT NULL,
    type             TEXT NOT NULL,
    participation_id TEXT,
    campaign_id      TEXT,
    confirmation_id  TEXT,
    source           TEXT NOT NULL,
    ip_hash          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL,
    PRIMARY KEY (account_id, seq)
) WITHOUT ROWID;
INSERT INTO consent_events_rebuilt (account_id, seq, id, participant_id, optin_id, optin_version, type,
    participation_id, campaign_id, confirmation_id, source, ip_hash, created_at, prev_hash, hash)
    SELECT account_id, seq, id, participant_id, optin_id, optin_version, type,
    participation_id, campaign_id, confirmation_id, source, ip_hash, created_at, prev_hash, hash
    FROM consent_events ORDER BY account_id, seq;
DROP TABLE consent_events;
ALTER TABLE consent_events_rebuilt RENAME TO consent_events;
CREATE INDEX consent_events_participant ON consent_events (participant_id, seq);

CREATE TABLE consents_rebuilt (
    participant_id TEXT NOT NULL,
    optin_id       TEXT NOT NULL REFERENCES optins (id),
    account_id     TEXT NOT NULL,
    state          TEXT NOT NULL,
    added_at       BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (participant_id, optin_id)
) WITHOUT ROWID;
INSERT INTO consents_rebuilt (participant_id, optin_id, account_id, state, added_at, updated_at)
    SELECT participant_id, optin_id, account_id, state, added_at, updated_at FROM consents
    ORDER BY participant_id, optin_id;
DROP TABLE consents;
ALTER TABLE consents_rebuilt RENAME TO consents;
CREATE INDEX consents_audience ON consents (optin_id, state, added_at, participant_id);
