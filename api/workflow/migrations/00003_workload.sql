-- +goose Up

-- How a team picks the agent of a new ticket: 'round_robin' takes the
-- members in turn; 'fewest_open' takes the member with the fewest open
-- tickets, ties broken in turn (after the member last picked).
ALTER TABLE teams ADD COLUMN strategy text NOT NULL DEFAULT 'round_robin'
    CHECK (strategy IN ('round_robin', 'fewest_open'));

-- The most open tickets a member is given automatically; NULL for no limit.
-- A member at capacity is skipped; a team whose members are all at capacity
-- keeps its new tickets waiting until one has room.
ALTER TABLE team_members ADD COLUMN capacity integer
    CHECK (capacity IS NULL OR capacity BETWEEN 1 AND 10000);

-- The member picked last, for the round-robin tie-break of 'fewest_open'.
ALTER TABLE team_cursors ADD COLUMN last_agent_id uuid;

-- Each agent's open tickets, as the workflow engine assigned and recorded
-- them: a row is written in the transaction of the automatic assignment
-- (so concurrent assignments see it), moved by a reassignment, and deleted
-- when the ticket is resolved or closed. A ticket is open for one agent at
-- most. The count of an agent's rows is their workload.
CREATE TABLE open_tickets (
    ticket_id   uuid PRIMARY KEY,
    agent_id    uuid NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX open_tickets_agent_idx ON open_tickets (agent_id);

-- Tickets assigned before this migration count from the board, the
-- workflow engine's own record of each ticket's state.
INSERT INTO open_tickets (ticket_id, agent_id, assigned_at)
SELECT ticket_id, assignee_id, updated_at FROM board_tickets
WHERE assignee_id IS NOT NULL AND status NOT IN ('resolved', 'closed');

-- +goose Down
DROP TABLE open_tickets;
ALTER TABLE team_cursors DROP COLUMN last_agent_id;
ALTER TABLE team_members DROP COLUMN capacity;
ALTER TABLE teams DROP COLUMN strategy;
