package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/workflows"
)

type seedOptions struct {
	tickets    int
	batch      int
	categories int
	requesters int
	agents     int
	seed       uint64
	parallel   int
}

func newLoadSeedCommand(statePath *string) *cobra.Command {
	var o seedOptions
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Bulk-load historical tickets straight into the helpdesk schema",
		Long: `seed writes --tickets historical tickets into the helpdesk schema of
DATABASE_URL with COPY, --parallel batches at once, each with its creation in
the history, then VACUUM ANALYZE: autovacuum may be off, and without statistics
the planner knows nothing of the data. The tickets spread over the desk's
category and --categories more, over a year of creation times, statuses as a
year of a help desk leaves them (most closed), requesters among the desk's
employees and --requesters others, assignees among the desk's agents and
--agents others, with titles and descriptions drawn from a help-desk
vocabulary (common words in many tickets, rare ones in a few). They have no
workflow runs: they are history, for the browse scenario. Run it with the
server's configuration, after setup.`,
		Example: `  ticketflow load seed --tickets 100000`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.tickets < 1 || o.batch < 1 || o.parallel < 1 || o.categories < 0 || o.requesters < 0 || o.agents < 0 {
				return errors.New("--tickets, --batch and --parallel must be positive, the other counts not negative")
			}
			st, err := readLoadState(*statePath)
			if err != nil {
				return err
			}
			if err := seedTickets(cmd, st, o); err != nil {
				return err
			}
			return st.write(*statePath)
		},
	}
	cmd.Flags().IntVar(&o.tickets, "tickets", 100_000, "tickets to load")
	cmd.Flags().IntVar(&o.batch, "batch", 20_000, "tickets per COPY")
	cmd.Flags().IntVar(&o.categories, "categories", 8, "categories to add beside the desk's")
	cmd.Flags().IntVar(&o.requesters, "requesters", 1000, "requesters to add beside the desk's employees")
	cmd.Flags().IntVar(&o.agents, "agents", 16, "agents to add beside the desk's")
	cmd.Flags().Uint64Var(&o.seed, "seed", 1, "random seed of the generated data")
	cmd.Flags().IntVar(&o.parallel, "parallel", runtime.NumCPU(), "COPY batches at once")
	return cmd
}

// seeder generates the historical tickets.
type seeder struct {
	rng        *rand.Rand
	zipf       *rand.Zipf
	categories []string
	requesters []string
	agents     []string
	now        time.Time
}

func seedTickets(cmd *cobra.Command, st *loadState, o seedOptions) error {
	ctx := cmd.Context()
	out := cmd.ErrOrStderr()
	app, err := loadApp()
	if err != nil {
		return err
	}
	defer app.Close()
	pool, err := app.Pool(ctx, helpdesk.Schema)
	if err != nil {
		return err
	}
	if err := helpdesk.Migrate(ctx, pool); err != nil {
		return err
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(o.seed, 0x7469636b6574))
	s := &seeder{rng: rng, zipf: rand.NewZipf(rng, 1.1, 2, uint64(len(seedVocabulary)-1)), now: time.Now()}

	// The directory rows and categories the tickets refer to.
	var users, cats [][]any
	for _, e := range st.Employees {
		s.requesters = append(s.requesters, e.ID)
	}
	for _, a := range st.Agents {
		s.agents = append(s.agents, a.ID)
	}
	for i := range o.requesters {
		id := uuid.NewString()
		s.requesters = append(s.requesters, id)
		users = append(users, []any{id, fmt.Sprintf("seed-%s-employee%d@example.com", st.Tag, i+1), fmt.Sprintf("Seed employee %d", i+1), "employee", true, s.now})
	}
	for i := range o.agents {
		id := uuid.NewString()
		s.agents = append(s.agents, id)
		users = append(users, []any{id, fmt.Sprintf("seed-%s-agent%d@example.com", st.Tag, i+1), fmt.Sprintf("Seed agent %d", i+1), "agent", true, s.now})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "email", "name", "role", "active", "event_time"}, pgx.CopyFromRows(users)); err != nil {
		return fmt.Errorf("copy directory users: %w", err)
	}
	for range o.categories {
		id := uuid.NewString()
		st.SeedCategories = append(st.SeedCategories, id)
		cats = append(cats, []any{id, fmt.Sprintf("Seed %s %d", st.Tag, len(st.SeedCategories)), "Historical tickets of ticketflow load seed"})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"categories"}, []string{"id", "name", "description"}, pgx.CopyFromRows(cats)); err != nil {
		return fmt.Errorf("copy categories: %w", err)
	}
	s.categories = st.categories()

	// Batches run on as many connections as there are cores: the server
	// spends its time on the search column and indexes, one core a COPY.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.parallel)
	var done atomic.Int64
	var progress sync.Mutex // out is not safe for concurrent writes
	for queued := 0; queued < o.tickets; {
		n := min(o.batch, o.tickets-queued)
		queued += n
		// Generated here, one batch after another: the random source is
		// not safe for concurrent use, and --seed gives the same texts.
		tickets, history := s.batch(n)
		g.Go(func() error {
			if err := copyBatch(gctx, pool, tickets, history); err != nil {
				return err
			}
			d := done.Add(int64(n))
			progress.Lock()
			fmt.Fprintf(out, "seeded %d/%d tickets (%.0f/s)\n", d, o.tickets, float64(d)/time.Since(start).Seconds())
			progress.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	loaded := time.Since(start)
	st.Seeded += o.tickets

	analyzeStart := time.Now()
	for _, table := range []string{"tickets", "ticket_history", "users", "categories"} {
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			return fmt.Errorf("vacuum analyze %s: %w", table, err)
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "seeded %d tickets in %s (%.0f/s), vacuum analyze %s\n",
		o.tickets, loaded.Round(time.Millisecond), float64(o.tickets)/loaded.Seconds(), time.Since(analyzeStart).Round(time.Millisecond))
	return nil
}

// batch generates n tickets and their first history entries.
func (s *seeder) batch(n int) (tickets, history [][]any) {
	tickets = make([][]any, n)
	history = make([][]any, n)
	for i := range tickets {
		tickets[i], history[i] = s.ticket()
	}
	return tickets, history
}

// copyBatch writes tickets and their history rows in one transaction.
func copyBatch(ctx context.Context, pool *pgxpool.Pool, tickets, history [][]any) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tickets"},
		[]string{"id", "title", "description", "status", "priority", "category_id", "requester_id", "assignee_id", "step", "created_at", "updated_at"},
		pgx.CopyFromRows(tickets)); err != nil {
		return fmt.Errorf("copy tickets: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ticket_history"},
		[]string{"ticket_id", "field", "new_value", "actor_id", "actor_user_id", "at"},
		pgx.CopyFromRows(history)); err != nil {
		return fmt.Errorf("copy ticket history: %w", err)
	}
	return tx.Commit(ctx)
}

// seedStatuses are a year of a help desk: most tickets done, some in work.
var seedStatuses = []struct {
	status, step string
	weight       int
}{
	{"closed", workflows.StepClosed, 55},
	{"resolved", workflows.StepResolved, 15},
	{"open", workflows.StepInProgress, 17},
	{"pending", workflows.StepWaiting, 6},
	{"new", workflows.StepTriage, 7},
}

var seedPriorities = []struct {
	priority string
	weight   int
}{{"low", 20}, {"normal", 50}, {"high", 22}, {"urgent", 8}}

// ticket returns one ticket row and its creation's history row.
func (s *seeder) ticket() (ticket, history []any) {
	created := s.now.Add(-time.Duration(s.rng.Int64N(int64(365 * 24 * time.Hour))))
	updated := created.Add(time.Duration(s.rng.Int64N(int64(10 * 24 * time.Hour))))
	if updated.After(s.now) {
		updated = s.now
	}
	n := s.rng.IntN(100)
	status := seedStatuses[0]
	for _, st := range seedStatuses {
		if n -= st.weight; n < 0 {
			status = st
			break
		}
	}
	n = s.rng.IntN(100)
	priority := seedPriorities[0].priority
	for _, p := range seedPriorities {
		if n -= p.weight; n < 0 {
			priority = p.priority
			break
		}
	}
	var assignee *string
	if status.status != "new" {
		assignee = &s.agents[s.rng.IntN(len(s.agents))]
	}
	requester := s.requesters[s.rng.IntN(len(s.requesters))]
	id := ticketIDAt(created)
	title := s.words(3 + s.rng.IntN(6))
	ticket = []any{id, strings.ToUpper(title[:1]) + title[1:], s.words(20 + s.rng.IntN(60)), status.status, priority,
		s.categories[s.rng.IntN(len(s.categories))], requester, assignee, status.step, created, updated}
	history = []any{id, helpdesk.FieldTicket, "created", requester, requester, created}
	return ticket, history
}

// words returns n words of the vocabulary, the common ones most often.
func (s *seeder) words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = seedVocabulary[s.zipf.Uint64()]
	}
	return strings.Join(w, " ")
}

// ticketIDAt returns a version 7 UUID whose time is t, as the helpdesk
// would have given a ticket created then: IDs stay ordered by creation.
func ticketIDAt(t time.Time) string {
	id := uuid.Must(uuid.NewV7())
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	return id.String()
}

// pickWord returns a word of the vocabulary, the common ones most often.
func pickWord() string {
	// Squaring a uniform number favours the head of the list.
	f := rand.Float64()
	return seedVocabulary[int(f*f*float64(len(seedVocabulary)))]
}

// ticketText returns n words for a ticket's description.
func ticketText(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = pickWord()
	}
	return strings.Join(w, " ")
}

// seedVocabulary is what tickets are made of, most frequent first, so
// that a search for an early word matches many tickets and for a late one
// a few.
var seedVocabulary = strings.Fields(`
	the my is not and to a it on with in of since after for when
	cannot error login laptop printer email password vpn access slow screen
	wifi account reset broken office update install phone monitor meeting
	keyboard outlook calendar license software share folder drive file sync
	network teams mouse headset camera battery charger dock adapter cable
	permission backup restore deleted server database report invoice expense
	payroll travel badge door parking desk chair heating projector room
	crash freeze reboot disk memory fan noise toner jam scanner driver
	firmware certificate expired proxy firewall dns router switch mailbox
	quota archive spam phishing virus encryption token authenticator sso
	directory group onboarding offboarding contractor approval budget purchase
	vendor shipment delivery warranty repair replacement loaner inventory
	whiteboard hdmi dongle subscription renewal signature template macro
	spreadsheet pivot formula export import migration rollback hotfix patch
	kerberos ldap saml oauth webhook latency timeout throttled quarantine
`)
