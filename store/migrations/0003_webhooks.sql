-- Data push: webhook endpoints, the events pushed to them, and the durable
-- outbox of deliveries (one per event and endpoint) with every attempt.

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    url             TEXT NOT NULL,
    events          TEXT NOT NULL, -- space-separated event types
    categories      TEXT NOT NULL, -- space-separated category keys; empty: no filter
    header_name     TEXT NOT NULL, -- '' when there is no custom header
    header_value    TEXT NOT NULL,
    secret          TEXT NOT NULL, -- whsec_…, in clear: signing needs it
    -- After a rotation, calls are signed with the previous secret too until
    -- previous_until, so that receivers can switch without losing any.
    previous_secret TEXT NOT NULL,
    previous_until  BIGINT NOT NULL,
    enabled         BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, id);

-- An event is written once, in the transaction of the change it announces,
-- with its body exactly as it is sent (and replayed).
CREATE TABLE webhook_events (
    id             TEXT PRIMARY KEY, -- evt_…, the webhook-id header
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    type           TEXT NOT NULL,
    participant_id TEXT,             -- whose personal data the body holds, for erasure
    payload        TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX webhook_events_participant ON webhook_events (participant_id);

-- The outbox. A worker claims a pending delivery by moving next_at to the
-- end of its lease and setting lease; a worker that dies leaves the lease
-- to run out, and the delivery is due again.
CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL REFERENCES webhook_events (id),
    state       TEXT NOT NULL,   -- pending, delivered, failed, cancelled
    attempts    INTEGER NOT NULL,
    next_at     BIGINT NOT NULL, -- pending: due at, or end of the lease; far future otherwise
    lease       TEXT NOT NULL,   -- the claim of the worker holding it; '' when none
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, state);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- The delivery log: one row per HTTP attempt.
CREATE TABLE webhook_attempts (
    id            TEXT PRIMARY KEY,
    delivery_id   TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    endpoint_id   TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    attempt       INTEGER NOT NULL, -- 1 for a delivery's first try
    created_at    BIGINT NOT NULL,  -- when the request started
    duration_us   BIGINT NOT NULL,
    status_code   INTEGER,          -- NULL: no answer
    error         TEXT NOT NULL,
    response_body TEXT NOT NULL,    -- the start of the answer
    success       BOOLEAN NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
