// Package postgres opens pgx pools confined to one service's schema, runs
// that service's embedded migrations with goose, and offers a transaction
// helper so that a change and its outbox row always commit together.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to url with at most maxConns connections, creates schema if
// it does not exist, and makes it the search path of every connection, so a
// service's SQL never names its schema and tests can use a fresh one.
func Open(ctx context.Context, url, schema string, maxConns int32) (*pgxpool.Pool, error) {
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("invalid schema name %q", schema)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.MaxConns = maxConns
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = "ticketflow-" + schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		// Two processes creating the schema at once race on the catalog; the loser sees 23505.
		if !IsUniqueViolation(err) {
			pool.Close()
			return nil, fmt.Errorf("create schema %s: %w", schema, err)
		}
	}
	return pool, nil
}

// Migrate applies every pending migration of migrations (a folder of goose
// SQL files) to the pool's schema, recording them in goose_db_version.
// Concurrent callers serialize on a PostgreSQL advisory lock, so replicas may
// start together.
func Migrate(ctx context.Context, pool *pgxpool.Pool, migrations fs.FS) error {
	return MigrateTable(ctx, pool, migrations, "goose_db_version")
}

// MigrateTable is Migrate with its own version table, for a shared component
// (such as the outbox) that keeps migrations apart from the service's own.
func MigrateTable(ctx context.Context, pool *pgxpool.Pool, migrations fs.FS, table string) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	// One lock per schema, so services and parallel tests migrating their
	// own schemas do not wait for each other; retried every second (goose's
	// default is 5 s) for up to 5 minutes.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockID(pool.Config().ConnConfig.RuntimeParams["search_path"]+"/"+table)),
		lock.WithLockTimeout(1, 300), // seconds between tries, tries
	)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	store, err := database.NewStore(database.DialectPostgres, table)
	if err != nil {
		return fmt.Errorf("migration store: %w", err)
	}
	p, err := goose.NewProvider("", db, migrations, goose.WithStore(store), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Querier is what pgxpool.Pool and pgx.Tx have in common, so store helpers
// run inside or outside a transaction alike.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise (or when it panics).
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is PostgreSQL's unique_violation.
func IsUniqueViolation(err error) bool { return hasCode(err, "23505") }

// ConstraintOf returns the name of the violated constraint, if any.
func ConstraintOf(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}

// lockID derives a stable advisory-lock key from name.
func lockID(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

func hasCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
