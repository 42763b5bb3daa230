-- +goose Up
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('employee', 'agent', 'admin')),
    active        boolean NOT NULL DEFAULT true,
    -- NULL for accounts that cannot log in with a password yet.
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_lower CHECK (email = lower(email))
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_created_idx ON users (created_at, id);

-- Refresh tokens are stored as SHA-256 hashes. Every token descends from one
-- login (its family); presenting a token that was already rotated revokes the
-- whole family, since either the holder or a thief replayed it.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

-- Ed25519 signing keys. A new key is published in the JWKS at once but signs
-- only from active_from on, so verifiers see it before its first token; the
-- key it replaces signs until then (retired_at) and stays published until the
-- tokens it signed have expired.
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    private_key bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    active_from timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

-- Service accounts let services obtain tokens for calls between them
-- (OAuth 2.0 client credentials). Secrets are 256-bit random, so a SHA-256
-- hash is enough to store them.
CREATE TABLE service_accounts (
    client_id   text PRIMARY KEY,
    secret_hash bytea NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE service_accounts;
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE users;
