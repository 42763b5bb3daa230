package messaging

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// Schema is the PostgreSQL schema messaging owns.
const Schema = "messaging"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the pool's schema up to date: messaging's tables, its
// outbox and its inbox.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("messaging migrations: %w", err)
	}
	if err := postgres.Migrate(ctx, pool, sub); err != nil {
		return fmt.Errorf("messaging: %w", err)
	}
	if err := outbox.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("messaging outbox: %w", err)
	}
	return nil
}
