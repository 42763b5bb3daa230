-- +goose Up

-- One conversation per ticket: its comments, oldest first. Public replies
-- and internal notes share the table; internal notes are never served to a
-- requester. A deleted comment keeps its row (for the thread's order) with
-- an empty body; its text lives on in comment_revisions.
CREATE TABLE comments (
    id          uuid        PRIMARY KEY,
    ticket_id   uuid        NOT NULL,
    author_id   uuid        NOT NULL,
    -- The author's account role when they wrote it.
    author_role text        NOT NULL CHECK (author_role IN ('employee', 'agent', 'admin')),
    body        text        NOT NULL CHECK (octet_length(body) <= 65536),
    internal    boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    edited_at   timestamptz,
    deleted_at  timestamptz,
    -- Only staff write internal notes.
    CHECK (NOT internal OR author_role IN ('agent', 'admin'))
);
CREATE INDEX comments_ticket_idx ON comments (ticket_id, created_at, id);

-- Every text a comment had before an edit or its deletion, oldest first.
CREATE TABLE comment_revisions (
    id         bigserial   PRIMARY KEY,
    comment_id uuid        NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    kind       text        NOT NULL CHECK (kind IN ('edit', 'delete')),
    body       text        NOT NULL,
    revised_by uuid        NOT NULL,
    revised_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comment_revisions_comment_idx ON comment_revisions (comment_id, id);

-- Files attached to a ticket. The bytes are on disk under ATTACHMENTS_DIR,
-- named by their SHA-256, so identical uploads share one file; file_name is
-- the sanitized name the client gave, for display and downloads only.
CREATE TABLE attachments (
    id           uuid        PRIMARY KEY,
    ticket_id    uuid        NOT NULL,
    uploader_id  uuid        NOT NULL,
    file_name    text        NOT NULL CHECK (char_length(file_name) BETWEEN 1 AND 255),
    size         bigint      NOT NULL CHECK (size >= 0),
    content_type text        NOT NULL,
    sha256       text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_ticket_idx ON attachments (ticket_id, created_at, id);

-- The user directory: names for comments and presence, kept from auth's
-- user.created and user.updated events. event_time is the time of the event
-- that wrote the row, so an older event arriving late changes nothing.
CREATE TABLE users (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL,
    role       text        NOT NULL,
    active     boolean     NOT NULL,
    event_time timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE users;
DROP TABLE attachments;
DROP TABLE comment_revisions;
DROP TABLE comments;
