-- The open confirmations of a participant: an expiry leaves alone the
-- opt-ins that a later confirmation still awaits.
CREATE INDEX confirmations_participant ON confirmations (participant_id);
