-- +goose Up

-- Password resets ("forgot password"). Only the SHA-256 hash of the
-- 256-bit random token is kept; the token itself leaves auth once, in the
-- user.password_reset_requested event the notification service mails.
-- A reset works once (used_at) until expires_at; using one revokes the
-- user's other outstanding resets (revoked_at).
CREATE TABLE password_resets (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

-- +goose Down
DROP TABLE password_resets;
