-- +goose Up

-- An e-mail to a user the directory does not know yet (their user.created
-- has not arrived) is held: the notification is stored, the e-mail
-- rendered, and it waits, without an address, until a user event brings
-- one. It is then queued, dropped if the user turned that kind of e-mail
-- off, or, once held for a day, recorded as failed (given up).
ALTER TABLE email_deliveries DROP CONSTRAINT email_deliveries_status_check;
ALTER TABLE email_deliveries ADD CONSTRAINT email_deliveries_status_check
    CHECK (status IN ('held', 'queued', 'sent', 'failed'));
-- A user's held e-mails, oldest first, and the sweep of the stale ones.
CREATE INDEX email_deliveries_held_idx ON email_deliveries (user_id, created_at) WHERE status = 'held';

-- +goose Down
DROP INDEX email_deliveries_held_idx;
UPDATE email_deliveries SET status = 'failed', last_error = 'held e-mail dropped by a schema downgrade'
WHERE status = 'held';
ALTER TABLE email_deliveries DROP CONSTRAINT email_deliveries_status_check;
ALTER TABLE email_deliveries ADD CONSTRAINT email_deliveries_status_check
    CHECK (status IN ('queued', 'sent', 'failed'));
