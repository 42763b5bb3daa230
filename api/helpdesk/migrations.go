package helpdesk

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// Schema is the PostgreSQL schema the helpdesk owns.
const Schema = "helpdesk"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the pool's schema up to date: the helpdesk's tables, its
// outbox and its inbox.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("helpdesk migrations: %w", err)
	}
	if err := postgres.Migrate(ctx, pool, sub); err != nil {
		return fmt.Errorf("helpdesk: %w", err)
	}
	if err := outbox.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("helpdesk outbox: %w", err)
	}
	return nil
}
