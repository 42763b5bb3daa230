-- +goose Up

-- Canned replies and macros, kept per team. The body is a reply (or, when
-- internal, an internal note) with placeholders such as {{ticket.id}},
-- stored as the admin wrote it and rendered by plain substitution when used.
-- A macro may also move the ticket to a step and set its priority; a canned
-- reply is a macro with a body and no actions.
CREATE TABLE macros (
    id         uuid PRIMARY KEY,
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       text NOT NULL,
    body       text NOT NULL DEFAULT '',
    internal   boolean NOT NULL DEFAULT false,
    to_step    text,
    priority   text CHECK (priority IS NULL OR priority IN ('low', 'normal', 'high', 'urgent')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)
);

-- +goose Down
DROP TABLE macros;
