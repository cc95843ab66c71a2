-- The unique index on consent_events.id, which no query used, goes: one
-- B-tree fewer per event (each participation of five opt-ins writes
-- five). Event ids stay unique by construction (NewID); the chain's
-- order, (account_id, seq), keeps its unique index. SQLite rebuilds its
-- tables for the same end (see the .sqlite.sql file).
ALTER TABLE consent_events DROP CONSTRAINT IF EXISTS consent_events_pkey;
