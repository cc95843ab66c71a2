-- The emails of a confirmation were found by reading the whole outbox:
-- every email ever queued stays there (sent ones keep their recipient
-- until the participant is erased), so a participant's page built an
-- index of the outbox for each view (2 s with two million emails) and an
-- erasure read it whole. Confirmation ids grow with time: the index takes
-- its entries at the end.
CREATE INDEX mail_outbox_confirmation ON mail_outbox (confirmation_id);
