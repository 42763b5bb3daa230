package main

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ticketflow/ticketflow/activities"
	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/workers"
)

// mailIn opens mail-in over the notification schema (migrated). tc may be
// nil where no message is ingested.
func (a *App) mailIn(ctx context.Context, tc client.Client, log *slog.Logger) (*notification.MailIn, error) {
	pool, err := a.Pool(ctx, notificationSchema)
	if err != nil {
		return nil, err
	}
	if err := migrateNotification(ctx, pool); err != nil {
		return nil, err
	}
	rdb, err := a.Redis()
	if err != nil {
		return nil, err
	}
	return notification.NewMailIn(pool, rdb, tc, notification.MailInConfig{
		PublicURL:   a.Config.PublicURL,
		From:        a.Config.MailFrom,
		RedisPrefix: a.Config.RedisPrefix,
		TaskQueue:   a.Config.TemporalTaskQueue,
		MaxBytes:    a.Config.MailInMaxBytes,
		RateLimit:   a.Config.MailInRateLimit,
		RateWindow:  a.Config.MailInRateWindow,
	}, log.With("component", "mail-in"))
}

// mailInHandler returns mail-in's routes (the Inbound Parse endpoint and
// the admin's address mappings) for the notification API. Temporal is
// dialed only when Inbound Parse is on (MAIL_IN_SENDGRID_SECRET).
func (a *App) mailInHandler(ctx context.Context, log *slog.Logger) (*notification.MailInHandler, error) {
	var tc client.Client
	if a.Config.MailInSendGridSecret != "" {
		var err error
		if tc, err = a.Temporal(ctx); err != nil {
			return nil, err
		}
	}
	mi, err := a.mailIn(ctx, tc, log)
	if err != nil {
		return nil, err
	}
	return notification.NewMailInHandler(mi, a.Config.MailInSendGridSecret, a.Verifier(), log), nil
}

// registerMailIn adds InboundMailWorkflow and its activities to the
// worker w, and returns the mailbox poller's loop when IMAP_URL is set.
func (a *App) registerMailIn(ctx context.Context, w worker.Worker, tc client.Client, tokens authn.TokenSource, log *slog.Logger) ([]func(context.Context) error, error) {
	mi, err := a.mailIn(ctx, tc, log)
	if err != nil {
		return nil, err
	}
	workers.RegisterInboundMail(w, activities.NewInboundMail(mi, a.ServiceURL("auth"), a.ServiceURL("helpdesk"), a.ServiceURL("messaging"), tokens))
	if a.Config.IMAPURL == "" {
		return nil, nil
	}
	p, err := notification.NewPoller(mi, notification.PollerConfig{
		URL:             a.Config.IMAPURL,
		Folder:          a.Config.IMAPFolder,
		ProcessedFolder: a.Config.IMAPProcessedFolder,
		Interval:        a.Config.IMAPInterval,
	}, log.With("component", "mailbox-poller"))
	if err != nil {
		return nil, err
	}
	log.Info("polling the mailbox for inbound e-mail", "folder", a.Config.IMAPFolder, "interval", a.Config.IMAPInterval)
	return []func(context.Context) error{p.Run}, nil
}
