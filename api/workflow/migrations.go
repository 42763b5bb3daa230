package workflow

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// Schema is the PostgreSQL schema the workflow engine owns.
const Schema = "workflow"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the pool's schema up to date: the workflow engine's tables
// and its outbox.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("workflow migrations: %w", err)
	}
	if err := postgres.Migrate(ctx, pool, sub); err != nil {
		return fmt.Errorf("workflow: %w", err)
	}
	if err := outbox.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("workflow outbox: %w", err)
	}
	return nil
}
