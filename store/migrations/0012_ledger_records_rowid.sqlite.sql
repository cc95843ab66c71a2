-- SQLite's ledger records move into a table with a rowid. A table without
-- rowid keeps its rows in the B-tree of its key, where a row longer than
-- about a quarter of a page spills onto an overflow page of its own: a
-- record of five opt-ins (~950 bytes with its events' ids and hashes) took
-- a 4 KiB page for its last few hundred bytes, half the records did, and
-- those pages were three fifths of a benchmark database (503 MB free of
-- 806 MB of records at 300,000 participations). In a table with a rowid a
-- row stays on its leaf up to nearly a page, and records arrive in the
-- order of their rowid, filling each page before the next: the database is
-- a third smaller, and a participation writes one page less to the WAL and
-- again at the checkpoint. The key (account_id, seq) stays unique, as an
-- index; the participant's index holds the rowid instead of the account.
CREATE TABLE ledger_records_rebuilt (
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
INSERT INTO ledger_records_rebuilt (account_id, seq, participant_id, participation_id, campaign_id, confirmation_id,
    source, ip_hash, created_at, prev_hash, events)
    SELECT account_id, seq, participant_id, participation_id, campaign_id, confirmation_id, source, ip_hash,
    created_at, prev_hash, events
    FROM ledger_records ORDER BY account_id, seq;
DROP TABLE ledger_records;
ALTER TABLE ledger_records_rebuilt RENAME TO ledger_records;
CREATE INDEX ledger_records_participant ON ledger_records (participant_id, seq);
