-- A participation's answers move into its own row (store/answers.go has
-- the format): the write path inserts one row per participation instead
-- of one more per opt-in, and readers no longer join.
ALTER TABLE participations ADD COLUMN answers TEXT NOT NULL DEFAULT '';
UPDATE participations SET answers = COALESCE((
    SELECT string_agg(CASE WHEN a.response THEN '1' WHEN NOT a.response THEN '0' ELSE '-' END
        || CASE WHEN a.confirmed THEN '1' ELSE '0' END || CAST(a.optin_version AS TEXT) || ':' || a.optin_id,
        ',' ORDER BY a.position)
    FROM participation_answers a WHERE a.participation_id = participations.id), '');
DROP TABLE participation_answers;
