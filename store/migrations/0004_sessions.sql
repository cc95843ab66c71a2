-- Admin UI sessions. The id is the SHA-256 (hex) of the random token kept
-- in the browser's cookie; the token itself is never stored.

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL, -- absolute expiry: created_at + 12 h
    last_seen_at BIGINT NOT NULL  -- idle expiry: 2 h after this
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
