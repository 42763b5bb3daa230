-- +goose Up

-- Webhook endpoints registered by admins: where to POST the events of the
-- types they chose. secret signs every delivery (HMAC-SHA256); it is shown
-- to the admin once. An endpoint stops receiving events when an admin turns
-- it off or when its receiver kept failing for the failure window
-- (disabled_at and disabled_reason then say when and why).
CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    url             text NOT NULL,
    description     text NOT NULL DEFAULT '',
    event_types     text[] NOT NULL,
    secret          text NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    disabled_at     timestamptz,
    disabled_reason text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- The dispatcher's question for every event: which active endpoints want it.
CREATE INDEX webhook_endpoints_types_idx ON webhook_endpoints USING gin (event_types) WHERE active;

-- One delivery per endpoint and event (the dispatcher's idempotency key),
-- with the envelope to POST and the last attempt's outcome: the delivery
-- log admins read. status: pending until the receiver answered 2xx
-- (delivered), or given up on (failed: the endpoint was disabled; dropped:
-- an admin turned it off or deleted it).
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    subject          text NOT NULL DEFAULT '',
    payload          bytea NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dropped')),
    attempts         integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_response    text,
    last_duration_ms integer,
    last_error       text,
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
-- The log of an endpoint, newest first.
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
