-- The ledger as records (see store/records.go): one row for the events of
-- one participation (or confirmation, withdrawal, expiry) instead of one
-- row per event. A participation of five opt-ins inserts one row and one
-- entry of the participant index instead of five of each: the events'
-- rows were a third of a bulk import's time.
--
-- The events stored before become records of one event each: the chain,
-- its numbers and hashes are unchanged, and `assent ledger verify` holds
-- as before. The opt-ins an event names are no longer foreign keys: an
-- opt-in can be deleted only while it was never answered (optins.answered,
-- set in the transaction that writes its first event), which is what the
-- key guarded; consents still name their opt-in by key.
CREATE TABLE ledger_records (
    account_id       TEXT NOT NULL,
    seq              BIGINT NOT NULL, -- the number of its first event
    participant_id   TEXT NOT NULL,
    participation_id TEXT,
    campaign_id      TEXT,
    confirmation_id  TEXT,
    source           TEXT NOT NULL,
    ip_hash          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    prev_hash        TEXT NOT NULL, -- the hash of the event before its first
    events           TEXT NOT NULL,
    PRIMARY KEY (account_id, seq)
);
INSERT INTO ledger_records (account_id, seq, participant_id, participation_id, campaign_id, confirmation_id, source,
    ip_hash, created_at, prev_hash, events)
    SELECT account_id, seq, participant_id, participation_id, campaign_id, confirmation_id, source, ip_hash, created_at,
    prev_hash, type || ' ' || CAST(optin_version AS TEXT) || ' ' || optin_id || ' ' || id || ' ' || hash
    FROM consent_events ORDER BY account_id, seq;
DROP TABLE consent_events;
CREATE INDEX ledger_records_participant ON ledger_records (participant_id, seq);
