package main

import (
	"context"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// notificationSchema and migrateNotification are the notification
// service's entry in migrations.
const notificationSchema = notification.Schema

var migrateNotification = notification.Migrate

// notificationComponent builds the notification service: its API, the
// consumer of the ticket, comment, SLA and user events that creates the
// notifications, and the loop that sends their e-mails. It publishes no
// events, so it has no outbox relay.
func (a *App) notificationComponent(ctx context.Context) (component, error) {
	pool, err := a.Pool(ctx, notificationSchema)
	if err != nil {
		return component{}, err
	}
	if err := migrateNotification(ctx, pool); err != nil {
		return component{}, err
	}
	rdb, err := a.Redis()
	if err != nil {
		return component{}, err
	}
	log := a.Log.With("service", "notification")
	mailer, err := notification.NewMailer(notification.MailConfig{
		SendGridAPIKey:  a.Config.SendGridAPIKey,
		SendGridBaseURL: a.Config.SendGridBaseURL,
		SMTPURL:         a.Config.SMTPURL,
		Dir:             a.Config.MailDir,
	}, log)
	if err != nil {
		return component{}, err
	}
	svc, err := notification.NewService(pool, rdb, mailer, notification.Config{
		PublicURL:   a.Config.PublicURL,
		From:        a.Config.MailFrom,
		RedisPrefix: a.Config.RedisPrefix,
	}, log)
	if err != nil {
		return component{}, err
	}
	mailIn, err := a.mailInHandler(ctx, log)
	if err != nil {
		return component{}, err
	}
	h := notification.NewHandler(svc, a.Verifier(), cursor.New(a.Config.CursorSecret), log).WithMailIn(mailIn)
	consumer := rabbitmq.NewConsumer(a.Config.AMQPURL, a.queue(notification.EventsQueue), svc.HandleEvent, log)
	return component{
		name:    "notification",
		prefix:  notification.Prefix,
		handler: h.Routes(),
		checks: []httpx.Check{
			{Name: "postgres", Ping: pool.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		},
		loops: []func(context.Context) error{consumer.Run, svc.RunSender},
	}, nil
}
