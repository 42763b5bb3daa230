-- +goose Up

-- Teams handle the tickets of the categories whose definitions name them.
-- calendar is a workflows.Calendar (business hours) or NULL for none.
CREATE TABLE teams (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    calendar   jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Team names are unique whatever their case.
CREATE UNIQUE INDEX teams_name_key ON teams (lower(name));

-- The user directory: this service's copy of the identity provider's users,
-- kept by the user.created / user.updated consumer. event_time is the time
-- of the event a row was last written from, so an older event never
-- overwrites newer data.
CREATE TABLE agents (
    user_id    uuid PRIMARY KEY,
    email      text NOT NULL,
    name       text NOT NULL,
    role       text NOT NULL,
    active     boolean NOT NULL,
    event_time timestamptz NOT NULL
);

-- Members of teams. A member is only assignable while available and while
-- the directory says they are an active agent or admin.
CREATE TABLE team_members (
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES agents (user_id),
    available  boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

-- The round-robin cursor of each team: position counts the assignments made
-- so far; the next one goes to eligible member number position mod count.
-- One row per team, created with the team, advanced by one atomic UPDATE.
CREATE TABLE team_cursors (
    team_id  uuid PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    position bigint NOT NULL DEFAULT 0
);

-- Assignments already made, by the caller's idempotency key, so that a
-- retried assignment returns the same agent without advancing the cursor.
CREATE TABLE assignments (
    key        text PRIMARY KEY,
    team_id    uuid NOT NULL,
    agent_id   uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Tickets waiting for an available agent of a team, to be signalled when
-- one becomes available.
CREATE TABLE waiting (
    ticket_id uuid PRIMARY KEY,
    team_id   uuid NOT NULL,
    since     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX waiting_team_idx ON waiting (team_id, since);

-- Process definitions per category, every saved version kept: a running
-- ticket keeps the version it started with. body is a workflows.Definition.
CREATE TABLE definitions (
    category_id uuid NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    body        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (category_id, version)
);

-- SLA policies set by admins; a priority without a row has the default.
CREATE TABLE sla_policies (
    priority               text PRIMARY KEY CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    first_response_seconds bigint NOT NULL,
    resolution_seconds     bigint NOT NULL,
    warn_ratio             double precision NOT NULL,
    business_hours         boolean NOT NULL,
    auto_close_seconds     bigint NOT NULL,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- The board: the state of each ticket as its workflow last recorded it, so
-- that lists read PostgreSQL rather than Temporal visibility. created_at is
-- the earliest updated_at seen of the ticket (its first record is written
-- when the ticket opens), for "oldest first".
CREATE TABLE board_tickets (
    ticket_id          uuid PRIMARY KEY,
    category_id        uuid NOT NULL,
    title              text NOT NULL,
    priority           text NOT NULL,
    step               text NOT NULL,
    status             text NOT NULL,
    assignee_id        uuid,
    requester_id       uuid,
    team_id            uuid,
    sla_breached       boolean NOT NULL DEFAULT false,
    first_response_due timestamptz,
    resolution_due     timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX board_tickets_open_idx ON board_tickets (category_id, created_at) WHERE status <> 'closed';

-- +goose Down
DROP TABLE board_tickets;
DROP TABLE sla_policies;
DROP TABLE definitions;
DROP TABLE waiting;
DROP TABLE assignments;
DROP TABLE team_cursors;
DROP TABLE team_members;
DROP TABLE agents;
DROP TABLE teams;
