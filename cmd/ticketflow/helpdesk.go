package main

import (
	"context"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// helpdeskComponent builds the helpdesk: its API, the outbox relay that
// publishes ticket.created and ticket.updated, and the consumer that keeps
// its user directory from auth's events.
func (a *App) helpdeskComponent(ctx context.Context) (component, error) {
	pool, err := a.Pool(ctx, helpdesk.Schema)
	if err != nil {
		return component{}, err
	}
	if err := helpdesk.Migrate(ctx, pool); err != nil {
		return component{}, err
	}
	log := a.Log.With("service", "helpdesk")
	svc := helpdesk.NewService(pool, log)
	links, err := helpdesk.NewSurveyLinks(a.Config.SurveyLinkSecret(), a.Config.SurveyLinkTTL)
	if err != nil {
		return component{}, err
	}
	svc.WithSurveyLinks(links)
	h := helpdesk.NewHandler(svc, a.Verifier(), cursor.New(a.Config.CursorSecret), log)
	relay := outbox.NewRelay(pool, a.Publisher(), a.Log.With("relay", helpdesk.Schema), outbox.RelayOptions{})
	users := rabbitmq.NewConsumer(a.Config.AMQPURL, a.queue(helpdesk.UsersQueue), helpdesk.NewUserDirectoryHandler(pool, log), log)
	return component{
		name:    "helpdesk",
		prefix:  helpdesk.Prefix,
		handler: h.Routes(),
		checks:  []httpx.Check{{Name: "postgres", Ping: pool.Ping}},
		loops:   []func(context.Context) error{relay.Run, users.Run},
	}, nil
}
