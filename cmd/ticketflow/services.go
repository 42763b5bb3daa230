package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/outbox"
)

// errNotBuilt marks a service of the architecture that this build does not
// have yet.
var errNotBuilt = errors.New("service not built")

// component builds the named service: opens its pool, migrates its schema
// and wires its handler, checks and loops.
func (a *App) component(ctx context.Context, name string) (component, error) {
	switch name {
	case "auth":
		return a.authComponent(ctx)
	case "helpdesk":
		return a.helpdeskComponent(ctx)
	case "workflow":
		return a.workflowComponent(ctx)
	case "messaging":
		return a.messagingComponent(ctx)
	case "notification":
		return a.notificationComponent(ctx)
	default:
		return component{}, errNotBuilt
	}
}

// migrations lists every service's schema with the function that migrates
// it, in start order.
func migrations() []struct {
	schema  string
	migrate func(context.Context, *pgxpool.Pool) error
} {
	return []struct {
		schema  string
		migrate func(context.Context, *pgxpool.Pool) error
	}{
		{auth.Schema, auth.Migrate},
		{helpdesk.Schema, helpdesk.Migrate},
		{workflow.Schema, workflow.Migrate},
		{messagingSchema, migrateMessaging},
		{notificationSchema, migrateNotification},
	}
}

// MigrateAll migrates the schema of every built service.
func (a *App) MigrateAll(ctx context.Context) error {
	var done []string
	for _, m := range migrations() {
		if m.migrate == nil {
			continue
		}
		pool, err := a.Pool(ctx, m.schema)
		if err != nil {
			return err
		}
		if err := m.migrate(ctx, pool); err != nil {
			return err
		}
		done = append(done, m.schema)
	}
	a.Log.Info("migrations applied", "schemas", done)
	if err := a.DeclareTopology(ctx); err != nil {
		return err
	}
	a.Log.Info("RabbitMQ topology declared", "queues", len(a.queues()))
	return nil
}

// AuthService opens the auth service with its key store, migrating its
// schema and making sure a signing key exists.
func (a *App) AuthService(ctx context.Context) (*auth.Service, *auth.KeyStore, error) {
	pool, err := a.Pool(ctx, auth.Schema)
	if err != nil {
		return nil, nil, err
	}
	if err := auth.Migrate(ctx, pool); err != nil {
		return nil, nil, err
	}
	keys := auth.NewKeyStore(pool, a.Config.AccessTTL, auth.DefaultPublishLead)
	if err := keys.Ensure(ctx, a.Config.SigningKeyRotation); err != nil {
		return nil, nil, fmt.Errorf("auth signing keys: %w", err)
	}
	rdb, err := a.Redis()
	if err != nil {
		return nil, nil, err
	}
	limiter := auth.NewLoginLimiter(rdb, a.Config.RedisPrefix, a.Config.LoginLimitPerAccount, a.Config.LoginLimitPerAddress, a.Config.LoginLimitWindow)
	svc := auth.NewService(pool, keys, limiter, auth.Config{
		Issuer:     a.Config.JWTIssuer,
		Audience:   a.Config.JWTAudience,
		AccessTTL:  a.Config.AccessTTL,
		RefreshTTL: a.Config.RefreshTTL,

		PasswordResetTTL: a.Config.PasswordResetTTL,
	}, a.Log)
	a.mu.Lock()
	a.authSvc, a.authKeys = svc, keys
	a.mu.Unlock()
	return svc, keys, nil
}

func (a *App) authComponent(ctx context.Context) (component, error) {
	svc, keys, err := a.AuthService(ctx)
	if err != nil {
		return component{}, err
	}
	pool, _ := a.Pool(ctx, auth.Schema)
	rdb, _ := a.Redis()
	h := auth.NewHandler(svc, keys, a.Verifier(), cursor.New(a.Config.CursorSecret), a.Log, a.Config.TrustProxy).WithPublicURL(a.Config.PublicURL)
	relay := outbox.NewRelay(pool, a.Publisher(), a.Log.With("relay", auth.Schema), outbox.RelayOptions{})
	return component{
		name:    "auth",
		prefix:  auth.Prefix,
		handler: h.Routes(),
		checks: []httpx.Check{
			{Name: "postgres", Ping: pool.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		},
		loops: []func(context.Context) error{relay.Run},
	}, nil
}
