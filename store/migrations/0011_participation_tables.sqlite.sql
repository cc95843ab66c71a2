-- Participations kept in the order of their campaign (a table without
-- rowid, keyed by campaign and id): a campaign's participations are read
-- page after page by its export and its list, where they were fetched one
-- random page each from a year of everybody's participations. The id
-- keeps a unique index of its own (confirmations name a participation by
-- it), so the table has four B-trees where it had five (rowid, id,
-- campaign, participant, number).
--
-- Participants are keyed by their id without rowid: the participant of
-- each participation an export lists is one B-tree descent where it was
-- two (the id's index, then the row), and a new participant inserts into
-- three B-trees, not four.
--
-- The foreign keys of both tables go, as they went on PostgreSQL in
-- migration 5 (each one a lookup per row): accounts, campaigns and
-- participants are never deleted, and one code path writes a
-- participation after finding or making its participant. A rebuild of a
-- table that others refer to runs with foreign keys off and checks them
-- all before it commits (see migrateTo), as SQLite's documentation asks.
CREATE TABLE participations_rebuilt (
    campaign_id     TEXT NOT NULL,
    id              TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    seq             BIGINT NOT NULL,  -- 1, 2, 3… within the account
    participant_id  TEXT NOT NULL,
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
    source          TEXT NOT NULL,
    answers         TEXT NOT NULL DEFAULT '', -- see store/answers.go
    PRIMARY KEY (campaign_id, id)
) WITHOUT ROWID;
INSERT INTO participations_rebuilt (campaign_id, id, account_id, seq, participant_id, participant_seq, new_participant,
    created_at, day, ip_hash, user_agent, utm_source, utm_medium, utm_campaign, utm_term, utm_content, source, answers)
    SELECT campaign_id, id, account_id, seq, participant_id, participant_seq, new_participant,
    created_at, day, ip_hash, user_agent, utm_source, utm_medium, utm_campaign, utm_term, utm_content, source, answers
    FROM participations ORDER BY campaign_id, id;
DROP TABLE participations;
ALTER TABLE participations_rebuilt RENAME TO participations;
CREATE UNIQUE INDEX participations_id ON participations (id);
CREATE INDEX participations_participant ON participations (participant_id, id);
CREATE UNIQUE INDEX participations_seq ON participations (account_id, seq);

CREATE TABLE participants_rebuilt (
    id         TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL,
    seq        BIGINT NOT NULL, -- 1, 2, 3… within the account: a dense number for bitmaps
    email      TEXT,            -- normalised; NULL once erased
    first_name TEXT,
    last_name  TEXT,
    created_at BIGINT NOT NULL,
    erased_at  BIGINT,
    UNIQUE (account_id, email),
    UNIQUE (account_id, seq)
) WITHOUT ROWID;
INSERT INTO participants_rebuilt (id, account_id, seq, email, first_name, last_name, created_at, erased_at)
    SELECT id, account_id, seq, email, first_name, last_name, created_at, erased_at FROM participants ORDER BY id;
DROP TABLE participants;
ALTER TABLE participants_rebuilt RENAME TO participants;
