-- +goose Up

-- Satisfaction surveys: one per ticket, asked by the ticket's workflow when
-- the ticket is resolved, answered once by its requester (in the app or by
-- a signed e-mail link). agent_id and team_id are whom the rating counts
-- for: the assignee and team at the resolution. token_id is the ID of the
-- link last sent; asking again (after a reopen) sends a new link and the
-- old one stops working. request_key is the workflow's idempotency key of
-- the last ask.
CREATE TABLE ticket_surveys (
    ticket_id    uuid        PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    requester_id uuid        NOT NULL,
    agent_id     uuid,
    team_id      uuid,
    token_id     uuid        NOT NULL,
    request_key  text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    rating       text        CHECK (rating IN ('good', 'bad')),
    comment      text        NOT NULL DEFAULT '' CHECK (char_length(comment) <= 2000),
    rated_at     timestamptz,
    rated_via    text        CHECK (rated_via IN ('app', 'link')),
    CHECK ((rating IS NULL) = (rated_at IS NULL) AND (rating IS NULL) = (rated_via IS NULL))
);
-- The admins' report: the latest ratings, and ratings per agent and team.
CREATE INDEX ticket_surveys_rated_idx ON ticket_surveys (rated_at DESC) WHERE rated_at IS NOT NULL;

-- +goose Down
DROP TABLE ticket_surveys;
