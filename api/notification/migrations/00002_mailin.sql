-- +goose Up

-- Inbound e-mail, stored before anything is done with it and processed by
-- InboundMailWorkflow. message_id (without angle brackets, lower case) is
-- unique: the same message fetched twice, or both posted by SendGrid and
-- read from the mailbox, is stored and processed once. raw is the message
-- as received, so a run parses it the same way every time.
CREATE TABLE inbound_messages (
    id           uuid        PRIMARY KEY,
    message_id   text        NOT NULL UNIQUE,
    source       text        NOT NULL CHECK (source IN ('imap', 'sendgrid')),
    raw          bytea       NOT NULL,
    sender       text        NOT NULL,
    subject      text        NOT NULL,
    status       text        NOT NULL DEFAULT 'received'
                 CHECK (status IN ('received', 'ticket', 'comment', 'ignored', 'rejected')),
    reason       text        NOT NULL DEFAULT '',
    ticket_id    uuid,
    comment_id   uuid,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);
CREATE INDEX inbound_messages_received_idx ON inbound_messages (received_at, id);

-- Which category a receiving address files new tickets in (an admin
-- setting); the address '*' is the default for every other address.
-- Without a match the helpdesk's default category is used.
CREATE TABLE inbound_addresses (
    address     text        PRIMARY KEY CHECK (address = lower(address)),
    category_id uuid        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Replies name the e-mails they answer (In-Reply-To, References); this
-- finds the ticket of an e-mail we sent by its Message-ID.
CREATE INDEX email_deliveries_message_id_idx ON email_deliveries ((message ->> 'message_id'));

-- +goose Down
DROP INDEX email_deliveries_message_id_idx;
DROP TABLE inbound_addresses;
DROP TABLE inbound_messages;
