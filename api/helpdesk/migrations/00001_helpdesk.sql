-- +goose Up

-- Categories group tickets. The team that handles a category is not here:
-- teams belong to the workflow engine, which names the team in the
-- category's process definition.
CREATE TABLE categories (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description text        NOT NULL DEFAULT '',
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Names are unique whatever their case: "VPN" and "vpn" are one category.
CREATE UNIQUE INDEX categories_name_key ON categories (lower(name));

-- The user directory: who requesters and agents are, kept from auth's
-- user.created and user.updated events. event_time is the time of the event
-- that wrote the row, so an older event arriving late changes nothing.
CREATE TABLE users (
    id         uuid        PRIMARY KEY,
    email      text        NOT NULL,
    name       text        NOT NULL,
    role       text        NOT NULL,
    active     boolean     NOT NULL,
    event_time timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tickets (
    id            uuid        PRIMARY KEY,
    title         text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description   text        NOT NULL DEFAULT '' CHECK (octet_length(description) <= 65536),
    status        text        NOT NULL CHECK (status IN ('new', 'open', 'pending', 'resolved', 'closed')),
    priority      text        NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    -- Sorting by priority sorts by this rank, highest first.
    priority_rank smallint    NOT NULL GENERATED ALWAYS AS (
        CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END
    ) STORED,
    category_id   uuid        NOT NULL REFERENCES categories (id),
    requester_id  uuid        NOT NULL,
    assignee_id   uuid,
    step          text        NOT NULL CHECK (step ~ '^[a-z0-9_]{1,64}$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- Full-text search over title and description. The 'simple' configuration
    -- neither stems nor drops stop words, so it works for any language.
    search        tsvector    NOT NULL GENERATED ALWAYS AS (
        to_tsvector('simple', title || ' ' || description)
    ) STORED
);

-- One index per sort order, each ending in id, the tiebreaker that makes
-- keyset pages stable; lists read them backwards (newest first).
CREATE INDEX tickets_created_idx ON tickets (created_at, id);
CREATE INDEX tickets_updated_idx ON tickets (updated_at, id);
CREATE INDEX tickets_priority_idx ON tickets (priority_rank, created_at, id);
-- The selective filters, each in the default order: an employee's own
-- tickets, an agent's queue (and the unassigned ones), a category. Status
-- and priority have a handful of values each: a sort index read with a
-- filter serves them better than an index of their own, which would also
-- tempt the planner into costly bitmap ANDs with the search index.
CREATE INDEX tickets_requester_idx ON tickets (requester_id, created_at, id);
CREATE INDEX tickets_assignee_idx ON tickets (assignee_id, created_at, id);
CREATE INDEX tickets_category_idx ON tickets (category_id, created_at, id);
-- fastupdate is off: with it, new entries wait in a pending list that every
-- search scans and that only a vacuum or a large, slow insert merges, so
-- searches would slow down with each ticket created since.
CREATE INDEX tickets_search_idx ON tickets USING gin (search) WITH (fastupdate = off);

-- Every change to a ticket, oldest first by id. Values are kept as text
-- (NULL for "none"); actor_id is a user's ID or a service's client ID, and
-- actor_user_id the same when it is a user, for looking up their name.
CREATE TABLE ticket_history (
    id            bigserial   PRIMARY KEY,
    ticket_id     uuid        NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    field         text        NOT NULL,
    old_value     text,
    new_value     text,
    actor_id      text        NOT NULL,
    actor_user_id uuid,
    reason        text        NOT NULL DEFAULT '',
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_history_ticket_idx ON ticket_history (ticket_id, id);

-- State changes the workflow engine has applied, by their idempotency key:
-- the same change sent again is recognized here and applied once.
CREATE TABLE applied_changes (
    change_id  text        PRIMARY KEY,
    ticket_id  uuid        NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applied_changes_ticket_idx ON applied_changes (ticket_id);

-- +goose Down
DROP TABLE applied_changes;
DROP TABLE ticket_history;
DROP TABLE tickets;
DROP TABLE users;
DROP TABLE categories;
