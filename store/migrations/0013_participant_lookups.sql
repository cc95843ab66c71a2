-- A participant's ledger records and confirmations were each found by an
-- index on the participant: an entry at a random place of a large index for
-- every participation of a returning participant, paid on every write for
-- reads that are rare (a participant's proof, erasure, an expiry). They are
-- now found through the participant's participations, whose ids grow with
-- time, so that these indexes take their entries at the end. Only the
-- records without a participation (confirmations, expiries, withdrawals)
-- keep an index on the participant.
DROP INDEX ledger_records_participant;
CREATE INDEX ledger_records_participation ON ledger_records (participation_id);
CREATE INDEX ledger_records_alone ON ledger_records (participant_id, seq) WHERE participation_id IS NULL;
DROP INDEX confirmations_participant;
CREATE INDEX confirmations_participation ON confirmations (participation_id);
