-- On SQLite this step keeps participations in the order of their campaign
-- and participants without rowid (see the .sqlite.sql file). PostgreSQL
-- keeps a table's rows apart from its indexes whatever its key, and has
-- had no foreign keys on either table since migration 5: nothing to do.
SELECT 1;
