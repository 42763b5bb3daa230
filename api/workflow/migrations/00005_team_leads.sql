-- +goose Up

-- A team's lead: one of its members, who hears of every SLA breach of the
-- team's tickets and takes them when the category's process escalates to
-- the team lead. The key onto team_members keeps the lead a member: a lead
-- who leaves the team is no longer its lead.
ALTER TABLE teams ADD COLUMN lead_id uuid;
ALTER TABLE teams ADD CONSTRAINT teams_lead_member_fkey
    FOREIGN KEY (id, lead_id) REFERENCES team_members (team_id, user_id)
    ON DELETE SET NULL (lead_id);

-- +goose Down
ALTER TABLE teams DROP CONSTRAINT teams_lead_member_fkey;
ALTER TABLE teams DROP COLUMN lead_id;
