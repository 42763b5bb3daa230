-- +goose Up

-- The user directory: whom to notify and at which address, kept from
-- auth's user.created and user.updated events. event_time is the time of
-- the event that wrote the row, so an older event arriving late changes
-- nothing.
CREATE TABLE users (
    id         uuid        PRIMARY KEY,
    email      text        NOT NULL,
    name       text        NOT NULL,
    role       text        NOT NULL,
    active     boolean     NOT NULL,
    event_time timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- SLA alerts go to every active admin.
CREATE INDEX users_active_admins_idx ON users (id) WHERE role = 'admin' AND active;

-- The ticket directory: what a notification needs to know about a ticket
-- that its event may not carry (a comment's ticket title), kept from the
-- ticket events, newest event first. status is NULL until an event that
-- carries it arrives (ticket.assigned does not).
CREATE TABLE tickets (
    id           uuid        PRIMARY KEY,
    title        text        NOT NULL,
    requester_id uuid,
    assignee_id  uuid,
    status       text,
    event_time   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- In-app notifications. One event tells a user at most one thing; the
-- unique key backs up the inbox claim that makes redeliveries no-ops.
CREATE TABLE notifications (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL,
    event_id   uuid        NOT NULL,
    kind       text        NOT NULL,
    ticket_id  uuid,
    title      text        NOT NULL,
    body       text        NOT NULL,
    link       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at    timestamptz,
    UNIQUE (event_id, user_id)
);
-- A user's list, newest first, and their unread ones (count and filter).
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at, id);
CREATE INDEX notifications_unread_idx ON notifications (user_id, created_at, id) WHERE read_at IS NULL;

-- E-mail settings per user and kind; a kind without a row is on.
CREATE TABLE email_preferences (
    user_id    uuid        NOT NULL,
    kind       text        NOT NULL,
    enabled    boolean     NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);

-- E-mails to send, written in the transaction of the notification they
-- announce and sent by the sender loop: queued until sent, or failed for
-- good. message is the rendered message, so every attempt sends the same.
CREATE TABLE email_deliveries (
    id              uuid        PRIMARY KEY,
    notification_id uuid        NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL,
    to_address      text        NOT NULL,
    message         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
-- The sender's queue: due deliveries, oldest due first.
CREATE INDEX email_deliveries_due_idx ON email_deliveries (next_attempt_at) WHERE status = 'queued';

-- The delivery log: every attempt, with what the transport answered.
CREATE TABLE email_attempts (
    id          bigserial   PRIMARY KEY,
    delivery_id uuid        NOT NULL REFERENCES email_deliveries (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    outcome     text        NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed')),
    detail      text        NOT NULL DEFAULT ''
);
CREATE INDEX email_attempts_delivery_idx ON email_attempts (delivery_id, id);

-- +goose Down
DROP TABLE email_attempts;
DROP TABLE email_deliveries;
DROP TABLE email_preferences;
DROP TABLE notifications;
DROP TABLE tickets;
DROP TABLE users;
