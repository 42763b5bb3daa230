package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// messagingSchema is the schema messaging owns.
const messagingSchema = "messaging"

// migrateMessaging migrates the messaging schema.
func migrateMessaging(ctx context.Context, pool *pgxpool.Pool) error {
	return messaging.Migrate(ctx, pool)
}

// messagingComponent builds messaging: its API and WebSocket, the outbox
// relay that publishes comment.created (from which workers/ signals the
// ticket workflows), the consumers of ticket changes and of the user
// directory, and the hub that carries live frames through Redis.
func (a *App) messagingComponent(ctx context.Context) (component, error) {
	pool, err := a.Pool(ctx, messagingSchema)
	if err != nil {
		return component{}, err
	}
	if err := migrateMessaging(ctx, pool); err != nil {
		return component{}, err
	}
	rdb, err := a.Redis()
	if err != nil {
		return component{}, err
	}
	tokens, err := a.ServiceTokens(ctx)
	if err != nil {
		return component{}, fmt.Errorf("messaging: %w", err)
	}
	cacheTTL := a.Config.AccessCacheTTL
	if cacheTTL == 0 {
		cacheTTL = -1 // ACCESS_CACHE_TTL=0 means no cache; the service's zero means its default
	}
	log := a.Log.With("service", "messaging")
	svc := messaging.NewService(pool, rdb, tokens, messaging.Config{
		HelpdeskURL:        a.ServiceURL("helpdesk"),
		RedisPrefix:        a.Config.RedisPrefix,
		AccessCacheTTL:     cacheTTL,
		EditWindow:         a.Config.CommentEditWindow,
		AttachmentsDir:     a.Config.AttachmentsDir,
		MaxAttachmentBytes: a.Config.MaxAttachmentBytes,
		AllowedOrigins:     a.Config.WebSocketOrigins(),
	}, log)
	h := messaging.NewHandler(svc, a.Verifier(), cursor.New(a.Config.CursorSecret), log)
	relay := outbox.NewRelay(pool, a.Publisher(), a.Log.With("relay", messagingSchema), outbox.RelayOptions{})
	ticketEvents := rabbitmq.NewConsumer(a.Config.AMQPURL, a.queue(messaging.TicketEventsQueue), svc.TicketEventsHandler(), log)
	users := rabbitmq.NewConsumer(a.Config.AMQPURL, a.queue(messaging.UsersQueue), svc.UserDirectoryHandler(), log)
	return component{
		name:    "messaging",
		prefix:  messaging.Prefix,
		handler: h.Routes(),
		checks: []httpx.Check{
			{Name: "postgres", Ping: pool.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		},
		loops: []func(context.Context) error{relay.Run, ticketEvents.Run, users.Run, svc.RunHub},
	}, nil
}
