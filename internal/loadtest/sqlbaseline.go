package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The plain PostgreSQL baselines: the least a request that writes or reads
// one ticket row can cost on a given database. Ticketflow's HTTP steps are
// judged against them, measured in the same run on the same PostgreSQL.
//
//   - insert: one plain INSERT of a row shaped like a ticket (uuid, title,
//     description, created and updated times), autocommit, into a scratch
//     table with nothing else on it (no outbox, no history, no other index);
//   - select: one SELECT of such a row by its primary key, among rows
//     written before the clock starts.
//
// Both run on a small pool of their own, in a schema of their own that the
// tool creates and drops.
const (
	// SQLBaselineConns is the size of the baselines' pool.
	SQLBaselineConns = 4
	// sqlBaselineTable is the scratch table in the baselines' schema.
	sqlBaselineTable = "baseline_tickets"
)

// SQLBaseline holds the scratch schema and pool of the plain PostgreSQL
// baselines.
type SQLBaseline struct {
	Schema string
	pool   *pgxpool.Pool
	ids    []uuid.UUID // rows the select baseline reads
}

// NewSQLBaseline connects to databaseURL with a pool of SQLBaselineConns,
// creates schema (which must not exist: it is dropped again by Close) and
// its scratch table, and writes readRows rows for the select baseline.
func NewSQLBaseline(ctx context.Context, databaseURL, schema string, readRows int) (*SQLBaseline, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.MaxConns = SQLBaselineConns
	cfg.MinConns = SQLBaselineConns
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = "ticketflow-load-baseline"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	b := &SQLBaseline{Schema: schema, pool: pool}
	s := pgx.Identifier{schema}.Sanitize()
	ddl := fmt.Sprintf(`CREATE SCHEMA %[1]s;
CREATE TABLE %[1]s.%[2]s (
	id          uuid PRIMARY KEY,
	title       text NOT NULL,
	description text NOT NULL,
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL
)`, s, sqlBaselineTable)
	if _, err := pool.Exec(ctx, ddl); err != nil {
		pool.Close()
		return nil, fmt.Errorf("create the baseline schema %s: %w", schema, err)
	}
	if readRows > 0 {
		rows, err := pool.Query(ctx, `INSERT INTO `+sqlBaselineTable+` (id, title, description, created_at, updated_at)
SELECT gen_random_uuid(), 'Baseline ticket ' || g, repeat('printer email password ', 15), now(), now()
FROM generate_series(1, $1) g RETURNING id`, readRows)
		if err == nil {
			b.ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		}
		if err == nil {
			_, err = pool.Exec(ctx, "ANALYZE "+sqlBaselineTable)
		}
		if err != nil {
			b.Close(ctx)
			return nil, fmt.Errorf("fill the baseline table: %w", err)
		}
	}
	// Every connection of the pool connected and warm, so that the first
	// arrivals do not pay for connecting.
	for range SQLBaselineConns {
		if err := b.Select(ctx); err != nil && len(b.ids) > 0 {
			b.Close(ctx)
			return nil, err
		}
	}
	return b, nil
}

// Insert writes one ticket-shaped row, in a transaction of its own.
func (b *SQLBaseline) Insert(ctx context.Context, title, description string) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	now := time.Now()
	if _, err := b.pool.Exec(ctx, `INSERT INTO `+sqlBaselineTable+` (id, title, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
		id, title, description, now); err != nil {
		return Failed("insert", err)
	}
	return nil
}

// Select reads one row written before the clock started, by primary key.
// Without such rows it does nothing.
func (b *SQLBaseline) Select(ctx context.Context) error {
	if len(b.ids) == 0 {
		return nil
	}
	var (
		id                 uuid.UUID
		title, description string
		created, updated   time.Time
	)
	err := b.pool.QueryRow(ctx, `SELECT id, title, description, created_at, updated_at FROM `+sqlBaselineTable+` WHERE id = $1`,
		b.ids[rand.IntN(len(b.ids))]).Scan(&id, &title, &description, &created, &updated)
	if err != nil {
		return Failed("select", err)
	}
	return nil
}

// Close drops the schema and closes the pool.
func (b *SQLBaseline) Close(ctx context.Context) error {
	defer b.pool.Close()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := b.pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{b.Schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("drop the baseline schema %s: %w", b.Schema, err)
	}
	return nil
}
