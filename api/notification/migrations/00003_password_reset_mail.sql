-- +goose Up

-- E-mails that announce no notification: the password reset link, which
-- is mailed only and never shown in the app, has no notification_id.
ALTER TABLE email_deliveries ALTER COLUMN notification_id DROP NOT NULL;
-- A sensitive e-mail carries a secret (a password reset token): once it
-- was sent, or failed for good, its text and HTML are removed, so the
-- secret is not kept beyond the e-mail itself. Subject, addresses and
-- Message-ID stay, for the delivery log and for recognising replies.
ALTER TABLE email_deliveries ADD COLUMN sensitive boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE email_deliveries DROP COLUMN sensitive;
DELETE FROM email_deliveries WHERE notification_id IS NULL;
ALTER TABLE email_deliveries ALTER COLUMN notification_id SET NOT NULL;
