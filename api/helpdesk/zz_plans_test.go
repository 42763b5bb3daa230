package helpdesk_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

type capture struct {
	mu   sync.Mutex
	sql  string
	args []any
}

func (c *capture) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "FROM tickets") && !strings.HasPrefix(d.SQL, "EXPLAIN") {
		c.mu.Lock()
		c.sql, c.args = d.SQL, d.Args
		c.mu.Unlock()
	}
	return ctx
}
func (c *capture) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func BenchmarkZZPlans(b *testing.B) {
	f := loadBenchFixture(b)
	ctx := context.Background()
	cfg, _ := pgxpool.ParseConfig(testenv.DatabaseURL())
	cfg.ConnConfig.RuntimeParams["search_path"] = f.schema
	c := &capture{}
	cfg.ConnConfig.Tracer = c
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	svc := helpdesk.NewService(pool, slog.New(slog.DiscardHandler))
	for _, q := range f.listQueries(b) {
		u, _ := url.Parse(q.path)
		v := u.Query()
		fl := helpdesk.TicketFilter{Status: helpdesk.Status(v.Get("status")), Priority: helpdesk.Priority(v.Get("priority")), CategoryID: v.Get("category_id"),
			AssigneeID: v.Get("assignee_id"), Query: v.Get("q"), Sort: helpdesk.TicketSort(v.Get("sort"))}
		if s := v.Get("created_after"); s != "" {
			fl.CreatedAfter, _ = time.Parse(time.RFC3339, s)
		}
		caller := authn.User{ID: f.agents[0], Role: authn.RoleAgent}
		if strings.Contains(q.path, "status=closed&q=") || (!strings.Contains(q.path, "sort") && v.Get("status") == "closed" && len(v) == 2) {
			caller = authn.User{ID: "x", Role: authn.RoleEmployee}
		}
		if _, err := svc.ListTickets(ctx, caller, fl); err != nil {
			b.Fatal(err)
		}
		rows, err := pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+c.sql, c.args...)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Println("=====", q.path)
		for rows.Next() {
			var line string
			rows.Scan(&line)
			fmt.Println(line)
		}
	}
}
