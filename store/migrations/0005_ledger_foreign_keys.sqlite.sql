-- On PostgreSQL this step drops the foreign keys among a participation's
-- own rows (see the .postgres.sql file). SQLite cannot drop a foreign key
-- without rebuilding the table, and its checks cost about a tenth of the
-- write path there: they stay.
SELECT 1;
