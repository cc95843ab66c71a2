-- Participations numbered 1, 2, 3… within their account, in the order they
-- commit (the account is locked until then): a process serving the same
-- database as others finds by number the participations it has not
-- counted yet (store/follow.go).
ALTER TABLE accounts ADD COLUMN participations_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE participations ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE participations SET seq = n.seq
    FROM (SELECT id, row_number() OVER (PARTITION BY account_id ORDER BY id) AS seq FROM participations) AS n
    WHERE n.id = participations.id;
UPDATE accounts SET participations_count = (SELECT COUNT(*) FROM participations p WHERE p.account_id = accounts.id);
CREATE UNIQUE INDEX participations_seq ON participations (account_id, seq);
