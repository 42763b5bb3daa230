package notification

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// Schema is the PostgreSQL schema the notification service owns.
const Schema = "notification"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the pool's schema up to date: the service's tables and
// the inbox that makes redelivered events no-ops. The service publishes
// no events, but the inbox comes with the outbox's migrations.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("notification migrations: %w", err)
	}
	if err := postgres.Migrate(ctx, pool, sub); err != nil {
		return fmt.Errorf("notification: %w", err)
	}
	if err := outbox.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("notification inbox: %w", err)
	}
	return nil
}
